"""Steps that several browser tests take the same way."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, ConsoleMessage, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

STEP_MS = 15_000  # any single UI step
MEDIA_MS = 30_000  # negotiation until the first decoded frames
REMOTE_VIDEO_PLAYING = """() => {
  const video = document.querySelector('[data-testid="remote-video"]');
  if (!video || video.readyState < 2 || video.paused || video.videoWidth === 0) return false;
  return video.getVideoPlaybackQuality().totalVideoFrames > 0;
}"""
# Every RTCPeerConnection the page makes, kept for `peer_states` (what a failed media test
# prints): the page's own code runs unchanged.
KEEP_PEERS = """(() => {
  const Original = window.RTCPeerConnection;
  if (!Original) return;
  window.__peers = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.__peers.push(this); }
  };
})();"""
PEER_STATES = """() => (window.__peers || []).map((pc) => ({
  signaling: pc.signalingState, ice: pc.iceConnectionState, gathering: pc.iceGatheringState,
  connection: pc.connectionState, local: pc.localDescription && pc.localDescription.type,
  remote: pc.remoteDescription && pc.remoteDescription.type,
  transceivers: pc.getTransceivers().map((t) => `${t.mid}:${t.direction}/${t.currentDirection}`),
  remoteCandidates: ((pc.remoteDescription || {}).sdp || "").split("a=candidate").length - 1,
}))"""


async def open_page(browser: Browser, base_url: str, log: list[str], who: str) -> Page:
    """A page in its own browser context (own cookies), camera and microphone allowed;
    console errors and warnings and page errors go to `log`, prefixed with `who`."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1100, "height": 800})
    await context.grant_permissions(["camera", "microphone"], origin=base_url)
    await context.add_init_script(KEEP_PEERS)
    page = await context.new_page()
    page.set_default_timeout(STEP_MS)

    def remember(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            log.append(f"{who} console {message.type}: {message.text}")

    page.on("console", remember)
    page.on("pageerror", lambda err: log.append(f"{who} page error: {err}"))
    return page


async def log_in(page: Page, account: dict[str, str]) -> None:
    """An advisor or ops account signs in on the login page."""
    await page.goto("/login")
    await page.get_by_test_id("login-username").fill(account["username"])
    await page.get_by_test_id("login-password").fill(account["password"])
    await page.get_by_test_id("login-submit").click()


async def join_instant(
    page: Page, team_slug: str, first: str = "Erika", last: str = "Mustermann"
) -> None:
    """A customer opens the team's instant link, acknowledges the notice, gives a name and
    waits in the lobby."""
    await page.goto(f"/t/{team_slug}")
    await expect(page.get_by_test_id("privacy-notice")).not_to_be_empty()
    await page.get_by_test_id("join-ack").check()
    await page.get_by_test_id("join-first-name").fill(first)
    await page.get_by_test_id("join-last-name").fill(last)
    await page.get_by_test_id("join-submit").click()
    await page.wait_for_url("**/c")
    await expect(page.get_by_test_id("lobby-waiting")).to_be_visible()


async def pick_up(advisor: Page, last_name: str = "Mustermann") -> str:
    """The advisor sees the customer in the queue, picks them up and lands in the room;
    returns the consultation id."""
    entry = advisor.get_by_test_id("queue-entry").filter(has_text=last_name)
    await expect(entry).to_have_count(1)
    await entry.get_by_test_id("pickup-button").click()
    await advisor.wait_for_url("**/room/*")
    return advisor.url.rsplit("/", 1)[-1]


AXE_JS = Path(__file__).resolve().parents[2] / "client" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
# axe-core's WCAG 2.0/2.1 A and AA rules plus its best practices; the verdict counts only
# violations of serious or critical impact (the bar), but every finding is kept.
AXE_RUN = """async ([include, exclude]) => {
  const context = {
    include: include.length ? include.map((s) => [s]) : [document],
    exclude: exclude.map((s) => [s]),
  };
  const result = await window.axe.run(context, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    resultTypes: ['violations'],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
  }));
}"""


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8") + "\n;undefined"


async def axe_violations(
    page: Page, exclude: tuple[str, ...] = (), include: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it is now (axe injected from
    client/node_modules, nothing from the network); `exclude` are CSS selectors of
    subtrees that are not Parley's own markup, `include` limits the check to subtrees."""
    if not AXE_JS.is_file():
        raise AssertionError(f"{AXE_JS} is missing: run npm ci in client/")
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # evaluated, not a <script> tag: Parley's CSP allows no inline script
        await page.evaluate(_axe_source())
    result: list[dict[str, Any]] = await page.evaluate(AXE_RUN, [list(include), list(exclude)])
    return result


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def describe(where: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(n["target"] for n in v["nodes"][:6])
        lines.append(f"{where}: {v['id']} ({v['impact']}) {v['help']} -> {targets}")
    return "\n".join(lines)


async def peer_states(page: Page) -> str:
    """The state of each of the page's peer connections, for a failure report."""
    try:
        return str(await page.evaluate(PEER_STATES))
    except Exception as err:  # the page may be gone already
        return f"(no peer states: {err})"


async def remote_video_plays(*pages: Page) -> None:
    """Each page decodes the other side's video within MEDIA_MS. If one does not, the
    failure carries every page's peer-connection states (how a stalled ICE gathering
    showed itself before)."""
    for page in pages:
        try:
            await page.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=MEDIA_MS, polling=250)
        except PlaywrightTimeout:
            states = [f"page {i}: {await peer_states(p)}" for i, p in enumerate(pages)]
            waiting = pages.index(page)
            raise AssertionError(
                f"page {waiting} plays no remote video after {MEDIA_MS} ms\n" + "\n".join(states)
            ) from None
