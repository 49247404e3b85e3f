// Camera and microphone, asked for only after the user's explicit click.
import type { Key } from "../i18n";

export function mediaErrorKey(err: unknown): Key {
  const name = err instanceof DOMException ? err.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") return "room.mediaDenied";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "room.mediaNotFound";
  return "room.mediaFailed";
}

/** Camera and microphone; falls back to one of them when the other is missing. */
export async function openMedia(): Promise<MediaStream> {
  const video = { width: { ideal: 1280 }, height: { ideal: 720 } };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video });
  } catch (err) {
    const name = err instanceof DOMException ? err.name : "";
    if (name !== "NotFoundError" && name !== "NotReadableError" && name !== "OverconstrainedError") throw err;
    for (const constraints of [{ audio: true }, { video }]) {
      try {
        return await navigator.mediaDevices.getUserMedia(constraints);
      } catch {
        // try the next one
      }
    }
    throw err;
  }
}
