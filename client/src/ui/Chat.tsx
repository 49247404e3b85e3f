// The chat panel of the room: messages, the composer and file sharing (picker, drag and
// drop, progress, errors). State lives in protocol/chat.ts (ChatStore) and
// protocol/upload.ts; this file only shows it.
import {
  useCallback,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type DragEvent,
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
} from "react";
import { api, fileUrl } from "../protocol/api";
import { CHAT_MAX_CHARS, type ChatStore, type Outgoing } from "../protocol/chat";
import { ApiError } from "../protocol/errors";
import type { ChatMessage, FileInfo, ParticipantRole } from "../protocol/types";
import { UPLOAD_EXTENSIONS, uploadFile, type UploadHandle } from "../protocol/upload";
import { formatDateTime, formatSize, formatTime, type Key } from "../i18n";
import { ChatText } from "./ChatText";
import { ConfirmButton } from "./ConfirmButton";
import { Icon } from "./icons";
import { useI18n } from "./i18n";
import { Notice } from "./Layout";

/** The character counter appears this close to the limit. */
const COUNTER_FROM = CHAT_MAX_CHARS - 500;

export type MessageState = "sent" | "pending" | "failed";

// ---- one message (shared with the read-only chat record) ------------------------------

export function MessageMeta({ name, createdAt }: { name: string; createdAt: string }) {
  const { lang } = useI18n();
  return (
    <div className="msg-meta">
      <span className="msg-name">{name}</span>
      <time dateTime={createdAt} title={formatDateTime(lang, createdAt)}>
        {formatTime(lang, createdAt)}
      </time>
    </div>
  );
}

export function FileCard({ file, actions }: { file: FileInfo; actions?: ReactNode }) {
  const { t, lang } = useI18n();
  return (
    <div className={`file-card ${file.deleted ? "deleted" : ""}`}>
      <Icon name="file" size={28} />
      <div className="file-info">
        <span className="file-name">{file.name}</span>
        <span className="muted small">{file.deleted ? t("file.deleted") : formatSize(lang, file.size)}</span>
      </div>
      {!file.deleted && (
        <div className="file-actions">
          <a className="button small" href={fileUrl(file.id)} download={file.name} data-testid="file-link">
            <Icon name="download" size={16} />
            <span>{t("file.download")}</span>
          </a>
          {actions}
        </div>
      )}
    </div>
  );
}

export function MessageBody({ message, fileActions }: { message: ChatMessage; fileActions?: ReactNode }) {
  if (message.kind === "file" && message.file) return <FileCard file={message.file} actions={fileActions} />;
  return (
    <p className="msg-body">
      <ChatText body={message.body} />
    </p>
  );
}

// ---- the panel ----------------------------------------------------------------------

interface UploadRow {
  key: number;
  name: string;
  size: number;
  loaded: number;
  handle: UploadHandle | null;
  error: unknown;
}

const UPLOAD_ERRORS: Record<string, Key> = {
  payload_too_large: "upload.payload_too_large",
  file_type_refused: "upload.file_type_refused",
  file_rejected: "upload.file_rejected",
  not_authorised: "upload.not_authorised",
};

function useStickToBottom(dependency: unknown) {
  const list = useRef<HTMLOListElement | null>(null);
  const atBottom = useRef(true);
  const onScroll = useCallback(() => {
    const el = list.current;
    if (el) atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  }, []);
  const toBottom = useCallback(() => {
    atBottom.current = true;
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, []);
  useLayoutEffect(() => {
    const el = list.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [dependency]);
  return { list, onScroll, toBottom };
}

export function ChatPanel({
  store,
  consultationId,
  role,
  selfId,
  hidden = false,
}: {
  store: ChatStore;
  consultationId: string;
  role: ParticipantRole;
  selfId: string | null;
  /** Hidden behind the video tab on a small screen (still mounted). */
  hidden?: boolean;
}) {
  const { t, errorText } = useI18n();
  const snap = useSyncExternalStore(store.subscribe, store.snapshot);
  const [text, setText] = useState("");
  const [uploads, setUploads] = useState<UploadRow[]>([]);
  const [dragging, setDragging] = useState(0);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const fileInput = useRef<HTMLInputElement | null>(null);
  const nextKey = useRef(1);
  const handles = useRef(new Set<UploadHandle>());
  const { list, onScroll, toBottom } = useStickToBottom(`${snap.messages.length}/${snap.outgoing.length}/${hidden}`);

  // Uploads still running when the room goes away are cancelled.
  useEffect(() => {
    const running = handles.current;
    return () => running.forEach((handle) => handle.abort());
  }, []);

  const patch = (key: number, change: Partial<UploadRow>) =>
    setUploads((rows) => rows.map((row) => (row.key === key ? { ...row, ...change } : row)));
  const drop = (key: number) => setUploads((rows) => rows.filter((row) => row.key !== key));

  const upload = (files: Iterable<File>) => {
    for (const file of files) {
      const key = nextKey.current++;
      const handle = uploadFile(consultationId, file, (p) => patch(key, { loaded: p.loaded }));
      handles.current.add(handle);
      setUploads((rows) => [...rows, { key, name: file.name, size: file.size, loaded: 0, handle, error: null }]);
      handle.done
        .then((result) => {
          drop(key);
          store.expect(result.seq);
          toBottom();
        })
        .catch((err: unknown) => {
          if (err instanceof ApiError && err.code === "aborted") drop(key);
          else patch(key, { error: err, handle: null });
        })
        .finally(() => handles.current.delete(handle));
    }
  };

  const send = (event?: FormEvent) => {
    event?.preventDefault();
    if (store.send(text) !== null) {
      setText("");
      toBottom();
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key !== "Enter" || event.shiftKey || event.altKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    send();
  };

  const deleteFile = async (fileId: string) => {
    setDeleteError(null);
    try {
      await api.deleteFile(fileId);
      store.noteFileDeleted(fileId);
    } catch (err) {
      if (err instanceof ApiError && err.code === "not_found") store.noteFileDeleted(fileId);
      else setDeleteError(err);
    }
  };

  const hasFiles = (event: DragEvent) => Array.from(event.dataTransfer.types).includes("Files");
  const dragHandlers = {
    onDragEnter: (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      setDragging((n) => n + 1);
    },
    onDragOver: (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    },
    onDragLeave: (event: DragEvent) => {
      if (!hasFiles(event)) return;
      setDragging((n) => Math.max(0, n - 1));
    },
    onDrop: (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      setDragging(0);
      upload(Array.from(event.dataTransfer.files));
    },
  };

  // UTF-16 units, as `maxlength` counts them (never fewer than the server's characters).
  const length = text.length;
  const canSend = text.trim() !== "" && length <= CHAT_MAX_CHARS;
  const empty = snap.messages.length === 0 && snap.outgoing.length === 0;

  return (
    <section
      className={`chat-panel ${dragging > 0 ? "dragging" : ""} ${hidden ? "is-hidden" : ""}`}
      id="room-panel-chat"
      aria-labelledby="chat-title"
      data-testid="chat-panel"
      {...dragHandlers}
    >
      <h2 id="chat-title" className="chat-title">
        <Icon name="chat" size={18} /> {t("chat.title")}
      </h2>
      {snap.historyError && <Notice kind="error">{t("chat.historyFailed")}</Notice>}
      <ol className="chat-list" ref={list} onScroll={onScroll} aria-label={t("chat.messages")}>
        {empty && <li className="chat-empty muted small">{snap.loaded ? t("chat.empty") : t("chat.loading")}</li>}
        {snap.messages.map((m) => {
          const own = selfId !== null && m.from === selfId;
          const canDelete = m.kind === "file" && (own || role === "advisor");
          return (
            <li
              key={m.seq}
              className={`msg ${own ? "own" : ""} kind-${m.kind}`}
              data-testid="chat-message"
              data-seq={m.seq}
              data-state="sent"
              data-kind={m.kind}
            >
              <MessageMeta name={own ? t("chat.you") : m.name} createdAt={m.created_at} />
              <MessageBody
                message={m}
                fileActions={
                  canDelete && m.file ? (
                    <ConfirmButton
                      className="button small danger"
                      icon={<Icon name="trash" size={16} />}
                      label={t("file.delete")}
                      question={t("file.deleteConfirm")}
                      yes={t("file.deleteYes")}
                      testId="file-delete"
                      onConfirm={() => m.file && void deleteFile(m.file.id)}
                    />
                  ) : undefined
                }
              />
            </li>
          );
        })}
        {snap.outgoing.map((o) => (
          <OutgoingItem key={o.clientId} outgoing={o} store={store} />
        ))}
      </ol>

      {deleteError !== null && (
        <Notice kind="error">
          {t("file.deleteFailed", { reason: errorText(deleteError) })}{" "}
          <button type="button" className="button link" onClick={() => setDeleteError(null)}>
            {t("file.dismiss")}
          </button>
        </Notice>
      )}

      {uploads.length > 0 && (
        <ul className="uploads">
          {uploads.map((row) =>
            row.error !== null ? (
              <li key={row.key} className="upload upload-failed" data-testid="upload-error" role="alert">
                <span>{uploadErrorText(t, errorText, row.name, row.error)}</span>
                <button type="button" className="button small" onClick={() => drop(row.key)}>
                  {t("file.dismiss")}
                </button>
              </li>
            ) : (
              <li key={row.key} className="upload">
                <div className="upload-head">
                  <span className="upload-name">{t("file.uploading", { name: row.name })}</span>
                  <button
                    type="button"
                    className="button small"
                    onClick={() => row.handle?.abort()}
                    data-testid="file-upload-cancel"
                  >
                    {t("file.cancel")}
                  </button>
                </div>
                <ProgressBar loaded={row.loaded} total={row.size} label={row.name} />
              </li>
            ),
          )}
        </ul>
      )}

      <form className="composer" onSubmit={send}>
        <textarea
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          maxLength={CHAT_MAX_CHARS}
          rows={2}
          placeholder={t("chat.placeholder")}
          aria-label={t("chat.inputLabel")}
          aria-describedby="chat-hint"
          data-testid="chat-input"
        />
        <button type="submit" className="button primary" disabled={!canSend} data-testid="chat-send" aria-label={t("chat.send")}>
          <Icon name="send" size={18} />
          <span className="send-label">{t("chat.send")}</span>
        </button>
      </form>
      <div className="composer-foot">
        <span id="chat-hint" className="muted small">
          {t("chat.hint")}
        </span>
        {length >= COUNTER_FROM && (
          <span className={`counter small ${length >= CHAT_MAX_CHARS ? "at-limit" : ""}`} aria-live="polite">
            {t("chat.remaining", { n: Math.max(0, CHAT_MAX_CHARS - length) })}
          </span>
        )}
      </div>
      <div className="share">
        <button type="button" className="button small" onClick={() => fileInput.current?.click()}>
          <Icon name="paperclip" size={16} />
          <span>{t("file.share")}</span>
        </button>
        <span className="muted small">{t("file.limits")}</span>
        <input
          ref={fileInput}
          type="file"
          multiple
          accept={UPLOAD_EXTENSIONS.join(",")}
          className="visually-hidden"
          tabIndex={-1}
          aria-hidden="true"
          data-testid="file-input"
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = "";
            upload(files);
          }}
        />
      </div>
      {dragging > 0 && (
        <div className="drop-overlay" aria-hidden="true">
          <Icon name="paperclip" size={28} />
          <span>{t("file.drop")}</span>
        </div>
      )}
    </section>
  );
}

function OutgoingItem({ outgoing: o, store }: { outgoing: Outgoing; store: ChatStore }) {
  const { t, errorText } = useI18n();
  const failed = o.state === "failed";
  return (
    <li className={`msg own ${o.state}`} data-testid="chat-message" data-state={o.state} data-kind="text">
      <MessageMeta name={t("chat.you")} createdAt={o.createdAt} />
      <p className="msg-body">
        <ChatText body={o.body} />
      </p>
      {failed ? (
        <div className="msg-status failed" role="alert">
          <span title={o.error ? errorText(ApiError.from(o.error)) : undefined}>{t("chat.notSent")}</span>
          <button type="button" className="button small" onClick={() => store.retry(o.clientId)} data-testid="chat-retry">
            {t("chat.retry")}
          </button>
          <button type="button" className="button small link" onClick={() => store.discard(o.clientId)}>
            {t("chat.discard")}
          </button>
        </div>
      ) : (
        <div className="msg-status">{t("chat.sending")}</div>
      )}
    </li>
  );
}

function ProgressBar({ loaded, total, label }: { loaded: number; total: number; label: string }) {
  const { t, lang } = useI18n();
  const percent = total > 0 ? Math.min(100, Math.round((loaded / total) * 100)) : 0;
  return (
    <div className="progress-row">
      <progress max={100} value={percent} aria-label={label} data-testid="file-upload-progress" />
      <span className="muted small">{t("file.progress", { percent, size: formatSize(lang, total) })}</span>
    </div>
  );
}

function uploadErrorText(
  t: (key: Key, vars?: Record<string, string | number>) => string,
  errorText: (err: unknown) => string,
  name: string,
  err: unknown,
): string {
  const key = err instanceof ApiError ? UPLOAD_ERRORS[err.code] : undefined;
  if (key) return t(key, { name });
  return t("upload.other", { name, reason: errorText(err) });
}
