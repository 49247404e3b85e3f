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

  "error.not_authenticated": "You are not signed in (any more). Please sign in again.",
  "error.invalid_credentials": "Username or password is wrong.",
  "error.not_authorised": "You are not allowed to do that. If you need to, please ask your administrator.",
  "error.not_found": "This no longer exists or was never there. Please reload the page and check the link.",
  "error.invite_invalid": "This invitation link is not valid. Please ask your advisor for a new link.",
  "error.invite_expired": "This invitation link has expired. Please ask your advisor for a new link.",
  "error.consultation_ended": "This consultation has ended.",
  "error.invalid_state": "That is not possible in the current state. Please reload the page and try again.",
  "error.limit_exceeded": "The limit has been reached. Please try again later.",
  "error.invalid_payload": "Please check your input.",
  "error.payload_too_large": "The input is too long.",
  "error.csrf_failed": "The security check failed. Please reload the page.",
  "error.origin_refused": "The security check failed. Please reload the page.",
  "error.timeout": "The server did not answer. Please try again.",
  "error.network_error": "No connection to the server. Please check your connection and try again.",
  "error.connection_refused": "The server refused the connection. Please reload the page.",
  "error.generic": "Something went wrong. Please try again.",
  "error.file_type_refused": "This type of file is not accepted.",
  "error.file_rejected": "The security check refused the file.",
  "error.content_erased": "This content has been erased for good; there is nothing left to show.",
  "error.integrity_error": "The stored data is damaged and cannot be shown. Please tell your administrator.",
  "error.method_not_allowed": "That is not possible.",
  "error.restricted": "Processing of this data is restricted: it is kept but not used. Please ask the business (or an administrator) about it.",
  "error.receipt_invalid": "This link is not valid, or the data it belonged to has been erased.",

  "login.title": "Advisor login",
  "login.username": "Username",
  "login.password": "Password",
  "login.submit": "Sign in",

  "dash.title": "Dashboard",
  "dash.signedInAs": "Signed in as {name}",
  "dash.logout": "Sign out",
  "dash.advisorsOnly": "This dashboard is for advisors. You are signed in with an operations account.",
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

  "chat.title": "Chat",
  "chat.tabs": "Show video or chat",
  "chat.tabVideo": "Video",
  "chat.tabChat": "Chat",
  "chat.unread": "{n} new",
  "chat.empty": "No messages yet. Messages and files are stored encrypted and seen only by the participants of this consultation.",
  "chat.loading": "Loading messages…",
  "chat.historyFailed": "Earlier messages could not be loaded. They will be loaded when the connection is back.",
  "chat.you": "You",
  "chat.messages": "Messages",
  "chat.inputLabel": "Message",
  "chat.placeholder": "Write a message…",
  "chat.hint": "Enter sends, Shift+Enter starts a new line.",
  "chat.send": "Send",
  "chat.sending": "sending…",
  "chat.notSent": "not sent",
  "chat.retry": "Retry",
  "chat.discard": "Discard",
  "chat.remaining": "{n} characters left",
  "chat.opensInNewTab": "(opens in a new tab)",

  "file.share": "Share a file",
  "file.limits": "Up to 25 MB: PDF, images, text and office documents.",
  "file.drop": "Drop files here to share them",
  "file.download": "Download",
  "file.delete": "Delete",
  "file.deleteConfirm": "Delete this file for everyone?",
  "file.deleteYes": "Yes, delete",
  "file.deleted": "This file has been deleted.",
  "file.deleteFailed": "The file could not be deleted. {reason}",
  "file.uploading": "Uploading “{name}”",
  "file.cancel": "Cancel",
  "file.dismiss": "Close",
  "file.progress": "{percent} % of {size}",

  "upload.payload_too_large": "“{name}” was not shared: it is larger than 25 MB. Please make it smaller (for example, compress it or split it into several files) and try again.",
  "upload.file_type_refused": "“{name}” was not shared: this type of file is not accepted, or its content does not match its file extension. You can share PDF files, images (PNG, JPEG, WebP, HEIC), text files and office documents (Word, Excel, PowerPoint, OpenDocument).",
  "upload.file_rejected": "“{name}” was not shared: the security check (virus scan) refused the file or could not finish. Please check the file and try again, or share a different file.",
  "upload.not_authorised": "“{name}” was not shared: you may not share files in this consultation right now (perhaps you are no longer in the room). Please rejoin the consultation and try again.",
  "upload.other": "“{name}” was not shared. {reason}",

  "record.button": "Chat record",
  "record.hide": "Hide chat record",
  "record.title": "Chat record",
  "record.loading": "Loading the chat record…",
  "record.empty": "There are no messages in this consultation.",
  "record.failed": "The chat record could not be loaded. {reason}",
  "record.readOnly": "Read-only: the messages and files of this consultation, oldest first.",

  "account.opsOnly": "The usage statistics are for operations accounts. You are signed in with an advisor account.",
  "account.toDashboard": "To the dashboard",
  "account.toStats": "To the usage statistics",

  "badge.restricted": "Restricted",
  "badge.erased": "Erased",

  "privacy.group": "Data protection",
  "privacy.export": "Export (ZIP)",
  "privacy.exportTitle": "Download everything stored about this consultation: export.json and the shared files",
  "privacy.restrict": "Restrict processing",
  "privacy.unrestrict": "Lift restriction",
  "privacy.restrictedNote": "Processing is restricted: the content is kept, but it is not shown, changed, exported or erased here. Lift the restriction once the reason for it no longer applies.",
  "privacy.erasedNote": "The content of this consultation has been erased for good. Only the fact that it took place remains.",
  "privacy.restrictDone": "Processing of this consultation is now restricted.",
  "privacy.unrestrictDone": "The restriction has been lifted.",
  "privacy.erase": "Erase consultation",
  "privacy.eraseConfirm": "Erase this consultation for good? Names, chat and files are destroyed. This cannot be undone.",
  "privacy.eraseYes": "Yes, erase for good",
  "privacy.participants": "Participants",
  "privacy.hideParticipants": "Hide participants",
  "privacy.participantsLoading": "Loading participants…",
  "privacy.participantsEmpty": "No participants are stored for this consultation.",
  "privacy.participantsHint": "Who took part, for requests of access, correction or erasure.",
  "privacy.eraseWhenEnded": "Data can be erased once the consultation has ended.",
  "privacy.role.advisor": "Advisor",
  "privacy.role.customer": "Customer",
  "privacy.status.waiting": "Waiting",
  "privacy.status.admitted": "Took part",
  "privacy.status.refused": "Turned away",
  "privacy.status.removed": "Removed",
  "privacy.status.left": "Left",
  "privacy.rectify": "Correct name",
  "privacy.rectifyTitle": "Correct the name of {name}",
  "privacy.rectifySave": "Save name",
  "privacy.rectifyNeedName": "Please enter a first and a last name.",
  "privacy.rectifyDone": "The name has been corrected to “{name}”.",
  "privacy.eraseParticipant": "Erase",
  "privacy.eraseParticipantConfirm": "Erase {name} with their messages and files for good? This cannot be undone.",
  "privacy.participantErased": "The data of {name} has been erased.",
  "privacy.exportParticipantTitle": "Download everything stored about {name}: export.json and their files",
  "privacy.error.restricted": "This consultation is restricted: its content is kept, but it is not shown, changed or exported. Lift the restriction first if the reason for it no longer applies; an administrator can export restricted data.",
  "privacy.error.invalid_state": "This is possible only once the consultation has ended. Please end the consultation first, then try again.",
  "privacy.error.content_erased": "The content of this consultation has been erased for good, so there is nothing left to show or export.",
  "privacy.error.not_found": "This consultation or participant no longer exists (it may have been erased). The list has been refreshed.",
  "privacy.error.name": "The name was not accepted: please use letters, spaces, hyphens, apostrophes and dots only, up to 60 characters each, and try again.",

  "receipt.title": "Your data",
  "receipt.offer": "You can get a personal link with which you can later download everything Parley holds about you from this consultation, or have it erased.",
  "receipt.button": "Get my receipt link",
  "receipt.urlLabel": "Your personal receipt link",
  "receipt.keep": "Keep this link: with it you can download everything Parley holds about you, or have it erased. It is shown only this once, and nothing is stored in your browser. Anyone who has the link can do the same, so please do not pass it on.",
  "receipt.failed": "The receipt link could not be created. {reason}",
  "receipt.noSession": "This browser no longer holds your consultation, so no receipt link can be created here. Please contact the business that invited you.",

  "receiptPage.title": "Your data from a Parley consultation",
  "receiptPage.intro": "With this personal link you can download everything Parley holds about you from this consultation, or have it erased.",
  "receiptPage.date": "Date",
  "receiptPage.state": "Status",
  "receiptPage.unknownDate": "not started",
  "receiptPage.state.waiting": "Not started",
  "receiptPage.state.lobby": "Waiting room",
  "receiptPage.state.active": "In progress",
  "receiptPage.state.ended": "Ended",
  "receiptPage.download": "Download my data (ZIP)",
  "receiptPage.downloadHint": "A ZIP file with export.json (your name, when you took part, your messages) and the files you shared.",
  "receiptPage.erase": "Erase my data",
  "receiptPage.eraseHint": "Your name, your messages and your files are deleted for good. This link stops working afterwards.",
  "receiptPage.eraseConfirm": "Erase all your data from this consultation for good? This cannot be undone.",
  "receiptPage.eraseYes": "Yes, erase my data",
  "receiptPage.erased": "Your data has been erased. This link no longer works; you can close this page.",
  "receiptPage.invalid": "This link is not valid, or the data it belonged to has been erased. Please check that you copied the whole link. If you need help, contact the business that invited you to the consultation.",
  "receiptPage.restricted": "Processing of your data is restricted at the moment: it is kept, but it cannot be downloaded or erased here. Please ask the business that invited you to the consultation.",
  "receiptPage.notEnded": "Erasure is possible once the consultation has ended. Please come back to this link after it has ended.",
  "receiptPage.failed": "Your data could not be loaded. {reason}",
  "receiptPage.retry": "Try again",

  "ops.title": "Usage statistics",
  "ops.intro": "Anonymous figures about ended consultations, per day (UTC) and team. They contain no names and no content.",
  "ops.from": "From",
  "ops.to": "To",
  "ops.team": "Team (slug, optional)",
  "ops.teamPlaceholder": "all teams",
  "ops.show": "Show",
  "ops.csv": "Download CSV",
  "ops.loading": "Loading statistics…",
  "ops.minGroup": "Groups of fewer than {n} consultations are hidden to protect privacy.",
  "ops.col.day": "Day",
  "ops.col.team": "Team",
  "ops.col.consultations": "Consultations",
  "ops.col.durationAvg": "Duration, average",
  "ops.col.durationP90": "Duration, 90th percentile",
  "ops.col.waitingAvg": "Waiting time, average",
  "ops.col.waitingP90": "Waiting time, 90th percentile",
  "ops.suppressed": "fewer than {n} consultations — hidden to protect privacy",
  "ops.noValue": "no data",
  "ops.none": "No consultations ended in this period.",
  "ops.badDate": "Please enter both dates in full (for example 2026-11-21).",
  "ops.badRange": "The start date is after the end date. Please correct the dates.",
  "ops.badTeam": "A team slug consists of lower-case letters, digits and hyphens (for example “beratung-nord”). Please correct it, or leave the field empty for all teams.",
  "ops.noTeam": "There is no team with the slug “{team}”. Please check the spelling, or leave the field empty for all teams.",
  "ops.failed": "The statistics could not be loaded. {reason}",

  "size.bytes": "{n} bytes",
  "size.kb": "{n} KB",
  "size.mb": "{n} MB",

  "time.seconds": "{n} s",
  "time.minutes": "{n} min",
  "time.hours": "{h} h {m} min",
  "time.hoursOnly": "{h} h",
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

  "error.not_authenticated": "Sie sind nicht (mehr) angemeldet. Bitte melden Sie sich erneut an.",
  "error.invalid_credentials": "Benutzername oder Passwort ist falsch.",
  "error.not_authorised": "Dafür fehlt Ihnen die Berechtigung. Wenn Sie sie brauchen, wenden Sie sich bitte an Ihre Administration.",
  "error.not_found": "Das gibt es nicht (mehr). Bitte laden Sie die Seite neu und prüfen Sie den Link.",
  "error.invite_invalid": "Dieser Einladungslink ist nicht gültig. Bitte fragen Sie Ihre Beraterin oder Ihren Berater nach einem neuen Link.",
  "error.invite_expired": "Dieser Einladungslink ist abgelaufen. Bitte fragen Sie Ihre Beraterin oder Ihren Berater nach einem neuen Link.",
  "error.consultation_ended": "Diese Beratung ist beendet.",
  "error.invalid_state": "Das ist im jetzigen Zustand nicht möglich. Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
  "error.limit_exceeded": "Die Höchstzahl ist erreicht. Bitte versuchen Sie es später erneut.",
  "error.invalid_payload": "Bitte prüfen Sie Ihre Eingaben.",
  "error.payload_too_large": "Die Eingabe ist zu lang.",
  "error.csrf_failed": "Die Sicherheitsprüfung ist fehlgeschlagen. Bitte laden Sie die Seite neu.",
  "error.origin_refused": "Die Sicherheitsprüfung ist fehlgeschlagen. Bitte laden Sie die Seite neu.",
  "error.timeout": "Der Server antwortet nicht. Bitte versuchen Sie es erneut.",
  "error.network_error": "Keine Verbindung zum Server. Bitte prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
  "error.connection_refused": "Der Server hat die Verbindung abgelehnt. Bitte laden Sie die Seite neu.",
  "error.generic": "Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
  "error.file_type_refused": "Dieser Dateityp ist nicht erlaubt.",
  "error.file_rejected": "Die Sicherheitsprüfung hat die Datei abgelehnt.",
  "error.content_erased": "Diese Inhalte wurden endgültig gelöscht; es gibt nichts mehr anzuzeigen.",
  "error.integrity_error": "Die gespeicherten Daten sind beschädigt und können nicht angezeigt werden. Bitte informieren Sie Ihre Administration.",
  "error.method_not_allowed": "Das ist nicht möglich.",
  "error.restricted": "Die Verarbeitung dieser Daten ist eingeschränkt: Sie bleiben gespeichert, werden aber nicht verwendet. Bitte wenden Sie sich an das Unternehmen (oder die Administration).",
  "error.receipt_invalid": "Dieser Link ist nicht gültig, oder die Daten, zu denen er gehörte, wurden gelöscht.",

  "login.title": "Anmeldung für Beratende",
  "login.username": "Benutzername",
  "login.password": "Passwort",
  "login.submit": "Anmelden",

  "dash.title": "Übersicht",
  "dash.signedInAs": "Angemeldet als {name}",
  "dash.logout": "Abmelden",
  "dash.advisorsOnly": "Diese Übersicht ist für Beratende. Sie sind mit einem Betriebskonto angemeldet.",
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

  "chat.title": "Chat",
  "chat.tabs": "Video oder Chat anzeigen",
  "chat.tabVideo": "Video",
  "chat.tabChat": "Chat",
  "chat.unread": "{n} neu",
  "chat.empty": "Noch keine Nachrichten. Nachrichten und Dateien werden verschlüsselt gespeichert und sind nur für die Teilnehmenden dieser Beratung sichtbar.",
  "chat.loading": "Nachrichten werden geladen …",
  "chat.historyFailed": "Frühere Nachrichten konnten nicht geladen werden. Sie werden geladen, sobald die Verbindung wieder steht.",
  "chat.you": "Sie",
  "chat.messages": "Nachrichten",
  "chat.inputLabel": "Nachricht",
  "chat.placeholder": "Nachricht schreiben …",
  "chat.hint": "Enter sendet, Umschalt+Enter beginnt eine neue Zeile.",
  "chat.send": "Senden",
  "chat.sending": "wird gesendet …",
  "chat.notSent": "nicht gesendet",
  "chat.retry": "Erneut senden",
  "chat.discard": "Verwerfen",
  "chat.remaining": "noch {n} Zeichen",
  "chat.opensInNewTab": "(öffnet in einem neuen Tab)",

  "file.share": "Datei teilen",
  "file.limits": "Bis 25 MB: PDF, Bilder, Text- und Office-Dokumente.",
  "file.drop": "Dateien hier ablegen, um sie zu teilen",
  "file.download": "Herunterladen",
  "file.delete": "Löschen",
  "file.deleteConfirm": "Diese Datei für alle löschen?",
  "file.deleteYes": "Ja, löschen",
  "file.deleted": "Diese Datei wurde gelöscht.",
  "file.deleteFailed": "Die Datei konnte nicht gelöscht werden. {reason}",
  "file.uploading": "„{name}“ wird hochgeladen",
  "file.cancel": "Abbrechen",
  "file.dismiss": "Schließen",
  "file.progress": "{percent} % von {size}",

  "upload.payload_too_large": "„{name}“ wurde nicht geteilt: Die Datei ist größer als 25 MB. Bitte verkleinern Sie sie (zum Beispiel komprimieren oder in mehrere Dateien aufteilen) und versuchen Sie es erneut.",
  "upload.file_type_refused": "„{name}“ wurde nicht geteilt: Dieser Dateityp ist nicht erlaubt, oder der Inhalt passt nicht zur Dateiendung. Sie können PDF-Dateien, Bilder (PNG, JPEG, WebP, HEIC), Textdateien und Office-Dokumente (Word, Excel, PowerPoint, OpenDocument) teilen.",
  "upload.file_rejected": "„{name}“ wurde nicht geteilt: Die Sicherheitsprüfung (Virenscan) hat die Datei abgelehnt oder konnte nicht abgeschlossen werden. Bitte prüfen Sie die Datei und versuchen Sie es erneut, oder teilen Sie eine andere Datei.",
  "upload.not_authorised": "„{name}“ wurde nicht geteilt: Sie dürfen in dieser Beratung gerade keine Dateien teilen (vielleicht sind Sie nicht mehr im Raum). Bitte treten Sie der Beratung erneut bei und versuchen Sie es noch einmal.",
  "upload.other": "„{name}“ wurde nicht geteilt. {reason}",

  "record.button": "Chatverlauf",
  "record.hide": "Chatverlauf ausblenden",
  "record.title": "Chatverlauf",
  "record.loading": "Der Chatverlauf wird geladen …",
  "record.empty": "In dieser Beratung gibt es keine Nachrichten.",
  "record.failed": "Der Chatverlauf konnte nicht geladen werden. {reason}",
  "record.readOnly": "Nur lesen: die Nachrichten und Dateien dieser Beratung, die ältesten zuerst.",

  "account.opsOnly": "Die Nutzungsstatistik ist für Betriebskonten. Sie sind mit einem Konto für Beratende angemeldet.",
  "account.toDashboard": "Zur Übersicht",
  "account.toStats": "Zur Nutzungsstatistik",

  "badge.restricted": "Eingeschränkt",
  "badge.erased": "Gelöscht",

  "privacy.group": "Datenschutz",
  "privacy.export": "Export (ZIP)",
  "privacy.exportTitle": "Alles herunterladen, was zu dieser Beratung gespeichert ist: export.json und die geteilten Dateien",
  "privacy.restrict": "Verarbeitung einschränken",
  "privacy.unrestrict": "Einschränkung aufheben",
  "privacy.restrictedNote": "Die Verarbeitung ist eingeschränkt: Die Inhalte bleiben gespeichert, werden hier aber weder angezeigt noch geändert, exportiert oder gelöscht. Heben Sie die Einschränkung auf, sobald der Grund dafür entfallen ist.",
  "privacy.erasedNote": "Die Inhalte dieser Beratung wurden endgültig gelöscht. Nur die Tatsache, dass sie stattgefunden hat, ist noch vermerkt.",
  "privacy.restrictDone": "Die Verarbeitung dieser Beratung ist jetzt eingeschränkt.",
  "privacy.unrestrictDone": "Die Einschränkung wurde aufgehoben.",
  "privacy.erase": "Beratung löschen",
  "privacy.eraseConfirm": "Diese Beratung endgültig löschen? Namen, Chat und Dateien werden vernichtet. Das lässt sich nicht rückgängig machen.",
  "privacy.eraseYes": "Ja, endgültig löschen",
  "privacy.participants": "Teilnehmende",
  "privacy.hideParticipants": "Teilnehmende ausblenden",
  "privacy.participantsLoading": "Teilnehmende werden geladen …",
  "privacy.participantsEmpty": "Zu dieser Beratung sind keine Teilnehmenden gespeichert.",
  "privacy.participantsHint": "Wer teilgenommen hat, für Anfragen auf Auskunft, Berichtigung oder Löschung.",
  "privacy.eraseWhenEnded": "Daten können gelöscht werden, sobald die Beratung beendet ist.",
  "privacy.role.advisor": "Berater/in",
  "privacy.role.customer": "Kunde/Kundin",
  "privacy.status.waiting": "Wartet",
  "privacy.status.admitted": "Hat teilgenommen",
  "privacy.status.refused": "Abgewiesen",
  "privacy.status.removed": "Entfernt",
  "privacy.status.left": "Hat verlassen",
  "privacy.rectify": "Namen berichtigen",
  "privacy.rectifyTitle": "Namen von {name} berichtigen",
  "privacy.rectifySave": "Namen speichern",
  "privacy.rectifyNeedName": "Bitte geben Sie Vor- und Nachnamen ein.",
  "privacy.rectifyDone": "Der Name wurde zu „{name}“ berichtigt.",
  "privacy.eraseParticipant": "Löschen",
  "privacy.eraseParticipantConfirm": "{name} mit allen Nachrichten und Dateien endgültig löschen? Das lässt sich nicht rückgängig machen.",
  "privacy.participantErased": "Die Daten von {name} wurden gelöscht.",
  "privacy.exportParticipantTitle": "Alles herunterladen, was zu {name} gespeichert ist: export.json und die eigenen Dateien",
  "privacy.error.restricted": "Diese Beratung ist eingeschränkt: Die Inhalte bleiben gespeichert, werden aber weder angezeigt noch geändert oder exportiert. Heben Sie die Einschränkung zuerst auf, wenn der Grund dafür entfallen ist; eingeschränkte Daten kann die Administration exportieren.",
  "privacy.error.invalid_state": "Das ist erst möglich, wenn die Beratung beendet ist. Bitte beenden Sie die Beratung zuerst und versuchen Sie es dann erneut.",
  "privacy.error.content_erased": "Die Inhalte dieser Beratung wurden endgültig gelöscht; es gibt nichts mehr anzuzeigen oder zu exportieren.",
  "privacy.error.not_found": "Diese Beratung oder diese Person gibt es nicht mehr (vielleicht wurde sie gelöscht). Die Liste wurde aktualisiert.",
  "privacy.error.name": "Der Name wurde nicht angenommen: Bitte verwenden Sie nur Buchstaben, Leerzeichen, Bindestriche, Apostrophe und Punkte, höchstens 60 Zeichen je Feld, und versuchen Sie es erneut.",

  "receipt.title": "Ihre Daten",
  "receipt.offer": "Sie können einen persönlichen Link erhalten, mit dem Sie später alles herunterladen können, was Parley aus dieser Beratung über Sie gespeichert hat, oder es löschen lassen.",
  "receipt.button": "Meinen Beleg-Link erhalten",
  "receipt.urlLabel": "Ihr persönlicher Beleg-Link",
  "receipt.keep": "Bewahren Sie diesen Link auf: Damit können Sie alles herunterladen, was Parley über Sie gespeichert hat, oder es löschen lassen. Er wird nur dieses eine Mal angezeigt, und in Ihrem Browser wird nichts gespeichert. Wer den Link hat, kann dasselbe tun; geben Sie ihn daher bitte nicht weiter.",
  "receipt.failed": "Der Beleg-Link konnte nicht erstellt werden. {reason}",
  "receipt.noSession": "Dieser Browser kennt Ihre Beratung nicht mehr, daher kann hier kein Beleg-Link erstellt werden. Bitte wenden Sie sich an das Unternehmen, das Sie eingeladen hat.",

  "receiptPage.title": "Ihre Daten aus einer Parley-Beratung",
  "receiptPage.intro": "Mit diesem persönlichen Link können Sie alles herunterladen, was Parley aus dieser Beratung über Sie gespeichert hat, oder es löschen lassen.",
  "receiptPage.date": "Datum",
  "receiptPage.state": "Stand",
  "receiptPage.unknownDate": "nicht begonnen",
  "receiptPage.state.waiting": "Nicht begonnen",
  "receiptPage.state.lobby": "Warteraum",
  "receiptPage.state.active": "Läuft",
  "receiptPage.state.ended": "Beendet",
  "receiptPage.download": "Meine Daten herunterladen (ZIP)",
  "receiptPage.downloadHint": "Eine ZIP-Datei mit export.json (Ihr Name, wann Sie teilgenommen haben, Ihre Nachrichten) und den Dateien, die Sie geteilt haben.",
  "receiptPage.erase": "Meine Daten löschen",
  "receiptPage.eraseHint": "Ihr Name, Ihre Nachrichten und Ihre Dateien werden endgültig gelöscht. Dieser Link funktioniert danach nicht mehr.",
  "receiptPage.eraseConfirm": "Alle Ihre Daten aus dieser Beratung endgültig löschen? Das lässt sich nicht rückgängig machen.",
  "receiptPage.eraseYes": "Ja, meine Daten löschen",
  "receiptPage.erased": "Ihre Daten wurden gelöscht. Dieser Link funktioniert nicht mehr; Sie können diese Seite schließen.",
  "receiptPage.invalid": "Dieser Link ist nicht gültig, oder die Daten, zu denen er gehörte, wurden gelöscht. Bitte prüfen Sie, ob Sie den ganzen Link kopiert haben. Wenn Sie Hilfe brauchen, wenden Sie sich an das Unternehmen, das Sie zur Beratung eingeladen hat.",
  "receiptPage.restricted": "Die Verarbeitung Ihrer Daten ist zurzeit eingeschränkt: Sie bleiben gespeichert, können hier aber weder heruntergeladen noch gelöscht werden. Bitte wenden Sie sich an das Unternehmen, das Sie zur Beratung eingeladen hat.",
  "receiptPage.notEnded": "Löschen ist möglich, sobald die Beratung beendet ist. Bitte öffnen Sie diesen Link wieder, wenn sie beendet ist.",
  "receiptPage.failed": "Ihre Daten konnten nicht geladen werden. {reason}",
  "receiptPage.retry": "Erneut versuchen",

  "ops.title": "Nutzungsstatistik",
  "ops.intro": "Anonyme Zahlen zu beendeten Beratungen, je Tag (UTC) und Team. Sie enthalten keine Namen und keine Inhalte.",
  "ops.from": "Von",
  "ops.to": "Bis",
  "ops.team": "Team (Kurzname, optional)",
  "ops.teamPlaceholder": "alle Teams",
  "ops.show": "Anzeigen",
  "ops.csv": "CSV herunterladen",
  "ops.loading": "Statistik wird geladen …",
  "ops.minGroup": "Gruppen mit weniger als {n} Beratungen werden zum Schutz der Privatsphäre ausgeblendet.",
  "ops.col.day": "Tag",
  "ops.col.team": "Team",
  "ops.col.consultations": "Beratungen",
  "ops.col.durationAvg": "Dauer, Durchschnitt",
  "ops.col.durationP90": "Dauer, 90. Perzentil",
  "ops.col.waitingAvg": "Wartezeit, Durchschnitt",
  "ops.col.waitingP90": "Wartezeit, 90. Perzentil",
  "ops.suppressed": "weniger als {n} Beratungen – zum Schutz der Privatsphäre ausgeblendet",
  "ops.noValue": "keine Angabe",
  "ops.none": "In diesem Zeitraum wurde keine Beratung beendet.",
  "ops.badDate": "Bitte geben Sie beide Daten vollständig ein (zum Beispiel 2026-11-21).",
  "ops.badRange": "Das Anfangsdatum liegt nach dem Enddatum. Bitte korrigieren Sie die Daten.",
  "ops.badTeam": "Der Kurzname eines Teams besteht aus Kleinbuchstaben, Ziffern und Bindestrichen (zum Beispiel „beratung-nord“). Bitte korrigieren Sie ihn, oder lassen Sie das Feld für alle Teams leer.",
  "ops.noTeam": "Es gibt kein Team mit dem Kurznamen „{team}“. Bitte prüfen Sie die Schreibweise, oder lassen Sie das Feld für alle Teams leer.",
  "ops.failed": "Die Statistik konnte nicht geladen werden. {reason}",

  "size.bytes": "{n} Byte",
  "size.kb": "{n} KB",
  "size.mb": "{n} MB",

  "time.seconds": "{n} s",
  "time.minutes": "{n} Min.",
  "time.hours": "{h} Std. {m} Min.",
  "time.hoursOnly": "{h} Std.",
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

/** "512 bytes", "12.5 KB", "3.4 MB" (binary units, as the server's limit). */
export function formatSize(lang: Lang, bytes: number): string {
  const locale = lang === "de" ? "de-DE" : "en-GB";
  const number = (n: number) => new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(n);
  if (bytes < 1024) return translate(lang, "size.bytes", { n: number(bytes) });
  if (bytes < 1024 * 1024) return translate(lang, "size.kb", { n: number(bytes / 1024) });
  return translate(lang, "size.mb", { n: number(bytes / (1024 * 1024)) });
}

/** "14:05" for today, "21 Nov 2026, 14:05" for another day. */
export function formatTime(lang: Lang, iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const locale = lang === "de" ? "de-DE" : "en-GB";
  if (date.toDateString() === new Date().toDateString()) {
    return date.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  }
  return date.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}

export function formatDateTime(lang: Lang, iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(lang === "de" ? "de-DE" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}

/** A duration in statistics: "45 s", "4 min" (rounded to the minute), "1 h 5 min". */
export function formatMinutes(lang: Lang, seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return translate(lang, "time.seconds", { n: s });
  const minutes = Math.round(s / 60);
  if (minutes < 60) return translate(lang, "time.minutes", { n: minutes });
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? translate(lang, "time.hoursOnly", { h }) : translate(lang, "time.hours", { h, m });
}

/** A calendar day "YYYY-MM-DD" (UTC) as "21 Nov 2026" / "21.11.2026". */
export function formatDay(lang: Lang, day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return day;
  return date.toLocaleDateString(lang === "de" ? "de-DE" : "en-GB", { dateStyle: "medium", timeZone: "UTC" });
}

/** The date only, e.g. "21 Nov 2026". */
export function formatDate(lang: Lang, iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString(lang === "de" ? "de-DE" : "en-GB", { dateStyle: "long" });
}
