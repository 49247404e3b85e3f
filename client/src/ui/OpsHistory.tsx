// Ended consultations of one day on `/ops`, as metadata (`GET /api/ops/consultations`).
import { useCallback, useId, useState, type FormEvent } from "react";
import { formatDateTime, formatMinutes, type Key } from "../i18n";
import { api } from "../protocol/api";
import { ApiError } from "../protocol/errors";
import type { OpsHistory as History } from "../protocol/types";
import { useI18n } from "./i18n";
import { Notice, Spinner } from "./Layout";
import { DayField, isDay, isTeam, TeamField, useFirstLoad } from "./OpsForm";
import { navigate } from "./router";

const KINDS: Record<string, Key> = { instant: "live.kind.instant", invite: "live.kind.invite" };

interface Query {
  day: string;
  team: string;
}

function today(): Query {
  return { day: new Date().toISOString().slice(0, 10), team: "" };
}

export function OpsHistory() {
  const { t, lang, errorText } = useI18n();
  const [form, setForm] = useState<Query>(today);
  const [answer, setAnswer] = useState<History | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const titleId = useId();

  const load = useCallback(
    async (query: Query) => {
      setLoading(true);
      setError(null);
      try {
        setAnswer(await api.opsConsultations(query.day, query.team));
      } catch (err) {
        if (err instanceof ApiError && err.code === "not_authenticated") {
          navigate("/login", true);
          return;
        }
        setAnswer(null);
        setError(t("history.failed", { reason: errorText(err) }));
      } finally {
        setLoading(false);
      }
    },
    [t, errorText],
  );

  // Once, for today; later loads come from the form.
  useFirstLoad(load, today);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const query = { day: form.day.trim(), team: form.team.trim().toLowerCase() };
    if (!isDay(query.day)) return setError(t("ops.badDate"));
    if (!isTeam(query.team)) return setError(t("ops.badTeam"));
    void load(query);
  };

  const rows = answer?.consultations ?? [];
  return (
    <section className="card" aria-labelledby={titleId} data-testid="ops-history">
      <h2 id={titleId}>{t("history.title")}</h2>
      <p className="muted">{t("history.intro")}</p>
      <form className="stats-form" onSubmit={submit} noValidate>
        <DayField label={t("history.day")} value={form.day} onChange={(day) => setForm({ ...form, day })} testId="history-day" />
        <TeamField label={t("history.team")} value={form.team} onChange={(team) => setForm({ ...form, team })} testId="history-team" />
        <button type="submit" className="button primary" disabled={loading} data-testid="history-show">
          {t("history.show")}
        </button>
      </form>
      {error && (
        <Notice kind="error" testId="history-error">
          {error}
        </Notice>
      )}
      {loading && !answer ? (
        <Spinner label={t("history.loading")} />
      ) : answer && rows.length === 0 ? (
        <p className="muted" data-testid="history-rows" data-rows="0">
          {t("history.none")}
        </p>
      ) : (
        answer && (
          <div className="table-wrap">
            <table className="stats" data-testid="history-rows" data-rows={rows.length} aria-busy={loading}>
              <caption className="visually-hidden">{t("history.title")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("history.col.ended")}</th>
                  <th scope="col">{t("history.col.team")}</th>
                  <th scope="col">{t("history.col.kind")}</th>
                  <th scope="col" className="num">
                    {t("history.col.duration")}
                  </th>
                  <th scope="col" className="num">
                    {t("history.col.participants")}
                  </th>
                  <th scope="col">{t("history.col.features")}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((c) => {
                  const kind = KINDS[c.kind];
                  return (
                    <tr key={c.id} data-testid="history-row" data-consultation-id={c.id}>
                      <th scope="row">{c.ended_at ? formatDateTime(lang, c.ended_at) : "–"}</th>
                      <td>
                        <code>{c.team}</code>
                      </td>
                      <td>{kind ? t(kind) : c.kind}</td>
                      <td className="num">{formatMinutes(lang, c.duration_seconds)}</td>
                      <td className="num">{c.participants}</td>
                      <td>{c.features.length > 0 ? c.features.join(", ") : t("history.noFeatures")}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )
      )}
    </section>
  );
}
