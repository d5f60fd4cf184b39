"""Where chapter executions run: one protocol for the build and the sweep.

An executor takes a list of `Job` and returns one `Outcome` per job, calling ``on_done`` as each
finishes; it never raises for a failed job (a failure is an Outcome). Executors are registered by
name, as papermill registers its engines: ``local`` (a pool of worker processes on this machine,
the default) and ``dask`` (a Dask distributed scheduler; the optional extra ``cluster``).
``executor_for(scheduler=..., jobs=...)`` picks one for the command line's options.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Protocol

from mscfm.errors import BuildError
from mscfm.paths import LOG_DIR
from mscfm.pipeline.execute import Job, Outcome, _start_worker, execute_job, staged_path

OnDone = Callable[[Outcome], None] | None


class Executor(Protocol):
    def run(self, jobs: list[Job], on_done: OnDone = None) -> list[Outcome]:
        """Execute ``jobs``; one Outcome per job, sorted by name."""
        ...


class Executors:
    """The registry of executors by name (``local``, ``dask``)."""

    def __init__(self) -> None:
        self._factories: dict[str, Callable[..., Executor]] = {}

    def register(self, name: str, factory: Callable[..., Executor]) -> None:
        self._factories[name] = factory

    def get(self, name: str, **options) -> Executor:
        if name not in self._factories:
            known = ", ".join(sorted(self._factories))
            raise BuildError(f"no executor named {name!r}; executors: {known}")
        return self._factories[name](**options)


def _died(job: Job, exc: BaseException) -> Outcome:
    """The outcome of a job whose worker process died (killed, out of memory)."""
    partial = staged_path(job.chapter, job.root)
    kept = job.root / LOG_DIR / f"{job.chapter.name}.ipynb"
    kept.parent.mkdir(parents=True, exist_ok=True)
    if partial.exists():
        shutil.move(partial, kept)
    where = (
        f"notebook kept at {kept}"
        if kept.exists()
        else f"no notebook was saved; logs in {kept.parent}"
    )
    return Outcome(
        job.chapter.name,
        False,
        0.0,
        f"chapter {job.chapter.name}: worker process died ({exc}); {where}",
        str(kept),
    )


class LocalPool:
    """Worker processes on this machine; each imports papermill once, starts its first kernel
    while it does, and starts the kernel of a next job while the current one runs (as long as
    jobs are waiting)."""

    def __init__(self, jobs: int = 0) -> None:
        self.workers = jobs or os.cpu_count() or 1

    def run(self, jobs: list[Job], on_done: OnDone = None) -> list[Outcome]:
        if not jobs:
            return []
        outcomes: list[Outcome] = []
        workers = max(1, min(self.workers, len(jobs)))
        queued = multiprocessing.Value("i", len(jobs))  # jobs not yet started, for the workers
        with ProcessPoolExecutor(
            max_workers=workers, initializer=_start_worker, initargs=(queued, jobs[0].root)
        ) as pool:
            futures: dict[Future, Job] = {pool.submit(execute_job, job): job for job in jobs}
            for future in as_completed(futures):
                try:
                    outcome = future.result()
                except BaseException as exc:  # noqa: BLE001 - a dead worker is a failed job
                    outcome = _died(futures[future], exc)
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)
        return sorted(outcomes, key=lambda o: o.name)


def written_path(job: Job) -> Path:
    """Where a job's worker leaves its run: the executed copy itself, or (``publish=False``, a
    build) the staged run that the main process publishes."""
    if job.publish:
        return job.chapter.executed_path(job.root)
    return staged_path(job.chapter, job.root)


def execute_remote(job: Job) -> tuple[Outcome, str]:
    """Run one job on a Dask worker; returns the notebook it wrote (`written_path`: for a build
    the staged run) as well, so the client gets it even when the output folder is not on the
    worker's file system."""
    outcome = execute_job(job)
    path = written_path(job)
    text = path.read_text(encoding="utf-8") if outcome.ok and path.exists() else ""
    return outcome, text


class DaskCluster:
    """A Dask distributed scheduler at ``address``.

    The workers need this package installed and the project at the same path (a shared file
    system): they read the notebook and the data from ``job.root``."""

    def __init__(self, address: str) -> None:
        self.address = address

    def run(self, jobs: list[Job], on_done: OnDone = None) -> list[Outcome]:
        try:
            from distributed import Client, as_completed
        except ImportError as exc:  # Dask is the optional extra "cluster"
            raise BuildError(
                "--scheduler needs Dask, the optional extra 'cluster': "
                "pip install -e '.[cluster]' -c constraints.txt"
            ) from exc
        try:
            client = Client(self.address, timeout="20s")
        except OSError as exc:
            raise BuildError(
                f"--scheduler {self.address}: cannot connect to a Dask scheduler ({exc})"
            ) from exc
        outcomes: list[Outcome] = []
        with client:
            futures = client.map(execute_remote, jobs, pure=False, key=_task_keys(jobs))
            by_key = {f.key: job for f, job in zip(futures, jobs, strict=True)}
            for future in as_completed(futures):
                job = by_key[future.key]
                try:
                    outcome, text = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker becomes a failed job
                    message = f"chapter {job.chapter.name}: Dask task failed ({exc})"
                    outcome, text = Outcome(job.chapter.name, False, 0.0, message), ""
                if text:
                    _write_if_changed(written_path(job), text)
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)
        return sorted(outcomes, key=lambda o: o.name)


def _task_keys(jobs: list[Job]) -> list[str]:
    """Unique per run: a scheduler would hand back an earlier run's result for a reused key."""
    run = uuid.uuid4().hex[:12]
    return [f"mscfm-{job.chapter.name}-{run}" for job in jobs]


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return  # the worker shares our file system and already wrote it
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


executors = Executors()
executors.register("local", LocalPool)
executors.register("dask", DaskCluster)


def executor_for(scheduler: str | None = None, jobs: int = 0) -> Executor:
    """The Dask executor when a scheduler address is given, else the local pool."""
    if scheduler:
        return executors.get("dask", address=scheduler)
    return executors.get("local", jobs=jobs)
