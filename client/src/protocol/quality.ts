// Connection-quality reports (docs/protocol.md, `quality_report`): every few seconds a
// compact summary of each peer connection's `getStats()` goes to the server, where ops see
// it next to the consultation's metadata. Only figures: no names, no content, no addresses.
import type { IceState, MediaPath, PeerQuality, QualityReportBody } from "./types";

/** How often a participant reports; the server takes at most one report every 2 s. */
export const REPORT_INTERVAL_MS = 5_000;
/** A first, unsent sample this soon after the start, so that the first report has rates. */
const WARM_UP_MS = 1_000;
/** At most this many peers per report (the server's limit). */
export const MAX_PEERS = 10;
const METRIC_MAX = 1_000_000;

/** What one peer connection offers for a report. */
export interface PeerStats {
  /** the remote participant */
  id: string;
  iceState: RTCIceConnectionState;
  /** null when getStats() failed (e.g. the connection was just closed) */
  report: RTCStatsReport | null;
}

/** Counters of the previous report of one peer, for rates over the interval between two. */
export interface Sample {
  /** ms, the stats' own clock */
  at: number;
  videoBytes: number;
  packetsLost: number;
  packetsReceived: number;
}

type Entry = Record<string, unknown>;

function num(entry: Entry | undefined, field: string): number | null {
  const value = entry?.[field];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function str(entry: Entry | undefined, field: string): string | null {
  const value = entry?.[field];
  return typeof value === "string" ? value : null;
}

function round(value: number, digits: number, max = METRIC_MAX): number {
  const factor = 10 ** digits;
  return Math.min(Math.max(Math.round(value * factor) / factor, 0), max);
}

const ICE_STATES: readonly IceState[] = ["new", "checking", "connected", "completed", "failed", "disconnected", "closed"];

function iceStateOf(state: string): IceState {
  return (ICE_STATES as readonly string[]).includes(state) ? (state as IceState) : "new";
}

/** The candidate pair ICE uses: the transport's selected pair, else a nominated one that works. */
function selectedPair(entries: Map<string, Entry>): Entry | undefined {
  for (const entry of entries.values()) {
    if (entry.type !== "transport") continue;
    const id = str(entry, "selectedCandidatePairId");
    if (id && entries.has(id)) return entries.get(id);
  }
  for (const entry of entries.values()) {
    if (entry.type === "candidate-pair" && entry.nominated === true && entry.state === "succeeded") return entry;
  }
  return undefined;
}

/** direct: host to host; stun: through NAT, found by STUN (srflx/prflx); relay: through TURN. */
export function pathOf(localType: string | null, remoteType: string | null): MediaPath {
  if (!localType || !remoteType) return "unknown";
  if (localType === "relay" || remoteType === "relay") return "relay";
  if (localType === "host" && remoteType === "host") return "direct";
  return "stun";
}

/**
 * One peer's report entry from its stats, and the counters to pass in next time. Loss and
 * bitrate are over the interval since `previous` (cumulative on the first report); RTT is
 * the selected pair's current round trip; fps the received video's frame rate.
 */
export function peerQuality(peer: PeerStats, previous: Sample | null): { quality: PeerQuality; sample: Sample | null } {
  const quality: PeerQuality = { to: peer.id, ice_state: iceStateOf(peer.iceState) };
  if (!peer.report) return { quality, sample: null };
  const entries = new Map<string, Entry>();
  peer.report.forEach((value: unknown, key: string) => {
    if (typeof value === "object" && value !== null) entries.set(key, value as Entry);
  });

  const pair = selectedPair(entries);
  const local = entries.get(str(pair, "localCandidateId") ?? "");
  const remote = entries.get(str(pair, "remoteCandidateId") ?? "");
  quality.path = pathOf(str(local, "candidateType"), str(remote, "candidateType"));
  const rtt = num(pair, "currentRoundTripTime");
  if (rtt !== null) quality.rtt_ms = round(rtt * 1000, 1);

  let at = 0;
  let videoBytes = 0;
  let packetsLost = 0;
  let packetsReceived = 0;
  let fps: number | null = null;
  for (const entry of entries.values()) {
    if (entry.type !== "inbound-rtp") continue;
    at = Math.max(at, num(entry, "timestamp") ?? 0);
    packetsLost += Math.max(num(entry, "packetsLost") ?? 0, 0);
    packetsReceived += num(entry, "packetsReceived") ?? 0;
    if (entry.kind === "video") {
      videoBytes += num(entry, "bytesReceived") ?? 0;
      fps = Math.max(fps ?? 0, num(entry, "framesPerSecond") ?? 0);
    }
  }
  if (at === 0) return { quality, sample: null }; // nothing received yet

  // A new peer connection starts its counters from zero again: then count from there.
  const base = previous && previous.at < at && previous.packetsReceived <= packetsReceived ? previous : null;
  const lost = packetsLost - (base?.packetsLost ?? 0);
  const received = packetsReceived - (base?.packetsReceived ?? 0);
  if (lost + received > 0) quality.loss_pct = round((100 * Math.max(lost, 0)) / (Math.max(lost, 0) + received), 2, 100);
  if (base && videoBytes >= base.videoBytes) {
    quality.bitrate_kbps = round((8 * (videoBytes - base.videoBytes)) / (at - base.at), 1);
  }
  if (fps !== null) quality.fps = round(fps, 1, 240);
  return { quality, sample: { at, videoBytes, packetsLost, packetsReceived } };
}

export interface QualityReporterOptions {
  consultationId: string;
  /** The peer connections now (e.g. PeerManager.stats). */
  peers: () => Promise<PeerStats[]>;
  /** Sends `quality_report`; a refusal (rate limit, left the room) is not retried. */
  send: (body: QualityReportBody) => Promise<unknown>;
  intervalMs?: number;
}

/** Sends a report every `intervalMs` until stopped; one at a time, never overlapping. */
export class QualityReporter {
  private readonly samples = new Map<string, Sample>();
  private timer: number | null = null;
  private stopped = false;
  /** Whether the last report had peers: one empty report follows, then silence. */
  private hadPeers = false;

  constructor(private readonly options: QualityReporterOptions) {}

  start(): void {
    if (this.stopped || this.timer !== null) return;
    this.timer = window.setTimeout(() => {
      void this.tick(false).finally(() => this.schedule());
    }, WARM_UP_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = window.setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.options.intervalMs ?? REPORT_INTERVAL_MS);
  }

  /** Builds one report now and sends it (unless `send` is false: a sample only). */
  async tick(send = true): Promise<void> {
    let peers: PeerStats[];
    try {
      peers = (await this.options.peers()).slice(0, MAX_PEERS);
    } catch {
      return;
    }
    const seen = new Set<string>();
    const entries: PeerQuality[] = [];
    for (const peer of peers) {
      const { quality, sample } = peerQuality(peer, this.samples.get(peer.id) ?? null);
      entries.push(quality);
      seen.add(peer.id);
      if (sample) this.samples.set(peer.id, sample);
      else this.samples.delete(peer.id);
    }
    for (const id of [...this.samples.keys()]) if (!seen.has(id)) this.samples.delete(id);
    if (!send || this.stopped || (entries.length === 0 && !this.hadPeers)) return;
    this.hadPeers = entries.length > 0;
    try {
      await this.options.send({ consultation_id: this.options.consultationId, peers: entries });
    } catch {
      // A lost report is replaced by the next one.
    }
  }
}
