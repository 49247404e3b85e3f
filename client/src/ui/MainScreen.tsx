// The main screen of the room: the shared whiteboard, or a participant's screen share while
// one runs (the newest share wins, for everyone alike; see protocol/board.ts). Each viewer
// may switch back to the board for themselves while a share runs.
import { Component, lazy, Suspense, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import type { BoardSession } from "../protocol/board";
import type { ChatSnapshot, ChatStore } from "../protocol/chat";
import type { FileInfo, ParticipantRole } from "../protocol/types";
import { uploadFile } from "../protocol/upload";
import { useI18n } from "./i18n";
import { Spinner } from "./Layout";

const Board = lazy(() => import("./board/Board"));

export interface ScreenShareView {
  participantId: string;
  name: string;
  since: number;
  stream: MediaStream;
  local: boolean;
}

/** The share shown as main screen: the newest (largest `since`, then the larger id). */
export function mainShare(shares: readonly ScreenShareView[]): ScreenShareView | null {
  let best: ScreenShareView | null = null;
  for (const share of shares) {
    if (!best || share.since > best.since || (share.since === best.since && share.participantId > best.participantId)) {
      best = share;
    }
  }
  return best;
}

const EMPTY: ChatSnapshot = { messages: [], outgoing: [], highestSeq: 0, loaded: false, historyError: null };
const noSubscription = () => () => undefined;

class BoardBoundary extends Component<{ fallback: ReactNode; children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  override componentDidCatch(error: unknown) {
    console.error("parley: the whiteboard failed", error);
  }
  override render() {
    return this.state.failed ? this.props.fallback : this.props.children;
  }
}

function ScreenVideo({ share }: { share: ScreenShareView }) {
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const element = video.current;
    if (!element) return;
    if (element.srcObject !== share.stream) element.srcObject = share.stream;
    element.play().catch(() => undefined);
  }, [share.stream]);
  return (
    <video
      ref={video}
      className="screen-video"
      autoPlay
      playsInline
      muted
      data-testid={share.local ? "local-screen" : "screen-video"}
      data-participant-id={share.participantId}
    />
  );
}

export function MainScreen({
  board,
  chat,
  role,
  consultationId,
  shares,
}: {
  board: BoardSession | null;
  chat: ChatStore | null;
  role: ParticipantRole;
  consultationId: string;
  shares: readonly ScreenShareView[];
}) {
  const { t } = useI18n();
  const share = mainShare(shares);
  // A viewer's own choice to look at the board; asked again for every new share.
  const [boardFor, setBoardFor] = useState<string | null>(null);
  const shareKey = share ? `${share.participantId}:${share.since}` : null;
  const showScreen = share !== null && boardFor !== shareKey;
  const snap = useSyncExternalStore(chat?.subscribe ?? noSubscription, chat?.snapshot ?? (() => EMPTY));
  const files = useMemo(() => {
    const seen = new Map<string, FileInfo>();
    for (const m of snap.messages) if (m.file && !m.file.deleted) seen.set(m.file.id, m.file);
    return [...seen.values()];
  }, [snap.messages]);

  const upload = async (file: File, onProgress?: (fraction: number) => void): Promise<FileInfo> => {
    const result = await uploadFile(consultationId, file, (p) => onProgress?.(p.total > 0 ? p.loaded / p.total : 0)).done;
    chat?.expect(result.seq);
    return result.file;
  };

  return (
    <section className="main-screen" id="room-panel-board" aria-label={t("screen.main")} data-testid="main-screen" data-showing={showScreen ? "screen" : "board"}>
      {share && (
        <div className="main-screen-bar">
          <span>{share.local ? t("screen.yours") : t("screen.of", { name: share.name })}</span>
          <button
            type="button"
            className="button small"
            onClick={() => setBoardFor(showScreen ? shareKey : null)}
            data-testid="main-screen-toggle"
          >
            {showScreen ? t("screen.showBoard") : t("screen.showScreen")}
          </button>
        </div>
      )}
      {share && showScreen && (
        <div className="screen-share">
          <ScreenVideo share={share} />
        </div>
      )}
      {board && (
        <div className="main-screen-board" hidden={showScreen}>
          <BoardBoundary fallback={<p className="board-error">{t("board.loadFailed")}</p>}>
            <Suspense fallback={<Spinner label={t("board.loading")} />}>
              <Board session={board} role={role} consultationId={consultationId} files={files} upload={upload} />
            </Suspense>
          </BoardBoundary>
        </div>
      )}
    </section>
  );
}
