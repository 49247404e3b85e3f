import type { Envelope, ErrorBody, ErrorCode } from "./types";

/** An error answer of the server (HTTP or Socket.IO ack), or a client-side failure. */
export class ApiError extends Error {
  readonly code: ErrorCode | string;
  /** HTTP status, 0 for Socket.IO acks and client-side failures. */
  readonly status: number;
  /** Seconds to wait before trying again, from an HTTP `Retry-After` (e.g. `busy`); null if none. */
  readonly retryAfter: number | null;

  constructor(code: ErrorCode | string, message: string, status = 0, retryAfter: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }

  static from(body: ErrorBody, status = 0, retryAfter: number | null = null): ApiError {
    return new ApiError(body.code, body.message, status, retryAfter);
  }
}

export function errorCode(err: unknown): string {
  return err instanceof ApiError ? err.code : "internal_error";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Checks that `value` has the shape of the `{ok, data}|{ok:false, error}` envelope. */
export function parseEnvelope<T>(value: unknown): Envelope<T> | null {
  if (!isObject(value) || typeof value.ok !== "boolean") return null;
  if (value.ok) return { ok: true, data: (value.data ?? {}) as T };
  const error = value.error;
  if (!isObject(error) || typeof error.code !== "string") return null;
  return { ok: false, error: { code: error.code, message: typeof error.message === "string" ? error.message : "" } };
}

export function unwrap<T>(envelope: Envelope<T>, status = 0, retryAfter: number | null = null): T {
  if (envelope.ok) return envelope.data;
  throw ApiError.from(envelope.error, status, retryAfter);
}

/** A `Retry-After` header in seconds (its HTTP-date form is not used by Parley): null if absent or odd. */
export function retryAfterSeconds(header: string | null): number | null {
  if (header === null || !/^\d{1,5}$/.test(header.trim())) return null;
  return Number(header.trim());
}
