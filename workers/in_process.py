"""With no Redis configured, the API process runs the actors and the scheduler itself."""

from __future__ import annotations

import threading

import dramatiq

from workers.actors import broker
from workers.runtime import current
from workers.scheduler import Scheduler, periodic_jobs


class InProcessWorkers:
    def __init__(self, worker_threads: int = 2) -> None:
        self.worker = dramatiq.Worker(broker, worker_threads=worker_threads, worker_timeout=200)
        self.scheduler = Scheduler(periodic_jobs(broker, current().settings), redis_url=None)
        self._thread = threading.Thread(
            target=self.scheduler.run_forever, name="omnistock-scheduler", daemon=True
        )

    def start(self) -> None:
        self.worker.start()
        self._thread.start()

    def stop(self) -> None:
        self.scheduler.stop()
        self._thread.join(timeout=5)
        self.worker.stop(timeout=5_000)
