// A chat body shown strictly as text: React text nodes only (never HTML), newlines kept by
// CSS (white-space: pre-wrap), http(s) URLs as links that open in a new tab without
// referrer or opener. The client never fetches a URL it finds in a message (no previews).
import { Fragment, type ReactNode } from "react";
import { useI18n } from "./i18n";

const URL_CANDIDATE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = ".,;:!?'\"*";
const PAIRS: Record<string, string> = { ")": "(", "]": "[", "}": "{" };

function count(text: string, char: string): number {
  let n = 0;
  for (const c of text) if (c === char) n++;
  return n;
}

/** Drops sentence punctuation and unbalanced closing brackets from the end of a URL. */
function trimUrl(raw: string): string {
  let url = raw;
  for (;;) {
    const last = url.slice(-1);
    if (last && TRAILING.includes(last)) url = url.slice(0, -1);
    else if (last in PAIRS && count(url, PAIRS[last] ?? "") < count(url, last)) url = url.slice(0, -1);
    else return url;
  }
}

/** The URL as an absolute http(s) address, or null if it is not one. */
export function safeHref(text: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return null;
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || !parsed.hostname) return null;
  return parsed.href;
}

export type Segment = { text: string; href?: undefined } | { text: string; href: string };

/** Splits a chat body into text and link segments (pure; exported for tests and reuse). */
export function segments(body: string): Segment[] {
  const out: Segment[] = [];
  let cursor = 0;
  for (const match of body.matchAll(URL_CANDIDATE)) {
    const start = match.index ?? 0;
    const url = trimUrl(match[0]);
    const href = safeHref(url);
    if (!href) continue;
    if (start > cursor) out.push({ text: body.slice(cursor, start) });
    out.push({ text: url, href });
    cursor = start + url.length;
  }
  if (cursor < body.length) out.push({ text: body.slice(cursor) });
  return out;
}

export function ChatText({ body }: { body: string }): ReactNode {
  const { t } = useI18n();
  return (
    <>
      {segments(body).map((segment, i) =>
        segment.href ? (
          <a
            key={i}
            href={segment.href}
            target="_blank"
            rel="noopener noreferrer"
            referrerPolicy="no-referrer"
            title={`${segment.href} ${t("chat.opensInNewTab")}`}
          >
            {segment.text}
          </a>
        ) : (
          <Fragment key={i}>{segment.text}</Fragment>
        ),
      )}
    </>
  );
}
