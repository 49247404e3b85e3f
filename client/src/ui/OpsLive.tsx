// The live overview on `/ops`: what the server pushes to ops accounts as `ops_snapshot`
// every few seconds — consultations, queues and each participant's connection health.
// Metadata only; the server sends no names or content, and nothing here asks for any.
import { useEffect, useId, useState, type ReactNode } from "react";
import { formatDuration, type Key, type Lang } from "../i18n";
import type { Connection } from "../protocol/connection";
import { ApiError } from "../protocol/errors";
import type { IceState, MediaPath, OpsConnection, OpsConsultation, OpsPeer, OpsSnapshot } from "../protocol/types";
import { ConnectionBanner } from "./ConnectionBanner";
import { useConnection, useConnectionState } from "./hooks";
import { useI18n } from "./i18n";
import { Notice, Spinner } from "./Layout";

/** The overview: the pushed snapshots, and one asked for on (re)connect. */
function useSnapshot(conn: Connection | null): { snapshot: OpsSnapshot | null; error: unknown } {
  const [snapshot, setSnapshot] = useState<OpsSnapshot | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!conn) return undefined;
    let cancelled = false;
    const ask = async () => {
      const answer = await conn.request("ops_snapshot_get", {});
      if (cancelled) return;
      if (answer.ok) {
        setSnapshot(answer.data);
        setError(null);
      } else if (answer.error.code !== "timeout") {
        setError(ApiError.from(answer.error));
      }
    };
    // On the first connect and after every reconnect: the pushes may have been missed.
    const offs = [
      conn.on("ops_snapshot", (next) => {
        setSnapshot(next);
        setError(null);
      }),
      conn.onState((state) => state === "connected" && void ask()),
    ];
    if (conn.state === "connected") void ask();
    return () => {
      cancelled = true;
      offs.forEach((off) => off());
    };
  }, [conn]);
  return { snapshot, error };
}

export function OpsLive() {
  const { t, lang, errorText } = useI18n();
  const conn = useConnection(true);
  const { state, error: connError } = useConnectionState(conn);
  const { snapshot, error } = useSnapshot(conn);
  const titleId = useId();

  return (
    <section className="card" aria-labelledby={titleId} data-testid="ops-live">
      <div className="live-head">
        <h1 id={titleId}>{t("live.title")}</h1>
        {snapshot && (
          <p className="muted small" data-testid="ops-live-at">
            {t("live.updated", { time: formatClock(lang, snapshot.at) })}
          </p>
        )}
      </div>
      <p className="muted">{t("live.intro")}</p>
      <ConnectionBanner state={state} error={connError} />
      {error !== null && (
        <Notice kind="error" testId="ops-live-error">
          {t("live.failed", { reason: errorText(error) })}
        </Notice>
      )}
      {!snapshot ? (
        <Spinner label={t("live.waitingFirst")} />
      ) : (
        <>
          <Totals snapshot={snapshot} />
          <Queues snapshot={snapshot} />
          <h2>{t("live.consultations")}</h2>
          {snapshot.consultations.length === 0 ? (
            <p className="muted" data-testid="ops-live-none">
              {t("live.none")}
            </p>
          ) : (
            <ul className="live-list">
              {snapshot.consultations.map((c) => (
                <LiveConsultation key={c.id} consultation={c} />
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

function formatClock(lang: Lang, iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleTimeString(lang === "de" ? "de-DE" : "en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function formatNumber(lang: Lang, value: number, digits = 0): string {
  return new Intl.NumberFormat(lang === "de" ? "de-DE" : "en-GB", { maximumFractionDigits: digits }).format(value);
}

function Totals({ snapshot }: { snapshot: OpsSnapshot }) {
  const { t } = useI18n();
  const { totals } = snapshot;
  return (
    <dl className="live-totals" aria-label={t("live.totals")} data-testid="ops-live-totals">
      <div>
        <dt>{t("live.totalLive")}</dt>
        <dd data-testid="ops-total-live">{totals.live}</dd>
      </div>
      <div>
        <dt>{t("live.totalWaiting")}</dt>
        <dd data-testid="ops-total-waiting">{totals.waiting}</dd>
      </div>
      <div>
        <dt>{t("live.totalSockets")}</dt>
        <dd data-testid="ops-total-sockets">{totals.connected_sockets}</dd>
      </div>
    </dl>
  );
}

function Queues({ snapshot }: { snapshot: OpsSnapshot }) {
  const { t, lang } = useI18n();
  const queues = snapshot.queues.filter((q) => q.waiting > 0);
  return (
    <>
      <h2>{t("live.queues")}</h2>
      {queues.length === 0 ? (
        <p className="muted">{t("live.queuesEmpty")}</p>
      ) : (
        <div className="table-wrap">
          <table className="stats" data-testid="ops-queues">
            <thead>
              <tr>
                <th scope="col">{t("live.col.team")}</th>
                <th scope="col" className="num">
                  {t("live.col.waiting")}
                </th>
                <th scope="col" className="num">
                  {t("live.col.longestWait")}
                </th>
              </tr>
            </thead>
            <tbody>
              {queues.map((q) => (
                <tr key={q.team} data-testid="ops-queue" data-team={q.team}>
                  <th scope="row">
                    <code>{q.team || t("live.noTeam")}</code>
                  </th>
                  <td className="num">{q.waiting}</td>
                  <td className="num">{formatDuration(lang, q.longest_wait_seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

const STATES: Record<string, Key> = {
  waiting: "live.state.waiting",
  lobby: "live.state.lobby",
  active: "live.state.active",
  ended: "live.state.ended",
};
const KINDS: Record<string, Key> = { instant: "live.kind.instant", invite: "live.kind.invite" };

function LiveConsultation({ consultation: c }: { consultation: OpsConsultation }) {
  const { t, lang } = useI18n();
  const headingId = useId();
  const stateKey = STATES[c.state];
  const kindKey = KINDS[c.kind];
  return (
    <li
      className="live-consultation"
      aria-labelledby={headingId}
      data-testid="ops-live-consultation"
      data-consultation-id={c.id}
      data-state={c.state}
    >
      <h3 id={headingId}>
        <span className={`state-pill state-${c.state}`}>{stateKey ? t(stateKey) : c.state}</span>
        <span>{t("live.consultation", { id: c.id.slice(0, 8) })}</span>
      </h3>
      <dl className="live-facts">
        <div>
          <dt>{t("live.col.team")}</dt>
          <dd>
            <code>{c.team || t("live.noTeam")}</code> · {kindKey ? t(kindKey) : c.kind}
          </dd>
        </div>
        <div>
          <dt>{t("live.duration")}</dt>
          <dd data-testid="ops-duration">{c.started_at ? formatDuration(lang, c.duration_seconds) : t("live.notStarted")}</dd>
        </div>
        <div>
          <dt>{t("live.participants")}</dt>
          <dd data-testid="ops-participants" data-advisors={c.participants.advisor ?? 0} data-customers={c.participants.customer ?? 0}>
            {t("live.advisors", { n: c.participants.advisor ?? 0 })}, {t("live.customers", { n: c.participants.customer ?? 0 })}
          </dd>
        </div>
        <div>
          <dt>{t("live.lobby")}</dt>
          <dd data-testid="ops-lobby">
            {c.waiting > 0 ? t("live.lobbyWait", { n: c.waiting, time: formatDuration(lang, c.longest_wait_seconds) }) : t("live.lobbyEmpty")}
          </dd>
        </div>
      </dl>
      <Connections connections={c.connections} />
    </li>
  );
}

function Connections({ connections }: { connections: OpsConnection[] }) {
  const { t } = useI18n();
  if (connections.length === 0) return <p className="muted small">{t("live.noConnections")}</p>;
  return (
    <div className="table-wrap">
      <table className="stats health">
        <caption className="visually-hidden">{t("live.connections")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("live.col.participant")}</th>
            <th scope="col">{t("live.col.ice")}</th>
            <th scope="col">{t("live.col.path")}</th>
            <th scope="col" className="num">
              {t("live.col.rtt")}
            </th>
            <th scope="col" className="num">
              {t("live.col.loss")}
            </th>
            <th scope="col" className="num">
              {t("live.col.bitrate")}
            </th>
            <th scope="col" className="num">
              {t("live.col.fps")}
            </th>
            <th scope="col" className="num">
              {t("live.col.report")}
            </th>
          </tr>
        </thead>
        <tbody>
          {numbered(connections).map(([conn, number], index) => (
            <ConnectionRows key={index} connection={conn} number={number} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

const STALE_SECONDS = 15;

/** Advisors first; each participant numbered within its role ("Customer 2"). */
function numbered(connections: OpsConnection[]): [OpsConnection, number][] {
  const sorted = [...connections].sort((a, b) => (a.role === b.role ? 0 : a.role === "advisor" ? -1 : 1));
  const counts = new Map<string, number>();
  return sorted.map((c) => {
    const n = (counts.get(c.role) ?? 0) + 1;
    counts.set(c.role, n);
    return [c, n];
  });
}

function ConnectionRows({ connection: c, number }: { connection: OpsConnection; number: number }) {
  const { t, lang } = useI18n();
  const role = c.role === "advisor" ? t("live.role.advisor") : c.role === "customer" ? t("live.role.customer") : c.role;
  const who = (
    <th scope="row" rowSpan={Math.max(c.peers.length, 1)}>
      {role} {number}
      <span className={`presence ${c.connected ? "on" : "off"}`}>{c.connected ? t("live.inRoom") : t("live.notInRoom")}</span>
    </th>
  );
  // Reports come every 5 s; an older one means the browser stopped reporting (offline, closed).
  const stale = c.report_age_seconds !== null && c.report_age_seconds > STALE_SECONDS;
  const age = (
    <td className={`num ${stale ? "health-warn" : ""}`} rowSpan={Math.max(c.peers.length, 1)} data-testid="ops-report-age">
      {c.report_age_seconds === null ? t("live.noReport") : t("live.ago", { time: formatDuration(lang, c.report_age_seconds) })}
    </td>
  );
  if (c.peers.length === 0) {
    return (
      <tr data-testid="ops-connection" data-role={c.role} data-connected={String(c.connected)}>
        {who}
        <td colSpan={6} className="muted">
          {c.report_age_seconds === null ? t("live.noReport") : t("live.noPeers")}
        </td>
        {age}
      </tr>
    );
  }
  return (
    <>
      {c.peers.map((peer, index) => (
        <PeerRow key={index} peer={peer} role={c.role} connected={c.connected} lead={index === 0 ? who : null} tail={index === 0 ? age : null} />
      ))}
    </>
  );
}

const ICE: Record<IceState, Key> = {
  new: "live.ice.new",
  checking: "live.ice.checking",
  connected: "live.ice.connected",
  completed: "live.ice.completed",
  failed: "live.ice.failed",
  disconnected: "live.ice.disconnected",
  closed: "live.ice.closed",
};
const PATHS: Record<MediaPath, Key> = {
  direct: "live.path.direct",
  stun: "live.path.stun",
  relay: "live.path.relay",
  unknown: "live.path.unknown",
};

/** good, warn or bad, for the colour of a figure (its text says the same without colour). */
function grade(value: number | null, warn: number, bad: number): string {
  if (value === null) return "";
  return value >= bad ? "bad" : value >= warn ? "warn" : "good";
}

function PeerRow({
  peer,
  role,
  connected,
  lead,
  tail,
}: {
  peer: OpsPeer;
  role: string;
  connected: boolean;
  lead: ReactNode;
  tail: ReactNode;
}) {
  const { t, lang } = useI18n();
  const none = (
    <>
      <span aria-hidden="true">–</span>
      <span className="visually-hidden">{t("ops.noValue")}</span>
    </>
  );
  const figure = (value: number | null, key: Key, digits: number) =>
    value === null ? none : t(key, { n: formatNumber(lang, value, digits) });
  const iceClass = peer.ice_state === "connected" || peer.ice_state === "completed" ? "good" : peer.ice_state === "failed" ? "bad" : "warn";
  return (
    <tr data-testid="ops-connection" data-role={role} data-connected={String(connected)} data-ice-state={peer.ice_state} data-path={peer.path}>
      {lead}
      <td className={`health-${iceClass}`} data-testid="ops-ice">
        {t(ICE[peer.ice_state] ?? "live.ice.new")}
      </td>
      <td data-testid="ops-path">{t(PATHS[peer.path] ?? "live.path.unknown")}</td>
      <td className={`num health-${grade(peer.rtt_ms, 250, 600)}`} data-testid="ops-rtt" data-value={peer.rtt_ms ?? ""}>
        {figure(peer.rtt_ms, "live.ms", 1)}
      </td>
      <td className={`num health-${grade(peer.loss_pct, 2, 10)}`} data-testid="ops-loss">
        {figure(peer.loss_pct, "live.pct", 1)}
      </td>
      <td className="num" data-testid="ops-bitrate">
        {figure(peer.bitrate_kbps, "live.kbps", 0)}
      </td>
      <td className="num" data-testid="ops-fps">
        {figure(peer.fps, "live.fps", 0)}
      </td>
      {tail}
    </tr>
  );
}
