// `/check`: the pre-call check. On the user's click: camera and microphone, sent to
// Parley's echo peer and shown as they come back, then a verdict in plain words.
import { useEffect, useId, useRef, useState } from "react";
import type { Key, Lang } from "../i18n";
import { ApiError } from "../protocol/errors";
import { PrecallCheck, type CheckProgress, type CheckResult, type CheckStage } from "../protocol/precall";
import type { MediaPath } from "../protocol/types";
import { Icon } from "./icons";
import { useI18n } from "./i18n";
import { Notice, Page } from "./Layout";
import { openMedia } from "./media";
import { linkHandler } from "./router";
import { VideoTile } from "./VideoTile";

type Phase =
  /** `error` is kept as a key (and its cause), so that it follows a language switch. */
  | { name: "idle"; error: { key: Key; cause?: unknown } | null }
  | { name: "camera" }
  | { name: "running"; progress: CheckProgress }
  | { name: "done"; result: CheckResult };

const STAGES: readonly CheckStage[] = ["servers", "gathering", "connecting", "measuring", "finishing"];
const PATHS: Record<MediaPath, Key> = {
  direct: "check.path.direct",
  stun: "check.path.stun",
  relay: "check.path.relay",
  unknown: "check.path.unknown",
};
/** Where "back" may lead: the join pages only (never another site). */
const BACK = /^\/(t|i)\/[^/?#]+$/;

function cameraErrorKey(err: unknown): Key {
  const name = err instanceof DOMException ? err.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") return "check.cameraDenied";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "check.cameraMissing";
  return "check.cameraFailed";
}

function formatNumber(lang: Lang, value: number): string {
  return new Intl.NumberFormat(lang === "de" ? "de-DE" : "en-GB", { maximumFractionDigits: 1 }).format(value);
}

export function Check() {
  const { t, errorText } = useI18n();
  const [phase, setPhase] = useState<Phase>({ name: "idle", error: null });
  const [local, setLocal] = useState<MediaStream | null>(null);
  const [echo, setEcho] = useState<MediaStream | null>(null);
  const [hearEcho, setHearEcho] = useState(false);
  const check = useRef<PrecallCheck | null>(null);
  const media = useRef<MediaStream | null>(null);
  const titleId = useId();
  const back = new URLSearchParams(location.search).get("back");

  useEffect(() => {
    document.title = `${t("check.title")} · ${t("app.name")}`;
  }, [t]);

  const release = () => {
    const running = check.current;
    check.current = null;
    void running?.close();
    media.current?.getTracks().forEach((track) => track.stop());
    media.current = null;
  };

  // Leaving the page ends the server's session and stops the camera.
  useEffect(() => release, []);

  const stop = () => {
    release();
    setLocal(null);
    setEcho(null);
    setPhase({ name: "idle", error: null });
  };

  const start = async () => {
    release();
    setEcho(null);
    setHearEcho(false);
    if (!navigator.mediaDevices?.getUserMedia) {
      setPhase({ name: "idle", error: { key: "check.insecure" } });
      return;
    }
    setPhase({ name: "camera" });
    let stream: MediaStream;
    try {
      stream = await openMedia();
    } catch (err) {
      setPhase({ name: "idle", error: { key: cameraErrorKey(err) } });
      return;
    }
    media.current = stream;
    setLocal(stream);
    const run: PrecallCheck = new PrecallCheck({
      onProgress: (progress) => check.current === run && setPhase({ name: "running", progress }),
      onRemoteStream: (remote) => check.current === run && setEcho(remote),
    });
    check.current = run;
    setPhase({ name: "running", progress: { stage: "servers", fraction: 0, report: null } });
    try {
      const result = await run.run(stream);
      if (check.current === run) setPhase({ name: "done", result });
    } catch (err) {
      if (check.current !== run) return; // stopped or restarted meanwhile
      const code = err instanceof ApiError ? err.code : "";
      const known = code === "limit_exceeded" || code === "not_ready" || code === "network_error";
      setPhase({ name: "idle", error: known ? { key: `check.error.${code}` } : { key: "check.error.other", cause: err } });
    } finally {
      if (check.current === run) {
        check.current = null;
        await run.close();
        stream.getTracks().forEach((track) => track.stop());
        if (media.current === stream) media.current = null;
      }
    }
  };

  const busy = phase.name === "camera" || phase.name === "running";
  const hasVideo = (local?.getVideoTracks().length ?? 0) > 0;
  const hasAudio = (local?.getAudioTracks().length ?? 0) > 0;

  return (
    <Page>
      <section className="card check-page" aria-labelledby={titleId} data-testid="check-page" data-phase={phase.name}>
        <h1 id={titleId}>{t("check.title")}</h1>
        <p>{t("check.intro")}</p>
        {phase.name === "idle" && phase.error && (
          <Notice kind="error" testId="check-error">
            {t(phase.error.key, phase.error.cause === undefined ? undefined : { reason: errorText(phase.error.cause) })}
          </Notice>
        )}
        {busy && (local || echo) && (
          <div className="check-videos">
            <VideoTile
              stream={echo}
              label={t("check.echo")}
              testId="check-echo-video"
              placeholder={echo ? null : <span>{t("check.echoWaiting")}</span>}
              muted={!hearEcho}
            />
            <VideoTile stream={local} local label={t("check.yourCamera")} testId="check-local-video" />
          </div>
        )}
        {phase.name === "running" && <Progress progress={phase.progress} />}
        {phase.name === "done" && <Result result={phase.result} hasVideo={hasVideo} hasAudio={hasAudio} />}
        <div className="row-actions">
          {busy ? (
            <button type="button" className="button" onClick={stop} data-testid="check-stop">
              {t("check.stop")}
            </button>
          ) : (
            <button type="button" className="button primary large" onClick={() => void start()} data-testid="check-start">
              <Icon name="cam" />
              {phase.name === "done" ? t("check.again") : t("check.start")}
            </button>
          )}
          {echo && hasAudio && busy && (
            <button type="button" className="button" aria-pressed={hearEcho} onClick={() => setHearEcho(!hearEcho)}>
              <Icon name={hearEcho ? "micOff" : "mic"} />
              {hearEcho ? t("check.silence") : t("check.listen")}
            </button>
          )}
          {back && BACK.test(back) && (
            <a className="button" href={back} onClick={linkHandler(back)} data-testid="check-back">
              {t("check.back")}
            </a>
          )}
        </div>
        <p className="muted small">{t("check.privacy")}</p>
      </section>
    </Page>
  );
}

function Progress({ progress }: { progress: CheckProgress }) {
  const { t } = useI18n();
  const current = STAGES.indexOf(progress.stage);
  return (
    <div className="check-progress" data-testid="check-progress" data-stage={progress.stage}>
      <p role="status">
        {t("check.running")}: {t(`check.stage.${progress.stage}`)}
      </p>
      <progress max={100} value={Math.round(progress.fraction * 100)} aria-label={t("check.progress")} />
      <ol className="check-stages">
        {STAGES.map((stage, index) => (
          <li key={stage} className={index < current ? "done" : index === current ? "current" : ""} aria-current={index === current ? "step" : undefined}>
            {t(`check.stage.${stage}`)}
          </li>
        ))}
      </ol>
    </div>
  );
}

function Result({ result, hasVideo, hasAudio }: { result: CheckResult; hasVideo: boolean; hasAudio: boolean }) {
  const { t, lang } = useI18n();
  const verdictKey: Key =
    result.verdict === "blocked" && !result.turnOffered ? "check.verdict.blockedNoTurn" : `check.verdict.${result.verdict}`;
  const kind = result.verdict === "ok" ? "success" : result.verdict === "blocked" || result.verdict === "no_media" ? "error" : "info";
  const none = t("check.notMeasured");
  return (
    <div className="check-result" data-testid="check-result">
      <Notice kind={kind} testId="check-verdict">
        <span data-verdict={result.verdict}>{t(verdictKey)}</span>
      </Notice>
      {result.verdict !== "blocked" && !hasVideo && <Notice kind="error">{t("check.noVideo")}</Notice>}
      {result.verdict !== "blocked" && !hasAudio && <Notice kind="error">{t("check.noAudio")}</Notice>}
      <h2>{t("check.results")}</h2>
      <dl className="check-facts">
        <div>
          <dt>{t("check.rtt")}</dt>
          <dd data-testid="check-rtt" data-value={result.rttMs ?? ""}>
            {result.rttMs === null ? none : `${formatNumber(lang, result.rttMs)} ms`}
          </dd>
        </div>
        <div>
          <dt>{t("check.loss")}</dt>
          <dd data-testid="check-loss">{result.lossPct === null ? none : `${formatNumber(lang, result.lossPct)} %`}</dd>
        </div>
        <div>
          <dt>{t("check.path")}</dt>
          <dd data-testid="check-path" data-value={result.path}>
            {t(PATHS[result.path])}
          </dd>
        </div>
        <div>
          <dt>{t("check.media")}</dt>
          <dd data-testid="check-media">
            {t("check.mediaPackets", { video: result.videoPackets, audio: result.audioPackets })}
          </dd>
        </div>
      </dl>
    </div>
  );
}
