// Wire types of docs/protocol.md. Field names are exactly those on the wire.

export type ErrorCode =
  | "invalid_payload"
  | "payload_too_large"
  | "unknown_event"
  | "not_authenticated"
  | "invalid_credentials"
  | "csrf_failed"
  | "origin_refused"
  | "not_authorised"
  | "not_found"
  | "invite_invalid"
  | "invite_expired"
  | "consultation_ended"
  | "invalid_state"
  | "limit_exceeded"
  | "internal_error"
  | "not_ready"
  | "method_not_allowed"
  | "file_type_refused"
  | "file_rejected"
  | "content_erased"
  | "integrity_error"
  | "restricted"
  | "receipt_invalid"
  // Client-side codes: never sent by the server.
  | "timeout"
  | "network_error"
  | "connection_refused"
  | "bad_response"
  | "aborted";

export interface ErrorBody {
  code: ErrorCode | string;
  message: string;
}

export type Envelope<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };

// ---- HTTP API --------------------------------------------------------------

export interface Team {
  id: string;
  slug: string;
  name: string;
}

export type Role = "advisor" | "ops";

export interface Account {
  id: string;
  username: string;
  display_name: string;
  role: Role | string;
  team: Team | null;
}

export type LobbyStatus = "waiting" | "admitted" | "refused" | "removed" | "ended" | "left";

export interface Guest {
  participant_id: string;
  consultation_id: string;
  status: LobbyStatus;
  name: string;
}

export interface Session {
  csrf_token: string;
  account: Account | null;
  guest: Guest | null;
}

export interface Invite {
  id: string;
  expires_at: string;
  revoked: boolean;
  url?: string;
}

export type ConsultationKind = "instant" | "invite";
export type ConsultationState = "waiting" | "lobby" | "active" | "ended";

export interface Consultation {
  id: string;
  kind: ConsultationKind;
  state: ConsultationState;
  title: string | null;
  created_at: string;
  ended_at: string | null;
  /** Processing restricted (a data-subject request): content kept but frozen. */
  restricted: boolean;
  /** Content erased for good (crypto-shredded); only the bare facts remain. */
  erased: boolean;
  invites: Invite[];
}

export interface CreateConsultationBody {
  title?: string;
  expires_in_hours?: number;
}

export interface Notice {
  version: string | number;
  text: { de: string; en: string };
}

export interface TeamJoinInfo {
  team: { slug: string; name: string };
  notice: Notice;
}

export interface InviteJoinInfo {
  consultation: { id: string; state: ConsultationState; title: string | null };
  notice: Notice;
}

export type JoinTarget = { team: string } | { invite: string };

export type JoinBody = JoinTarget & {
  first_name: string;
  last_name: string;
  notice_version: string | number;
};

export interface JoinResult {
  participant_id: string;
  consultation_id: string;
  status: LobbyStatus;
}

// ---- Data-subject rights and statistics -----------------------------------------

export type ParticipantStatus = "waiting" | "admitted" | "refused" | "removed" | "left";

/** `GET /api/consultations/<id>/participants` (the consultation's advisor). */
export interface ParticipantRecord {
  id: string;
  role: "advisor" | "customer" | string;
  name: string;
  status: ParticipantStatus | string;
}

export interface RectifyBody {
  first_name: string;
  last_name: string;
}

/** `POST /api/receipt`: the customer's personal link (relative unless a public URL is configured). */
export interface ReceiptLink {
  url: string;
}

/** `GET /api/receipt/<token>`. */
export interface ReceiptInfo {
  consultation: {
    state: ConsultationState | string;
    started_at: string | null;
    ended_at: string | null;
    restricted: boolean;
  };
}

/** One day and team of `GET /api/ops/stats`; when `suppressed`, neither the count nor any
 * figure is given (the group shows that it is small, not how small). */
export interface StatsGroup {
  day: string;
  team: string;
  consultations: number | null;
  suppressed: boolean;
  duration_avg: number | null;
  duration_p90: number | null;
  waiting_avg: number | null;
  waiting_p90: number | null;
}

export interface StatsAnswer {
  groups: StatsGroup[];
  min_group: number;
}

export interface StatsQuery {
  /** YYYY-MM-DD */
  from: string;
  /** YYYY-MM-DD */
  to: string;
  /** a team slug, or "" for all teams */
  team: string;
}

// ---- Socket.IO ---------------------------------------------------------------

export type ParticipantRole = "advisor" | "customer";

export interface Participant {
  id: string;
  role: ParticipantRole;
  name: string;
  audio: boolean;
  video: boolean;
  connected: boolean;
}

export interface QueueEntry {
  consultation_id: string;
  participant_id: string;
  name: string;
  waiting_since: string;
}

export interface LobbyEntry {
  participant_id: string;
  name: string;
  waiting_since: string;
}

export interface ConsultationLive extends Consultation {
  waiting: LobbyEntry[];
}

export interface WireDescription {
  type: "offer" | "answer" | "pranswer" | "rollback";
  sdp: string;
}

export interface WireCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
  usernameFragment?: string | null;
}

/** Exactly one of description/candidate is present. */
export type SignalContent = { description: WireDescription } | { candidate: WireCandidate | null };

export interface RoomInfo {
  id: string;
  state: ConsultationState;
  title: string | null;
}

export interface RoomJoinAck {
  self: Participant;
  participants: Participant[];
  consultation: RoomInfo;
}

export interface FileInfo {
  id: string;
  name: string;
  size: number;
  content_type: string;
  deleted: boolean;
}

export type ChatKind = "text" | "file";

export interface ChatMessage {
  consultation_id: string;
  seq: number;
  id: string;
  client_id: string;
  /** participant id of the sender */
  from: string;
  name: string;
  kind: ChatKind;
  body: string;
  created_at: string;
  file?: FileInfo;
}

export interface ChatPage {
  messages: ChatMessage[];
  more: boolean;
}

export interface ChatSendAck {
  seq: number;
  id: string;
  created_at: string;
}

export interface UploadResult {
  file: FileInfo;
  seq: number;
}

type Empty = Record<string, never>;
interface ConsultationRef {
  consultation_id: string;
}
interface ParticipantRef extends ConsultationRef {
  participant_id: string;
}

/** Client-to-server events: payload and ack data. */
export interface ClientEvents {
  dashboard_get: { payload: Empty; ack: { queue: QueueEntry[]; consultations: ConsultationLive[] } };
  lobby_status: { payload: Empty; ack: { consultation_id: string; participant_id: string; status: LobbyStatus } };
  queue_pickup: { payload: ConsultationRef; ack: { consultation_id: string } };
  lobby_admit: { payload: ParticipantRef; ack: Empty };
  lobby_refuse: { payload: ParticipantRef; ack: Empty };
  room_join: { payload: ConsultationRef; ack: RoomJoinAck };
  room_leave: { payload: ConsultationRef; ack: Empty };
  media_update: { payload: ConsultationRef & { audio: boolean; video: boolean }; ack: Empty };
  rtc_signal: { payload: ConsultationRef & { to: string } & SignalContent; ack: Empty };
  participant_remove: { payload: ParticipantRef; ack: Empty };
  consultation_end: { payload: ConsultationRef; ack: Empty };
  chat_send: { payload: ConsultationRef & { client_id: string; body: string }; ack: ChatSendAck };
  chat_history: { payload: ConsultationRef & { after_seq?: number; limit?: number }; ack: ChatPage };
}

export type ClientEvent = keyof ClientEvents;

export type LeaveReason = "left" | "removed" | "timeout";
export type SessionClosedReason = "logout" | "removed" | "ended";

/** Server-to-client events and their payloads. */
export interface ServerEvents {
  queue_updated: { team_id: string; queue: QueueEntry[] };
  lobby_updated: { consultation_id: string; waiting: LobbyEntry[] };
  lobby_state: { consultation_id: string; participant_id: string; status: LobbyStatus };
  participant_joined: { consultation_id: string; participant: Participant };
  participant_updated: { consultation_id: string; participant: Participant };
  participant_left: { consultation_id: string; participant_id: string; reason: LeaveReason };
  rtc_signal: { consultation_id: string; from: string; description?: WireDescription; candidate?: WireCandidate | null };
  consultation_ended: { consultation_id: string };
  session_closed: { reason: SessionClosedReason };
  chat_message: ChatMessage;
  file_deleted: { consultation_id: string; file_id: string };
}

export type ServerEvent = keyof ServerEvents;
