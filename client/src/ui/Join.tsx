import { useEffect, useRef, useState, type FormEvent } from "react";
import { api } from "../protocol/api";
import { ApiError } from "../protocol/errors";
import { formatDateTime } from "../i18n";
import type { InviteJoinInfo, JoinTarget, Notice as PrivacyNotice } from "../protocol/types";
import { ConsentFields } from "./ConsentFields";
import { useI18n } from "./i18n";
import { Notice, Page, Spinner } from "./Layout";
import { linkHandler, navigate } from "./router";

type Loaded = {
  title: string;
  notice: PrivacyNotice;
  target: JoinTarget;
  appointment?: InviteJoinInfo["appointment"];
};

/** How often a join answered `busy` is sent again before the error shows. */
const BUSY_TRIES = 20;
/** Seconds between tries when a `busy` answer says nothing (it says `Retry-After: 3`). */
const BUSY_WAIT = 3;

/** `/t/<slug>` (team instant link) and `/i/<token>` (invite link). */
export function Join(props: { team: string } | { invite: string }) {
  const { t, errorText } = useI18n();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const key = "team" in props ? `t:${props.team}` : `i:${props.invite}`;

  useEffect(() => {
    let cancelled = false;
    setLoaded(null);
    setLoadError(null);
    const load = async (): Promise<Loaded> => {
      if ("team" in props) {
        const info = await api.teamJoinInfo(props.team);
        return { title: info.team.name, notice: info.notice, target: { team: props.team } };
      }
      const info = await api.inviteJoinInfo(props.invite);
      return {
        title: info.consultation.title ?? "",
        notice: info.notice,
        target: { invite: props.invite },
        appointment: info.appointment,
      };
    };
    load()
      .then((value) => !cancelled && setLoaded(value))
      .catch((err: unknown) => !cancelled && setLoadError(err));
    return () => {
      cancelled = true;
    };
    // `key` identifies the link; a new but equal props object must not reload the page.
  }, [key]);

  useEffect(() => {
    document.title = t("app.name");
  }, [t]);

  let body;
  if (loadError !== null) {
    const code = loadError instanceof ApiError ? loadError.code : "";
    const text = code === "not_found" || code === "invalid_payload" ? t("join.badLink") : errorText(loadError);
    body = (
      <section className="card narrow">
        <Notice kind="error" testId="join-error">
          {text}
        </Notice>
      </section>
    );
  } else if (!loaded) {
    body = <Spinner label={t("app.loading")} />;
  } else {
    body = <JoinForm loaded={loaded} isTeam={"team" in props} />;
  }
  return <Page>{body}</Page>;
}

function JoinForm({ loaded, isTeam }: { loaded: Loaded; isTeam: boolean }) {
  const { t, lang, errorText } = useI18n();
  const [ack, setAck] = useState(false);
  const [firstName, setFirstName] = useState("");
  const [lastName, setLastName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [storm, setStorm] = useState(false);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false; // a customer who left the page is not joined behind their back
    };
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    const first = firstName.trim();
    const last = lastName.trim();
    if (!ack) return setError(t("join.needAck"));
    if (!first || !last) return setError(t("join.needName"));
    setBusy(true);
    setError(null);
    const body = { ...loaded.target, first_name: first, last_name: last, notice_version: loaded.notice.version };
    try {
      // In a join storm the server answers `busy` (nothing done) rather than keep the
      // request waiting; the same join is sent again, the customer need not do anything.
      for (let attempt = 1; ; attempt++) {
        try {
          await api.join(body);
          break;
        } catch (err) {
          if (!(err instanceof ApiError && err.code === "busy") || attempt >= BUSY_TRIES) throw err;
          setStorm(true);
          // as long as the server asks (Retry-After), give or take a third, so that the
          // customers of one storm do not all come back at the same moment
          const wait = Math.max(1, err.retryAfter ?? BUSY_WAIT) * (0.67 + Math.random() * 0.67);
          await new Promise((resolve) => setTimeout(resolve, wait * 1000));
          if (!mounted.current) return;
        }
      }
      navigate("/c");
    } catch (err) {
      // invalid_payload carries a precise message ("first_name: ..."); show it with the general hint.
      const detail = err instanceof ApiError && err.code === "invalid_payload" && err.message ? ` (${err.message})` : "";
      setError(errorText(err) + detail);
      setStorm(false);
      setBusy(false);
    }
  };

  const checkUrl = `/check?back=${encodeURIComponent(location.pathname)}`;
  const appointment = loaded.appointment;
  const heading = isTeam
    ? t("join.titleTeam", { team: loaded.title })
    : appointment
      ? t("join.appointment", { when: formatDateTime(lang, appointment.starts_at) })
      : loaded.title
        ? `${t("join.titleInvite")}: ${loaded.title}`
        : t("join.titleInvite");
  const bookUrl = "team" in loaded.target ? `/t/${encodeURIComponent(loaded.target.team)}/book` : null;

  if (appointment && !appointment.open) {
    return (
      <section className="card narrow">
        <h1>{heading}</h1>
        <Notice testId="join-not-open">{t("join.notOpen", { when: formatDateTime(lang, appointment.opens_at) })}</Notice>
        <p>
          <a href={checkUrl} onClick={linkHandler(checkUrl)} data-testid="check-link">
            {t("check.link")}
          </a>
        </p>
      </section>
    );
  }

  return (
    <section className="card narrow">
      <h1>{heading}</h1>
      <p className="muted">{t("join.intro")}</p>
      <p>
        <a href={checkUrl} onClick={linkHandler(checkUrl)} data-testid="check-link">
          {t("check.link")}
        </a>
      </p>
      {bookUrl && (
        <p>
          <a href={bookUrl} onClick={linkHandler(bookUrl)} data-testid="book-link">
            {t("book.link")}
          </a>
        </p>
      )}
      <form className="form" onSubmit={submit} noValidate>
        <ConsentFields
          notice={loaded.notice}
          ack={ack}
          onAck={setAck}
          firstName={firstName}
          onFirstName={setFirstName}
          lastName={lastName}
          onLastName={setLastName}
          testPrefix="join" named
        />
        {storm && <Notice testId="join-busy">{t("join.busy")}</Notice>}
        {error && (
          <Notice kind="error" testId="join-error">
            {error}
          </Notice>
        )}
        <button type="submit" className="button primary" disabled={busy} data-testid="join-submit">
          {t("join.submit")}
        </button>
      </form>
    </section>
  );
}
