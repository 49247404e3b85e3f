// The Socket.IO connection to Parley (docs/protocol.md, "Socket.IO events").
// Same origin, websocket transport only; every client-to-server event expects an
// acknowledgement envelope, which `request` resolves (with a client-side timeout).
import { io, type Socket } from "socket.io-client";
import { ApiError, parseEnvelope, unwrap } from "./errors";
import type { ClientEvent, ClientEvents, Envelope, ErrorBody, ServerEvent, ServerEvents } from "./types";

export type ConnectionState =
  /** first connection attempt in progress */
  | "connecting"
  | "connected"
  /** the connection dropped; socket.io is retrying */
  | "reconnecting"
  /** the server refused the connection (no session, foreign origin, ...) */
  | "refused"
  /** closed by us or by the server; no retry */
  | "closed";

export interface ConnectionOptions {
  /** Default ack timeout for `request`, in milliseconds. */
  timeoutMs?: number;
  /** Server URL; the page's origin when omitted. */
  url?: string;
}

type Unsubscribe = () => void;

const DEFAULT_TIMEOUT_MS = 10_000;
const CLOSE_GRACE_MS = 1_500;

function refusal(err: Error & { data?: unknown }, refused: boolean): ErrorBody {
  const data = err.data;
  if (typeof data === "object" && data !== null) {
    const d = data as Record<string, unknown>;
    if (typeof d.code === "string") return { code: d.code, message: typeof d.message === "string" ? d.message : err.message };
  }
  return { code: refused ? "connection_refused" : "network_error", message: err.message };
}

export class Connection {
  private readonly socket: Socket;
  private readonly timeoutMs: number;
  private stateValue: ConnectionState = "connecting";
  private lastError: ErrorBody | null = null;
  private everConnected = false;
  private readonly stateListeners = new Set<(state: ConnectionState, error: ErrorBody | null) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private readonly closeListeners = new Set<() => Promise<unknown> | void>();
  /** Requests still waiting for their acknowledgement. */
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(options: ConnectionOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const opts = { transports: ["websocket"] };
    this.socket = options.url === undefined ? io(opts) : io(options.url, opts);
    this.socket.on("connect", () => {
      const again = this.everConnected;
      this.everConnected = true;
      this.lastError = null;
      this.setState("connected");
      if (again) for (const listener of [...this.reconnectListeners]) listener();
    });
    this.socket.on("disconnect", (reason) => {
      // "io server disconnect" and "io client disconnect" are final; anything else retries.
      const final = reason === "io server disconnect" || reason === "io client disconnect";
      this.setState(final ? "closed" : "reconnecting");
    });
    this.socket.on("connect_error", (err: Error & { data?: unknown }) => {
      this.lastError = refusal(err, !this.socket.active);
      // socket.active is false when the server refused the connection itself.
      if (!this.socket.active) this.setState("refused");
      else this.setState(this.everConnected ? "reconnecting" : "connecting");
    });
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  get error(): ErrorBody | null {
    return this.lastError;
  }

  private setState(state: ConnectionState): void {
    this.stateValue = state;
    for (const listener of [...this.stateListeners]) listener(state, this.lastError);
  }

  onState(listener: (state: ConnectionState, error: ErrorBody | null) => void): Unsubscribe {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Called after the socket came back from a dropped connection (not on the first connect). */
  onReconnect(listener: () => void): Unsubscribe {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /**
   * Called by `close()` while the socket is still open: the last chance to send something.
   * Requests sent here (or still unacknowledged) delay the disconnect, at most
   * CLOSE_GRACE_MS, so that the server handles them before it sees the disconnect.
   */
  onBeforeClose(listener: () => Promise<unknown> | void): Unsubscribe {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  on<E extends ServerEvent>(event: E, handler: (payload: ServerEvents[E]) => void): Unsubscribe {
    const wrapped = (payload: ServerEvents[E]): void => handler(payload);
    this.socket.on(event as string, wrapped);
    return () => {
      this.socket.off(event as string, wrapped);
    };
  }

  /** Sends an event and resolves its acknowledgement envelope; never rejects. */
  async request<E extends ClientEvent>(
    event: E,
    payload: ClientEvents[E]["payload"],
    timeoutMs: number = this.timeoutMs,
  ): Promise<Envelope<ClientEvents[E]["ack"]>> {
    let answer: unknown;
    const pending: Promise<unknown> = this.socket.timeout(timeoutMs).emitWithAck(event, payload);
    this.inflight.add(pending);
    try {
      answer = await pending;
    } catch {
      return { ok: false, error: { code: "timeout", message: `no answer to ${event} within ${timeoutMs} ms` } };
    } finally {
      this.inflight.delete(pending);
    }
    const envelope = parseEnvelope<ClientEvents[E]["ack"]>(answer);
    return envelope ?? { ok: false, error: { code: "bad_response", message: `malformed answer to ${event}` } };
  }

  /** Like `request`, but resolves the ack data or throws an ApiError. */
  async call<E extends ClientEvent>(
    event: E,
    payload: ClientEvents[E]["payload"],
    timeoutMs?: number,
  ): Promise<ClientEvents[E]["ack"]> {
    return unwrap(await this.request(event, payload, timeoutMs));
  }

  /** Stops all listeners at once; disconnects once pending requests are acknowledged. */
  close(): void {
    for (const listener of [...this.closeListeners]) void listener();
    const lastWords = [...this.inflight];
    this.closeListeners.clear();
    this.stateListeners.clear();
    this.reconnectListeners.clear();
    this.socket.removeAllListeners();
    this.stateValue = "closed";
    if (lastWords.length === 0 || !this.socket.connected) {
      this.socket.disconnect();
      return;
    }
    const grace = new Promise((resolve) => window.setTimeout(resolve, CLOSE_GRACE_MS));
    void Promise.race([Promise.allSettled(lastWords), grace]).then(() => this.socket.disconnect());
  }
}

export { ApiError };
