// German and English strings. The language comes from navigator.language and can be
// switched in the header; the choice lives only in memory (nothing is stored in the browser).

export type Lang = "de" | "en";

const en = {
  "app.name": "Parley",
  "app.tagline": "Video consultations in the browser: private, encrypted, hosted by your advisor's company.",
  "app.customerHint": "Customers: please open the link you received from your advisor. No account is needed.",
  "app.advisorLogin": "Advisor login",
  "app.language": "Language",
  "app.loading": "Loading…",
  "app.notFound": "This page does not exist.",
  "app.home": "To the start page",

  "error.not_authenticated": "You are not signed in.",
  "error.invalid_credentials": "Username or password is wrong.",
  "error.not_authorised": "You are not allowed to do that.",
  "error.not_found": "Not found.",
  "error.invite_invalid": "This invitation link is not valid. Please ask your advisor for a new link.",
  "error.invite_expired": "This invitation link has expired. Please ask your advisor for a new link.",
  "error.consultation_ended": "This consultation has ended.",
  "error.invalid_state": "That is not possible right now.",
  "error.limit_exceeded": "The limit has been reached. Please try again later.",
  "error.invalid_payload": "Please check your input.",
  "error.payload_too_large": "The input is too long.",
  "error.csrf_failed": "The security check failed. Please reload the page.",
  "error.origin_refused": "The security check failed. Please reload the page.",
  "error.timeout": "The server did not answer. Please try again.",
  "error.network_error": "No connection to the server. Please check your connection and try again.",
  "error.connection_refused": "The server refused the connection. Please reload the page.",
  "error.generic": "Something went wrong. Please try again.",

  "login.title": "Advisor login",
  "login.username": "Username",
  "login.password": "Password",
  "login.submit": "Sign in",

  "dash.title": "Dashboard",
  "dash.signedInAs": "Signed in as {name}",
  "dash.logout": "Sign out",
  "dash.advisorsOnly": "This dashboard is for advisors.",
  "dash.queue": "Instant consultations: waiting customers",
  "dash.queueEmpty": "Nobody is waiting.",
  "dash.pickup": "Pick up",
  "dash.waitingFor": "waiting for {time}",
  "dash.instantLink": "Instant link of your team",
  "dash.instantLinkHint": "Publish this link. Customers who open it wait in your team's queue.",
  "dash.noTeam": "Your account belongs to no team, so there is no instant link.",
  "dash.copy": "Copy",
  "dash.copied": "Copied",
  "dash.new": "New consultation",
  "dash.newTitle": "Title (optional)",
  "dash.inviteCreated": "Invitation link: send it to your customer. It is shown only this once.",
  "dash.consultations": "Your consultations",
  "dash.consultationsEmpty": "No consultations yet.",
  "dash.untitled": "Consultation of {date}",
  "dash.kind.instant": "Instant",
  "dash.kind.invite": "Invitation",
  "dash.state.waiting": "Not started",
  "dash.state.lobby": "Someone waiting",
  "dash.state.active": "In progress",
  "dash.state.ended": "Ended",
  "dash.lobby": "Waiting room",
  "dash.lobbyEmpty": "Nobody is waiting.",
  "dash.admit": "Admit",
  "dash.refuse": "Turn away",
  "dash.openRoom": "Open room",
  "dash.end": "End",
  "dash.showEnded": "Show ended consultations ({count})",
  "dash.hideEnded": "Hide ended consultations",

  "conn.connecting": "Connecting…",
  "conn.reconnecting": "Connection lost. Reconnecting…",
  "conn.closed": "The connection was closed. Please reload the page.",

  "join.titleTeam": "{team}: video consultation",
  "join.titleInvite": "Join your consultation",
  "join.intro": "Only your name is needed: no account, no e-mail address.",
  "join.notice": "Privacy notice",
  "join.ack": "I have read the privacy notice.",
  "join.firstName": "First name",
  "join.lastName": "Last name",
  "join.submit": "Continue to the waiting room",
  "join.needAck": "Please confirm that you have read the privacy notice.",
  "join.needName": "Please enter your first and last name.",
  "join.badLink": "This link is not valid. Please check it or ask for a new one.",

  "lobby.hello": "Hello {name}",
  "lobby.waitTitle": "Please wait a moment",
  "lobby.waitText": "Your advisor will admit you shortly. Please keep this page open.",
  "lobby.refused": "Your advisor could not admit you this time. Please get in touch again later.",
  "lobby.removed": "You were removed from the consultation.",
  "lobby.ended": "The consultation has ended. Thank you for your visit.",
  "lobby.left": "You have left the consultation. Thank you for your visit.",
  "lobby.noSession": "There is no consultation for you in this browser. Please open the link you received.",

  "room.consentTitle": "Camera and microphone",
  "room.consentText": "Your camera and microphone are used only after you switch them on, and only for this consultation.",
  "room.startMedia": "Turn on camera and microphone",
  "room.joinWithoutMedia": "Join without camera and microphone",
  "room.mediaDenied": "Access to camera or microphone was denied. You can allow it in your browser's settings, or join without them.",
  "room.mediaNotFound": "No camera or microphone was found. You can join without them.",
  "room.mediaFailed": "Camera or microphone could not be started. You can join without them.",
  "room.joining": "Joining the consultation…",
  "room.you": "You",
  "room.alone": "Nobody else has joined yet.",
  "room.mute": "Mute microphone",
  "room.unmute": "Unmute microphone",
  "room.cameraOff": "Turn camera off",
  "room.cameraOn": "Turn camera on",
  "room.leave": "Leave",
  "room.end": "End for everyone",
  "room.endConfirm": "End the consultation for everyone?",
  "room.endYes": "Yes, end it",
  "room.cancel": "Cancel",
  "room.remove": "Remove",
  "room.micOff": "Microphone off",
  "room.camOff": "Camera off",
  "room.disconnected": "Connection lost",
  "room.connecting": "Connecting…",
  "room.ended": "The consultation has ended.",
  "room.left": "You have left the consultation.",
  "room.removed": "You were removed from the consultation.",
  "room.loggedOut": "You were signed out.",
  "room.backToDashboard": "Back to the dashboard",
  "room.advisor": "Advisor",
  "room.controls": "Call controls",
  "room.play": "Start playback",
  "room.insecure": "Camera and microphone need a secure (https) connection. You can join without them.",
  "room.removeConfirm": "Remove {name} from the consultation?",
  "room.joinFailed": "You could not join the consultation.",
  "room.retry": "Try again",

  "time.seconds": "{n} s",
  "time.minutes": "{n} min",
  "time.hours": "{h} h {m} min",
} as const;

export type Key = keyof typeof en;

const de: Record<Key, string> = {
  "app.name": "Parley",
  "app.tagline": "Videoberatung im Browser: vertraulich, verschlüsselt, betrieben vom Unternehmen Ihrer Beraterin oder Ihres Beraters.",
  "app.customerHint": "Kundinnen und Kunden: Bitte öffnen Sie den Link, den Sie erhalten haben. Ein Konto ist nicht nötig.",
  "app.advisorLogin": "Anmeldung für Beratende",
  "app.language": "Sprache",
  "app.loading": "Wird geladen …",
  "app.notFound": "Diese Seite gibt es nicht.",
  "app.home": "Zur Startseite",

  "error.not_authenticated": "Sie sind nicht angemeldet.",
  "error.invalid_credentials": "Benutzername oder Passwort ist falsch.",
  "error.not_authorised": "Dafür fehlt Ihnen die Berechtigung.",
  "error.not_found": "Nicht gefunden.",
  "error.invite_invalid": "Dieser Einladungslink ist nicht gültig. Bitte fragen Sie Ihre Beraterin oder Ihren Berater nach einem neuen Link.",
  "error.invite_expired": "Dieser Einladungslink ist abgelaufen. Bitte fragen Sie Ihre Beraterin oder Ihren Berater nach einem neuen Link.",
  "error.consultation_ended": "Diese Beratung ist beendet.",
  "error.invalid_state": "Das ist gerade nicht möglich.",
  "error.limit_exceeded": "Die Höchstzahl ist erreicht. Bitte versuchen Sie es später erneut.",
  "error.invalid_payload": "Bitte prüfen Sie Ihre Eingaben.",
  "error.payload_too_large": "Die Eingabe ist zu lang.",
  "error.csrf_failed": "Die Sicherheitsprüfung ist fehlgeschlagen. Bitte laden Sie die Seite neu.",
  "error.origin_refused": "Die Sicherheitsprüfung ist fehlgeschlagen. Bitte laden Sie die Seite neu.",
  "error.timeout": "Der Server antwortet nicht. Bitte versuchen Sie es erneut.",
  "error.network_error": "Keine Verbindung zum Server. Bitte prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
  "error.connection_refused": "Der Server hat die Verbindung abgelehnt. Bitte laden Sie die Seite neu.",
  "error.generic": "Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",

  "login.title": "Anmeldung für Beratende",
  "login.username": "Benutzername",
  "login.password": "Passwort",
  "login.submit": "Anmelden",

  "dash.title": "Übersicht",
  "dash.signedInAs": "Angemeldet als {name}",
  "dash.logout": "Abmelden",
  "dash.advisorsOnly": "Diese Übersicht ist für Beratende.",
  "dash.queue": "Sofort-Gespräche: wartende Kundinnen und Kunden",
  "dash.queueEmpty": "Niemand wartet.",
  "dash.pickup": "Annehmen",
  "dash.waitingFor": "wartet seit {time}",
  "dash.instantLink": "Sofort-Link Ihres Teams",
  "dash.instantLinkHint": "Veröffentlichen Sie diesen Link. Wer ihn öffnet, wartet in der Warteschlange Ihres Teams.",
  "dash.noTeam": "Ihr Konto gehört zu keinem Team, daher gibt es keinen Sofort-Link.",
  "dash.copy": "Kopieren",
  "dash.copied": "Kopiert",
  "dash.new": "Neue Beratung",
  "dash.newTitle": "Titel (optional)",
  "dash.inviteCreated": "Einladungslink: Senden Sie ihn Ihrer Kundin oder Ihrem Kunden. Er wird nur dieses eine Mal angezeigt.",
  "dash.consultations": "Ihre Beratungen",
  "dash.consultationsEmpty": "Noch keine Beratungen.",
  "dash.untitled": "Beratung vom {date}",
  "dash.kind.instant": "Sofort-Gespräch",
  "dash.kind.invite": "Einladung",
  "dash.state.waiting": "Nicht begonnen",
  "dash.state.lobby": "Jemand wartet",
  "dash.state.active": "Läuft",
  "dash.state.ended": "Beendet",
  "dash.lobby": "Warteraum",
  "dash.lobbyEmpty": "Niemand wartet.",
  "dash.admit": "Einlassen",
  "dash.refuse": "Abweisen",
  "dash.openRoom": "Raum öffnen",
  "dash.end": "Beenden",
  "dash.showEnded": "Beendete Beratungen zeigen ({count})",
  "dash.hideEnded": "Beendete Beratungen ausblenden",

  "conn.connecting": "Verbindung wird aufgebaut …",
  "conn.reconnecting": "Verbindung unterbrochen. Neuer Versuch …",
  "conn.closed": "Die Verbindung wurde beendet. Bitte laden Sie die Seite neu.",

  "join.titleTeam": "{team}: Videoberatung",
  "join.titleInvite": "Zu Ihrer Beratung",
  "join.intro": "Wir brauchen nur Ihren Namen: kein Konto, keine E-Mail-Adresse.",
  "join.notice": "Datenschutzhinweis",
  "join.ack": "Ich habe den Datenschutzhinweis gelesen.",
  "join.firstName": "Vorname",
  "join.lastName": "Nachname",
  "join.submit": "Weiter zum Warteraum",
  "join.needAck": "Bitte bestätigen Sie, dass Sie den Datenschutzhinweis gelesen haben.",
  "join.needName": "Bitte geben Sie Vor- und Nachnamen ein.",
  "join.badLink": "Dieser Link ist nicht gültig. Bitte prüfen Sie ihn oder fragen Sie nach einem neuen.",

  "lobby.hello": "Hallo {name}",
  "lobby.waitTitle": "Bitte warten Sie einen Moment",
  "lobby.waitText": "Ihre Beraterin oder Ihr Berater lässt Sie gleich eintreten. Bitte lassen Sie diese Seite geöffnet.",
  "lobby.refused": "Sie konnten diesmal leider nicht eingelassen werden. Bitte melden Sie sich später noch einmal.",
  "lobby.removed": "Sie wurden aus der Beratung entfernt.",
  "lobby.ended": "Die Beratung ist beendet. Vielen Dank für Ihren Besuch.",
  "lobby.left": "Sie haben die Beratung verlassen. Vielen Dank für Ihren Besuch.",
  "lobby.noSession": "In diesem Browser gibt es keine Beratung für Sie. Bitte öffnen Sie den Link, den Sie erhalten haben.",

  "room.consentTitle": "Kamera und Mikrofon",
  "room.consentText": "Kamera und Mikrofon werden erst verwendet, wenn Sie sie einschalten, und nur für diese Beratung.",
  "room.startMedia": "Kamera und Mikrofon einschalten",
  "room.joinWithoutMedia": "Ohne Kamera und Mikrofon teilnehmen",
  "room.mediaDenied": "Der Zugriff auf Kamera oder Mikrofon wurde verweigert. Sie können ihn in den Browser-Einstellungen erlauben oder ohne teilnehmen.",
  "room.mediaNotFound": "Es wurde keine Kamera und kein Mikrofon gefunden. Sie können ohne teilnehmen.",
  "room.mediaFailed": "Kamera oder Mikrofon konnten nicht gestartet werden. Sie können ohne teilnehmen.",
  "room.joining": "Sie betreten die Beratung …",
  "room.you": "Sie",
  "room.alone": "Noch ist niemand sonst da.",
  "room.mute": "Mikrofon stummschalten",
  "room.unmute": "Mikrofon einschalten",
  "room.cameraOff": "Kamera ausschalten",
  "room.cameraOn": "Kamera einschalten",
  "room.leave": "Verlassen",
  "room.end": "Für alle beenden",
  "room.endConfirm": "Die Beratung für alle beenden?",
  "room.endYes": "Ja, beenden",
  "room.cancel": "Abbrechen",
  "room.remove": "Entfernen",
  "room.micOff": "Mikrofon aus",
  "room.camOff": "Kamera aus",
  "room.disconnected": "Verbindung unterbrochen",
  "room.connecting": "Verbindung wird aufgebaut …",
  "room.ended": "Die Beratung ist beendet.",
  "room.left": "Sie haben die Beratung verlassen.",
  "room.removed": "Sie wurden aus der Beratung entfernt.",
  "room.loggedOut": "Sie wurden abgemeldet.",
  "room.backToDashboard": "Zurück zur Übersicht",
  "room.advisor": "Berater/in",
  "room.controls": "Steuerung",
  "room.play": "Wiedergabe starten",
  "room.insecure": "Kamera und Mikrofon brauchen eine sichere (https-)Verbindung. Sie können ohne teilnehmen.",
  "room.removeConfirm": "{name} aus der Beratung entfernen?",
  "room.joinFailed": "Sie konnten der Beratung nicht beitreten.",
  "room.retry": "Erneut versuchen",

  "time.seconds": "{n} s",
  "time.minutes": "{n} Min.",
  "time.hours": "{h} Std. {m} Min.",
};

const strings: Record<Lang, Record<Key, string>> = { en, de };

export const LANGS: readonly Lang[] = ["de", "en"];

/** German for German-speaking browsers, English otherwise. */
export function detectLang(languages: readonly string[] = navigator.languages ?? [navigator.language]): Lang {
  for (const tag of languages) {
    const primary = tag.toLowerCase().split("-")[0];
    if (primary === "de") return "de";
    if (primary === "en") return "en";
  }
  return "en";
}

export type Vars = Record<string, string | number>;

export function translate(lang: Lang, key: Key, vars?: Vars): string {
  const template = strings[lang][key];
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** Human text for an error code of docs/protocol.md (or a client-side one). */
export function errorKey(code: string): Key {
  const key = `error.${code}`;
  return key in en ? (key as Key) : "error.generic";
}

/** "45 s", "3 min", "1 h 5 min" for a number of seconds. */
export function formatDuration(lang: Lang, seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return translate(lang, "time.seconds", { n: s });
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return translate(lang, "time.minutes", { n: minutes });
  return translate(lang, "time.hours", { h: Math.floor(minutes / 60), m: minutes % 60 });
}

export function formatDateTime(lang: Lang, iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(lang === "de" ? "de-DE" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}
