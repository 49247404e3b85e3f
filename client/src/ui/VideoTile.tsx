import { useEffect, useRef, useState, type ReactNode } from "react";
import { useI18n } from "./i18n";

export function VideoTile({
  stream,
  local = false,
  label,
  badges,
  actions,
  testId,
  participantId,
  placeholder,
  title,
  muted,
}: {
  stream: MediaStream | null;
  local?: boolean;
  label: string;
  badges?: ReactNode;
  actions?: ReactNode;
  testId: string;
  participantId?: string;
  /** Shown over the video (e.g. "camera off"). */
  placeholder?: ReactNode;
  /** Tooltip of the caption (e.g. the full name). */
  title?: string;
  /** Whether the sound is muted; a local tile always is, a remote one by default not. */
  muted?: boolean;
}) {
  const { t } = useI18n();
  const video = useRef<HTMLVideoElement>(null);
  const [blocked, setBlocked] = useState(false);
  const silent = local || (muted ?? false);

  useEffect(() => {
    // React does not keep the `muted` property in step with the attribute on updates.
    if (video.current) video.current.muted = silent;
  }, [silent]);

  useEffect(() => {
    const element = video.current;
    if (!element) return;
    if (element.srcObject !== stream) element.srcObject = stream;
    if (!stream) return;
    element.play().then(
      () => setBlocked(false),
      (err: unknown) => {
        // Autoplay refused (no user gesture yet): offer a button. AbortError = replaced source.
        if (err instanceof DOMException && err.name === "NotAllowedError") setBlocked(true);
      },
    );
  }, [stream]);

  return (
    <figure className={`tile ${local ? "tile-local" : "tile-remote"}`} data-participant-id={participantId}>
      <video
        ref={video}
        autoPlay
        playsInline
        muted={silent}
        data-testid={testId}
        data-participant-id={participantId}
      />
      {placeholder && <div className="tile-placeholder">{placeholder}</div>}
      {blocked && (
        <button
          type="button"
          className="button primary tile-play"
          onClick={() => {
            void video.current?.play().then(() => setBlocked(false), () => undefined);
          }}
        >
          {t("room.play")}
        </button>
      )}
      {actions && <div className="tile-actions">{actions}</div>}
      <figcaption className="tile-caption" title={title}>
        <span className="tile-name">{label}</span>
        {badges}
      </figcaption>
    </figure>
  );
}
