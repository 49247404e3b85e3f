// The shared whiteboard of one consultation: a Yjs document kept in step with the server's
// copy (docs/protocol.md, "Whiteboard"), plus the awareness of who points where. No UI code.
//
// Sync: after every `room_join` (the first one and each one after a reconnect) `board_sync`
// sends our state vector and gets what we lack plus the server's state vector; we apply the
// former and send back what the server lacks (local edits made while offline or refused).
// In between, each local change goes out as `board_update`; changes made while a send is
// under way are merged into the next one. Updates from others arrive as `board_update`.
//
// Board document (the server treats it as opaque; this is its only description):
//   Y.Map "elements"  element id -> one Excalidraw element as plain JSON (Excalidraw 0.18's
//                     element format, with its fractional `index` for the stacking order).
//                     A deleted element is removed from the map. Written by
//                     boardBinding.ts from the editor's changes, one transaction per batch of
//                     at most ~200 KiB of JSON so that every update stays under the server's
//                     256 KiB limit.
//                     Clearing the board is one transaction that deletes every key (advisor
//                     only, after a confirmation).
//                     A presented document page is an image element with
//                     id "page:<file_id>:<page>", fileId "parley:<file_id>:<page>" and
//                     customData {parley: {file_id, page, name}}; its pixels never enter the
//                     document: every browser fetches the file (GET /api/files/{id}),
//                     renders the page itself (pdf.js for PDFs) and hands it to the editor.
//   Y.Map "view"      "presentation": {file_id, name, content_type, kind: "pdf" | "image",
//                     page, pages}
//                     or null: the page everyone is shown; changing "page" is the shared
//                     page navigation (every browser scrolls to that page's element).
// Awareness (relayed, never stored): {name, color, role, pointer?: {x, y, tool}, button?,
//   selected?: string[], screen?: {stream, since} }. `screen` names the MediaStream id of
//   the participant's screen share while it runs; the main screen is the newest running
//   share (largest `since`, a counter one above every `since` seen), else the board.
import * as Y from "yjs";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from "y-protocols/awareness";
import { LOCAL_OP_ORIGIN, clearElements } from "./boardBinding";
import type { Connection } from "./connection";
import type { Binary, ErrorBody } from "./types";

/** The server's default limit for one `board_update`. */
export const BOARD_UPDATE_MAX_BYTES = 256 * 1024;
/** The server's limit for one `board_awareness` update. */
export const AWARENESS_MAX_BYTES = 8 * 1024;
/** Transaction origin of updates that came from the server. */
export const REMOTE_ORIGIN = "parley:remote";
const RETRY_MS = 2_000;

export interface BoardUser {
  name: string;
  color: string;
  role: string;
}

export interface ScreenShare {
  /** MediaStream id of the share (the msid the other side sees). */
  stream: string;
  /** Ordering of shares: one above every `since` this participant had seen. */
  since: number;
}

export interface AwarenessState extends BoardUser {
  pointer?: { x: number; y: number; tool: "pointer" | "laser" };
  button?: "up" | "down";
  selected?: string[];
  screen?: ScreenShare | null;
}

export interface Peer {
  participantId: string;
  clientId: number;
  state: AwarenessState;
}

export interface Presentation {
  file_id: string;
  name: string;
  content_type: string;
  kind: "pdf" | "image";
  /** 1-based. */
  page: number;
  pages: number;
}

export function pageElementId(fileId: string, page: number): string {
  return `page:${fileId}:${page}`;
}

export function pageFileId(fileId: string, page: number): string {
  return `parley:${fileId}:${page}`;
}

/** The presentation in the view map, or null (anything malformed counts as none). */
export function readPresentation(view: Y.Map<unknown>): Presentation | null {
  const value = view.get("presentation");
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.file_id !== "string" || (v.kind !== "pdf" && v.kind !== "image")) return null;
  const page = typeof v.page === "number" && v.page >= 1 ? Math.floor(v.page) : 1;
  const pages = typeof v.pages === "number" && v.pages >= page ? Math.floor(v.pages) : page;
  return {
    file_id: v.file_id,
    name: typeof v.name === "string" ? v.name : "",
    content_type: typeof v.content_type === "string" ? v.content_type : "",
    kind: v.kind,
    page,
    pages,
  };
}

export interface BoardSnapshot {
  /** The last board_sync succeeded and no send is failing. */
  synced: boolean;
  /** View-only for customers. */
  locked: boolean;
  error: ErrorBody | null;
  /** Awareness of the other participants (one entry per browser tab). */
  peers: readonly Peer[];
}

export function toBytes(value: Binary): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(value);
}

/** True if a Yjs update carries anything (an empty one is two zero bytes). */
export function hasContent(update: Uint8Array): boolean {
  return update.byteLength > 2;
}

const PALETTE = ["#e03131", "#1971c2", "#2f9e44", "#f08c00", "#9c36b5", "#0c8599", "#e8590c", "#5c940d"];

/** A stable colour for a participant id. */
export function colorFor(id: string): string {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length] ?? "#1971c2";
}

export class BoardSession {
  readonly doc = new Y.Doc();
  readonly awareness: Awareness;
  readonly elements: Y.Map<unknown>;
  readonly view: Y.Map<unknown>;
  private locked = false;
  private synced = false;
  private error: ErrorBody | null = null;
  private generation = 0;
  private disposed = false;
  /** Local updates the server has not acknowledged yet, oldest first. */
  private pending: Uint8Array[] = [];
  private flushing = false;
  private retryTimer: number | null = null;
  /** Awareness client ids per participant, to drop them on `board_awareness_gone`. */
  private readonly clientsOf = new Map<string, Set<number>>();
  private readonly listeners = new Set<() => void>();
  private readonly offs: Array<() => void> = [];
  private snap: BoardSnapshot;

  constructor(
    private readonly conn: Connection,
    readonly consultationId: string,
  ) {
    this.awareness = new Awareness(this.doc);
    this.awareness.setLocalState(null);
    this.elements = this.doc.getMap("elements");
    this.view = this.doc.getMap("view");
    this.snap = this.build();
    this.doc.on("update", this.onDocUpdate);
    this.awareness.on("update", this.onAwarenessUpdate);
    this.awareness.on("change", this.onAwarenessChange);
    const mine = (p: { consultation_id: string }) => p.consultation_id === consultationId;
    this.offs.push(
      conn.on("board_update", (p) => {
        if (!mine(p)) return;
        this.applyRemote(toBytes(p.update));
      }),
      conn.on("board_awareness", (p) => {
        if (!mine(p)) return;
        const known = this.clientsOf.has(p.from);
        try {
          applyAwarenessUpdate(this.awareness, toBytes(p.update), p.from);
        } catch (err) {
          console.warn("parley: awareness update from %s dropped", p.from, err);
          return;
        }
        // Someone new (or back): they do not know our state yet.
        if (!known) this.announce();
      }),
      conn.on("board_awareness_gone", (p) => {
        if (!mine(p)) return;
        const ids = this.clientsOf.get(p.from);
        this.clientsOf.delete(p.from);
        if (ids && ids.size > 0) removeAwarenessStates(this.awareness, [...ids], "gone");
      }),
      conn.on("board_state", (p) => {
        if (!mine(p)) return;
        const wasLocked = this.locked;
        this.locked = p.locked;
        if (wasLocked && !p.locked && this.pending.length > 0) void this.sync();
        this.emit();
      }),
      conn.onState((state) => {
        if (state !== "connected" && this.synced) {
          this.synced = false;
          this.emit();
        }
      }),
    );
  }

  // ---- reading ----------------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): BoardSnapshot => this.snap;

  // ---- lifecycle --------------------------------------------------------------------

  /** Called after every successful `room_join`: sets who we are and syncs. */
  async joined(user: BoardUser): Promise<void> {
    if (this.disposed) return;
    const current = (this.awareness.getLocalState() as AwarenessState | null) ?? null;
    this.awareness.setLocalState({ ...current, ...user });
    await this.sync();
  }

  /** Sync step 1 and 2 with the server; also the way back after a failure. */
  async sync(): Promise<void> {
    if (this.disposed) return;
    const generation = ++this.generation;
    this.synced = false;
    const answer = await this.conn.request("board_sync", {
      consultation_id: this.consultationId,
      state_vector: Y.encodeStateVector(this.doc),
    });
    if (generation !== this.generation || this.disposed) return;
    if (!answer.ok) {
      this.fail(answer.error);
      return;
    }
    this.applyRemote(toBytes(answer.data.update));
    this.locked = answer.data.locked;
    this.synced = true;
    this.error = null;
    const missing = Y.encodeStateAsUpdate(this.doc, toBytes(answer.data.state_vector));
    // The diff covers every pending update unless it is too big for one message; then the
    // pending updates go one by one (each was kept under the limit when it was made).
    if (hasContent(missing) && missing.byteLength <= BOARD_UPDATE_MAX_BYTES) this.pending = [missing];
    else if (!hasContent(missing)) this.pending = [];
    this.emit();
    this.announce();
    void this.flush();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.generation++;
    if (this.retryTimer !== null) window.clearTimeout(this.retryTimer);
    const ids = [this.doc.clientID];
    if (this.awareness.getLocalState() !== null && this.conn.state === "connected") {
      // Tell the others that our cursor is gone (best effort).
      removeAwarenessStates(this.awareness, ids, "local");
    }
    this.offs.splice(0).forEach((off) => off());
    this.doc.off("update", this.onDocUpdate);
    this.awareness.off("update", this.onAwarenessUpdate);
    this.awareness.off("change", this.onAwarenessChange);
    this.awareness.destroy();
    this.doc.destroy();
    this.listeners.clear();
  }

  /** Locks (view-only for customers) or unlocks the board; the owning advisor only. */
  async lock(locked: boolean): Promise<ErrorBody | null> {
    const answer = await this.conn.request("board_lock", { consultation_id: this.consultationId, locked });
    if (!answer.ok) return answer.error;
    this.locked = answer.data.locked;
    this.emit();
    return null;
  }

  /** Shows a page to everyone, or nothing (null). */
  present(presentation: Presentation | null): void {
    this.doc.transact(() => this.view.set("presentation", presentation), LOCAL_OP_ORIGIN);
  }

  /** Removes everything from the board in one transaction (the advisor, after asking). */
  clear(): void {
    clearElements(this.elements);
  }

  // ---- awareness --------------------------------------------------------------------

  /** Changes fields of our awareness state (pointer, selection, screen share). */
  setLocal(change: Partial<AwarenessState>): void {
    if (this.disposed) return;
    const current = this.awareness.getLocalState() as AwarenessState | null;
    if (!current) return;
    this.awareness.setLocalState({ ...current, ...change });
  }

  /** The `since` for a new screen share: above every share we have seen. */
  nextScreenSince(): number {
    let highest = 0;
    for (const state of this.awareness.getStates().values()) {
      const since = (state as AwarenessState).screen?.since;
      if (typeof since === "number" && since > highest) highest = since;
    }
    return highest + 1;
  }

  /** Sends our whole awareness state (to newcomers, and after a sync). */
  private announce(): void {
    if (this.disposed || this.awareness.getLocalState() === null) return;
    this.sendAwareness(encodeAwarenessUpdate(this.awareness, [this.doc.clientID]));
  }

  private sendAwareness(update: Uint8Array): void {
    if (update.byteLength > AWARENESS_MAX_BYTES || this.conn.state !== "connected") return;
    void this.conn.request("board_awareness", { consultation_id: this.consultationId, update });
  }

  private readonly onAwarenessUpdate = (
    change: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (typeof origin === "string" && origin !== "local" && origin !== "gone") {
      // Relayed from participant `origin`: remember which client ids are theirs.
      let ids = this.clientsOf.get(origin);
      if (!ids) this.clientsOf.set(origin, (ids = new Set()));
      for (const id of [...change.added, ...change.updated]) ids.add(id);
      for (const id of change.removed) ids.delete(id);
      return;
    }
    if (origin !== "local" || !this.synced) return;
    const changed = [...change.added, ...change.updated, ...change.removed];
    if (changed.length > 0) this.sendAwareness(encodeAwarenessUpdate(this.awareness, changed));
  };

  private readonly onAwarenessChange = (): void => this.emit();

  // ---- document updates ---------------------------------------------------------------

  private applyRemote(update: Uint8Array): void {
    if (!hasContent(update)) return;
    try {
      Y.applyUpdate(this.doc, update, REMOTE_ORIGIN);
    } catch (err) {
      console.warn("parley: a board update could not be applied", err);
    }
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === REMOTE_ORIGIN || this.disposed) return;
    if (update.byteLength > BOARD_UPDATE_MAX_BYTES) {
      // boardBinding keeps its transactions below the limit; this is a bug or a huge element.
      this.error = { code: "payload_too_large", message: "a change is too large for the board" };
      this.emit();
    }
    this.pending.push(update);
    void this.flush();
  };

  /** Sends pending updates in order, merging those that fit in one message. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.synced && !this.disposed && this.pending.length > 0) {
        const generation = this.generation;
        const batch = this.takeBatch();
        const update = batch.length === 1 ? (batch[0] as Uint8Array) : Y.mergeUpdates(batch);
        const answer = await this.conn.request("board_update", { consultation_id: this.consultationId, update });
        if (this.disposed) return;
        if (answer.ok) {
          // A sync in between replaced `pending`; then it already covers this batch.
          if (generation === this.generation) this.pending.splice(0, batch.length);
          continue;
        }
        if (answer.error.code === "invalid_payload" || answer.error.code === "payload_too_large") {
          // It will never be accepted: drop it rather than retry forever.
          if (generation === this.generation) this.pending.splice(0, batch.length);
          this.error = answer.error;
          this.emit();
          continue;
        }
        this.fail(answer.error);
        return;
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The oldest pending updates whose total stays under the limit (at least one). */
  private takeBatch(): Uint8Array[] {
    const batch: Uint8Array[] = [];
    let size = 0;
    for (const update of this.pending) {
      if (batch.length > 0 && size + update.byteLength > BOARD_UPDATE_MAX_BYTES / 2) break;
      batch.push(update);
      size += update.byteLength;
    }
    return batch;
  }

  /** A sync or send failed: resync later (a refused edit while locked waits for unlock). */
  private fail(error: ErrorBody): void {
    this.synced = false;
    this.error = error;
    this.emit();
    if (error.code === "board_locked") {
      // Stay in sync with the others; our refused edits go out once the board is unlocked.
      this.locked = true;
      this.synced = true;
      return;
    }
    if (error.code === "timeout" || error.code === "not_ready" || error.code === "limit_exceeded") this.retryLater();
  }

  private retryLater(): void {
    if (this.retryTimer !== null || this.disposed) return;
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = null;
      if (!this.disposed && this.conn.state === "connected") void this.sync();
    }, RETRY_MS);
  }

  // ---- notifying ------------------------------------------------------------------------

  private build(): BoardSnapshot {
    const peers: Peer[] = [];
    for (const [participantId, ids] of this.clientsOf) {
      for (const clientId of ids) {
        const state = this.awareness.getStates().get(clientId) as AwarenessState | undefined;
        if (state && typeof state.name === "string") peers.push({ participantId, clientId, state });
      }
    }
    return { synced: this.synced, locked: this.locked, error: this.error, peers };
  }

  private emit(): void {
    if (this.disposed) return;
    this.snap = this.build();
    for (const listener of [...this.listeners]) listener();
  }
}
