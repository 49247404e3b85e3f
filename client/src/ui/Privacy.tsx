// The advisor's data-subject actions on the dashboard: per consultation export, restriction
// and erasure; per participant export, name correction and erasure.
import { useEffect, useId, useState, type FormEvent } from "react";
import { api, consultationExportUrl, participantExportUrl } from "../protocol/api";
import { ApiError } from "../protocol/errors";
import type { ConsultationLive, ParticipantRecord } from "../protocol/types";
import type { Key } from "../i18n";
import { ConfirmButton } from "./ConfirmButton";
import { Icon } from "./icons";
import { useI18n, type I18n } from "./i18n";
import { Notice, Spinner } from "./Layout";

const NAME_MAX = 60;

/** What went wrong with a data-subject action, and what to do about it. */
export function privacyErrorText({ t, errorText }: Pick<I18n, "t" | "errorText">, err: unknown): string {
  const code = err instanceof ApiError ? err.code : "";
  switch (code) {
    case "restricted":
    case "invalid_state":
    case "content_erased":
    case "not_found":
      return t(`privacy.error.${code}` as Key);
    default:
      return errorText(err);
  }
}

type Message = { kind: "success" | "error"; text: string } | null;

/** The "restricted" and "erased" badges of a consultation. */
export function PrivacyBadges({ consultation: c }: { consultation: ConsultationLive }) {
  const { t } = useI18n();
  return (
    <>
      {c.restricted && !c.erased && (
        <span className="flag flag-restricted" data-testid="badge-restricted">
          {t("badge.restricted")}
        </span>
      )}
      {c.erased && (
        <span className="flag flag-erased" data-testid="badge-erased">
          {t("badge.erased")}
        </span>
      )}
    </>
  );
}

/** Export, restrict/lift, erase and the participants of one (not erased) consultation. */
export function ConsultationPrivacy({
  consultation: c,
  onChanged,
}: {
  consultation: ConsultationLive;
  onChanged: () => Promise<void> | void;
}) {
  const i18n = useI18n();
  const { t } = i18n;
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);
  const [showParticipants, setShowParticipants] = useState(false);
  const ended = c.state === "ended";
  const panelId = useId();

  const run = async (action: () => Promise<unknown>, done: Key) => {
    if (busy) return;
    setBusy(true);
    setMessage(null);
    try {
      await action();
      setMessage({ kind: "success", text: t(done) });
    } catch (err) {
      setMessage({ kind: "error", text: privacyErrorText(i18n, err) });
    }
    await onChanged();
    setBusy(false);
  };

  return (
    <div className="privacy-actions" role="group" aria-label={t("privacy.group")}>
      {c.restricted && <p className="muted small">{t("privacy.restrictedNote")}</p>}
      <div className="row-actions">
        {!c.restricted && (
          <a
            className="button"
            href={consultationExportUrl(c.id)}
            download
            title={t("privacy.exportTitle")}
            data-testid="consultation-export"
          >
            <Icon name="download" size={16} />
            {t("privacy.export")}
          </a>
        )}
        <button
          type="button"
          className="button"
          onClick={() => setShowParticipants(!showParticipants)}
          aria-expanded={showParticipants}
          aria-controls={showParticipants ? panelId : undefined}
          data-testid="participants-button"
        >
          <Icon name="user" size={16} />
          {showParticipants ? t("privacy.hideParticipants") : t("privacy.participants")}
        </button>
        {c.restricted ? (
          <button
            type="button"
            className="button"
            disabled={busy}
            onClick={() => void run(() => api.setRestricted(c.id, false), "privacy.unrestrictDone")}
            data-testid="consultation-unrestrict"
          >
            {t("privacy.unrestrict")}
          </button>
        ) : (
          <button
            type="button"
            className="button"
            disabled={busy}
            onClick={() => void run(() => api.setRestricted(c.id, true), "privacy.restrictDone")}
            data-testid="consultation-restrict"
          >
            {t("privacy.restrict")}
          </button>
        )}
        {ended && !c.restricted && (
          <ConfirmButton
            label={t("privacy.erase")}
            question={t("privacy.eraseConfirm")}
            yes={t("privacy.eraseYes")}
            icon={<Icon name="trash" size={16} />}
            onConfirm={() => void run(() => api.eraseConsultation(c.id), "privacy.erasedNote")}
            testId="consultation-erase"
          />
        )}
      </div>
      {message && (
        <Notice kind={message.kind} testId={message.kind === "error" ? "privacy-error" : "privacy-done"}>
          {message.text}
        </Notice>
      )}
      {showParticipants && (
        <div id={panelId}>
          {/* A new key when the restriction changes: the list is loaded again. */}
          <Participants
            key={String(c.restricted)}
            consultationId={c.id}
            ended={ended}
            onChanged={onChanged}
          />
        </div>
      )}
    </div>
  );
}

function Participants({
  consultationId,
  ended,
  onChanged,
}: {
  consultationId: string;
  ended: boolean;
  onChanged: () => Promise<void> | void;
}) {
  const i18n = useI18n();
  const { t } = i18n;
  const [people, setPeople] = useState<ParticipantRecord[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [message, setMessage] = useState<Message>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let cancelled = false;
    setLoadError(null);
    api
      .listParticipants(consultationId)
      .then((data) => !cancelled && setPeople(data.participants))
      .catch((err: unknown) => {
        if (cancelled) return;
        setPeople(null);
        setLoadError(err);
      });
    return () => {
      cancelled = true;
    };
  }, [consultationId, generation]);

  const reload = () => setGeneration((n) => n + 1);

  const failed = async (err: unknown) => {
    setMessage({ kind: "error", text: privacyErrorText(i18n, err) });
    if (err instanceof ApiError && (err.code === "not_found" || err.code === "restricted")) await onChanged();
    reload();
  };

  const erase = async (p: ParticipantRecord) => {
    setMessage(null);
    try {
      await api.eraseParticipant(p.id);
      setMessage({ kind: "success", text: t("privacy.participantErased", { name: p.name }) });
      reload();
    } catch (err) {
      await failed(err);
    }
  };

  const rectified = (name: string) => {
    setEditing(null);
    setMessage({ kind: "success", text: t("privacy.rectifyDone", { name }) });
    reload();
  };

  let body;
  if (loadError !== null) {
    // Restricted is a state the advisor chose, not a failure: said calmly.
    const restricted = loadError instanceof ApiError && loadError.code === "restricted";
    body = (
      <Notice kind={restricted ? "info" : "error"} testId="participants-error">
        {privacyErrorText(i18n, loadError)}
      </Notice>
    );
  } else if (people === null) {
    body = <Spinner label={t("privacy.participantsLoading")} />;
  } else if (people.length === 0) {
    body = <p className="muted small">{t("privacy.participantsEmpty")}</p>;
  } else {
    body = (
      <ul className="list">
        {people.map((p) => (
          <li key={p.id} className="participant" data-testid="participant-row" data-participant-id={p.id}>
            <div className="list-row">
              <div className="list-main">
                <strong data-testid="participant-name">{p.name}</strong>
                <span className="muted small">
                  {roleText(t, p.role)} · {statusText(t, p.status)}
                </span>
              </div>
              <div className="row-actions">
                <a
                  className="button small"
                  href={participantExportUrl(p.id)}
                  download
                  title={t("privacy.exportParticipantTitle", { name: p.name })}
                  data-testid="participant-export"
                >
                  <Icon name="download" size={14} />
                  {t("privacy.export")}
                </a>
                <button
                  type="button"
                  className="button small"
                  aria-expanded={editing === p.id}
                  onClick={() => {
                    setMessage(null);
                    setEditing(editing === p.id ? null : p.id);
                  }}
                  data-testid="participant-rectify"
                >
                  {t("privacy.rectify")}
                </button>
                {ended && (
                  <ConfirmButton
                    className="button small danger"
                    label={t("privacy.eraseParticipant")}
                    question={t("privacy.eraseParticipantConfirm", { name: p.name })}
                    yes={t("privacy.eraseYes")}
                    onConfirm={() => void erase(p)}
                    testId="participant-erase"
                  />
                )}
              </div>
            </div>
            {editing === p.id && (
              <RectifyForm
                participant={p}
                onDone={rectified}
                onFailed={(err) => void failed(err)}
                onCancel={() => setEditing(null)}
              />
            )}
          </li>
        ))}
      </ul>
    );
  }

  return (
    <section className="participants" aria-label={t("privacy.participants")}>
      <h3>{t("privacy.participants")}</h3>
      <p className="muted small">
        {t("privacy.participantsHint")} {!ended && t("privacy.eraseWhenEnded")}
      </p>
      {message && (
        <Notice kind={message.kind} testId={message.kind === "error" ? "participant-error" : "participant-done"}>
          {message.text}
        </Notice>
      )}
      {body}
    </section>
  );
}

/** "Erika von Mustermann" → ["Erika von", "Mustermann"]: a starting point to correct. */
function splitName(name: string): [string, string] {
  const trimmed = name.trim();
  const space = trimmed.lastIndexOf(" ");
  return space < 0 ? [trimmed, ""] : [trimmed.slice(0, space), trimmed.slice(space + 1)];
}

function RectifyForm({
  participant,
  onDone,
  onFailed,
  onCancel,
}: {
  participant: ParticipantRecord;
  onDone: (name: string) => void;
  onFailed: (err: unknown) => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const [initialFirst, initialLast] = splitName(participant.name);
  const [first, setFirst] = useState(initialFirst);
  const [last, setLast] = useState(initialLast);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    const firstName = first.trim();
    const lastName = last.trim();
    if (!firstName || !lastName) {
      setError(t("privacy.rectifyNeedName"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.rectifyParticipant(participant.id, { first_name: firstName, last_name: lastName });
      onDone(`${firstName} ${lastName}`);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.code === "invalid_payload") setError(t("privacy.error.name"));
      else onFailed(err);
    }
  };

  return (
    <form className="form rectify" onSubmit={submit} noValidate aria-label={t("privacy.rectifyTitle", { name: participant.name })}>
      <div className="field-row">
        <label className="field">
          <span>{t("join.firstName")}</span>
          <input
            value={first}
            maxLength={NAME_MAX}
            autoComplete="off"
            onChange={(e) => setFirst(e.target.value)}
            data-testid="rectify-first"
            autoFocus
          />
        </label>
        <label className="field">
          <span>{t("join.lastName")}</span>
          <input
            value={last}
            maxLength={NAME_MAX}
            autoComplete="off"
            onChange={(e) => setLast(e.target.value)}
            data-testid="rectify-last"
          />
        </label>
      </div>
      {error && (
        <Notice kind="error" testId="rectify-error">
          {error}
        </Notice>
      )}
      <div className="row-actions">
        <button type="submit" className="button primary small" disabled={busy} data-testid="rectify-save">
          {t("privacy.rectifySave")}
        </button>
        <button type="button" className="button small" onClick={onCancel}>
          {t("room.cancel")}
        </button>
      </div>
    </form>
  );
}

function roleText(t: I18n["t"], role: string): string {
  return role === "advisor" || role === "customer" ? t(`privacy.role.${role}`) : role;
}

function statusText(t: I18n["t"], status: string): string {
  switch (status) {
    case "waiting":
    case "admitted":
    case "refused":
    case "removed":
    case "left":
      return t(`privacy.status.${status}`);
    default:
      return status;
  }
}
