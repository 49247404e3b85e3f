import { useEffect, useState, type FormEvent } from "react";
import { formatDateTime } from "../i18n";
import { api } from "../protocol/api";
import { ApiError } from "../protocol/errors";
import type { Booking, FreeSlots } from "../protocol/types";
import { CopyField } from "./CopyField";
import { ConsentFields } from "./ConsentFields";
import { useI18n } from "./i18n";
import { Notice, Page, Spinner } from "./Layout";

/** `/t/<slug>/book`: a team's free appointment times and the booking form. */
export function Book({ slug }: { slug: string }) {
  const { t, errorText } = useI18n();
  const [info, setInfo] = useState<FreeSlots | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [booking, setBooking] = useState<Booking | null>(null);

  const load = async () => {
    try {
      setInfo(await api.freeSlots(slug));
    } catch (err) {
      setLoadError(err);
    }
  };
  useEffect(() => {
    void load();
  }, [slug]);

  useEffect(() => {
    document.title = `${t("appt.title")} · ${t("app.name")}`;
  }, [t]);

  let body;
  if (loadError !== null) {
    const code = loadError instanceof ApiError ? loadError.code : "";
    body = (
      <section className="card narrow">
        <Notice kind="error" testId="book-error">
          {code === "not_found" ? t("join.badLink") : errorText(loadError)}
        </Notice>
      </section>
    );
  } else if (booking) {
    body = <Confirmation booking={booking} />;
  } else if (!info) {
    body = <Spinner label={t("app.loading")} />;
  } else {
    body = <BookForm info={info} onBooked={setBooking} onStale={() => void load()} />;
  }
  return <Page>{body}</Page>;
}

function BookForm({
  info,
  onBooked,
  onStale,
}: {
  info: FreeSlots;
  onBooked: (booking: Booking) => void;
  onStale: () => void;
}) {
  const { t, lang, errorText } = useI18n();
  const [slot, setSlot] = useState("");
  const [ack, setAck] = useState(false);
  const [firstName, setFirstName] = useState("");
  const [lastName, setLastName] = useState("");
  const [reminder, setReminder] = useState(false);
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    const first = firstName.trim();
    const last = lastName.trim();
    if (!slot) return setError(t("book.needSlot"));
    if (!ack) return setError(t("join.needAck"));
    if (!first || !last) return setError(t("join.needName"));
    if (reminder && !email.trim()) return setError(t("book.needEmail"));
    setBusy(true);
    setError(null);
    try {
      const answer = await api.book({
        slot_id: slot,
        first_name: first,
        last_name: last,
        notice_version: info.notice.version,
        reminder,
        ...(reminder ? { email: email.trim() } : {}),
        lang,
      });
      onBooked(answer.booking);
    } catch (err) {
      const detail = err instanceof ApiError && err.code === "invalid_payload" && err.message ? ` (${err.message})` : "";
      setError(errorText(err) + detail);
      setBusy(false);
      if (err instanceof ApiError && err.code === "slot_taken") {
        setSlot("");
        onStale();
      }
    }
  };

  return (
    <section className="card narrow">
      <h1>{t("book.title", { team: info.team.name })}</h1>
      <p className="muted">{t("book.intro")}</p>
      <form className="form" onSubmit={submit} noValidate>
        <fieldset className="slots">
          <legend>{t("book.slots")}</legend>
          {info.slots.length === 0 && (
            <Notice testId="no-slots">{t("book.noSlots")}</Notice>
          )}
          {info.slots.map((s) => (
            <label key={s.id} className="check" data-testid="free-slot">
              <input type="radio" name="slot" value={s.id} checked={slot === s.id} onChange={() => setSlot(s.id)} />
              <span>{formatDateTime(lang, s.starts_at)}</span>
            </label>
          ))}
        </fieldset>
        <ConsentFields
          notice={info.notice}
          ack={ack}
          onAck={setAck}
          firstName={firstName}
          onFirstName={setFirstName}
          lastName={lastName}
          onLastName={setLastName}
          testPrefix="book"
        />
        {info.reminders && (
          <>
            <label className="check">
              <input
                type="checkbox"
                checked={reminder}
                onChange={(e) => setReminder(e.target.checked)}
                data-testid="book-reminder"
              />
              <span>{t("book.reminder")}</span>
            </label>
            {reminder && (
              <label className="field">
                <span>{t("book.email")}</span>
                <input
                  type="email"
                  autoComplete="email"
                  maxLength={254}
                  value={email}
                  onChange={(e) => setEmail(e.target.value)}
                  data-testid="book-email"
                />
              </label>
            )}
          </>
        )}
        {error && (
          <Notice kind="error" testId="book-error">
            {error}
          </Notice>
        )}
        <button type="submit" className="button primary" disabled={busy || info.slots.length === 0} data-testid="book-submit">
          {t("book.submit")}
        </button>
      </form>
    </section>
  );
}

function Confirmation({ booking }: { booking: Booking }) {
  const { t, lang } = useI18n();
  return (
    <section className="card narrow" data-testid="book-confirmation">
      <h1>{t("appt.title")}</h1>
      <Notice kind="success">{t("book.done", { when: formatDateTime(lang, booking.starts_at) })}</Notice>
      <p>{t("book.doneLink", { opens: formatDateTime(lang, booking.opens_at) })}</p>
      <CopyField value={booking.url} label={t("appt.link")} testId="book-url" />
      <p>{t("book.doneKeep")}</p>
      <p>
        <a className="button" href={booking.calendar_url} download="appointment.ics" data-testid="book-calendar">
          {t("book.calendar")}
        </a>
      </p>
      {booking.reminder && <p className="muted">{t("book.reminderSet")}</p>}
    </section>
  );
}
