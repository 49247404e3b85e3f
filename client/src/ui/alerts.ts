// Alerts for the advisor when a customer starts waiting: a short tone made with the Web Audio
// API (no audio file) and a browser notification. Both are switches the advisor sets on the
// dashboard; the two booleans are kept in localStorage (docs/decisions.md says why this one
// preference may be), and nothing else of Parley is stored in the browser.

export interface AlertPrefs {
  sound: boolean;
  notify: boolean;
}

const KEY = "parley.advisorAlerts";
const DEFAULT: AlertPrefs = { sound: true, notify: false };

export function loadAlertPrefs(): AlertPrefs {
  try {
    const raw = window.localStorage.getItem(KEY);
    if (!raw) return DEFAULT;
    const value: unknown = JSON.parse(raw);
    if (typeof value !== "object" || value === null) return DEFAULT;
    const { sound, notify } = value as Record<string, unknown>;
    return { sound: sound === true, notify: notify === true };
  } catch {
    return DEFAULT; // storage switched off or unreadable: the defaults
  }
}

export function saveAlertPrefs(prefs: AlertPrefs): void {
  try {
    window.localStorage.setItem(KEY, JSON.stringify({ sound: prefs.sound, notify: prefs.notify }));
  } catch {
    // not remembered; the switch still works for this page
  }
}

let audio: AudioContext | null = null;

/** Create (or wake) the audio context; call it from a click so browsers allow sound later. */
export function unlockAudio(): AudioContext | null {
  if (typeof AudioContext === "undefined") return null;
  audio ??= new AudioContext();
  if (audio.state === "suspended") void audio.resume().catch(() => undefined);
  return audio;
}

/** Two soft rising notes, 0.3 s together. */
export function playTone(): void {
  const ctx = unlockAudio();
  if (!ctx) return;
  const start = ctx.currentTime + 0.01;
  [660, 880].forEach((frequency, i) => {
    const at = start + i * 0.16;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.14);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + 0.15);
  });
}

export function notificationsSupported(): boolean {
  return typeof Notification !== "undefined";
}

export async function askNotificationPermission(): Promise<NotificationPermission> {
  if (!notificationsSupported()) return "denied";
  if (Notification.permission !== "default") return Notification.permission;
  return Notification.requestPermission();
}

/** A notification that says someone waits, never who: the system may keep it in a history. */
export function showNotification(title: string, body: string): void {
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  try {
    const note = new Notification(title, { body, tag: "parley-waiting" });
    note.onclick = () => {
      window.focus();
      note.close();
    };
  } catch {
    // some browsers allow notifications only from a service worker; the tone still sounds
  }
}

/** Participant ids that appear in `now` and were not in `seen` (which is updated). */
export function arrivals(seen: Set<string>, now: string[]): string[] {
  const fresh = now.filter((id) => !seen.has(id));
  now.forEach((id) => seen.add(id));
  return fresh;
}
