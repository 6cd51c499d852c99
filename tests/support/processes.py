"""Omnistock as it is deployed, in real processes, for tests that break things: API processes
(`omnistock serve`), Dramatiq workers, the scheduler and a private Redis, each one a subprocess
that a test can kill, restart and always clean up.

    with Fleet(tmp_path) as fleet:
        redis = fleet.redis()
        api = fleet.api(env)
        worker = fleet.worker(env)
        ...
    # every process started through the fleet is gone here, whatever happened

Each process writes its stderr to a log file in the fleet's directory; `Fleet.logs()` shows
the last lines of each, for a failing test's message.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx
import redis

STOP_TIMEOUT_SECONDS = 10.0
START_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_server_available() -> bool:
    return shutil.which("redis-server") is not None


def wait_until(
    condition: Callable[[], bool], seconds: float, what: str, interval: float = 0.1
) -> None:
    """Poll `condition` until it holds; AssertionError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s")
        time.sleep(interval)


def service_env(database_url: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of an Omnistock process: this one's, minus anything that would point
    it at other services, plus the given settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "DATABASE_READ_URL",
            "REDIS_URL",
            "OMNISTOCK_SECRET_KEY",
            "STRIPE_API_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "STRIPE_API_BASE",
            "SMTP_HOST",
        }
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "OMNISTOCK_ENV": "development",  # the development key, like the tests themselves
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


class Process:
    """One subprocess in its own process group (so its children go with it)."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self._finished = False  # the group was SIGKILLed and the leader reaped
        self.popen = subprocess.Popen(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def children(self) -> list[int]:
        """Direct children's pids (Linux /proc), e.g. Dramatiq's worker processes."""
        pids: list[int] = []
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{self.pid}/task").iterdir():
                with contextlib.suppress(OSError):
                    pids += [int(p) for p in (task / "children").read_text().split()]
        return pids

    def kill_child(self) -> int:
        """SIGKILL one child process (say, the Dramatiq worker process doing the work);
        returns its pid."""
        children = self.children()
        if not children:
            raise RuntimeError(f"{self.name} has no child process to kill")
        os.kill(children[0], signal.SIGKILL)
        return children[0]

    def kill(self) -> None:
        """SIGKILL the whole group at once: no shutdown code runs anywhere."""
        self._end(signal.SIGKILL, 0)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM, then SIGKILL whatever is left of the group after `timeout`."""
        self._end(signal.SIGTERM, timeout)
        self._log.close()

    def _end(self, first: signal.Signals, grace: float) -> None:
        if self._finished:
            return
        if self.alive and first != signal.SIGKILL:
            self._signal_group(first)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
        self._signal_group(signal.SIGKILL)  # the leader, or stragglers left in its group
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(STOP_TIMEOUT_SECONDS)
        self._finished = True

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class RedisServer:
    """A private redis-server on its own port: no persistence, so a restart loses everything
    in it, as a crashed Redis without AOF would."""

    def __init__(self, fleet: Fleet, port: int | None = None) -> None:
        self.fleet = fleet
        self.port = port or free_port()
        self.process: Process | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Self:
        self.process = self.fleet.spawn(
            f"redis-{self.port}",
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            os.environ,
        )
        wait_until(self.ping, START_TIMEOUT_SECONDS, f"redis on port {self.port} answers")
        return self

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process = None

    def restart(self) -> None:
        """Crash (SIGKILL) and start again on the same port, empty."""
        self.kill()
        self.start()
        self.restarts += 1

    def ping(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


class Fleet:
    """Starts Omnistock's processes and guarantees that every one of them is stopped."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[Process] = []

    def spawn(self, name: str, argv: list[str], env: Mapping[str, str]) -> Process:
        process = Process(name, argv, env, self.directory / f"{name}.log")
        self.processes.append(process)
        return process

    def redis(self) -> RedisServer:
        return RedisServer(self).start()

    def api(self, env: Mapping[str, str], port: int | None = None) -> ApiProcess:
        port = port or free_port()
        process = self.spawn(
            f"api-{port}",
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "1"],
            env,
        )
        api = ApiProcess(process, port)
        api.wait_live()
        return api

    def worker(self, env: Mapping[str, str], threads: int = 2) -> Process:
        """`dramatiq workers.actors` with one worker process (a child of
        the Dramatiq master, see `Process.children`)."""
        index = sum(p.name.startswith("worker") for p in self.processes)
        process = self.spawn(
            f"worker-{index}",
            [
                sys.executable,
                "-m",
                "dramatiq",
                "workers.actors",
                "--processes",
                "1",
                "--threads",
                str(threads),
            ],
            env,
        )
        wait_until(
            lambda: bool(process.children()) or not process.alive,
            START_TIMEOUT_SECONDS,
            f"{process.name} forks its worker process",
        )
        if not process.alive:
            raise RuntimeError(f"{process.name} exited at start:\n{process.tail()}")
        return process

    def scheduler(self, env: Mapping[str, str]) -> Process:
        return self.spawn("scheduler", [sys.executable, "-m", "app.cli", "scheduler"], env)

    def logs(self, lines: int = 10) -> str:
        return "\n".join(
            f"--- {p.name} (pid {p.pid}, {'up' if p.alive else 'down'})\n{p.tail(lines)}"
            for p in self.processes
        )

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()


class ApiProcess:
    """One `omnistock serve` process (granian, as deployed) on 127.0.0.1:port."""

    def __init__(self, process: Process, port: int) -> None:
        self.process = process
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_live(self, seconds: float = START_TIMEOUT_SECONDS) -> None:
        def live() -> bool:
            if not self.process.alive:
                raise RuntimeError(f"{self.process.name} exited:\n{self.process.tail()}")
            try:
                return httpx.get(f"{self.base_url}/health/live", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(live, seconds, f"{self.process.name} serves /health/live", interval=0.2)
