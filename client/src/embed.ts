// The "talk to an advisor now" button a business puts on its own website:
//   <script src="https://parley.example.com/embed.js?team=<slug>" async></script>
// or <div data-parley-team="<slug>"></div> anywhere plus the script without ?team=.
// It draws into a shadow root (the host page's CSS cannot reach it), asks Parley — and only
// Parley — whether advisors are available, sends no cookies, and opens the team's join page
// on Parley in a new tab. No React, no dependencies: this runs on someone else's page.

interface EmbedConfig {
  name: string;
  colors: { primary: string; accent: string };
}

interface Availability {
  available: boolean;
  waiting: number;
  wait_seconds_estimate: number | null;
}

type Lang = "de" | "en";

const EN = {
  action: "Talk to an advisor now",
  checking: "Checking availability…",
  available: "Advisors available",
  unavailable: "No advisor is online right now",
  wait: "waiting time about {m} min",
  short: "waiting time under a minute",
  unknown: "Availability unknown",
  opens: "opens in a new tab",
};
type Texts = typeof EN;

const TEXT: Record<Lang, Texts> = {
  en: EN,
  de: {
    action: "Jetzt mit einer Beraterin oder einem Berater sprechen",
    checking: "Verfügbarkeit wird geprüft …",
    available: "Beratung verfügbar",
    unavailable: "Gerade ist niemand aus der Beratung online",
    wait: "Wartezeit etwa {m} Min.",
    short: "Wartezeit unter einer Minute",
    unknown: "Verfügbarkeit unbekannt",
    opens: "öffnet in einem neuen Tab",
  },
};

const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;
const HEX = /^#[0-9a-f]{6}$/;
const REFRESH_MS = 30_000;
const DEFAULTS: EmbedConfig = { name: "Parley", colors: { primary: "#1f5f8b", accent: "#2f7d6d" } };

function config(): EmbedConfig {
  // Parley fills in the brand when it serves this file (server/embed.py).
  try {
    const value = JSON.parse("__PARLEY_EMBED_CONFIG__") as EmbedConfig;
    const ok = typeof value.name === "string" && HEX.test(value.colors.primary) && HEX.test(value.colors.accent);
    return ok ? value : DEFAULTS;
  } catch {
    return DEFAULTS;
  }
}

const STYLE = `
:host { all: initial; display: inline-block; }
.btn {
  display: inline-flex; flex-direction: column; align-items: flex-start; gap: 2px;
  box-sizing: border-box; max-width: 22rem; padding: 10px 16px; border-radius: 10px;
  background: var(--primary); color: #fff; text-decoration: none; cursor: pointer;
  font: 600 15px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  box-shadow: 0 1px 2px rgba(16, 24, 40, .08), 0 2px 6px rgba(16, 24, 40, .14);
}
.btn:hover { filter: brightness(.92); }
.btn:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.status { display: inline-flex; align-items: center; gap: 6px; font-weight: 400; font-size: 13px; opacity: .95; }
.dot { width: 9px; height: 9px; border-radius: 50%; background: #b8c0c8; flex: none; }
.btn[data-state="available"] .dot { background: var(--accent); box-shadow: 0 0 0 2px #fff; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

function styleInto(root: ShadowRoot, colors: EmbedConfig["colors"]): void {
  const text = `${STYLE}\n:host { --primary: ${colors.primary}; --accent: ${colors.accent}; }`;
  try {
    // constructed stylesheets: no <style> element the host page's CSP would have to allow
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(text);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement("style");
    style.textContent = text;
    root.appendChild(style);
  }
}

function minutes(seconds: number): number {
  return Math.max(1, Math.ceil(seconds / 60));
}

function statusText(t: Texts, a: Availability | null, failed: boolean): string {
  if (failed) return t.unknown;
  if (!a) return t.checking;
  if (!a.available) return t.unavailable;
  const wait = a.wait_seconds_estimate;
  if (wait === null) return t.available;
  const part = wait < 60 ? t.short : t.wait.replace("{m}", String(minutes(wait)));
  return `${t.available} · ${part}`;
}

function mount(host: HTMLElement, origin: string, team: string, cfg: EmbedConfig, lang: Lang): void {
  const t = TEXT[lang];
  const root = host.attachShadow({ mode: "open" });
  styleInto(root, cfg.colors);
  const link = document.createElement("a");
  link.className = "btn";
  link.href = `${origin}/t/${encodeURIComponent(team)}`;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.dataset.state = "unknown";
  link.setAttribute("data-testid", "parley-embed-button");
  const action = document.createElement("span");
  action.textContent = t.action;
  const status = document.createElement("span");
  status.className = "status";
  status.setAttribute("data-testid", "parley-embed-status");
  status.setAttribute("aria-live", "polite");
  const dot = document.createElement("span");
  dot.className = "dot";
  const statusLabel = document.createElement("span");
  status.append(dot, statusLabel);
  const hint = document.createElement("span");
  hint.className = "sr";
  hint.textContent = ` (${cfg.name}, ${t.opens})`;
  link.append(action, status, hint);
  root.appendChild(link);

  const show = (a: Availability | null, failed: boolean) => {
    statusLabel.textContent = statusText(t, a, failed);
    link.dataset.state = failed || !a ? "unknown" : a.available ? "available" : "unavailable";
  };
  show(null, false);

  const url = `${origin}/api/teams/${encodeURIComponent(team)}/availability`;
  const refresh = async () => {
    try {
      const response = await fetch(url, { credentials: "omit", mode: "cors", referrerPolicy: "no-referrer" });
      const body = (await response.json()) as { ok: boolean; data?: Availability };
      if (body.ok && body.data) show(body.data, false);
      else show(null, true);
    } catch {
      show(null, true);
    }
  };
  void refresh();
  window.setInterval(() => {
    if (document.visibilityState === "visible") void refresh();
  }, REFRESH_MS);
}

function start(): void {
  const script = document.currentScript as HTMLScriptElement | null;
  if (!script?.src) return;
  const src = new URL(script.src);
  const cfg = config();
  const lang: Lang = (document.documentElement.lang || navigator.language || "").toLowerCase().startsWith("de")
    ? "de"
    : "en";
  const targets = Array.from(document.querySelectorAll<HTMLElement>("[data-parley-team]"));
  if (targets.length > 0) {
    for (const target of targets) {
      const team = target.dataset.parleyTeam ?? "";
      if (SLUG.test(team) && !target.shadowRoot) mount(target, src.origin, team, cfg, lang);
    }
    return;
  }
  const team = src.searchParams.get("team") ?? "";
  if (!SLUG.test(team)) return;
  const host = document.createElement("span");
  host.className = "parley-embed";
  script.after(host);
  mount(host, src.origin, team, cfg, lang);
}

start();

export {};
