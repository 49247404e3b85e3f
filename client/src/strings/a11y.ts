// Strings of the narrow-screen view switcher and of what screen readers are told (merged
// into the catalogue of ../i18n.ts).

export const a11yEn = {
  "view.tabs": "Show whiteboard, video or chat",
  "view.board": "Board",
  "view.video": "Video",
  "view.chat": "Chat",
  "announce.joined": "{name} joined the consultation.",
  "announce.left": "{name} left the consultation.",
  "announce.message": "New message from {name}: {text}",
  "announce.file": "{name} shared the file {file}.",
  "announce.waiting": "You are in the waiting room. Your advisor will admit you shortly.",
  "announce.admitted": "You have been admitted. The consultation is starting.",
  "room.heading": "Consultation",
  "board.menu": "Whiteboard menu",
  "board.exporting": "Preparing the {format} file of the whiteboard…",
  "board.uploadProgress": "Uploading {name}: {percent} %",
} as const;

export const a11yDe: Record<keyof typeof a11yEn, string> = {
  "view.tabs": "Whiteboard, Video oder Chat anzeigen",
  "view.board": "Whiteboard",
  "view.video": "Video",
  "view.chat": "Chat",
  "announce.joined": "{name} hat die Beratung betreten.",
  "announce.left": "{name} hat die Beratung verlassen.",
  "announce.message": "Neue Nachricht von {name}: {text}",
  "announce.file": "{name} hat die Datei {file} geteilt.",
  "announce.waiting": "Sie sind im Warteraum. Ihre Beraterin oder Ihr Berater lässt Sie gleich eintreten.",
  "announce.admitted": "Sie wurden eingelassen. Die Beratung beginnt.",
  "room.heading": "Beratung",
  "board.menu": "Whiteboard-Menü",
  "board.exporting": "Die {format}-Datei des Whiteboards wird erstellt …",
  "board.uploadProgress": "{name} wird hochgeladen: {percent} %",
};
