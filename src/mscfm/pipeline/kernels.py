"""Kernels for chapter executions: each notebook gets a fresh one, started ahead and warm.

A kernel is started with the project's heavy imports (pandas, matplotlib, scipy.stats, the
package's presentation and data modules) done during its start-up, in a throw-away namespace: the
modules are in ``sys.modules``, the notebook's namespace stays empty, so a chapter that forgets an
import still fails. A worker starts the kernel of its next chapter while the current one runs
(`Spare`), so that start-up overlaps the current chapter instead of adding to it. Per-chapter
settings (the declared inputs) are set in the kernel just before the notebook runs, silently
(no execution count, no output).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

KERNEL_NAME = "python3"
WARM_IMPORTS = (
    "pandas",
    "matplotlib.pyplot",
    "scipy.stats",
    "IPython.display",
    "mscfm.report",
    "mscfm.data",
    "mscfm.claims",  # imported by every chapter; none of these changes state when imported
)
# ipykernel warns on every start that TCP is unencrypted (local kernels): noise.
QUIET = "--IPKernelApp.log_level=CRITICAL"
READY_TIMEOUT_S = 120


def warm_line(modules: tuple[str, ...] = WARM_IMPORTS) -> str:
    """Start-up code that imports ``modules`` without binding a name in the user namespace."""
    return f"exec({'import ' + ', '.join(modules)!r}, {{}})"


def kernel_environment(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MSCFM_ROOT": str(root),
        "MPLBACKEND": os.environ.get("MPLBACKEND", "module://matplotlib_inline.backend_inline"),
        "PYTHONWARNINGS": os.environ.get("PYTHONWARNINGS", "ignore"),
    }


def start_kernel(root: Path):
    """Start a warm kernel in ``root`` (returns at once; the kernel imports in its own process).

    An ``AsyncKernelManager``, as papermill's client (nbclient) expects."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    km = AsyncKernelManager(kernel_name=KERNEL_NAME)
    run_sync(km.start_kernel)(
        cwd=str(root),
        env=kernel_environment(root),
        extra_arguments=[QUIET, f"--IPKernelApp.exec_lines={json.dumps([warm_line()])}"],
    )
    return km


def prepare(km, environment: dict[str, str], timeout: float = READY_TIMEOUT_S) -> None:
    """Wait until the kernel is ready (start-up imports done) and set ``environment`` in it."""
    from jupyter_core.utils import run_sync

    run_sync(_prepare)(km, environment, timeout)


async def _prepare(km, environment: dict[str, str], timeout: float) -> None:
    # The manager's client: it asks the manager whether the kernel lives (a client of its own
    # would go by the heartbeat, which a kernel busy importing on a loaded machine can miss).
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=timeout)
        code = f"__import__('os').environ.update({json.dumps(environment)})"
        reply = await kc.execute_interactive(
            code, silent=True, store_history=False, timeout=timeout
        )
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"could not prepare the kernel: {reply['content']}")
    finally:
        kc.stop_channels()


def shutdown(km) -> None:
    from jupyter_core.utils import run_sync

    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - a kernel that already died needs no shutdown
        pass


@dataclass
class Spare:
    """The kernel a worker started ahead for its next chapter (at most one)."""

    km: object | None = None
    root: Path | None = None

    def take(self, root: Path):
        """The spare kernel if it was started for ``root`` and is alive, else a new one."""
        km, self.km = self.km, None
        if km is not None and self.root == root and run_alive(km):
            return km
        if km is not None:
            shutdown(km)
        return start_kernel(root)

    def start(self, root: Path) -> None:
        self.discard()
        self.km, self.root = start_kernel(root), root

    def discard(self) -> None:
        if self.km is not None:
            shutdown(self.km)
        self.km = None


def run_alive(km) -> bool:
    from jupyter_core.utils import run_sync

    return bool(run_sync(km.is_alive)())
