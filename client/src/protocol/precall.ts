// The pre-call check (docs/protocol.md, `/api/precall`): the browser sends its camera and
// microphone to Parley's echo peer, gets them back, and measures. No UI code here; the
// page shows `CheckProgress` and the `CheckResult` with its verdict.
import { api as defaultApi, type HttpApi } from "./api";
import { ApiError } from "./errors";
import { pathOf } from "./quality";
import type { MediaPath, PrecallPath, PrecallReport } from "./types";

export type CheckStage = "servers" | "gathering" | "connecting" | "measuring" | "finishing";

export interface CheckProgress {
  stage: CheckStage;
  /** 0–1 within the whole check */
  fraction: number;
  report: PrecallReport | null;
}

/**
 * ok: camera, microphone and a direct (or NAT/STUN) path work. relay: only through TURN.
 * poor: connected, but slow or lossy. no_media: connected, but no picture or sound came
 * through. blocked: no connection at all.
 */
export type Verdict = "ok" | "relay" | "poor" | "no_media" | "blocked";

export interface CheckResult {
  verdict: Verdict;
  /** the path: what the server saw, else what the browser saw */
  path: MediaPath;
  rttMs: number | null;
  /** % of the packets the server expected from us that did not arrive */
  lossPct: number | null;
  /** whether the server offered a TURN relay at all */
  turnOffered: boolean;
  videoPackets: number;
  audioPackets: number;
  /** the server's final report (null when there never was a session) */
  report: PrecallReport | null;
}

export interface CheckOptions {
  api?: HttpApi;
  /** how long to measure once connected */
  measureMs?: number;
  pollMs?: number;
  gatherTimeoutMs?: number;
  connectTimeoutMs?: number;
  onProgress?: (progress: CheckProgress) => void;
  /** the echoed camera and microphone, as soon as they arrive */
  onRemoteStream?: (stream: MediaStream) => void;
}

const POOR_RTT_MS = 400;
const POOR_LOSS_PCT = 5;

const SERVER_PATHS: Record<PrecallPath, MediaPath> = { host: "direct", srflx: "stun", relay: "relay", none: "unknown" };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => window.setTimeout(resolve, ms));
}

/** Resolves when `done()` holds, checked on every `event` of `target`; false after `ms`. */
function until(target: EventTarget, event: string, done: () => boolean, ms: number): Promise<boolean> {
  if (done()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const check = () => {
      if (!done()) return;
      finish(true);
    };
    const timer = window.setTimeout(() => finish(done()), ms);
    const finish = (value: boolean) => {
      window.clearTimeout(timer);
      target.removeEventListener(event, check);
      resolve(value);
    };
    target.addEventListener(event, check);
  });
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(10 * (sorted[Math.floor(sorted.length / 2)] ?? 0)) / 10;
}

function lossOf(report: PrecallReport | null): number | null {
  if (!report) return null;
  let lost = 0;
  let received = 0;
  for (const kind of ["audio", "video"] as const) {
    lost += report.media[kind].packets_lost;
    received += report.media[kind].packets_received;
  }
  return lost + received > 0 ? Math.round((1000 * lost) / (lost + received)) / 10 : null;
}

/** The verdict in one word, from the facts (pure; exported for tests and the page). */
export function verdictOf(facts: { connected: boolean; path: MediaPath; rttMs: number | null; lossPct: number | null; mediaPackets: number; echoedFrames: number }): Verdict {
  if (!facts.connected) return "blocked";
  if (facts.mediaPackets === 0 && facts.echoedFrames === 0) return "no_media";
  if ((facts.rttMs ?? 0) >= POOR_RTT_MS || (facts.lossPct ?? 0) >= POOR_LOSS_PCT) return "poor";
  return facts.path === "relay" ? "relay" : "ok";
}

/** One run of the check; `close()` ends it early and releases everything. */
export class PrecallCheck {
  private readonly api: HttpApi;
  private pc: RTCPeerConnection | null = null;
  private sessionId: string | null = null;
  private closed = false;
  private final: PrecallReport | null = null;
  private readonly onPageHide = () => {
    if (this.sessionId) this.api.endPrecallOnUnload(this.sessionId);
  };

  constructor(private readonly options: CheckOptions = {}) {
    this.api = options.api ?? defaultApi;
  }

  /** Runs the check with the given camera/microphone; throws ApiError for server refusals. */
  async run(local: MediaStream): Promise<CheckResult> {
    const measureMs = this.options.measureMs ?? 10_000;
    this.progress("servers", 0.05, null);
    const info = await this.api.precallInfo();
    this.ensureOpen();
    const turnOffered = info.ice_servers.some((s) => [s.urls].flat().some((u) => /^turns?:/.test(u)));
    const pc = new RTCPeerConnection({ iceServers: info.ice_servers });
    this.pc = pc;
    for (const track of local.getTracks()) pc.addTrack(track, local);
    const channelRtts: number[] = [];
    const channel = pc.createDataChannel(info.channel);
    const ping = () => {
      if (channel.readyState === "open") channel.send(JSON.stringify({ sent: performance.now() }));
    };
    const pinger = window.setInterval(ping, 1_000);
    channel.onopen = ping;
    channel.onclose = () => window.clearInterval(pinger);
    channel.onmessage = ({ data }) => {
      const sent = typeof data === "string" ? (JSON.parse(data) as { sent?: unknown }).sent : undefined;
      if (typeof sent === "number") channelRtts.push(performance.now() - sent);
    };
    const echoed = new MediaStream();
    pc.ontrack = ({ track }) => {
      echoed.addTrack(track);
      this.options.onRemoteStream?.(new MediaStream(echoed.getTracks()));
    };

    this.progress("gathering", 0.15, null);
    await pc.setLocalDescription(await pc.createOffer());
    await until(pc, "icegatheringstatechange", () => pc.iceGatheringState === "complete", this.options.gatherTimeoutMs ?? 10_000);
    this.ensureOpen();
    const offer = pc.localDescription;
    if (!offer) throw new ApiError("internal_error", "no local description");
    const answer = await this.api.precallOffer(offer.sdp);
    this.sessionId = answer.session_id;
    window.addEventListener("pagehide", this.onPageHide);
    this.ensureOpen();
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });

    this.progress("connecting", 0.3, null);
    const connected = await until(
      pc,
      "connectionstatechange",
      () => pc.connectionState === "connected" || pc.connectionState === "failed",
      this.options.connectTimeoutMs ?? 15_000,
    );
    const works = connected && pc.connectionState === "connected";
    let report: PrecallReport | null = null;
    if (works) {
      const started = performance.now();
      for (;;) {
        this.ensureOpen();
        const elapsed = performance.now() - started;
        report = await this.api.precallReport(answer.session_id).catch(() => report);
        this.progress("measuring", 0.35 + 0.55 * Math.min(elapsed / measureMs, 1), report);
        if (elapsed >= measureMs) break;
        await sleep(this.options.pollMs ?? 1_000);
      }
    }
    this.progress("finishing", 0.95, report);
    const browser = await this.browserFacts();
    const final = await this.end();
    const last = final ?? report;
    const serverPath = last ? SERVER_PATHS[last.path] : "unknown";
    const path = serverPath !== "unknown" ? serverPath : browser.path;
    window.clearInterval(pinger);
    const rttMs = browser.rttMs ?? last?.rtt_ms ?? median(channelRtts);
    const lossPct = lossOf(last);
    const videoPackets = last?.media.video.packets_received ?? 0;
    const audioPackets = last?.media.audio.packets_received ?? 0;
    const verdict = verdictOf({
      connected: works,
      path,
      rttMs,
      lossPct,
      mediaPackets: videoPackets + audioPackets,
      echoedFrames: browser.frames,
    });
    return { verdict, path, rttMs, lossPct, turnOffered, videoPackets, audioPackets, report: last };
  }

  /** Ends the server's session (once) and closes the peer connection. */
  async close(): Promise<void> {
    this.closed = true;
    await this.end();
  }

  private async end(): Promise<PrecallReport | null> {
    const id = this.sessionId;
    this.sessionId = null;
    window.removeEventListener("pagehide", this.onPageHide);
    if (id) this.final = await this.api.precallEnd(id).catch(() => null);
    this.pc?.close();
    return this.final;
  }

  private ensureOpen(): void {
    if (this.closed) throw new ApiError("aborted", "the check was stopped");
  }

  private progress(stage: CheckStage, fraction: number, report: PrecallReport | null): void {
    if (!this.closed) this.options.onProgress?.({ stage, fraction, report });
  }

  /** The browser's side: the selected pair's path and round trip, echoed frames decoded. */
  private async browserFacts(): Promise<{ path: MediaPath; rttMs: number | null; frames: number }> {
    const facts = { path: "unknown" as MediaPath, rttMs: null as number | null, frames: 0 };
    const stats = await this.pc?.getStats().catch(() => null);
    if (!stats) return facts;
    const entries = new Map<string, Record<string, unknown>>();
    stats.forEach((value: Record<string, unknown>, key: string) => entries.set(key, value));
    for (const entry of entries.values()) {
      if (entry.type === "inbound-rtp" && entry.kind === "video" && typeof entry.framesDecoded === "number") {
        facts.frames += entry.framesDecoded;
      }
      const pairId = entry.type === "transport" ? entry.selectedCandidatePairId : undefined;
      const pair = typeof pairId === "string" ? entries.get(pairId) : undefined;
      if (!pair) continue;
      const local = entries.get(String(pair.localCandidateId));
      const remote = entries.get(String(pair.remoteCandidateId));
      const type = (e: Record<string, unknown> | undefined) => (typeof e?.candidateType === "string" ? e.candidateType : null);
      facts.path = pathOf(type(local), type(remote));
      if (typeof pair.currentRoundTripTime === "number") facts.rttMs = Math.round(pair.currentRoundTripTime * 10_000) / 10;
    }
    return facts;
  }
}
