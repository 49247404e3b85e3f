// The chat of one consultation (docs/protocol.md, "Chat: numbering and resume"). No UI code.
//
// - Messages are kept by their server-assigned `seq`; a message whose seq is known already
//   (a `chat_message` after our own ack, a history page after a live event) is dropped.
// - The highest seq seen is remembered; every (re)join of the room asks `chat_history`
//   with `after_seq` = that number, page after page while `more` is true.
// - An outgoing message gets a random client id and stays "pending" until the server
//   acknowledges it; a refused or unanswered `chat_send` makes it "failed", and `retry`
//   sends it again with the same client id (the server answers a resend idempotently).
import type { HttpApi } from "./api";
import type { Connection } from "./connection";
import { ApiError } from "./errors";
import type { ChatMessage, ChatPage, ErrorBody } from "./types";

export type OutgoingState = "pending" | "failed";

export interface Outgoing {
  clientId: string;
  body: string;
  state: OutgoingState;
  /** When the user sent it (client clock, ISO 8601). */
  createdAt: string;
  /** Why it failed (the last attempt's error). */
  error: ErrorBody | null;
}

export interface ChatSnapshot {
  /** Stored messages, oldest first (ascending seq). */
  messages: readonly ChatMessage[];
  /** Own messages not acknowledged yet, in the order they were written. */
  outgoing: readonly Outgoing[];
  highestSeq: number;
  /** The first history load after joining has finished. */
  loaded: boolean;
  /** The last history load failed (it is tried again on the next join). */
  historyError: ErrorBody | null;
}

/** Characters of a client id: [A-Za-z0-9_-], 8–64 of them (the server's rule). */
const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;
const HISTORY_PAGE = 200;
/** A bound on pages per load: 200 × 500 messages is far beyond any consultation. */
const MAX_PAGES = 500;
const SEND_TIMEOUT_MS = 10_000;
/** How long a missing seq (a gap, or an upload's message) may stay missing before we ask. */
const GAP_WAIT_MS = 1_500;
export const CHAT_MAX_CHARS = 4000;

/** 16 random bytes as base64url (22 characters of [A-Za-z0-9_-]). */
export function newClientId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const id = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  if (!CLIENT_ID.test(id)) throw new Error("client id generation failed");
  return id;
}

/**
 * What the server accepts as a chat body: CRLF and CR become LF, control characters other
 * than newline and tab are dropped. Returns "" for a body that is only whitespace.
 */
export function normaliseBody(text: string): string {
  const cleaned = text.replace(/\r\n?/g, "\n").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "");
  return cleaned.trim() === "" ? "" : cleaned;
}

function byClientId(list: readonly Outgoing[], clientId: string): Outgoing | undefined {
  return list.find((o) => o.clientId === clientId);
}

export class ChatStore {
  private readonly bySeq = new Map<number, ChatMessage>();
  private outgoingList: Outgoing[] = [];
  private highest = 0;
  /** Every seq at or below this one is known or was confirmed absent by a history page. */
  private floor = 0;
  private selfId: string | null = null;
  private selfName = "";
  private ready = false;
  private loaded = false;
  private historyError: ErrorBody | null = null;
  /** Bumped on every join and on dispose; a load of an older generation stops. */
  private generation = 0;
  private loading: Promise<void> | null = null;
  private gapTimer: number | null = null;
  /** The highest seq an upload announced; asked for if no chat_message brings it. */
  private expected = 0;
  private readonly deletedFiles = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private readonly offs: Array<() => void> = [];
  private snap: ChatSnapshot;
  private disposed = false;

  constructor(
    private readonly conn: Connection,
    readonly consultationId: string,
  ) {
    this.snap = this.build();
    this.offs.push(
      conn.on("chat_message", (m) => {
        if (m.consultation_id !== consultationId) return;
        const wasHighest = this.highest;
        if (this.add(m) && m.seq > wasHighest + 1) this.scheduleGapFill();
        this.emit();
      }),
      conn.on("file_deleted", (p) => {
        if (p.consultation_id !== consultationId) return;
        this.markDeleted(p.file_id);
        this.emit();
      }),
      conn.onState((state) => {
        if (state !== "connected") this.ready = false;
      }),
    );
  }

  // ---- reading -------------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** An immutable snapshot; a new object after every change (for useSyncExternalStore). */
  snapshot = (): ChatSnapshot => this.snap;

  get self(): string | null {
    return this.selfId;
  }

  // ---- room lifecycle -----------------------------------------------------------------

  /**
   * Called after every successful `room_join` (first join and each rejoin after a
   * reconnect): loads what came after the highest seq seen, then sends what waited.
   */
  async joined(selfId: string, selfName: string): Promise<void> {
    if (this.disposed) return;
    this.selfId = selfId;
    this.selfName = selfName;
    this.ready = true;
    const generation = ++this.generation;
    await this.loadAfter(this.highest, generation);
    if (generation !== this.generation || this.disposed) return;
    await this.fillGaps(generation);
    if (generation !== this.generation || this.disposed) return;
    for (const o of this.outgoingList) if (o.state === "pending") void this.attempt(o.clientId);
  }

  /** Stop listening; nothing is sent or loaded after this. */
  dispose(): void {
    this.disposed = true;
    this.generation++;
    this.ready = false;
    if (this.gapTimer !== null) window.clearTimeout(this.gapTimer);
    this.offs.splice(0).forEach((off) => off());
    this.listeners.clear();
  }

  // ---- sending --------------------------------------------------------------------

  /** Queues a text message; returns its client id, or null for an empty body. */
  send(text: string): string | null {
    const body = normaliseBody(text);
    if (!body) return null;
    const outgoing: Outgoing = {
      clientId: newClientId(),
      body,
      state: "pending",
      createdAt: new Date().toISOString(),
      error: null,
    };
    this.outgoingList = [...this.outgoingList, outgoing];
    this.emit();
    if (this.ready) void this.attempt(outgoing.clientId);
    else this.failLater(outgoing.clientId);
    return outgoing.clientId;
  }

  /** Sends a failed message again, with the same client id. */
  retry(clientId: string): void {
    const o = byClientId(this.outgoingList, clientId);
    if (!o || o.state !== "failed") return;
    this.update(clientId, { state: "pending", error: null });
    if (this.ready) void this.attempt(clientId);
    else this.failLater(clientId);
  }

  /** Drops a failed message the user does not want to send any more. */
  discard(clientId: string): void {
    this.outgoingList = this.outgoingList.filter((o) => o.clientId !== clientId || o.state !== "failed");
    this.emit();
  }

  /**
   * An upload answered with this seq: its `chat_message` should be on its way. If it has
   * not arrived a little later (a dropped event), ask the history for it.
   */
  expect(seq: number): void {
    if (this.bySeq.has(seq)) return;
    this.expected = Math.max(this.expected, seq);
    this.scheduleGapFill();
  }

  private failLater(clientId: string): void {
    // Not in the room right now: it is sent on the next join, or marked failed when that
    // takes too long.
    window.setTimeout(() => {
      const o = byClientId(this.outgoingList, clientId);
      if (o && o.state === "pending" && !this.ready && !this.disposed) {
        this.update(clientId, {
          state: "failed",
          error: { code: "timeout", message: "not connected to the consultation" },
        });
      }
    }, SEND_TIMEOUT_MS);
  }

  private readonly inFlight = new Set<string>();

  private async attempt(clientId: string): Promise<void> {
    const o = byClientId(this.outgoingList, clientId);
    if (!o || this.inFlight.has(clientId)) return;
    this.inFlight.add(clientId);
    let answer;
    try {
      answer = await this.conn.request(
        "chat_send",
        { consultation_id: this.consultationId, client_id: clientId, body: o.body },
        SEND_TIMEOUT_MS,
      );
    } finally {
      this.inFlight.delete(clientId);
    }
    if (this.disposed) return;
    const current = byClientId(this.outgoingList, clientId);
    if (!current) return; // its chat_message arrived first and settled it
    if (!answer.ok) {
      this.update(clientId, { state: "failed", error: answer.error });
      return;
    }
    const { seq, id, created_at } = answer.data;
    this.add({
      consultation_id: this.consultationId,
      seq,
      id,
      client_id: clientId,
      from: this.selfId ?? "",
      name: this.selfName,
      kind: "text",
      body: current.body,
      created_at,
    });
    this.settle(clientId);
    this.emit();
  }

  private settle(clientId: string): void {
    this.outgoingList = this.outgoingList.filter((o) => o.clientId !== clientId);
  }

  private update(clientId: string, change: Partial<Outgoing>): void {
    this.outgoingList = this.outgoingList.map((o) => (o.clientId === clientId ? { ...o, ...change } : o));
    this.emit();
  }

  // ---- receiving ------------------------------------------------------------------

  /** Adds a stored message unless its seq is known; true if it was new. */
  private add(m: ChatMessage): boolean {
    if (!Number.isInteger(m.seq) || m.seq < 1 || this.bySeq.has(m.seq)) return false;
    let message = m;
    if (m.file && this.deletedFiles.has(m.file.id) && !m.file.deleted) {
      message = { ...m, file: { ...m.file, deleted: true } };
    }
    this.bySeq.set(m.seq, message);
    if (m.seq > this.highest) this.highest = m.seq;
    // Our own message, acknowledged or not: it is stored, so it is no longer outgoing.
    if (this.selfId !== null && m.from === this.selfId && byClientId(this.outgoingList, m.client_id)) {
      this.settle(m.client_id);
    }
    return true;
  }

  /** A file was deleted (our own DELETE succeeded, or `file_deleted` arrived). */
  noteFileDeleted(fileId: string): void {
    if (this.disposed) return;
    this.markDeleted(fileId);
    this.emit();
  }

  private markDeleted(fileId: string): void {
    this.deletedFiles.add(fileId);
    for (const [seq, m] of this.bySeq) {
      if (m.file?.id === fileId && !m.file.deleted) this.bySeq.set(seq, { ...m, file: { ...m.file, deleted: true } });
    }
  }

  /** Pages of `chat_history` after `afterSeq` while `more`; returns the seqs covered. */
  private async page(afterSeq: number, generation: number): Promise<{ upTo: number; complete: boolean }> {
    let after = afterSeq;
    for (let i = 0; i < MAX_PAGES; i++) {
      if (generation !== this.generation || this.disposed || !this.ready) return { upTo: after, complete: false };
      const answer = await this.conn.request("chat_history", {
        consultation_id: this.consultationId,
        after_seq: after,
        limit: HISTORY_PAGE,
      });
      if (generation !== this.generation || this.disposed) return { upTo: after, complete: false };
      if (!answer.ok) {
        this.historyError = answer.error;
        this.emit();
        return { upTo: after, complete: false };
      }
      const { messages, more } = answer.data;
      for (const m of messages) this.add(m);
      const last = messages.reduce((max, m) => Math.max(max, m.seq), after);
      this.emit();
      if (!more || last <= after) return { upTo: last, complete: true };
      after = last;
    }
    return { upTo: after, complete: false };
  }

  private async loadAfter(afterSeq: number, generation: number): Promise<void> {
    this.historyError = null;
    const run = this.page(afterSeq, generation).then(({ complete, upTo }) => {
      if (complete && afterSeq <= this.floor) this.floor = Math.max(this.floor, upTo);
      if (generation === this.generation) this.loaded = true;
      this.emit();
    });
    this.loading = run;
    try {
      await run;
    } finally {
      if (this.loading === run) this.loading = null;
    }
  }

  private firstMissing(): number | null {
    for (let seq = this.floor + 1; seq < this.highest; seq++) if (!this.bySeq.has(seq)) return seq;
    return null;
  }

  /** Asks the history for every seq between `floor` and the highest one that is missing. */
  private async fillGaps(generation: number): Promise<void> {
    const missing = this.firstMissing();
    if (missing === null) {
      this.floor = Math.max(this.floor, this.highest);
      return;
    }
    const { complete, upTo } = await this.page(missing - 1, generation);
    if (complete) this.floor = Math.max(this.floor, upTo);
  }

  private scheduleGapFill(): void {
    if (this.gapTimer !== null || this.disposed) return;
    this.gapTimer = window.setTimeout(() => {
      this.gapTimer = null;
      if (!this.ready || this.disposed || this.loading) return;
      const generation = this.generation;
      if (this.firstMissing() !== null) void this.fillGaps(generation);
      else if (this.expected > this.highest) void this.loadAfter(this.highest, generation);
    }, GAP_WAIT_MS);
  }

  // ---- notifying ------------------------------------------------------------------

  private build(): ChatSnapshot {
    const messages = [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
    return {
      messages,
      outgoing: this.outgoingList,
      highestSeq: this.highest,
      loaded: this.loaded,
      historyError: this.historyError,
    };
  }

  private emit(): void {
    if (this.disposed) return;
    this.snap = this.build();
    for (const listener of [...this.listeners]) listener();
  }
}

/** The whole chat record of a consultation over HTTP (owning advisor), page after page. */
export async function loadTranscript(
  http: HttpApi,
  consultationId: string,
  isCancelled: () => boolean = () => false,
): Promise<ChatMessage[]> {
  const bySeq = new Map<number, ChatMessage>();
  let after = 0;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page: ChatPage = await http.chatTranscript(consultationId, after, HISTORY_PAGE);
    if (isCancelled()) break;
    for (const m of page.messages) if (!bySeq.has(m.seq)) bySeq.set(m.seq, m);
    const last = page.messages.reduce((max, m) => Math.max(max, m.seq), after);
    if (!page.more || last <= after) break;
    after = last;
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export { ApiError };
