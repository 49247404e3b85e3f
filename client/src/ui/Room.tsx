// The consultation room, shared by the customer (/c) and the advisor (/room/<id>).
import {
  useCallback,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type KeyboardEvent,
  type ReactNode,
} from "react";
import { BoardSession, colorFor, type BoardSnapshot } from "../protocol/board";
import { ChatStore, type ChatSnapshot } from "../protocol/chat";
import type { Connection } from "../protocol/connection";
import { ApiError } from "../protocol/errors";
import { PeerManager, type PeerSnapshot } from "../protocol/peers";
import { QualityReporter } from "../protocol/quality";
import type { ClientEvent, ClientEvents, Participant, ParticipantRole, RoomInfo, ServerEvents } from "../protocol/types";
import type { Key } from "../i18n";
import { ConfirmButton } from "./ConfirmButton";
import { ConnectionBanner } from "./ConnectionBanner";
import { useConnectionState } from "./hooks";
import { Icon } from "./icons";
import { useI18n } from "./i18n";
import { Announcer, Notice, Spinner } from "./Layout";
import { navigate } from "./router";
import { mediaErrorKey, openMedia } from "./media";
import { Badges, ConsentScreen, RoomOver, type OverReason } from "./RoomParts";
import { ChatPanel } from "./Chat";
import { MainScreen, type ScreenShareView } from "./MainScreen";
import { useMediaQuery } from "./hooks";
import { VideoTile } from "./VideoTile";

type Phase =
  | { name: "consent"; mediaError: Key | null }
  | { name: "starting" }
  | { name: "joining" }
  | { name: "joined" }
  | { name: "failed"; error: unknown }
  | { name: "over"; reason: OverReason };

const MAX_EARLY_SIGNALS = 200;
/** A newcomer offers first; if nothing arrived from them after this long, we offer. */
const NEWCOMER_FALLBACK_MS = 4000;

type SignalEvent = ServerEvents["rtc_signal"];

export function Room({
  conn,
  consultationId,
  role,
  onOver,
}: {
  conn: Connection;
  consultationId: string;
  role: ParticipantRole;
  /** Told when the room is over for this participant (the caller may show its own end screen). */
  onOver?: (reason: OverReason) => void;
}) {
  const { t, errorText } = useI18n();
  const { state: connState, error: connError } = useConnectionState(conn);
  const [phase, setPhase] = useState<Phase>({ name: "consent", mediaError: null });
  const [info, setInfo] = useState<RoomInfo | null>(null);
  const [self, setSelf] = useState<Participant | null>(null);
  const [others, setOthers] = useState<Participant[]>([]);
  const [peers, setPeers] = useState<PeerSnapshot[]>([]);
  const [localStream, setLocalStream] = useState<MediaStream | null>(null);
  const [audioOn, setAudioOn] = useState(true);
  const [videoOn, setVideoOn] = useState(true);
  const [actionError, setActionError] = useState<unknown>(null);
  const [chat, setChat] = useState<ChatStore | null>(null);
  const chatRef = useRef<ChatStore | null>(null);
  const [board, setBoard] = useState<BoardSession | null>(null);
  const boardRef = useRef<BoardSession | null>(null);
  const [screen, setScreen] = useState<{ stream: MediaStream; since: number } | null>(null);
  const [presenceNews, setPresenceNews] = useState("");
  const known = useRef<Map<string, string> | null>(null);
  const screenRef = useRef<MediaStream | null>(null);

  const manager = useRef<PeerManager | null>(null);
  const reporter = useRef<QualityReporter | null>(null);
  const stream = useRef<MediaStream | null>(null);
  const joined = useRef(false);
  const selfId = useRef<string | null>(null);
  const early = useRef<SignalEvent[]>([]);
  /** Participants announced while our first room_join was under way. */
  const announced = useRef<Map<string, Participant> | null>(null);

  const stopShare = useCallback(() => {
    const media = screenRef.current;
    if (!media) return;
    screenRef.current = null;
    manager.current?.setScreenStream(null);
    boardRef.current?.setLocal({ screen: null });
    media.getTracks().forEach((track) => track.stop());
    setScreen(null);
  }, []);

  const stopEverything = useCallback(() => {
    stopShare();
    joined.current = false;
    reporter.current?.stop();
    reporter.current = null;
    manager.current?.close();
    manager.current = null;
    stream.current?.getTracks().forEach((track) => track.stop());
    stream.current = null;
    early.current = [];
    setLocalStream(null);
    setPeers([]);
  }, [stopShare]);

  const onOverRef = useRef(onOver);
  onOverRef.current = onOver;

  const finish = useCallback(
    (reason: OverReason) => {
      stopEverything();
      setPhase({ name: "over", reason });
      onOverRef.current?.(reason);
    },
    [stopEverything],
  );

  /** room_join, then (re)build the mesh from the participants already there. */
  const join = useCallback(async () => {
    if (!joined.current) announced.current = new Map();
    const answer = await conn.request("room_join", { consultation_id: consultationId });
    const extra = [...(announced.current?.values() ?? [])];
    announced.current = null;
    if (!answer.ok) {
      if (answer.error.code === "consultation_ended") finish("ended");
      else {
        stopEverything();
        setPhase({ name: "failed", error: ApiError.from(answer.error) });
      }
      return;
    }
    const { self: me, participants, consultation, ice_servers: iceServers } = answer.data;
    // The chat catches up with what it missed (after the highest seq it has seen).
    void chatRef.current?.joined(me.id, me.name);
    // The board syncs after every join (sync step 1 and 2; resends what the server lacks).
    void boardRef.current?.joined({ name: me.name, color: colorFor(me.id), role: me.role });
    setInfo(consultation);
    setSelf(me);
    selfId.current = me.id;
    const present = participants.filter((p) => p.id !== me.id);
    for (const p of extra) if (p.id !== me.id && !present.some((q) => q.id === p.id)) present.push(p);
    setOthers(present);
    let mgr = manager.current;
    if (!mgr) {
      const created = new PeerManager({
        selfId: me.id,
        iceServers: iceServers ?? [],
        sendSignal: async (to, content) => {
          await conn.call("rtc_signal", { consultation_id: consultationId, to, ...content });
        },
        onChange: () => setPeers(created.snapshot()),
      });
      created.setLocalStream(stream.current);
      created.setScreenStream(screenRef.current);
      manager.current = created;
      mgr = created;
      reporter.current?.stop();
      reporter.current = new QualityReporter({
        consultationId,
        peers: () => created.stats(),
        send: (body) => conn.request("quality_report", body),
      });
      reporter.current.start();
    } else {
      // Fresh TURN credentials for the ICE restart that follows a reconnect.
      mgr.setIceServers(iceServers ?? []);
      // After a reconnect: forget peers that are gone.
      const ids = new Set(present.map((p) => p.id));
      for (const peer of mgr.snapshot()) if (!ids.has(peer.id)) mgr.remove(peer.id);
    }
    joined.current = true;
    // Newcomers offer to those already there; after a reconnect the caller restarts ICE.
    for (const p of present) if (p.connected && !mgr.has(p.id)) mgr.connect(p.id);
    for (const signal of early.current.splice(0)) mgr.handleSignal(signal.from, signal);
    setPhase({ name: "joined" });
    const tracks = stream.current;
    const audio = !!tracks && tracks.getAudioTracks().some((track) => track.enabled);
    const video = !!tracks && tracks.getVideoTracks().some((track) => track.enabled);
    if (audio !== me.audio || video !== me.video) {
      void conn.request("media_update", { consultation_id: consultationId, audio, video });
    }
  }, [conn, consultationId, finish, stopEverything]);

  const start = async (withMedia: boolean) => {
    setActionError(null);
    if (withMedia) {
      if (!navigator.mediaDevices?.getUserMedia) {
        setPhase({ name: "consent", mediaError: "room.insecure" });
        return;
      }
      setPhase({ name: "starting" });
      try {
        const media = await openMedia();
        stream.current = media;
        setLocalStream(media);
        setAudioOn(media.getAudioTracks().length > 0);
        setVideoOn(media.getVideoTracks().length > 0);
      } catch (err) {
        setPhase({ name: "consent", mediaError: mediaErrorKey(err) });
        return;
      }
    } else {
      setAudioOn(false);
      setVideoOn(false);
    }
    setPhase({ name: "joining" });
    await join();
  };

  // The chat of this consultation: listens from the start, loads once the room is joined.
  useEffect(() => {
    const store = new ChatStore(conn, consultationId);
    chatRef.current = store;
    setChat(store);
    return () => {
      store.dispose();
      if (chatRef.current === store) chatRef.current = null;
    };
  }, [conn, consultationId]);

  // The whiteboard of this consultation: listens from the start, syncs once the room is joined.
  useEffect(() => {
    const session = new BoardSession(conn, consultationId);
    boardRef.current = session;
    setBoard(session);
    return () => {
      session.dispose();
      if (boardRef.current === session) boardRef.current = null;
    };
  }, [conn, consultationId]);

  const boardSnap = useSyncExternalStore(board?.subscribe ?? noSubscription, board?.snapshot ?? (() => EMPTY_BOARD));

  // Screen shares announced on the board's awareness tell the peers which track is a screen.
  useEffect(() => {
    const mgr = manager.current;
    if (!mgr) return;
    for (const p of others) {
      const announced = boardSnap.peers.find((peer) => peer.participantId === p.id && peer.state.screen);
      mgr.setRemoteScreen(p.id, announced?.state.screen?.stream ?? null);
    }
  }, [boardSnap.peers, others, peers]);

  const startShare = async () => {
    setActionError(null);
    if (!navigator.mediaDevices?.getDisplayMedia) {
      setActionError(new ApiError("screen_unsupported", "getDisplayMedia is not available"));
      return;
    }
    let media: MediaStream;
    try {
      media = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (err) {
      if (!(err instanceof DOMException && err.name === "NotAllowedError")) {
        setActionError(new ApiError("screen_failed", String(err)));
      }
      return;
    }
    stopShare();
    const since = boardRef.current?.nextScreenSince() ?? 1;
    screenRef.current = media;
    // Announce first (the others learn which stream is the screen), then add the track.
    boardRef.current?.setLocal({ screen: { stream: media.id, since } });
    manager.current?.setScreenStream(media);
    media.getVideoTracks()[0]?.addEventListener("ended", () => {
      if (screenRef.current === media) stopShare();
    });
    setScreen({ stream: media, since });
  };

  // Room events; they matter once joined, signals that arrive before are kept.
  useEffect(() => {
    const mine = (p: { consultation_id: string }) => p.consultation_id === consultationId;
    const upsert = (participant: Participant) => {
      if (!joined.current) {
        announced.current?.set(participant.id, participant);
      } else if (participant.id === selfId.current) {
        setSelf(participant);
      } else {
        setOthers((list) => [...list.filter((p) => p.id !== participant.id), participant]);
      }
    };
    const timers = new Set<number>();
    const expectOffer = (id: string) => {
      const timer = window.setTimeout(() => {
        timers.delete(timer);
        if (joined.current && manager.current && !manager.current.has(id)) manager.current.connect(id);
      }, NEWCOMER_FALLBACK_MS);
      timers.add(timer);
    };
    const offs = [
      conn.on("participant_joined", (p) => {
        if (!mine(p)) return;
        upsert(p.participant);
        if (joined.current && p.participant.id !== selfId.current) expectOffer(p.participant.id);
      }),
      conn.on("participant_updated", (p) => {
        if (!mine(p)) return;
        upsert(p.participant);
        // On a cluster, someone on another node may be reported connected only now (this
        // page's room_join answer read presence a moment before that node's word came).
        const id = p.participant.id;
        if (joined.current && p.participant.connected && id !== selfId.current) expectOffer(id);
      }),
      conn.on("participant_left", (p) => {
        if (!mine(p)) return;
        announced.current?.delete(p.participant_id);
        if (!joined.current) return;
        if (p.participant_id === selfId.current) {
          finish(p.reason === "removed" ? "removed" : "left");
          return;
        }
        setOthers((list) => list.filter((x) => x.id !== p.participant_id));
        manager.current?.remove(p.participant_id);
      }),
      conn.on("rtc_signal", (p) => {
        if (!mine(p)) return;
        if (manager.current) manager.current.handleSignal(p.from, p);
        else if (early.current.length < MAX_EARLY_SIGNALS) early.current.push(p);
      }),
      conn.on("consultation_ended", (p) => mine(p) && finish("ended")),
      conn.on("session_closed", (p) => finish(p.reason)),
      conn.onReconnect(() => {
        if (!joined.current) return;
        void join().then(() => manager.current?.restartIce());
      }),
    ];
    return () => {
      offs.forEach((off) => off());
      timers.forEach((timer) => window.clearTimeout(timer));
    };
  }, [conn, consultationId, join, finish]);

  // Leaving the page: stop the camera; an advisor leaves the room explicitly (a customer
  // keeps the place for the grace period, so that a reload brings them back).
  useEffect(() => {
    const leaveQuietly = () => {
      if (!joined.current || role !== "advisor") return undefined;
      joined.current = false;
      return conn.request("room_leave", { consultation_id: consultationId });
    };
    const off = conn.onBeforeClose(leaveQuietly);
    return () => {
      off();
      void leaveQuietly();
      stopEverything();
    };
  }, [conn, consultationId, role, stopEverything]);

  // Told to screen readers: who joined or left since we are in the room.
  const joinedRoom = phase.name === "joined";
  useEffect(() => {
    if (!joinedRoom) return;
    const now = new Map(others.map((p) => [p.id, p.name]));
    const before = known.current;
    known.current = now;
    if (!before) return;
    const news: string[] = [];
    for (const [id, name] of now) if (!before.has(id)) news.push(t("announce.joined", { name }));
    for (const [id, name] of before) if (!now.has(id)) news.push(t("announce.left", { name }));
    if (news.length > 0) setPresenceNews(news.join(" "));
  }, [joinedRoom, others, t]);

  useEffect(() => {
    document.title = info?.title ? `${info.title} · ${t("app.name")}` : t("app.name");
  }, [info, t]);

  const setMedia = (audio: boolean, video: boolean) => {
    stream.current?.getAudioTracks().forEach((track) => (track.enabled = audio));
    stream.current?.getVideoTracks().forEach((track) => (track.enabled = video));
    setAudioOn(audio);
    setVideoOn(video);
    void conn.request("media_update", { consultation_id: consultationId, audio, video }).then((answer) => {
      if (!answer.ok) setActionError(ApiError.from(answer.error));
    });
  };

  const act = async <E extends ClientEvent>(event: E, payload: ClientEvents[E]["payload"], after?: () => void) => {
    setActionError(null);
    const answer = await conn.request(event, payload);
    if (answer.ok) after?.();
    else setActionError(ApiError.from(answer.error));
  };

  if (phase.name === "over") return <RoomOver reason={phase.reason} role={role} />;

  if (phase.name === "consent" || phase.name === "starting") {
    return (
      <ConsentScreen
        starting={phase.name === "starting"}
        mediaError={phase.name === "consent" ? phase.mediaError : null}
        onStart={(withMedia) => void start(withMedia)}
      />
    );
  }

  if (phase.name === "joining") return <Spinner label={t("room.joining")} />;

  if (phase.name === "failed") {
    return (
      <section className="card narrow">
        <Notice kind="error" testId="room-error">
          {t("room.joinFailed")} {errorText(phase.error)}
        </Notice>
        <div className="row-actions">
          <button type="button" className="button primary" onClick={() => setPhase({ name: "consent", mediaError: null })}>
            {t("room.retry")}
          </button>
          {role === "advisor" && (
            <button type="button" className="button" onClick={() => navigate("/dashboard")}>
              {t("room.backToDashboard")}
            </button>
          )}
        </div>
      </section>
    );
  }

  const peerOf = (id: string) => peers.find((p) => p.id === id);
  const shares: ScreenShareView[] = [];
  if (screen && self) {
    shares.push({ participantId: self.id, name: self.name, since: screen.since, stream: screen.stream, local: true });
  }
  for (const p of others) {
    const remote = peerOf(p.id)?.screen;
    const announced = boardSnap.peers.find((peer) => peer.participantId === p.id && peer.state.screen);
    const since = announced?.state.screen?.since;
    if (remote && typeof since === "number") {
      shares.push({ participantId: p.id, name: p.name, since, stream: remote, local: false });
    }
  }
  const canShare = typeof navigator.mediaDevices?.getDisplayMedia === "function";
  const hasAudio = (localStream?.getAudioTracks().length ?? 0) > 0;
  const hasVideo = (localStream?.getVideoTracks().length ?? 0) > 0;
  const sorted = [...others].sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name) : a.role === "advisor" ? -1 : 1));

  return (
    <div className="room" data-testid="room">
      <ConnectionBanner state={connState} error={connError} />
      {actionError !== null && <Notice kind="error">{errorText(actionError)}</Notice>}
      <Announcer message={presenceNews} testId="presence-announcer" />
      {info?.title ? (
        <h1 className="room-title">{info.title}</h1>
      ) : (
        <h1 className="visually-hidden">{t("room.heading")}</h1>
      )}
      <RoomLayout chat={chat} selfId={self?.id ?? null} consultationId={consultationId} role={role}>
        <div className="screens">
        <MainScreen board={board} chat={chat} role={role} consultationId={consultationId} shares={shares} />
        <div className="stage side" id="room-panel-video" aria-label={t("view.video")} role="region">
          {sorted.length === 0 && <p className="stage-empty">{t("room.alone")}</p>}
          {sorted.map((p) => {
            const peer = peerOf(p.id);
            const linking = p.connected && peer?.connectionState !== "connected";
            return (
              <VideoTile
                key={p.id}
                stream={peer?.stream ?? null}
                label={p.role === "advisor" ? `${p.name} (${t("room.advisor")})` : p.name}
                testId="remote-video"
                participantId={p.id}
                placeholder={
                  !p.connected ? (
                    <span>{t("room.disconnected")}</span>
                  ) : !p.video ? (
                    <Icon name="user" size={56} />
                  ) : linking ? (
                    <span>{t("room.connecting")}</span>
                  ) : null
                }
                badges={<Badges participant={p} />}
                actions={
                  role === "advisor" && p.role !== "advisor" ? (
                    <ConfirmButton
                      className="button small danger"
                      label={t("room.remove")}
                      question={t("room.removeConfirm", { name: p.name })}
                      yes={t("room.remove")}
                      testId="remove-button"
                      onConfirm={() =>
                        void act("participant_remove", { consultation_id: consultationId, participant_id: p.id })
                      }
                    />
                  ) : undefined
                }
              />
            );
          })}
          <VideoTile
            stream={localStream}
            local
            label={t("room.you")}
            title={self?.name}
            testId="local-video"
            participantId={self?.id}
            placeholder={!videoOn ? <Icon name="camOff" size={40} /> : null}
            badges={!audioOn ? <span className="badge-warn">{t("room.micOff")}</span> : null}
          />
        </div>
        </div>
        <div className="controls" role="toolbar" aria-label={t("room.controls")}>
          <button
            type="button"
            className={`button control ${audioOn ? "" : "off"}`}
            onClick={() => setMedia(!audioOn, videoOn)}
            disabled={!hasAudio}
            aria-pressed={!audioOn}
            data-testid="mute-button"
          >
            <Icon name={audioOn ? "mic" : "micOff"} />
            <span>{audioOn ? t("room.mute") : t("room.unmute")}</span>
          </button>
          <button
            type="button"
            className={`button control ${videoOn ? "" : "off"}`}
            onClick={() => setMedia(audioOn, !videoOn)}
            disabled={!hasVideo}
            aria-pressed={!videoOn}
            data-testid="camera-button"
          >
            <Icon name={videoOn ? "cam" : "camOff"} />
            <span>{videoOn ? t("room.cameraOff") : t("room.cameraOn")}</span>
          </button>
          {canShare && (
            <button
              type="button"
              className={`button control ${screen ? "on" : ""}`}
              onClick={() => (screen ? stopShare() : void startShare())}
              aria-pressed={screen !== null}
              data-testid="share-screen-button"
            >
              <Icon name="screen" />
              <span>{screen ? t("screen.stop") : t("screen.share")}</span>
            </button>
          )}
          <button
            type="button"
            className="button control"
            onClick={() => void act("room_leave", { consultation_id: consultationId }, () => finish("left"))}
            data-testid="leave-button"
          >
            <Icon name="leave" />
            <span>{t("room.leave")}</span>
          </button>
          {role === "advisor" && (
            <ConfirmButton
              className="button control danger"
              icon={<Icon name="end" />}
              label={t("room.end")}
              question={t("room.endConfirm")}
              yes={t("room.endYes")}
              testId="end-button"
              onConfirm={() => void act("consultation_end", { consultation_id: consultationId }, () => finish("ended"))}
            />
          )}
        </div>
      </RoomLayout>
    </div>
  );
}

const EMPTY_BOARD: BoardSnapshot = { synced: false, locked: false, error: null, peers: [] };
const EMPTY_CHAT: ChatSnapshot = { messages: [], outgoing: [], highestSeq: 0, loaded: false, historyError: null };
const noSubscription = () => () => undefined;

type View = "board" | "video" | "chat";
const VIEWS: readonly { view: View; icon: "screen" | "cam" | "chat"; label: Key }[] = [
  { view: "board", icon: "screen", label: "view.board" },
  { view: "video", icon: "cam", label: "view.video" },
  { view: "chat", icon: "chat", label: "view.chat" },
];

/**
 * Board, video and chat side by side; on a small screen (phone, tablet in portrait) one at
 * a time, switched by three tabs (the chat tab counts messages from others that arrived
 * while it was not shown). Every tab is in the tab order (Tab, then Enter or Space); the
 * arrow keys move between them as well. New messages from others are told to screen
 * readers in a live region of their own, whichever tab is shown.
 */
function RoomLayout({
  chat,
  selfId,
  consultationId,
  role,
  children,
}: {
  chat: ChatStore | null;
  selfId: string | null;
  consultationId: string;
  role: ParticipantRole;
  children: ReactNode;
}) {
  const { t } = useI18n();
  const narrow = useMediaQuery("(max-width: 900px)");
  const [tab, setTab] = useState<View>("board");
  const snap = useSyncExternalStore(chat?.subscribe ?? noSubscription, chat?.snapshot ?? (() => EMPTY_CHAT));
  const [seenSeq, setSeenSeq] = useState(0);
  const chatVisible = !narrow || tab === "chat";
  useEffect(() => {
    if (chatVisible) setSeenSeq(snap.highestSeq);
  }, [chatVisible, snap.highestSeq]);
  const unread = chatVisible ? 0 : snap.messages.filter((m) => m.seq > seenSeq && m.from !== selfId).length;

  // What arrived after the history was loaded, from others, is read out.
  const [news, setNews] = useState("");
  const toldSeq = useRef<number | null>(null);
  useEffect(() => {
    if (!snap.loaded) return;
    if (toldSeq.current === null) {
      toldSeq.current = snap.highestSeq;
      return;
    }
    const told = toldSeq.current;
    const fresh = snap.messages.filter((m) => m.seq > told && m.from !== selfId);
    toldSeq.current = Math.max(told, snap.highestSeq);
    if (fresh.length === 0) return;
    setNews(
      fresh
        .map((m) =>
          m.kind === "file" && m.file
            ? t("announce.file", { name: m.name, file: m.file.name })
            : t("announce.message", { name: m.name, text: m.body }),
        )
        .join(" "),
    );
  }, [snap, selfId, t]);

  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const at = VIEWS.findIndex((v) => v.view === tab);
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (step === 0) return;
    event.preventDefault();
    const next = VIEWS[(at + step + VIEWS.length) % VIEWS.length];
    if (!next) return;
    setTab(next.view);
    tabs.current[VIEWS.indexOf(next)]?.focus();
  };

  return (
    <>
      <Announcer message={news} testId="chat-announcer" />
      <div className="room-tabs" role="tablist" aria-label={t("view.tabs")} onKeyDown={onKeyDown}>
        {VIEWS.map(({ view, icon, label }, index) => (
          <button
            key={view}
            ref={(el) => {
              tabs.current[index] = el;
            }}
            type="button"
            role="tab"
            id={`room-tab-${view}`}
            aria-selected={tab === view}
            aria-controls={`room-panel-${view}`}
            className={tab === view ? "active" : ""}
            onClick={() => setTab(view)}
            data-testid={`${view}-tab`}
          >
            <Icon name={icon} size={18} />
            {t(label)}
            {view === "chat" && unread > 0 && (
              <span className="badge" aria-label={t("chat.unread", { n: unread })}>
                {unread}
              </span>
            )}
          </button>
        ))}
      </div>
      <div className={`room-body show-${tab}`}>
        <div className="room-main">{children}</div>
        {chat && (
          <ChatPanel
            store={chat}
            consultationId={consultationId}
            role={role}
            selfId={selfId}
            hidden={narrow && tab !== "chat"}
          />
        )}
      </div>
    </>
  );
}
