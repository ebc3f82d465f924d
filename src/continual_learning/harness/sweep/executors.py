"""Where a sweep's jobs run: local worker processes, or tasks on a Ray cluster.

Both hand each finished job's record to ``on_done`` as soon as it is there (the sweep writes it
to disk at once, which is what lets an interrupted sweep resume), and both turn a job that
could not finish (its worker died, Ray lost it) into a failed record rather than an exception.
Both also pass on what a running job reports of its progress (a job can take an hour): the job
puts its events on a queue (a multiprocessing manager's, or a Ray queue actor's) and the
sweep's process, between waits, hands them to ``on_event`` with their job as their source.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import queue as queues
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from continual_learning.errors import ConfigError
from continual_learning.harness.runner import ProgressCallback, failure_reason
from continual_learning.harness.sweep.jobs import JobPayload, execute, finished
from continual_learning.types import ProgressEvent

log = logging.getLogger(__name__)
OnDone = Callable[[dict[str, Any]], None]
WORKER_DIED = "its worker process died (killed, or out of memory)"
POLL_SECONDS = 0.5
"""How often the sweep's process looks for progress while it waits for jobs to finish."""


class Executor(ABC):
    """Runs payloads; ``threads`` is what each job may use (the sweep sets model.threads)."""

    name: str
    threads: int

    @abstractmethod
    def run(
        self,
        payloads: Sequence[JobPayload],
        on_done: OnDone,
        on_event: ProgressCallback | None = None,
    ) -> None: ...


def failed(payload: JobPayload, reason: str) -> dict[str, Any]:
    return finished(payload, {"error": reason}, 0.0)


class JobProgress:
    """A running job's ``on_event``: its events, with the job as their source, onto the sweep's
    queue.

    It travels with the payload to the worker (it holds only a queue proxy and a name). An
    engine may report every training step; a task's event goes on only when it is the task's
    first, its last, or ``every`` seconds after the one before, which is all a progress line
    needs. Progress never fails a job: an event the queue will not take is dropped.
    """

    def __init__(self, events: Any, job: JobPayload, *, every: float = 1.0) -> None:
        described = job.job.describe()
        self.name = f"{described['dataset']} {described['label']} s{described['seed']}"
        self.events = events
        self.every = every
        self.sent: dict[str, float] = {}

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        last = event.total is not None and event.completed >= event.total
        if event.task in self.sent and not last and now - self.sent[event.task] < self.every:
            return
        if last:  # the task's next event (the next episode's, say) starts it again
            self.sent.pop(event.task, None)
        else:
            self.sent[event.task] = now
        try:
            self.events.put(dataclasses.replace(event, source=self.name))
        except Exception:  # the sweep's process went away, the queue broke: the job goes on
            log.debug("progress event dropped", exc_info=True)


def pass_on(events: Any, on_event: ProgressCallback | None) -> None:
    """Hand every event waiting on ``events`` to ``on_event`` (in this, the sweep's, thread)."""
    while on_event is not None:
        try:
            on_event(events.get_nowait())
        except queues.Empty:  # Ray's Empty is one too
            return


def exit_with_parent(parent: int) -> None:
    """In a worker (or the events' manager): exit as soon as the sweep's process ``parent`` is
    gone, killed even by SIGKILL, rather than run an hour's job for no one."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class LocalPool(Executor):
    """``workers`` processes (spawned: torch does not survive a fork), each loading the model
    once and splitting the physical cores with the others so they do not oversubscribe."""

    name = "local"

    def __init__(self, workers: int = 1, *, cores: int | None = None) -> None:
        from continual_learning.core.threads import physical_cores

        if workers < 1:
            raise ConfigError(f"--workers must be at least 1, not {workers}")
        self.workers = workers
        self.threads = max(1, (cores or physical_cores()) // workers)

    def run(
        self,
        payloads: Sequence[JobPayload],
        on_done: OnDone,
        on_event: ProgressCallback | None = None,
    ) -> None:
        from multiprocessing.managers import SyncManager

        queue = list(payloads)
        manager = SyncManager(ctx=multiprocessing.get_context("spawn"))
        manager.start(exit_with_parent, (os.getpid(),))
        with manager:
            events = manager.Queue()
            while queue:  # a new pool after a worker died; the jobs not yet started go on
                queue = self._until_broken(queue, on_done, events, on_event)

    def _until_broken(
        self,
        queue: list[JobPayload],
        on_done: OnDone,
        events: Any,
        on_event: ProgressCallback | None,
    ) -> list[JobPayload]:
        """At most ``workers`` jobs in flight, so when a worker dies every job in flight was
        running (a failure) and every queued one was not (it runs in the next pool)."""
        context = multiprocessing.get_context("spawn")
        running: dict[Future[dict[str, Any]], JobPayload] = {}
        with ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            while queue or running:
                while queue and len(running) < self.workers:
                    payload = queue.pop(0)
                    progress = JobProgress(events, payload) if on_event else None
                    running[pool.submit(execute, payload, progress)] = payload
                done, _ = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                pass_on(events, on_event)
                broken = False
                for future in done:
                    payload = running.pop(future)
                    try:
                        on_done(future.result())
                    except BrokenProcessPool:
                        broken = True
                        on_done(failed(payload, WORKER_DIED))
                if broken:
                    for payload in running.values():
                        on_done(failed(payload, WORKER_DIED))
                    return queue
        return []


class RayExecutor(Executor):
    """Each job a Ray task asking for ``cpus`` CPUs (and as many torch threads); results are
    gathered through Ray as they finish. ``address``: a cluster (``auto``, ``ray://host:port``),
    or ``local`` to start one on this machine; an already initialised Ray is used as it is."""

    name = "ray"

    def __init__(self, address: str = "local", *, cpus: int = 1) -> None:
        if cpus < 1:
            raise ConfigError(f"--ray-cpus must be at least 1, not {cpus}")
        self.address = address
        self.threads = cpus

    def run(
        self,
        payloads: Sequence[JobPayload],
        on_done: OnDone,
        on_event: ProgressCallback | None = None,
    ) -> None:
        ray = _import_ray()
        if not ray.is_initialized():
            address = None if self.address == "local" else self.address
            _require_reachable(self.address)
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                reason = failure_reason(exc)
                raise ConfigError(f"cannot reach Ray at {self.address}: {reason}") from None
        from ray.util.queue import Queue

        events = Queue(actor_options={"num_cpus": 0})  # it must not take a job's CPU
        task = ray.remote(num_cpus=self.threads, max_retries=0)(execute)
        pending = {
            task.remote(payload, JobProgress(events, payload) if on_event else None): payload
            for payload in payloads
        }
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
            pass_on(events, on_event)
            for ref in done:
                payload = pending.pop(ref)
                try:
                    on_done(ray.get(ref))
                except Exception as exc:  # the task's worker died, or Ray lost the node
                    log.warning("ray task %s failed", payload.key, exc_info=True)
                    on_done(failed(payload, f"Ray could not run it: {failure_reason(exc)}"))


def _require_reachable(address: str) -> None:
    """Ray retries a dead ``host:port`` for minutes; a refused TCP connection says it at once."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "local", "auto": Ray finds (or starts) the cluster itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach Ray at {address}: {exc.strerror or exc}") from None


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--ray needs Ray: pip install 'continual-learning[ray]' (or pip install ray)"
        ) from None
    return ray
