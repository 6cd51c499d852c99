"""Redis pub/sub between processes for the live stream: each commit that wrote events
publishes its last `seq` on one channel, and every API process's stream tailer, subscribed to
it, reads the log at once.

Only a wake-up: the log is the truth and the tailers also read it every second, so Redis
being down or restarted delays events by that much and loses none. Publishing never makes a
commit wait on Redis: a thread of the process sends the highest `seq` not yet sent (commits
that come while it sends are told in one message).
"""

from __future__ import annotations

import asyncio
import os
import threading

import redis
import redis.asyncio
import structlog

from app.events.ports import Wake

log = structlog.get_logger("omnistock.event_bus")

CHANNEL = "omnistock:events"
RETRY_SECONDS = 0.5


class RedisEventSignal:
    """The event log's signal (`build_context(..., event_signal=)`): publishes on `CHANNEL`."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._changed = threading.Condition()
        self._latest = 0
        self._sent = 0
        self._thread: threading.Thread | None = None
        self._pid = 0

    def __call__(self, seq: int) -> None:
        with self._changed:
            self._latest = max(self._latest, seq)
            self._changed.notify()
        if self._pid != os.getpid():  # first use, or a forked child (Dramatiq's workers)
            self._start()

    def _start(self) -> None:
        with self._changed:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._publish_forever, name="event-signal", daemon=True
            )
            self._thread.start()

    def _publish_forever(self) -> None:
        client = redis.Redis.from_url(
            self.redis_url, socket_connect_timeout=1, socket_timeout=1, health_check_interval=30
        )
        while True:
            with self._changed:
                while self._latest <= self._sent:
                    self._changed.wait()
                seq = self._sent = self._latest
            try:
                client.publish(CHANNEL, str(seq))
            except (redis.RedisError, OSError) as error:
                # The tailers read the log each second anyway; wait a little before the next.
                log.warning("cannot publish an event wake-up", error=str(error))
                threading.Event().wait(RETRY_SECONDS)


_SIGNALS: dict[str, RedisEventSignal] = {}
_SIGNALS_LOCK = threading.Lock()


def redis_event_signal(redis_url: str) -> RedisEventSignal:
    """The process's one publisher for `redis_url` (one thread, however many contexts)."""
    with _SIGNALS_LOCK:
        signal = _SIGNALS.get(redis_url)
        if signal is None:
            signal = _SIGNALS[redis_url] = RedisEventSignal(redis_url)
        return signal


class RedisWakeUps:
    """The tailer's side (`app/events/ports.py: WakeUps`): subscribed to `CHANNEL`,
    resubscribing after a lost connection (and waking the tailer then, for what it missed)."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url

    async def listen(self, wake: Wake) -> None:
        while True:
            client = redis.asyncio.Redis.from_url(
                self.redis_url, socket_connect_timeout=1, health_check_interval=10
            )
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    wake(None)
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            wake(int(message["data"]))
            except (redis.RedisError, OSError, ValueError) as error:
                log.warning("event wake-ups lost; resubscribing", error=str(error))
            finally:
                await client.aclose()
            await asyncio.sleep(RETRY_SECONDS)
