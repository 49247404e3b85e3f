// `/c`: the customer's page: lobby, then the room once admitted.
import { useEffect, useState } from "react";
import { api } from "../protocol/api";
import type { Connection, ConnectionState } from "../protocol/connection";
import type { ErrorBody, Guest, LobbyStatus } from "../protocol/types";
import type { Key } from "../i18n";
import { ConnectionBanner } from "./ConnectionBanner";
import { useConnection, useConnectionState } from "./hooks";
import { useI18n } from "./i18n";
import { Announcer, Notice, Page, Spinner } from "./Layout";
import { Room } from "./Room";
import { ReceiptOffer } from "./Receipt";

const FINAL: Record<Exclude<LobbyStatus, "waiting" | "admitted">, Key> = {
  refused: "lobby.refused",
  removed: "lobby.removed",
  ended: "lobby.ended",
  left: "lobby.left",
};

export function Customer() {
  const { t, errorText } = useI18n();
  const [guest, setGuest] = useState<Guest | null | undefined>(undefined);
  const [loadError, setLoadError] = useState<unknown>(null);

  useEffect(() => {
    document.title = t("app.name");
  }, [t]);

  useEffect(() => {
    let cancelled = false;
    api
      .session()
      .then((session) => !cancelled && setGuest(session.guest))
      .catch((err: unknown) => !cancelled && setLoadError(err));
    return () => {
      cancelled = true;
    };
  }, []);

  let body;
  if (loadError !== null) body = <Notice kind="error">{errorText(loadError)}</Notice>;
  else if (guest === undefined) body = <Spinner label={t("app.loading")} />;
  else if (guest === null)
    body = (
      <section className="card narrow">
        <Notice testId="no-session">{t("lobby.noSession")}</Notice>
      </section>
    );
  else body = <GuestView guest={guest} />;
  return <Page wide>{body}</Page>;
}

function GuestView({ guest }: { guest: Guest }) {
  const { t } = useI18n();
  const final = guest.status !== "waiting" && guest.status !== "admitted";
  const conn = useConnection(!final);
  const { state, error } = useConnectionState(conn);
  const [status, setStatus] = useState<LobbyStatus>(guest.status);
  const [consultationId, setConsultationId] = useState(guest.consultation_id);
  const [statusError, setStatusError] = useState<unknown>(null);
  // The lobby's state, told to screen readers as it changes (the region stays in the page
  // from the lobby into the room and to the end).
  const [told, setTold] = useState("");
  useEffect(() => {
    if (status === "waiting") setTold(t("announce.waiting"));
    else if (status === "admitted") setTold(t("announce.admitted"));
    else setTold(t(FINAL[status]));
  }, [status, t]);

  useEffect(() => {
    if (!conn) return undefined;
    const refresh = async () => {
      const answer = await conn.request("lobby_status", {});
      if (answer.ok) {
        setStatusError(null);
        setConsultationId(answer.data.consultation_id);
        setStatus(answer.data.status);
      } else {
        setStatusError(answer.error);
      }
    };
    void refresh();
    const offs = [
      conn.on("lobby_state", (p) => {
        setConsultationId(p.consultation_id);
        setStatus(p.status);
      }),
      conn.on("consultation_ended", () => setStatus("ended")),
      conn.onReconnect(() => void refresh()),
    ];
    return () => offs.forEach((off) => off());
  }, [conn]);

  return (
    <>
      <Announcer message={told} testId="lobby-announcer" />
      <GuestBody
        guest={guest}
        conn={conn}
        state={state}
        error={error}
        status={status}
        consultationId={consultationId}
        statusError={statusError}
        setStatus={setStatus}
      />
    </>
  );
}

function GuestBody({
  guest,
  conn,
  state,
  error,
  status,
  consultationId,
  statusError,
  setStatus,
}: {
  guest: Guest;
  conn: Connection | null;
  state: ConnectionState;
  error: ErrorBody | null;
  status: LobbyStatus;
  consultationId: string;
  statusError: unknown;
  setStatus: (status: LobbyStatus) => void;
}) {
  const { t, errorText } = useI18n();
  if (status !== "waiting" && status !== "admitted") {
    // One element for every final state, so that a receipt link already shown stays
    // on screen if the state changes once more (say from "left" to "ended").
    return (
      <section className="card narrow">
        <h1 className="visually-hidden">{t("room.heading")}</h1>
        <Notice testId={status === "refused" ? "lobby-refused" : "room-ended"}>{t(FINAL[status])}</Notice>
        {status !== "refused" && <ReceiptOffer />}
      </section>
    );
  }
  if (!conn) return <Spinner label={t("app.loading")} />;
  if (status === "admitted") {
    return (
      <Room
        key={consultationId}
        conn={conn}
        consultationId={consultationId}
        role="customer"
        onOver={(reason) => setStatus(reason === "logout" ? "left" : reason === "expired" ? "ended" : reason)}
      />
    );
  }
  return (
    <section className="card narrow lobby-card" data-testid="lobby-waiting">
      <ConnectionBanner state={state} error={error} />
      {statusError !== null && <Notice kind="error">{errorText(statusError)}</Notice>}
      <p className="muted">{t("lobby.hello", { name: guest.name })}</p>
      <h1>{t("lobby.waitTitle")}</h1>
      <div className="pulse" aria-hidden="true" />
      <p>{t("lobby.waitText")}</p>
    </section>
  );
}
