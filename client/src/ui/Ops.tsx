// `/ops`, for ops accounts only: the live overview, the ended consultations of a day and
// the anonymous usage statistics.
import { useCallback, useEffect, useId, useState, type FormEvent } from "react";
import { api, statsCsvUrl } from "../protocol/api";
import { ApiError } from "../protocol/errors";
import type { StatsAnswer, StatsGroup, StatsQuery } from "../protocol/types";
import { formatDay, formatMinutes } from "../i18n";
import { AccountHeader, useAccount } from "./Account";
import { Icon } from "./icons";
import { useI18n } from "./i18n";
import { Notice, Page, Spinner } from "./Layout";
import { DayField, isDay, isTeam, TeamField, useFirstLoad } from "./OpsForm";
import { OpsHistory } from "./OpsHistory";
import { OpsLive } from "./OpsLive";
import { linkHandler, navigate } from "./router";

/** The default range: the last 30 days, today included (days in UTC, as the server counts). */
const DEFAULT_DAYS = 30;

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function defaultQuery(): StatsQuery {
  const today = new Date();
  const from = new Date(today.getTime() - (DEFAULT_DAYS - 1) * 24 * 3600 * 1000);
  return { from: utcDay(from), to: utcDay(today), team: "" };
}

export function Ops() {
  const { t, errorText } = useI18n();
  const { account, error } = useAccount();

  useEffect(() => {
    document.title = `${t("ops.pageTitle")} · ${t("app.name")}`;
  }, [t]);

  let body;
  if (error !== null) body = <Notice kind="error">{errorText(error)}</Notice>;
  else if (!account) body = <Spinner label={t("app.loading")} />;
  else if (account.role !== "ops")
    body = (
      <section className="card narrow">
        <Notice testId="ops-only">{t("account.opsOnly")}</Notice>
        <a className="button primary" href="/dashboard" onClick={linkHandler("/dashboard")}>
          {t("account.toDashboard")}
        </a>
      </section>
    );
  else
    body = (
      <>
        <OpsLive />
        <OpsHistory />
        <Statistics />
      </>
    );

  return (
    <Page header={account && <AccountHeader account={account} />} wide>
      {body}
    </Page>
  );
}

function Statistics() {
  const { t, errorText } = useI18n();
  const [form, setForm] = useState<StatsQuery>(defaultQuery);
  const [applied, setApplied] = useState<StatsQuery | null>(null);
  const [answer, setAnswer] = useState<StatsAnswer | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const formId = useId();

  const load = useCallback(
    async (query: StatsQuery) => {
      setLoading(true);
      setError(null);
      try {
        const data = await api.opsStats(query);
        setAnswer(data);
        setApplied(query);
      } catch (err) {
        const code = err instanceof ApiError ? err.code : "";
        if (code === "not_authenticated") {
          navigate("/login", true);
          return;
        }
        setAnswer(null);
        setApplied(null);
        if (code === "not_found" && query.team) setError(t("ops.noTeam", { team: query.team }));
        else setError(t("ops.failed", { reason: errorText(err) }));
      } finally {
        setLoading(false);
      }
    },
    [t, errorText],
  );

  // Once, with the default range; later loads come from the form.
  useFirstLoad(load, defaultQuery);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const query = { from: form.from.trim(), to: form.to.trim(), team: form.team.trim().toLowerCase() };
    if (!isDay(query.from) || !isDay(query.to)) return setError(t("ops.badDate"));
    if (query.from > query.to) return setError(t("ops.badRange"));
    if (!isTeam(query.team)) return setError(t("ops.badTeam"));
    void load(query);
  };

  return (
    <section className="card" aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>{t("ops.title")}</h2>
      <p className="muted">{t("ops.intro")}</p>
      <form className="stats-form" onSubmit={submit} noValidate>
        <DayField label={t("ops.from")} value={form.from} onChange={(from) => setForm({ ...form, from })} testId="ops-from" />
        <DayField label={t("ops.to")} value={form.to} onChange={(to) => setForm({ ...form, to })} testId="ops-to" />
        <TeamField label={t("ops.team")} value={form.team} onChange={(team) => setForm({ ...form, team })} testId="ops-team" />
        <button type="submit" className="button primary" disabled={loading} data-testid="ops-show">
          {t("ops.show")}
        </button>
      </form>
      {error && (
        <Notice kind="error" testId="ops-error">
          {error}
        </Notice>
      )}
      {loading && !answer ? (
        <Spinner label={t("ops.loading")} />
      ) : (
        answer &&
        applied && (
          <>
            <div className="stats-bar">
              <p className="muted small">{t("ops.minGroup", { n: answer.min_group })}</p>
              <a className="button" href={statsCsvUrl(applied)} download data-testid="ops-csv">
                <Icon name="download" size={16} />
                {t("ops.csv")}
              </a>
            </div>
            <StatsTable answer={answer} busy={loading} />
          </>
        )
      )}
    </section>
  );
}

function StatsTable({ answer, busy }: { answer: StatsAnswer; busy: boolean }) {
  const { t } = useI18n();
  if (answer.groups.length === 0) {
    return (
      <p className="muted" data-testid="ops-stats" data-rows="0">
        {t("ops.none")}
      </p>
    );
  }
  return (
    <div className="table-wrap">
      <table className="stats" data-testid="ops-stats" data-rows={answer.groups.length} aria-busy={busy}>
        <caption className="visually-hidden">{t("ops.title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("ops.col.day")}</th>
            <th scope="col">{t("ops.col.team")}</th>
            <th scope="col" className="num">
              {t("ops.col.consultations")}
            </th>
            <th scope="col" className="num">
              {t("ops.col.durationAvg")}
            </th>
            <th scope="col" className="num">
              {t("ops.col.durationP90")}
            </th>
            <th scope="col" className="num">
              {t("ops.col.waitingAvg")}
            </th>
            <th scope="col" className="num">
              {t("ops.col.waitingP90")}
            </th>
          </tr>
        </thead>
        <tbody>
          {answer.groups.map((g) => (
            <StatsRow key={`${g.day}:${g.team}`} group={g} minGroup={answer.min_group} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StatsRow({ group: g, minGroup }: { group: StatsGroup; minGroup: number }) {
  const { t, lang } = useI18n();
  const figure = (seconds: number | null) =>
    seconds === null ? (
      <>
        <span aria-hidden="true">–</span>
        <span className="visually-hidden">{t("ops.noValue")}</span>
      </>
    ) : (
      formatMinutes(lang, seconds)
    );
  return (
    <tr data-testid="ops-stats-row" data-suppressed={String(g.suppressed)} className={g.suppressed ? "suppressed" : ""}>
      <th scope="row">{formatDay(lang, g.day)}</th>
      <td>
        <code>{g.team}</code>
      </td>
      {g.suppressed ? (
        <td colSpan={5} className="suppressed-note">
          {t("ops.suppressed", { n: minGroup })}
        </td>
      ) : (
        <>
          <td className="num">{g.consultations}</td>
          <td className="num">{figure(g.duration_avg)}</td>
          <td className="num">{figure(g.duration_p90)}</td>
          <td className="num">{figure(g.waiting_avg)}</td>
          <td className="num">{figure(g.waiting_p90)}</td>
        </>
      )}
    </tr>
  );
}
