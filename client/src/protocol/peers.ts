// WebRTC mesh with "perfect negotiation" (docs/protocol.md, "Negotiation"):
// one RTCPeerConnection per remote participant; the participant with the
// lexicographically smaller id is polite. Signals travel as `rtc_signal`.
// A screen share is one more video track (its own MediaStream) added to every connection,
// which renegotiates like any other change. The receiving side tells it from the camera by
// its stream id, which the sender announces out of band (the board's awareness, see
// board.ts) before it adds the track: `setRemoteScreen`.
import type { PeerStats } from "./quality";
import type { SignalContent, WireCandidate, WireDescription } from "./types";

export type SendSignal = (to: string, content: SignalContent) => Promise<void>;

export interface PeerManagerOptions {
  /** Own participant id (from the `room_join` ack). */
  selfId: string;
  sendSignal: SendSignal;
  /** ICE servers; none means host candidates only. */
  iceServers?: RTCIceServer[];
  /** Called whenever a remote stream or a connection state changes. */
  onChange?: () => void;
}

export interface PeerSnapshot {
  id: string;
  polite: boolean;
  /** Remote camera and microphone; a new object whenever its set of tracks changes. */
  stream: MediaStream;
  /** The remote screen share while it runs (announced and received), else null. */
  screen: MediaStream | null;
  connectionState: RTCPeerConnectionState;
}

const MAX_PENDING_CANDIDATES = 256;
const MAX_RESETS = 5;
/**
 * A connection that has gathered no ICE candidate this long after it started is stuck (seen
 * in Chromium 156 under load: "gathering" for good, nothing produced); it is replaced by a
 * new one, as a reload would. Host candidates take milliseconds, so this never cuts short a
 * slow gathering, only one that produced nothing.
 */
const GATHER_STALL_MS = 10_000;

function fingerprintOf(sdp: string): string | null {
  const match = /^a=fingerprint:(.+)$/m.exec(sdp);
  return match?.[1]?.trim() ?? null;
}

function toWireCandidate(candidate: RTCIceCandidate): WireCandidate {
  return {
    candidate: candidate.candidate,
    sdpMid: candidate.sdpMid,
    sdpMLineIndex: candidate.sdpMLineIndex,
    usernameFragment: candidate.usernameFragment,
  };
}

/** Read through a call so that TypeScript does not keep a narrowing across awaits. */
function signalingState(pc: RTCPeerConnection): RTCSignalingState {
  return pc.signalingState;
}

function toWireDescription(description: RTCSessionDescription): WireDescription {
  return { type: description.type, sdp: description.sdp };
}

class Peer {
  readonly pc: RTCPeerConnection;
  makingOffer = false;
  ignoreOffer = false;
  settingRemoteAnswer = false;
  pending: RTCIceCandidateInit[] = [];
  stream = new MediaStream();
  screen: MediaStream | null = null;
  /** Every remote track with the id of the stream it came in (null: none given). */
  tracks: Array<{ track: MediaStreamTrack; streamId: string | null }> = [];
  /** Senders of our screen share on this connection. */
  screenSenders: RTCRtpSender[] = [];
  /** Serialises the handling of incoming signals. */
  queue: Promise<void> = Promise.resolve();
  closed = false;
  /** An offer could not be delivered; wait for the other side or an explicit restart. */
  stalled = false;
  /** Whether this connection has produced a local ICE candidate yet. */
  gathered = false;
  gatherWatch: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly id: string,
    readonly polite: boolean,
    config: RTCConfiguration,
  ) {
    this.pc = new RTCPeerConnection(config);
  }
}

export class PeerManager {
  private readonly selfId: string;
  private readonly sendSignal: SendSignal;
  private config: RTCConfiguration;
  private readonly onChange: () => void;
  private readonly peers = new Map<string, Peer>();
  private readonly resets = new Map<string, number>();
  private localStream: MediaStream | null = null;
  private screenStream: MediaStream | null = null;
  /** Stream ids each remote participant ever announced as a screen share. */
  private readonly screenIds = new Map<string, Set<string>>();
  /** The share each remote participant runs now. */
  private readonly activeScreen = new Map<string, string | null>();
  private closed = false;

  constructor(options: PeerManagerOptions) {
    this.selfId = options.selfId;
    this.sendSignal = options.sendSignal;
    this.config = { iceServers: options.iceServers ?? [] };
    this.onChange = options.onChange ?? (() => undefined);
  }

  /** True when we are the polite side towards `remoteId`. */
  isPolite(remoteId: string): boolean {
    return this.selfId < remoteId;
  }

  snapshot(): PeerSnapshot[] {
    return [...this.peers.values()].map((peer) => ({
      id: peer.id,
      polite: peer.polite,
      stream: peer.stream,
      screen: peer.screen,
      connectionState: peer.pc.connectionState,
    }));
  }

  /**
   * Each peer connection's ICE state, and its `getStats()` once ICE has connected (before,
   * there is nothing to measure, and stats are not asked for in the middle of negotiation).
   */
  async stats(): Promise<PeerStats[]> {
    const live = [...this.peers.values()].filter((peer) => !peer.closed);
    return Promise.all(
      live.map(async (peer) => {
        const iceState = peer.pc.iceConnectionState;
        const measurable = iceState === "connected" || iceState === "completed" || iceState === "disconnected";
        return { id: peer.id, iceState, report: measurable ? await peer.pc.getStats().catch(() => null) : null };
      }),
    );
  }

  /**
   * New STUN/TURN servers (fresh TURN credentials after a `room_join`): used by peers
   * created from now on and by the next ICE restart of the existing ones.
   */
  setIceServers(iceServers: RTCIceServer[]): void {
    this.config = { ...this.config, iceServers };
    for (const peer of this.peers.values()) {
      if (peer.closed) continue;
      try {
        peer.pc.setConfiguration({ ...peer.pc.getConfiguration(), iceServers });
      } catch (err) {
        console.warn("parley: new ICE servers refused for %s", peer.id, err);
      }
    }
  }

  has(remoteId: string): boolean {
    return this.peers.has(remoteId);
  }

  /** Sets (or replaces) the local camera/microphone stream sent to every peer. */
  setLocalStream(stream: MediaStream | null): void {
    this.localStream = stream;
    for (const peer of this.peers.values()) this.attachLocalTracks(peer);
  }

  /** Starts (a stream) or stops (null) sending our screen share to every peer. */
  setScreenStream(stream: MediaStream | null): void {
    if (this.screenStream === stream) return;
    for (const peer of this.peers.values()) this.detachScreen(peer);
    this.screenStream = stream;
    for (const peer of this.peers.values()) this.attachScreen(peer);
  }

  /** A remote participant started (a stream id) or stopped (null) a screen share. */
  setRemoteScreen(remoteId: string, streamId: string | null): void {
    if (streamId !== null) {
      let ids = this.screenIds.get(remoteId);
      if (!ids) this.screenIds.set(remoteId, (ids = new Set()));
      ids.add(streamId);
    }
    if ((this.activeScreen.get(remoteId) ?? null) === streamId) return;
    this.activeScreen.set(remoteId, streamId);
    const peer = this.peers.get(remoteId);
    if (peer && this.regroup(peer)) this.onChange();
  }

  /** Starts negotiating with a participant that was in the room before us. */
  connect(remoteId: string): void {
    if (this.closed || remoteId === this.selfId) return;
    const existing = this.peers.get(remoteId);
    if (existing) {
      this.restart(existing);
      return;
    }
    this.create(remoteId, true);
  }

  /** Handles an incoming `rtc_signal`; creates the peer lazily when it is new. */
  handleSignal(from: string, content: { description?: WireDescription; candidate?: WireCandidate | null }): void {
    if (this.closed || from === this.selfId) return;
    const peer = this.peers.get(from) ?? this.create(from, false);
    peer.queue = peer.queue
      .then(() => this.process(from, content))
      .catch((err: unknown) => console.warn("parley: signal from %s failed", from, err));
  }

  /** Restarts ICE with every peer (after our socket reconnected). */
  restartIce(): void {
    for (const peer of this.peers.values()) this.restart(peer);
  }

  /** Drops a participant that left the room. */
  remove(remoteId: string): void {
    const peer = this.peers.get(remoteId);
    if (!peer) return;
    this.peers.delete(remoteId);
    this.resets.delete(remoteId);
    this.activeScreen.delete(remoteId);
    this.dispose(peer);
    this.onChange();
  }

  close(): void {
    this.closed = true;
    for (const peer of this.peers.values()) this.dispose(peer);
    this.peers.clear();
  }

  // ---- internals -------------------------------------------------------------

  private restart(peer: Peer): void {
    if (peer.closed) return;
    const wasStalled = peer.stalled;
    peer.stalled = false;
    peer.pc.restartIce();
    // restartIce() fires negotiationneeded only if it was not pending already; after a
    // stalled offer it was consumed, so trigger the offer explicitly.
    if (wasStalled && peer.pc.signalingState === "stable") peer.pc.dispatchEvent(new Event("negotiationneeded"));
  }

  private create(remoteId: string, initiator: boolean): Peer {
    const peer = new Peer(remoteId, this.isPolite(remoteId), this.config);
    this.peers.set(remoteId, peer);
    const { pc } = peer;

    pc.onnegotiationneeded = async () => {
      if (peer.closed || peer.stalled || peer.makingOffer || pc.signalingState !== "stable") return;
      let delivered = true;
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        const description = pc.localDescription;
        if (description && !peer.closed) delivered = await this.send(remoteId, { description: toWireDescription(description) });
      } catch (err) {
        console.warn("parley: offer to %s failed", remoteId, err);
      } finally {
        peer.makingOffer = false;
      }
      if (!delivered && !peer.closed && signalingState(pc) === "have-local-offer") {
        // Nobody will answer an offer that was not relayed: roll back so that an offer
        // from the other side is accepted later instead of colliding with this one.
        peer.stalled = true;
        await pc.setLocalDescription({ type: "rollback" }).catch(() => undefined);
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      // End-of-candidates (null or empty) is not needed by browsers; it is not sent.
      if (!candidate || !candidate.candidate || peer.closed) return;
      peer.gathered = true;
      void this.send(remoteId, { candidate: toWireCandidate(candidate) });
    };
    pc.ontrack = ({ track, streams }) => {
      if (peer.closed) return;
      peer.tracks = [...peer.tracks.filter((t) => t.track !== track), { track, streamId: streams[0]?.id ?? null }];
      track.addEventListener("ended", () => {
        if (peer.closed) return;
        peer.tracks = peer.tracks.filter((t) => t.track !== track);
        if (this.regroup(peer)) this.onChange();
      });
      this.regroup(peer);
      this.onChange();
    };
    pc.onicegatheringstatechange = () => {
      if (peer.closed || peer.gathered || pc.iceGatheringState !== "gathering" || peer.gatherWatch) return;
      peer.gatherWatch = setTimeout(() => {
        peer.gatherWatch = null;
        if (peer.closed || peer.gathered || pc.iceGatheringState !== "gathering") return;
        console.warn("parley: no ICE candidate for %s in %d ms, starting over", remoteId, GATHER_STALL_MS);
        this.reset(peer, true);
      }, GATHER_STALL_MS);
    };
    pc.onconnectionstatechange = () => {
      if (peer.closed) return;
      if (pc.connectionState === "failed") pc.restartIce();
      this.onChange();
    };

    this.attachLocalTracks(peer);
    this.attachScreen(peer);
    if (initiator) {
      // Make sure there is something to negotiate even without local media,
      // so that we still receive the other side's camera and microphone.
      for (const kind of ["audio", "video"] as const) {
        const hasKind = pc.getTransceivers().some((t) => t.receiver.track.kind === kind);
        if (!hasKind) pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
    this.onChange();
    return peer;
  }

  /**
   * Sorts the remote tracks into camera/microphone (the newest of each kind that is not a
   * screen share) and the running screen share; true if either stream changed.
   */
  private regroup(peer: Peer): boolean {
    const screens = this.screenIds.get(peer.id);
    const active = this.activeScreen.get(peer.id) ?? null;
    const isScreen = (streamId: string | null) => streamId !== null && !!screens?.has(streamId);
    const live = peer.tracks.filter((t) => t.track.readyState !== "ended");
    const camera: MediaStreamTrack[] = [];
    for (const kind of ["audio", "video"]) {
      const newest = [...live].reverse().find((t) => t.track.kind === kind && !isScreen(t.streamId));
      if (newest) camera.push(newest.track);
    }
    const shared = [...live].reverse().find((t) => t.track.kind === "video" && active !== null && t.streamId === active);
    let changed = false;
    const same = (a: MediaStreamTrack[], b: MediaStreamTrack[]) => a.length === b.length && a.every((t) => b.includes(t));
    if (!same(camera, peer.stream.getTracks())) {
      peer.stream = new MediaStream(camera);
      changed = true;
    }
    const screenTrack = shared?.track ?? null;
    const current = peer.screen?.getVideoTracks()[0] ?? null;
    if (screenTrack !== current) {
      peer.screen = screenTrack ? new MediaStream([screenTrack]) : null;
      changed = true;
    }
    return changed;
  }

  private attachScreen(peer: Peer): void {
    const stream = this.screenStream;
    if (!stream || peer.closed) return;
    for (const track of stream.getVideoTracks()) {
      if (peer.screenSenders.some((s) => s.track === track)) continue;
      try {
        peer.screenSenders.push(peer.pc.addTrack(track, stream));
      } catch (err) {
        console.warn("parley: screen share to %s failed", peer.id, err);
      }
    }
  }

  private detachScreen(peer: Peer): void {
    if (peer.closed) return;
    for (const sender of peer.screenSenders.splice(0)) {
      try {
        peer.pc.removeTrack(sender);
      } catch {
        // The connection is closing.
      }
    }
  }

  private attachLocalTracks(peer: Peer): void {
    const stream = this.localStream;
    if (!stream || peer.closed) return;
    const { pc } = peer;
    for (const track of stream.getTracks()) {
      const transceivers = pc.getTransceivers();
      if (transceivers.some((t) => t.sender.track === track)) continue;
      const free = transceivers.find(
        (t) => t.direction !== "stopped" && t.receiver.track.kind === track.kind && t.sender.track === null,
      );
      if (free) {
        void free.sender.replaceTrack(track);
        if (free.direction === "recvonly") free.direction = "sendrecv";
        else if (free.direction === "inactive") free.direction = "sendonly";
      } else {
        pc.addTrack(track, stream);
      }
    }
  }

  private async process(from: string, content: { description?: WireDescription; candidate?: WireCandidate | null }): Promise<void> {
    let peer = this.peers.get(from);
    if (!peer || peer.closed) return;
    peer.stalled = false;
    const { description, candidate } = content;
    if (description) {
      if (description.type === "offer" && this.isNewSession(peer, description.sdp)) {
        // The remote side has a new peer connection (e.g. it reloaded the page).
        const fresh = this.reset(peer, false);
        if (!fresh) return;
        peer = fresh;
      }
      await this.applyDescription(peer, description);
    } else if (candidate !== undefined) {
      await this.applyCandidate(peer, candidate);
    }
  }

  private isNewSession(peer: Peer, sdp: string): boolean {
    const current = peer.pc.remoteDescription;
    if (!current) return false;
    const before = fingerprintOf(current.sdp);
    const after = fingerprintOf(sdp);
    return before !== null && after !== null && before !== after;
  }

  private async applyDescription(peer: Peer, description: WireDescription): Promise<void> {
    const { pc } = peer;
    const readyForOffer = !peer.makingOffer && (pc.signalingState === "stable" || peer.settingRemoteAnswer);
    const offerCollision = description.type === "offer" && !readyForOffer;
    peer.ignoreOffer = !peer.polite && offerCollision;
    if (peer.ignoreOffer) return;
    if (description.type === "answer" && pc.signalingState === "stable") return; // stale answer
    try {
      peer.settingRemoteAnswer = description.type === "answer";
      await pc.setRemoteDescription(description);
    } catch (err) {
      console.warn("parley: remote %s from %s rejected, starting over", description.type, peer.id, err);
      const fresh = this.reset(peer, description.type !== "offer");
      if (fresh && description.type === "offer") await this.applyDescription(fresh, description);
      return;
    } finally {
      peer.settingRemoteAnswer = false;
    }
    await this.flushCandidates(peer);
    if (description.type === "offer") {
      await pc.setLocalDescription();
      const answer = pc.localDescription;
      if (answer && !peer.closed) await this.send(peer.id, { description: toWireDescription(answer) });
    }
  }

  private async applyCandidate(peer: Peer, candidate: WireCandidate | null): Promise<void> {
    // End-of-candidates (null) changes nothing for browsers that trickle; it is ignored.
    if (candidate === null) return;
    const init: RTCIceCandidateInit = candidate;
    if (!peer.pc.remoteDescription) {
      if (peer.pending.length < MAX_PENDING_CANDIDATES) peer.pending.push(init);
      return;
    }
    try {
      await peer.pc.addIceCandidate(init);
    } catch (err) {
      if (!peer.ignoreOffer) console.warn("parley: candidate from %s rejected", peer.id, err);
    }
  }

  private async flushCandidates(peer: Peer): Promise<void> {
    const pending = peer.pending;
    peer.pending = [];
    for (const init of pending) {
      try {
        await peer.pc.addIceCandidate(init);
      } catch {
        // Candidates of an offer we ignored or of an older session.
      }
    }
  }

  /** Replaces a peer's connection with a fresh one (bounded, to avoid loops). */
  private reset(peer: Peer, initiator: boolean): Peer | null {
    const count = (this.resets.get(peer.id) ?? 0) + 1;
    this.resets.set(peer.id, count);
    this.dispose(peer);
    this.peers.delete(peer.id);
    if (count > MAX_RESETS) {
      console.warn("parley: giving up on peer %s after %d resets", peer.id, MAX_RESETS);
      this.onChange();
      return null;
    }
    return this.create(peer.id, initiator);
  }

  private dispose(peer: Peer): void {
    peer.closed = true;
    peer.pc.onnegotiationneeded = null;
    peer.pc.onicecandidate = null;
    peer.pc.onicegatheringstatechange = null;
    if (peer.gatherWatch) clearTimeout(peer.gatherWatch);
    peer.pc.ontrack = null;
    peer.pc.onconnectionstatechange = null;
    peer.pc.close();
  }

  /** Resolves whether the server accepted the signal for relaying. */
  private async send(to: string, content: SignalContent): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.sendSignal(to, content);
      return true;
    } catch (err) {
      console.warn("parley: rtc_signal to %s failed", to, err);
      return false;
    }
  }
}
