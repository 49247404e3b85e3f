"""The optional malware-scan hook: the upload is streamed to a command's stdin as it
arrives (never written to disk in plain text); its exit code decides."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from signaling.errors import FileRejected

log = logging.getLogger(__name__)


class Scanner:
    def __init__(self, process: asyncio.subprocess.Process, timeout: float) -> None:
        self.process = process
        self.timeout = timeout
        self.broken = False

    @classmethod
    async def start(cls, command: list[str], seconds: float) -> Scanner:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return cls(process, seconds)

    async def feed(self, data: bytes) -> None:
        if self.broken:
            return
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(data)
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            self.broken = True  # the scanner stopped reading; its exit code will tell

    async def verdict(self) -> None:
        """Raise FileRejected unless the scanner says the file is clean."""
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.process.stdin.close()
        try:
            code = await asyncio.wait_for(self.process.wait(), self.timeout)
        except TimeoutError:
            self.kill()
            raise FileRejected("the malware scan took too long; the file was not shared") from None
        if code == 1:
            log.warning("an upload was rejected by the malware scan")
            raise FileRejected("the malware scan rejected this file; it was not shared")
        if code != 0:
            log.error("the malware scan failed with exit code %s", code)
            raise FileRejected("the malware scan failed; the file was not shared")

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
