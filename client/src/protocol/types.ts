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
  | "board_locked"
  | "invite_not_open"
  | "appointment_passed"
  | "slot_taken"
  | "busy"
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
  /** Only for an appointment's link: when it is, and whether its lobby is open yet. */
  appointment?: { starts_at: string; ends_at: string; opens_at: string; open: boolean };
}

// ---- Appointments ------------------------------------------------------------------

export interface Slot {
  id: string;
  starts_at: string;
  ends_at: string;
}

export interface AppointmentBooking {
  id: string;
  consultation_id: string;
  name: string;
  url: string;
  reminder: boolean;
}

export interface Appointment extends Slot {
  state: "free" | "booked";
  booking: AppointmentBooking | null;
}

export interface FreeSlots {
  team: { slug: string; name: string };
  slots: Slot[];
  reminders: boolean;
  notice: Notice;
}

export interface BookBody {
  slot_id: string;
  first_name: string;
  last_name: string;
  notice_version: string | number;
  reminder: boolean;
  email?: string;
  lang: "de" | "en";
}

export interface Booking {
  id: string;
  starts_at: string;
  ends_at: string;
  opens_at: string;
  url: string;
  calendar_url: string;
  reminder: boolean;
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
  /** STUN/TURN for this participant (short-lived TURN credentials); [] when none are configured. */
  ice_servers: RTCIceServer[];
}

// ---- connection quality and the ops overview -----------------------------------------

export type IceState = "new" | "checking" | "connected" | "completed" | "failed" | "disconnected" | "closed";
export type MediaPath = "direct" | "stun" | "relay" | "unknown";

/** One peer connection's health, as `quality_report` sends it (`to` is the remote participant). */
export interface PeerQuality {
  to: string;
  ice_state: IceState;
  path?: MediaPath;
  rtt_ms?: number;
  loss_pct?: number;
  bitrate_kbps?: number;
  fps?: number;
}

export interface QualityReportBody {
  consultation_id: string;
  peers: PeerQuality[];
}

/** A peer as ops see it: the health without `to`; figures not measured are null. */
export interface OpsPeer {
  ice_state: IceState;
  path: MediaPath;
  rtt_ms: number | null;
  loss_pct: number | null;
  bitrate_kbps: number | null;
  fps: number | null;
}

export interface OpsConnection {
  role: ParticipantRole | string;
  connected: boolean;
  peers: OpsPeer[];
  /** Seconds since the participant's last quality report; null before the first one. */
  report_age_seconds: number | null;
}

export interface OpsConsultation {
  id: string;
  team: string;
  kind: ConsultationKind | string;
  state: ConsultationState | string;
  started_at: string | null;
  duration_seconds: number;
  waiting: number;
  longest_wait_seconds: number;
  participants: Partial<Record<ParticipantRole, number>>;
  connections: OpsConnection[];
}

export interface OpsQueue {
  team: string;
  waiting: number;
  longest_wait_seconds: number;
}

/** `ops_snapshot`: metadata only, never names, chat, files or whiteboard. */
export interface OpsSnapshot {
  at: string;
  consultations: OpsConsultation[];
  queues: OpsQueue[];
  totals: { live: number; waiting: number; connected_sockets: number };
}

/** One ended consultation of `GET /api/ops/consultations`. */
export interface OpsHistoryEntry {
  id: string;
  team: string;
  kind: ConsultationKind | string;
  started_at: string | null;
  ended_at: string | null;
  duration_seconds: number;
  participants: number;
  features: string[];
}

export interface OpsHistory {
  day: string;
  consultations: OpsHistoryEntry[];
}

// ---- the pre-call check -------------------------------------------------------------------

/** `GET /api/precall`. */
export interface PrecallInfo {
  channel: string;
  session_seconds: number;
  ice_servers: RTCIceServer[];
}

/** `POST /api/precall`. */
export interface PrecallAnswer {
  type: "answer";
  sdp: string;
  session_id: string;
  expires_in: number;
}

/** What the server's echo peer saw: host = direct, srflx = through NAT (STUN), relay = TURN. */
export type PrecallPath = "host" | "srflx" | "relay" | "none";

/** `GET /api/precall/<id>` and `DELETE /api/precall/<id>`. */
export interface PrecallReport {
  session_id: string;
  state: string;
  elapsed_seconds: number;
  seconds_left: number;
  media: Record<"audio" | "video", { packets_received: number; packets_lost: number }>;
  rtt_ms: number | null;
  probe_messages: number;
  path: PrecallPath;
  candidates: { local: string | null; remote: string | null; protocol: string | null };
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

/** A Socket.IO binary attachment as it arrives (an ArrayBuffer in browsers). */
export type Binary = ArrayBuffer | Uint8Array;

export interface BoardSyncAck {
  /** What the server has and we lack (a Yjs update). */
  update: Binary;
  /** The server's state vector, to compute what it lacks from us. */
  state_vector: Binary;
  locked: boolean;
}
interface ConsultationRef {
  consultation_id: string;
}
interface ParticipantRef extends ConsultationRef {
  participant_id: string;
}

/** Client-to-server events: payload and ack data. */
export interface ClientEvents {
  dashboard_get: {
    payload: Empty;
    ack: { queue: QueueEntry[]; queue_waiting: number; consultations: ConsultationLive[] };
  };
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
  quality_report: { payload: QualityReportBody; ack: Empty };
  ops_snapshot_get: { payload: Empty; ack: OpsSnapshot };
  board_sync: { payload: ConsultationRef & { state_vector: Uint8Array }; ack: BoardSyncAck };
  board_update: { payload: ConsultationRef & { update: Uint8Array }; ack: Empty };
  board_awareness: { payload: ConsultationRef & { update: Uint8Array }; ack: Empty };
  board_lock: { payload: ConsultationRef & { locked: boolean }; ack: { locked: boolean } };
}

export type ClientEvent = keyof ClientEvents;

export type LeaveReason = "left" | "removed" | "timeout";
export type SessionClosedReason = "logout" | "removed" | "ended" | "expired";

/** Server-to-client events and their payloads. */
export interface ServerEvents {
  /** `queue`: the longest-waiting customers (at most PARLEY_QUEUE_SHOWN); `waiting`: all of them. */
  queue_updated: { team_id: string; queue: QueueEntry[]; waiting: number };
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
  ops_snapshot: OpsSnapshot;
  board_update: { consultation_id: string; from: string; update: Binary };
  board_awareness: { consultation_id: string; from: string; update: Binary };
  board_awareness_gone: { consultation_id: string; from: string };
  board_state: { consultation_id: string; locked: boolean };
}

export type ServerEvent = keyof ServerEvents;

export interface Branding {
  name: string;
  logo_url: string | null;
  colors: { primary: string; accent: string } | null;
  imprint_url: string | null;
}
