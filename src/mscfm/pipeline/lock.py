"""One build at a time: the build lock (``.mscfm/build.lock``) and worker lifetimes.

The lock is an advisory ``flock`` on the lock file, which the kernel releases when its holder
dies however it dies (``kill -9`` included), so a lock can never outlive its build. The file also
names the holder (pid, start time, host) for the message a second build prints. A file left by a
dead build is taken over with a one-line notice.

Worker processes of the local pool call :func:`die_with_parent` so that a killed build never
leaves a worker running that could finish a chapter under other parameters.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from mscfm.errors import MscfmError
from mscfm.paths import LOCK_FILE


class BuildLocked(MscfmError):
    """Another build holds the lock."""

    exit_code = 2


def _holder(text: str) -> dict:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict) -> str:
    if not holder:
        return "an unknown process"
    pid, host, started = (holder.get(k, "?") for k in ("pid", "host", "started"))
    return f"pid {pid} on {host}, started {started}"


class BuildLock:
    """``with BuildLock(root):`` around everything a build writes."""

    def __init__(self, root: Path, command: str = "build") -> None:
        self.path = root / LOCK_FILE
        self.command = command
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            os.close(fd)
            raise BuildLocked(
                f"another build is running ({_describe(holder)}; lock {self.path}); wait for it "
                "to finish and build again"
            ) from None
        previous = _holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        if previous.get("pid") is not None:  # left by a build that died without releasing it
            print(f"mscfm {self.command}: taking over the lock of a build that is no longer "
                  f"running ({_describe(previous)})", file=sys.stderr)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode("utf-8"), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)  # an empty file: nobody to take over from
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> BuildLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


_PR_SET_PDEATHSIG = 1


def kill_me_with_parent() -> None:
    """Ask the kernel (Linux) to SIGKILL this process when its parent dies; usable as a
    ``subprocess`` ``preexec_fn`` (no threads), e.g. for the Sphinx run."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass


def die_with_parent(poll_s: float = 0.5) -> None:
    """Make this (worker) process end when its parent does.

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); elsewhere,
    and as a second guard, a daemon thread exits when the parent process changes."""
    parent = os.getppid()
    kill_me_with_parent()
    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="mscfm-parent-watch", daemon=True).start()
