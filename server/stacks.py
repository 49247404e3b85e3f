"""Where a stuck node is stuck, for whoever runs it: SIGUSR1 writes every thread's stack to
stderr (faulthandler, so it works even while the event loop is blocked), SIGUSR2 every
asyncio task's stack (from the loop, so only while it runs). Code locations only, never a
value: nothing personal reaches the log."""

from __future__ import annotations

import asyncio
import faulthandler
import io
import signal
import sys


def dump_tasks() -> None:
    out = io.StringIO()
    tasks = asyncio.all_tasks()
    out.write(f"--- {len(tasks)} asyncio tasks (SIGUSR2) ---\n")
    for task in tasks:
        task.print_stack(limit=12, file=out)
    out.write("--- end of tasks ---\n")
    sys.stderr.write(out.getvalue())
    sys.stderr.flush()


def install() -> None:
    """In `parley serve` only (the process is ours): not in an embedding or test process."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, dump_tasks)
