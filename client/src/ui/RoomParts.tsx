// Small parts of the room: the consent screen, participant badges, the screen at the end.
import type { Participant, ParticipantRole } from "../protocol/types";
import type { Key } from "../i18n";
import { Icon } from "./icons";
import { useI18n } from "./i18n";
import { Notice } from "./Layout";
import { navigate } from "./router";

export type OverReason = "ended" | "left" | "removed" | "logout" | "expired";

export function Badges({ participant: p }: { participant: Participant }) {
  const { t } = useI18n();
  return (
    <>
      {!p.audio && <span className="badge-warn">{t("room.micOff")}</span>}
      {!p.video && <span className="badge-warn">{t("room.camOff")}</span>}
      {!p.connected && <span className="badge-warn">{t("room.disconnected")}</span>}
    </>
  );
}

export function RoomOver({ reason, role }: { reason: OverReason; role: ParticipantRole }) {
  const { t } = useI18n();
  const text: Record<OverReason, Key> = {
    ended: "room.ended",
    left: "room.left",
    removed: "room.removed",
    logout: "room.loggedOut",
    expired: "room.expired",
  };
  return (
    <section className="card narrow">
      <h1 className="visually-hidden">{t("room.heading")}</h1>
      <Notice testId="room-ended">{t(text[reason])}</Notice>
      {role === "advisor" && (
        <button type="button" className="button primary" onClick={() => navigate(reason === "logout" || reason === "expired" ? "/login" : "/dashboard")}>
          {t("room.backToDashboard")}
        </button>
      )}
    </section>
  );
}

/** Camera and microphone only after this explicit click. */
export function ConsentScreen({
  starting,
  mediaError,
  onStart,
}: {
  starting: boolean;
  mediaError: Key | null;
  onStart: (withMedia: boolean) => void;
}) {
  const { t } = useI18n();
  return (
    <section className="card narrow consent">
      <h1>{t("room.consentTitle")}</h1>
      <p>{t("room.consentText")}</p>
      {mediaError && <Notice kind="error">{t(mediaError)}</Notice>}
      <div className="stack">
        <button
          type="button"
          className="button primary large"
          onClick={() => onStart(true)}
          disabled={starting}
          data-testid="start-media"
        >
          <Icon name="cam" />
          {t("room.startMedia")}
        </button>
        {mediaError && (
          <button type="button" className="button" onClick={() => onStart(false)} data-testid="join-without-media">
            {t("room.joinWithoutMedia")}
          </button>
        )}
      </div>
    </section>
  );
}
