// File uploads (docs/protocol.md, `POST /api/consultations/{id}/files?name=...`): the raw
// file as the request body (not multipart), sent with XMLHttpRequest because fetch cannot
// report upload progress. No UI code.
import { CSRF_HEADER, api, type HttpApi } from "./api";
import { ApiError, parseEnvelope } from "./errors";
import type { UploadResult } from "./types";

/** The server's default limit (`upload_max_bytes`, 25 MiB); checked here to fail fast. */
export const UPLOAD_MAX_BYTES = 25 * 1024 * 1024;

/**
 * Extensions the server accepts (it checks content and extension together, see
 * signaling/filetypes.py); used for the file picker's `accept` and to refuse early.
 */
export const UPLOAD_EXTENSIONS: readonly string[] = [
  ".pdf",
  ".png",
  ".jpg",
  ".jpeg",
  ".webp",
  ".heic",
  ".heif",
  ".txt",
  ".docx",
  ".xlsx",
  ".pptx",
  ".odt",
  ".ods",
  ".doc",
  ".xls",
];

export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface UploadHandle {
  /** Resolves with the stored file, or rejects with an ApiError (code "aborted" after abort()). */
  readonly done: Promise<UploadResult>;
  abort(): void;
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? "" : name.slice(dot).toLowerCase();
}

/** The client-side check: an ApiError with the server's code, or null if it may be sent. */
export function precheck(file: File): ApiError | null {
  if (file.size > UPLOAD_MAX_BYTES) return new ApiError("payload_too_large", "the file is over the size limit", 413);
  if (!UPLOAD_EXTENSIONS.includes(extensionOf(file.name))) {
    return new ApiError("file_type_refused", "this type of file is not accepted", 415);
  }
  return null;
}

/** What the server's status means when its answer is not a JSON envelope (e.g. a proxy's 413). */
function fallbackCode(status: number): string {
  switch (status) {
    case 0:
      return "network_error";
    case 401:
      return "not_authenticated";
    case 403:
      return "not_authorised";
    case 404:
      return "not_found";
    case 413:
      return "payload_too_large";
    case 415:
      return "file_type_refused";
    case 422:
      return "file_rejected";
    default:
      return "bad_response";
  }
}

/**
 * Uploads `file` into the consultation. Progress is reported as the browser sends the body;
 * the chat message of the file arrives separately as `chat_message` (its seq is in the result).
 */
export function uploadFile(
  consultationId: string,
  file: File,
  onProgress?: (progress: UploadProgress) => void,
  http: HttpApi = api,
): UploadHandle {
  let xhr: XMLHttpRequest | null = null;
  let aborted = false;
  const url = `/api/consultations/${encodeURIComponent(consultationId)}/files?name=${encodeURIComponent(file.name)}`;

  const attempt = (token: string): Promise<{ status: number; body: unknown }> =>
    new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      xhr = request;
      request.open("POST", url);
      request.responseType = "text";
      request.setRequestHeader(CSRF_HEADER, token);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      request.upload.onprogress = (event) => {
        onProgress?.({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
      };
      request.onload = () => {
        let body: unknown = null;
        try {
          body = JSON.parse(request.responseText);
        } catch {
          body = null;
        }
        resolve({ status: request.status, body });
      };
      request.onerror = () => reject(new ApiError("network_error", "the upload was interrupted"));
      request.ontimeout = () => reject(new ApiError("timeout", "the upload timed out"));
      request.onabort = () => reject(new ApiError("aborted", "the upload was cancelled"));
      request.send(file);
    });

  const run = async (): Promise<UploadResult> => {
    const early = precheck(file);
    if (early) throw early;
    let retried = false;
    for (;;) {
      const token = await http.csrf(retried);
      if (aborted) throw new ApiError("aborted", "the upload was cancelled");
      const { status, body } = await attempt(token);
      const envelope = parseEnvelope<UploadResult>(body);
      if (!envelope) throw new ApiError(fallbackCode(status), `unexpected answer (HTTP ${status})`, status);
      if (envelope.ok) return envelope.data;
      if (envelope.error.code === "csrf_failed" && !retried) {
        retried = true; // the cookie may have been rotated: fetch a fresh token once
        continue;
      }
      throw ApiError.from(envelope.error, status);
    }
  };

  return {
    done: run(),
    abort() {
      aborted = true;
      (xhr as XMLHttpRequest | null)?.abort();
    },
  };
}
