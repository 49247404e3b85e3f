// Typed wrapper of Parley's HTTP API (docs/protocol.md, "HTTP API").
import { ApiError, parseEnvelope, retryAfterSeconds, unwrap } from "./errors";
import type {
  Account,
  Appointment,
  BookBody,
  Booking,
  FreeSlots,
  Branding,
  ChatPage,
  Consultation,
  CreateConsultationBody,
  FileInfo,
  Invite,
  InviteJoinInfo,
  JoinBody,
  JoinResult,
  OpsHistory,
  ParticipantRecord,
  PrecallAnswer,
  PrecallInfo,
  PrecallReport,
  ReceiptInfo,
  ReceiptLink,
  RectifyBody,
  Session,
  StatsAnswer,
  StatsQuery,
  TeamJoinInfo,
} from "./types";

/** The double-submit cookie: `__Host-` prefixed when Parley runs under TLS. */
const CSRF_COOKIES = ["__Host-parley_csrf", "parley_csrf"];
export const CSRF_HEADER = "X-CSRF-Token";

type Method = "GET" | "POST" | "DELETE";

function readCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

function csrfCookie(): string | null {
  for (const name of CSRF_COOKIES) {
    const value = readCookie(name);
    if (value) return value;
  }
  return null;
}

export class HttpApi {
  /** Token from the last `GET /api/session`, used when the cookie cannot be read. */
  private csrfToken: string | null = null;

  constructor(private readonly base = "") {}

  /** The token for the `X-CSRF-Token` header; `refresh` asks the server for a fresh one. */
  async csrf(refresh = false): Promise<string> {
    if (!refresh) {
      const fromCookie = csrfCookie();
      if (fromCookie) return fromCookie;
      if (this.csrfToken) return this.csrfToken;
    }
    await this.session();
    return csrfCookie() ?? this.csrfToken ?? "";
  }

  private async send<T>(method: Method, path: string, body?: unknown, retried = false): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers[CSRF_HEADER] = await this.csrf(retried);
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        credentials: "same-origin",
        cache: "no-store",
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError("network_error", err instanceof Error ? err.message : String(err));
    }
    let parsed: unknown = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    const envelope = parseEnvelope<T>(parsed);
    if (!envelope) throw new ApiError("bad_response", `unexpected answer (HTTP ${response.status})`, response.status);
    if (!envelope.ok && envelope.error.code === "csrf_failed" && !retried) {
      // The cookie may have been rotated (e.g. by login); fetch a fresh token once.
      return this.send(method, path, body, true);
    }
    return unwrap(envelope, response.status, retryAfterSeconds(response.headers.get("Retry-After")));
  }

  branding(): Promise<Branding> {
    return this.send("GET", "/api/branding");
  }

  async session(): Promise<Session> {
    const session = await this.send<Session>("GET", "/api/session");
    this.csrfToken = session.csrf_token;
    return session;
  }

  login(username: string, password: string): Promise<{ account: Account }> {
    return this.send("POST", "/api/auth/login", { username, password });
  }

  logout(): Promise<Record<string, never>> {
    return this.send("POST", "/api/auth/logout");
  }

  listConsultations(): Promise<{ consultations: Consultation[] }> {
    return this.send("GET", "/api/consultations");
  }

  createConsultation(body: CreateConsultationBody = {}): Promise<{ consultation: Consultation; invite: Invite }> {
    return this.send("POST", "/api/consultations", body);
  }

  createInvite(consultationId: string, expiresInHours?: number): Promise<{ invite: Invite }> {
    const body = expiresInHours === undefined ? {} : { expires_in_hours: expiresInHours };
    return this.send("POST", `/api/consultations/${encodeURIComponent(consultationId)}/invites`, body);
  }

  revokeInvite(consultationId: string, inviteId: string): Promise<{ invite: Invite }> {
    const path = `/api/consultations/${encodeURIComponent(consultationId)}/invites/${encodeURIComponent(inviteId)}`;
    return this.send("DELETE", path);
  }

  endConsultation(consultationId: string): Promise<{ consultation: Consultation }> {
    return this.send("POST", `/api/consultations/${encodeURIComponent(consultationId)}/end`);
  }

  teamJoinInfo(slug: string): Promise<TeamJoinInfo> {
    return this.send("GET", `/api/join/team/${encodeURIComponent(slug)}`);
  }

  inviteJoinInfo(token: string): Promise<InviteJoinInfo> {
    return this.send("GET", `/api/join/invite/${encodeURIComponent(token)}`);
  }

  join(body: JoinBody): Promise<JoinResult> {
    return this.send("POST", "/api/join", body);
  }

  // -- appointments ---------------------------------------------------------------------

  /** The advisor's slots that have not ended, with who booked them. */
  appointments(): Promise<{ appointments: Appointment[] }> {
    return this.send("GET", "/api/appointments");
  }

  createSlot(startsAt: string, durationMinutes: number): Promise<{ slot: Appointment }> {
    return this.send("POST", "/api/appointments/slots", { starts_at: startsAt, duration_minutes: durationMinutes });
  }

  cancelSlot(slotId: string): Promise<Record<string, never>> {
    return this.send("DELETE", `/api/appointments/slots/${encodeURIComponent(slotId)}`);
  }

  freeSlots(slug: string): Promise<FreeSlots> {
    return this.send("GET", `/api/teams/${encodeURIComponent(slug)}/slots`);
  }

  book(body: BookBody): Promise<{ booking: Booking }> {
    return this.send("POST", "/api/bookings", body);
  }

  /** One page of a consultation's chat record (owning advisor; live or past). */
  chatTranscript(consultationId: string, afterSeq = 0, limit = 200): Promise<ChatPage> {
    const query = `after_seq=${encodeURIComponent(afterSeq)}&limit=${encodeURIComponent(limit)}`;
    return this.send("GET", `/api/consultations/${encodeURIComponent(consultationId)}/chat?${query}`);
  }

  listFiles(consultationId: string): Promise<{ files: FileInfo[] }> {
    return this.send("GET", `/api/consultations/${encodeURIComponent(consultationId)}/files`);
  }

  deleteFile(fileId: string): Promise<Record<string, never>> {
    return this.send("DELETE", `/api/files/${encodeURIComponent(fileId)}`);
  }

  // -- data-subject rights: the consultation's advisor ------------------------------

  /** Restrict processing (`true`) or lift the restriction (`false`). */
  setRestricted(consultationId: string, restricted: boolean): Promise<{ restricted: boolean }> {
    const action = restricted ? "restrict" : "unrestrict";
    return this.send("POST", `/api/consultations/${encodeURIComponent(consultationId)}/${action}`);
  }

  /** Crypto-shred an ended consultation and delete its content. Cannot be undone. */
  eraseConsultation(consultationId: string): Promise<Record<string, never>> {
    return this.send("POST", `/api/consultations/${encodeURIComponent(consultationId)}/erase`);
  }

  listParticipants(consultationId: string): Promise<{ participants: ParticipantRecord[] }> {
    return this.send("GET", `/api/consultations/${encodeURIComponent(consultationId)}/participants`);
  }

  rectifyParticipant(participantId: string, body: RectifyBody): Promise<Record<string, never>> {
    return this.send("POST", `/api/participants/${encodeURIComponent(participantId)}/rectify`, body);
  }

  eraseParticipant(participantId: string): Promise<Record<string, never>> {
    return this.send("POST", `/api/participants/${encodeURIComponent(participantId)}/erase`);
  }

  // -- the customer's receipt link ------------------------------------------------------

  /** A new personal receipt link for the signed-in customer (the previous one stops working). */
  newReceipt(): Promise<ReceiptLink> {
    return this.send("POST", "/api/receipt");
  }

  receipt(token: string): Promise<ReceiptInfo> {
    return this.send("GET", `/api/receipt/${encodeURIComponent(token)}`);
  }

  eraseByReceipt(token: string): Promise<Record<string, never>> {
    return this.send("POST", `/api/receipt/${encodeURIComponent(token)}/erase`);
  }

  // -- anonymous statistics (ops) -----------------------------------------------------

  opsStats(query: StatsQuery): Promise<StatsAnswer> {
    return this.send("GET", `/api/ops/stats?${statsQueryString(query)}`);
  }

  /** Ended consultations of one day (UTC, YYYY-MM-DD), optionally of one team (slug). */
  opsConsultations(day: string, team = ""): Promise<OpsHistory> {
    const params = new URLSearchParams({ day });
    if (team) params.set("team", team);
    return this.send("GET", `/api/ops/consultations?${params.toString()}`);
  }

  // -- the pre-call check (anyone) ------------------------------------------------------

  precallInfo(): Promise<PrecallInfo> {
    return this.send("GET", "/api/precall");
  }

  /** The complete offer (ICE gathering finished); the echo peer's answer. */
  precallOffer(sdp: string): Promise<PrecallAnswer> {
    return this.send("POST", "/api/precall", { type: "offer", sdp });
  }

  precallReport(sessionId: string): Promise<PrecallReport> {
    return this.send("GET", `/api/precall/${encodeURIComponent(sessionId)}`);
  }

  /** Ends a check while the page goes away (a request that outlives the page). */
  endPrecallOnUnload(sessionId: string): void {
    const token = csrfCookie() ?? this.csrfToken ?? "";
    void fetch(`${this.base}/api/precall/${encodeURIComponent(sessionId)}`, {
      method: "DELETE",
      headers: { [CSRF_HEADER]: token, Accept: "application/json" },
      credentials: "same-origin",
      keepalive: true,
    }).catch(() => undefined);
  }

  /** Ends the check now; the final report. */
  precallEnd(sessionId: string): Promise<PrecallReport> {
    return this.send("DELETE", `/api/precall/${encodeURIComponent(sessionId)}`);
  }
}

/** Download links (plain GETs that answer a ZIP or CSV as an attachment). */
export function consultationExportUrl(consultationId: string): string {
  return `/api/consultations/${encodeURIComponent(consultationId)}/export`;
}

export function participantExportUrl(participantId: string): string {
  return `/api/participants/${encodeURIComponent(participantId)}/export`;
}

export function receiptExportUrl(token: string): string {
  return `/api/receipt/${encodeURIComponent(token)}/export`;
}

export function statsQueryString(query: StatsQuery): string {
  const params = new URLSearchParams({ from: query.from, to: query.to });
  if (query.team) params.set("team", query.team);
  return params.toString();
}

export function statsCsvUrl(query: StatsQuery): string {
  return `/api/ops/stats.csv?${statsQueryString(query)}`;
}

/** The advisor's calendar file of a booked slot. */
export function advisorCalendarUrl(slotId: string): string {
  return `/api/appointments/slots/${encodeURIComponent(slotId)}/calendar.ics`;
}

/** Where a shared file is downloaded from. */
export function fileUrl(fileId: string): string {
  return `/api/files/${encodeURIComponent(fileId)}`;
}

/** The API of the page's own origin. */
export const api = new HttpApi();
