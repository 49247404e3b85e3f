// The advisor reads back a consultation's chat (live or ended), read-only, loaded page by
// page from `GET /api/consultations/<id>/chat`.
import { useEffect, useState } from "react";
import { api } from "../protocol/api";
import { loadTranscript } from "../protocol/chat";
import type { ChatMessage } from "../protocol/types";
import { MessageBody, MessageMeta } from "./Chat";
import { useI18n } from "./i18n";
import { Notice, Spinner } from "./Layout";

export function ChatRecord({ consultationId }: { consultationId: string }) {
  const { t, errorText } = useI18n();
  const [messages, setMessages] = useState<ChatMessage[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let cancelled = false;
    setMessages(null);
    setError(null);
    loadTranscript(api, consultationId, () => cancelled)
      .then((list) => !cancelled && setMessages(list))
      .catch((err: unknown) => !cancelled && setError(err));
    return () => {
      cancelled = true;
    };
  }, [consultationId]);

  return (
    <div className="chat-record" data-testid="chat-record" aria-label={t("record.title")}>
      <h3>{t("record.title")}</h3>
      {error !== null ? (
        <Notice kind="error">{t("record.failed", { reason: errorText(error) })}</Notice>
      ) : messages === null ? (
        <Spinner label={t("record.loading")} />
      ) : messages.length === 0 ? (
        <p className="muted small">{t("record.empty")}</p>
      ) : (
        <>
          <p className="muted small">{t("record.readOnly")}</p>
          <ol className="chat-list record-list">
            {messages.map((m) => (
              <li key={m.seq} className={`msg kind-${m.kind}`} data-testid="chat-message" data-seq={m.seq} data-state="sent">
                <MessageMeta name={m.name} createdAt={m.created_at} />
                <MessageBody message={m} />
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
