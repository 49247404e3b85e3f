// The advisor's own consultations on the dashboard, each with its lobby.
import { useState } from "react";
import type { ConsultationLive, LobbyEntry } from "../protocol/types";
import { formatDateTime, formatDuration } from "../i18n";
import { ChatRecord } from "./ChatRecord";
import { ConfirmButton } from "./ConfirmButton";
import { secondsSince, useNow } from "./hooks";
import { useI18n } from "./i18n";
import { Spinner } from "./Layout";
import { navigate } from "./router";
import { ConsultationPrivacy, PrivacyBadges } from "./Privacy";

export function WaitingTime({ since, now }: { since: string; now: number }) {
  const { t, lang } = useI18n();
  return (
    <span className="muted small">{t("dash.waitingFor", { time: formatDuration(lang, secondsSince(since, now)) })}</span>
  );
}

export function ConsultationsCard({
  consultations,
  onAdmit,
  onRefuse,
  onEnd,
  onChanged,
}: {
  consultations: ConsultationLive[] | null;
  onAdmit: (consultationId: string, participantId: string) => void;
  onRefuse: (consultationId: string, participantId: string) => void;
  onEnd: (consultationId: string) => void;
  /** A data-subject action changed a consultation: load the list again. */
  onChanged: () => Promise<void> | void;
}) {
  const { t } = useI18n();
  const [showEnded, setShowEnded] = useState(false);
  if (consultations === null) {
    return (
      <section className="card">
        <h2>{t("dash.consultations")}</h2>
        <Spinner label={t("app.loading")} />
      </section>
    );
  }
  const open = consultations.filter((c) => c.state !== "ended");
  const ended = consultations.filter((c) => c.state === "ended");
  const shown = showEnded ? [...open, ...ended] : open;
  return (
    <section className="card" aria-labelledby="consultations-title">
      <h2 id="consultations-title">{t("dash.consultations")}</h2>
      {shown.length === 0 && <p className="muted">{t("dash.consultationsEmpty")}</p>}
      <ul className="list">
        {shown.map((c) => (
          <ConsultationRow
            key={c.id}
            consultation={c}
            onAdmit={onAdmit}
            onRefuse={onRefuse}
            onEnd={onEnd}
            onChanged={onChanged}
          />
        ))}
      </ul>
      {ended.length > 0 && (
        <button
          type="button"
          className="button link"
          onClick={() => setShowEnded(!showEnded)}
          aria-expanded={showEnded}
          data-testid="show-ended"
        >
          {showEnded ? t("dash.hideEnded") : t("dash.showEnded", { count: ended.length })}
        </button>
      )}
    </section>
  );
}

function ConsultationRow({
  consultation: c,
  onAdmit,
  onRefuse,
  onEnd,
  onChanged,
}: {
  consultation: ConsultationLive;
  onAdmit: (consultationId: string, participantId: string) => void;
  onRefuse: (consultationId: string, participantId: string) => void;
  onEnd: (consultationId: string) => void;
  onChanged: () => Promise<void> | void;
}) {
  const { t, lang } = useI18n();
  const now = useNow(1000);
  const [showRecord, setShowRecord] = useState(false);
  const ended = c.state === "ended";
  const recordButton = (
    <button
      type="button"
      className="button"
      onClick={() => setShowRecord(!showRecord)}
      aria-expanded={showRecord}
      data-testid="chat-record-button"
    >
      {showRecord ? t("record.hide") : t("record.button")}
    </button>
  );
  const title = c.title || t("dash.untitled", { date: formatDateTime(lang, c.created_at) });
  const stateKey = `dash.state.${c.state}` as const;
  return (
    <li className={`consultation ${ended ? "ended" : ""}`} data-testid="consultation" data-consultation-id={c.id}>
      <div className="consultation-head">
        <div className="list-main">
          <strong>{title}</strong>
          <span className="muted small">
            {t(c.kind === "instant" ? "dash.kind.instant" : "dash.kind.invite")} · {formatDateTime(lang, c.created_at)}
          </span>
        </div>
        <div className="flags">
          <PrivacyBadges consultation={c} />
          <span className={`state state-${c.state}`}>{t(stateKey)}</span>
        </div>
      </div>
      {c.erased && <p className="muted small">{t("privacy.erasedNote")}</p>}
      {!ended && (
        <>
          <div className="lobby">
            <h3>{t("dash.lobby")}</h3>
            {c.waiting.length === 0 ? (
              <p className="muted small">{t("dash.lobbyEmpty")}</p>
            ) : (
              <ul className="list">
                {c.waiting.map((w: LobbyEntry) => (
                  <li key={w.participant_id} className="list-row" data-testid="lobby-entry" data-participant-id={w.participant_id}>
                    <div className="list-main">
                      <strong>{w.name}</strong>
                      <WaitingTime since={w.waiting_since} now={now} />
                    </div>
                    <div className="row-actions">
                      <button
                        type="button"
                        className="button primary"
                        onClick={() => onAdmit(c.id, w.participant_id)}
                        data-testid="admit-button"
                      >
                        {t("dash.admit")}
                      </button>
                      <button
                        type="button"
                        className="button"
                        onClick={() => onRefuse(c.id, w.participant_id)}
                        data-testid="refuse-button"
                      >
                        {t("dash.refuse")}
                      </button>
                    </div>
                  </li>
                ))}
              </ul>
            )}
          </div>
          <div className="row-actions">
            <button
              type="button"
              className="button"
              onClick={() => navigate(`/room/${encodeURIComponent(c.id)}`)}
              data-testid="open-room-button"
            >
              {t("dash.openRoom")}
            </button>
            {recordButton}
            <ConfirmButton
              label={t("dash.end")}
              question={t("room.endConfirm")}
              yes={t("room.endYes")}
              onConfirm={() => onEnd(c.id)}
              testId="end-consultation-button"
            />
          </div>
        </>
      )}
      {ended && !c.erased && <div className="row-actions">{recordButton}</div>}
      {showRecord && !c.erased && <ChatRecord consultationId={c.id} />}
      {!c.erased && <ConsultationPrivacy consultation={c} onChanged={onChanged} />}
    </li>
  );
}
