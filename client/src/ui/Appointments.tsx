import { useCallback, useEffect, useState, type FormEvent } from "react";
import { formatDateTime } from "../i18n";
import { advisorCalendarUrl, api } from "../protocol/api";
import type { Account, Appointment } from "../protocol/types";
import { CopyField } from "./CopyField";
import { useI18n } from "./i18n";
import { Notice } from "./Layout";

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Tomorrow's date in the browser's time zone, as a date input wants it. */
function tomorrow(): string {
  const d = new Date(Date.now() + 24 * 3600 * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The advisor's appointments: offer times, withdraw free ones, see who booked which. */
export function AppointmentsCard({ account }: { account: Account }) {
  const { t, lang, errorText } = useI18n();
  const [list, setList] = useState<Appointment[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [date, setDate] = useState(tomorrow);
  const [time, setTime] = useState("10:00");
  const [minutes, setMinutes] = useState(30);
  const [busy, setBusy] = useState(false);
  const [hint, setHint] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      setList((await api.appointments()).appointments);
    } catch (err) {
      setError(err);
    }
  }, []);

  useEffect(() => {
    void reload();
    const timer = window.setInterval(() => void reload(), 30_000);
    return () => window.clearInterval(timer);
  }, [reload]);

  const run = async (action: () => Promise<unknown>) => {
    setError(null);
    setHint(null);
    setBusy(true);
    try {
      await action();
    } catch (err) {
      setError(err);
    }
    setBusy(false);
    await reload();
  };

  const publish = (event: FormEvent) => {
    event.preventDefault();
    const start = new Date(`${date}T${time}`);
    if (!date || !time || Number.isNaN(start.getTime())) {
      setHint(t("appt.needDate"));
      return;
    }
    void run(() => api.createSlot(start.toISOString(), minutes));
  };

  const slug = account.team?.slug;
  const bookingUrl = slug ? `${location.origin}/t/${encodeURIComponent(slug)}/book` : null;

  return (
    <section className="card" aria-labelledby="appt-title" data-testid="appointments">
      <h2 id="appt-title">{t("appt.title")}</h2>
      <p className="muted small">{t("appt.hint")}</p>
      {bookingUrl && <CopyField value={bookingUrl} label={t("appt.bookingLink")} testId="booking-url" />}
      <form className="form" onSubmit={publish} noValidate>
        <div className="field-row">
          <label className="field">
            <span>{t("appt.date")}</span>
            <input type="date" value={date} onChange={(e) => setDate(e.target.value)} required data-testid="slot-date" />
          </label>
          <label className="field">
            <span>{t("appt.time")}</span>
            <input type="time" value={time} onChange={(e) => setTime(e.target.value)} required data-testid="slot-time" />
          </label>
          <label className="field">
            <span>{t("appt.duration")}</span>
            <input
              type="number"
              min={5}
              max={480}
              step={5}
              value={minutes}
              onChange={(e) => setMinutes(Number(e.target.value) || 30)}
              data-testid="slot-minutes"
            />
          </label>
        </div>
        {hint && <Notice kind="error">{hint}</Notice>}
        {error !== null && (
          <Notice kind="error" testId="appointments-error">
            {errorText(error)}
          </Notice>
        )}
        <button type="submit" className="button primary" disabled={busy} data-testid="slot-publish">
          {t("appt.publish")}
        </button>
      </form>
      {list !== null && list.length === 0 && <p className="muted">{t("appt.none")}</p>}
      {list !== null && list.length > 0 && (
        <ul className="list">
          {list.map((a) => {
            const when = formatDateTime(lang, a.starts_at);
            return (
              <li key={a.id} className="list-row" data-testid="appointment" data-state={a.state}>
                <div className="list-main">
                  <strong>{when}</strong>
                  {a.booking ? (
                    <>
                      <span data-testid="appointment-name">{t("appt.booked", { name: a.booking.name })}</span>
                      {a.booking.reminder && <span className="muted small">{t("appt.reminder")}</span>}
                      <CopyField value={a.booking.url} label={t("appt.link")} />
                      <a href={advisorCalendarUrl(a.id)} download="appointment.ics">
                        {t("appt.calendar")}
                      </a>
                    </>
                  ) : (
                    <span className="muted">{t("appt.free")}</span>
                  )}
                </div>
                {!a.booking && (
                  <button
                    type="button"
                    className="button"
                    disabled={busy}
                    aria-label={t("appt.deleteLabel", { when })}
                    onClick={() => void run(() => api.cancelSlot(a.id))}
                  >
                    {t("appt.delete")}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
