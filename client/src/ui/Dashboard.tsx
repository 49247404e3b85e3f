import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { api } from "../protocol/api";
import type { Connection } from "../protocol/connection";
import { ApiError } from "../protocol/errors";
import type { Account, ConsultationLive, QueueEntry } from "../protocol/types";
import { ConsultationsCard, WaitingTime } from "./Consultations";
import { CopyField } from "./CopyField";
import { useConnection, useConnectionState, useNow } from "./hooks";
import { Icon } from "./icons";
import { useI18n } from "./i18n";
import { Notice, Page, Spinner } from "./Layout";
import { linkHandler, navigate } from "./router";
import { AccountHeader, useAccount } from "./Account";
import { AppointmentsCard } from "./Appointments";
import {
  arrivals,
  askNotificationPermission,
  loadAlertPrefs,
  notificationsSupported,
  playTone,
  saveAlertPrefs,
  showNotification,
  unlockAudio,
  type AlertPrefs,
} from "./alerts";
import { ConnectionBanner } from "./ConnectionBanner";

function absoluteUrl(url: string): string {
  try {
    return new URL(url, location.origin).href;
  } catch {
    return url;
  }
}

export function Dashboard() {
  const { t, errorText } = useI18n();
  const { account, error: loadError } = useAccount();

  useEffect(() => {
    document.title = `${t("dash.title")} · ${t("app.name")}`;
  }, [t]);

  let body;
  if (loadError !== null) body = <Notice kind="error">{errorText(loadError)}</Notice>;
  else if (!account) body = <Spinner label={t("app.loading")} />;
  else if (account.role === "ops")
    body = (
      <section className="card narrow">
        <Notice testId="advisors-only">{t("dash.advisorsOnly")}</Notice>
        <a className="button primary" href="/ops" onClick={linkHandler("/ops")}>
          {t("account.toStats")}
        </a>
      </section>
    );
  else body = <AdvisorDashboard account={account} />;

  return (
    <Page header={account && <AccountHeader account={account} />} wide>
      {body}
    </Page>
  );
}

function AdvisorDashboard({ account }: { account: Account }) {
  const { t, errorText } = useI18n();
  const conn = useConnection(true);
  const { state, error: connError } = useConnectionState(conn);
  const [queue, setQueue] = useState<{ shown: QueueEntry[]; waiting: number }>({ shown: [], waiting: 0 });
  const [consultations, setConsultations] = useState<ConsultationLive[] | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [invite, setInvite] = useState<{ consultationId: string; url: string } | null>(null);
  const [alerts, setAlerts] = useState<AlertPrefs>(loadAlertPrefs);
  const known = useRef(new Set<string>());
  const seen = useRef<Set<string> | null>(null);
  const queued = useRef(0); // how many waited in the team queue at the last update
  useEffect(() => {
    known.current = new Set((consultations ?? []).map((c) => c.id));
  }, [consultations]);

  const reload = useCallback(async (connection: Connection) => {
    const answer = await connection.request("dashboard_get", {});
    if (answer.ok) {
      setQueue({ shown: answer.data.queue, waiting: answer.data.queue_waiting });
      setConsultations(answer.data.consultations);
    } else {
      setActionError(ApiError.from(answer.error));
    }
  }, []);

  useEffect(() => {
    if (!conn) return undefined;
    void reload(conn);
    const offs = [
      conn.onReconnect(() => void reload(conn)),
      conn.on("queue_updated", (p) => setQueue({ shown: p.queue, waiting: p.waiting })),
      conn.on("lobby_updated", (p) => {
        if (!known.current.has(p.consultation_id)) {
          // A consultation we do not know yet: fetch the whole picture.
          void reload(conn);
          return;
        }
        setConsultations((list) =>
          list
            ? list.map((c) => {
                if (c.id !== p.consultation_id) return c;
                // The server moves a consultation from "waiting" to "lobby" when someone arrives.
                const state = c.state === "waiting" && p.waiting.length > 0 ? "lobby" : c.state;
                return { ...c, state, waiting: p.waiting };
              })
            : list,
        );
      }),
      conn.on("consultation_ended", (p) => {
        setConsultations((list) =>
          list ? list.map((c) => (c.id === p.consultation_id ? { ...c, state: "ended", waiting: [] } : c)) : list,
        );
      }),
      conn.on("session_closed", () => navigate("/login")),
    ];
    return () => offs.forEach((off) => off());
  }, [conn, reload]);

  useEffect(() => {
    if (state === "refused" && connError?.code === "not_authenticated") navigate("/login", true);
  }, [state, connError]);

  // A customer who starts waiting in the team queue or in one of our lobbies: alert.
  useEffect(() => {
    if (consultations === null) return; // not loaded yet: nothing to compare with
    const waiting = [
      ...queue.shown.map((entry) => entry.participant_id),
      ...consultations.flatMap((c) => c.waiting.map((entry) => entry.participant_id)),
    ];
    // a long queue names only its longest-waiting customers: a newcomer shows in the count
    const grew = queue.waiting > queued.current;
    queued.current = queue.waiting;
    if (seen.current === null) {
      seen.current = new Set(waiting); // those waiting when the dashboard opened are no news
      return;
    }
    if (arrivals(seen.current, waiting).length === 0 && !grew) return;
    if (alerts.sound) playTone();
    if (alerts.notify) showNotification(t("alert.title"), t("alert.body", { name: t("app.name") }));
  }, [queue, consultations, alerts, t]);

  const changeAlerts = (next: AlertPrefs) => {
    setAlerts(next);
    saveAlertPrefs(next);
  };

  const run = async (action: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await action();
    } catch (err) {
      setActionError(err);
    }
    if (conn) await reload(conn);
  };

  const pickup = async (entry: QueueEntry) => {
    if (!conn) return;
    setActionError(null);
    try {
      const data = await conn.call("queue_pickup", { consultation_id: entry.consultation_id });
      navigate(`/room/${encodeURIComponent(data.consultation_id)}`);
    } catch (err) {
      setActionError(err);
      await reload(conn);
    }
  };

  const create = async (title: string) => {
    setActionError(null);
    try {
      const data = await api.createConsultation(title ? { title } : {});
      if (data.invite.url) setInvite({ consultationId: data.consultation.id, url: absoluteUrl(data.invite.url) });
    } catch (err) {
      setActionError(err);
    }
    if (conn) await reload(conn);
  };

  return (
    <div className="dashboard">
      <h1 className="visually-hidden">{t("dash.title")}</h1>
      <ConnectionBanner state={state} error={connError} />
      {actionError !== null && (
        <Notice kind="error" testId="dashboard-error">
          {errorText(actionError)}
        </Notice>
      )}
      <div className="dashboard-grid">
        <div className="column">
          <QueueCard queue={queue.shown} waiting={queue.waiting} onPickup={(entry) => void pickup(entry)} />
          <InstantLinkCard account={account} />
          <AlertsCard prefs={alerts} onChange={changeAlerts} />
          <AppointmentsCard account={account} />
        </div>
        <div className="column">
          <NewConsultationCard invite={invite} onCreate={create} />
          <ConsultationsCard
            consultations={consultations}
            onAdmit={(c, p) =>
              conn && void run(() => conn.call("lobby_admit", { consultation_id: c, participant_id: p }))
            }
            onRefuse={(c, p) =>
              conn && void run(() => conn.call("lobby_refuse", { consultation_id: c, participant_id: p }))
            }
            onEnd={(c) => void run(() => api.endConsultation(c))}
            onChanged={() => (conn ? reload(conn) : undefined)}
          />
        </div>
      </div>
    </div>
  );
}

function QueueCard({
  queue,
  waiting,
  onPickup,
}: {
  queue: QueueEntry[];
  waiting: number;
  onPickup: (entry: QueueEntry) => void;
}) {
  const { t } = useI18n();
  const now = useNow(1000);
  const more = Math.max(0, waiting - queue.length);
  return (
    <section className="card" aria-labelledby="queue-title">
      <h2 id="queue-title">
        {t("dash.queue")}{" "}
        {waiting > 0 && (
          <span className="badge" data-testid="queue-waiting">
            {waiting}
          </span>
        )}
      </h2>
      {queue.length === 0 ? (
        <p className="muted">{t("dash.queueEmpty")}</p>
      ) : (
        <ul className="list">
          {queue.map((entry) => (
            <li
              key={entry.participant_id}
              className="list-row"
              data-testid="queue-entry"
              data-consultation-id={entry.consultation_id}
            >
              <div className="list-main">
                <strong>{entry.name}</strong>
                <WaitingTime since={entry.waiting_since} now={now} />
              </div>
              <button type="button" className="button primary" onClick={() => onPickup(entry)} data-testid="pickup-button">
                {t("dash.pickup")}
              </button>
            </li>
          ))}
        </ul>
      )}
      {more > 0 && (
        <p className="muted" data-testid="queue-more">
          {t("dash.queueMore", { n: more })}
        </p>
      )}
    </section>
  );
}

function InstantLinkCard({ account }: { account: Account }) {
  const { t } = useI18n();
  const slug = account.team?.slug;
  return (
    <section className="card" aria-labelledby="instant-title">
      <h2 id="instant-title">
        <Icon name="link" size={18} /> {t("dash.instantLink")}
        {account.team && <span className="muted small"> · {account.team.name}</span>}
      </h2>
      {slug ? (
        <>
          <p className="muted small">{t("dash.instantLinkHint")}</p>
          <CopyField
            value={`${location.origin}/t/${encodeURIComponent(slug)}`}
            label={t("dash.instantLink")}
            testId="instant-url"
          />
        </>
      ) : (
        <p className="muted">{t("dash.noTeam")}</p>
      )}
    </section>
  );
}

function NewConsultationCard({
  invite,
  onCreate,
}: {
  invite: { consultationId: string; url: string } | null;
  onCreate: (title: string) => Promise<void>;
}) {
  const { t } = useI18n();
  const [title, setTitle] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    await onCreate(title.trim());
    setTitle("");
    setBusy(false);
  };
  return (
    <section className="card" aria-labelledby="new-title">
      <h2 id="new-title">{t("dash.new")}</h2>
      <form className="inline-form" onSubmit={submit}>
        <input
          value={title}
          maxLength={100}
          placeholder={t("dash.newTitle")}
          aria-label={t("dash.newTitle")}
          onChange={(e) => setTitle(e.target.value)}
        />
        <button type="submit" className="button primary" disabled={busy} data-testid="new-consultation">
          <Icon name="plus" size={16} />
          {t("dash.new")}
        </button>
      </form>
      {invite && (
        <div className="invite-created">
          <p className="small">{t("dash.inviteCreated")}</p>
          <CopyField value={invite.url} label={t("dash.inviteCreated")} testId="invite-url" />
        </div>
      )}
    </section>
  );
}

function AlertsCard({ prefs, onChange }: { prefs: AlertPrefs; onChange: (prefs: AlertPrefs) => void }) {
  const { t } = useI18n();
  const [denied, setDenied] = useState(notificationsSupported() && Notification.permission === "denied");
  const toggleSound = (on: boolean) => {
    if (on) {
      unlockAudio(); // a click: browsers let the page make sound from now on
      playTone(); // and the advisor hears what it will sound like
    }
    onChange({ ...prefs, sound: on });
  };
  const toggleNotify = async (on: boolean) => {
    if (!on) return onChange({ ...prefs, notify: false });
    const permission = await askNotificationPermission();
    setDenied(permission === "denied");
    onChange({ ...prefs, notify: permission === "granted" });
  };
  return (
    <section className="card" aria-labelledby="alerts-title">
      <h2 id="alerts-title">{t("alert.settings")}</h2>
      <p className="muted small">{t("alert.hint")}</p>
      <label className="check">
        <input
          type="checkbox"
          checked={prefs.sound}
          onChange={(e) => toggleSound(e.target.checked)}
          data-testid="alert-sound"
        />
        <span>{t("alert.sound")}</span>
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={prefs.notify}
          disabled={!notificationsSupported()}
          onChange={(e) => void toggleNotify(e.target.checked)}
          data-testid="alert-notify"
        />
        <span>{t("alert.notify")}</span>
      </label>
      {denied && (
        <p className="small muted" role="status" data-testid="alert-denied">
          {t("alert.denied")}
        </p>
      )}
    </section>
  );
}
