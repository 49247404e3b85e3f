import type { Envelope, ErrorBody, ErrorCode } from "./types";

/** An error answer of the server (HTTP or Socket.IO ack), or a client-side failure. */
export class ApiError extends Error {
  readonly code: ErrorCode | string;
  /** HTTP status, 0 for Socket.IO acks and client-side failures. */
  readonly status: number;

  constructor(code: ErrorCode | string, message: string, status = 0) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
  }

  static from(body: ErrorBody, status = 0): ApiError {
    return new ApiError(body.code, body.message, status);
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

export function unwrap<T>(envelope: Envelope<T>, status = 0): T {
  if (envelope.ok) return envelope.data;
  throw ApiError.from(envelope.error, status);
}
