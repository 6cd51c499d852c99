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
import contextlib
import os
import threading

import redis
import redis.asyncio
import structlog

from app.events.ports import Wake
from app.events.slots import LocalSlots

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
        self._unnumbered = False
        self._thread: threading.Thread | None = None
        self._pid = 0

    def __call__(self, seq: int | None) -> None:
        """`seq`: the last one committed, or None when the commit did not learn its numbers
        (a wake-up then carries none, so no tailer takes it for one it has read)."""
        with self._changed:
            if seq is None:
                self._unnumbered = True
            else:
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
                while self._latest <= self._sent and not self._unnumbered:
                    self._changed.wait()
                payload = "" if self._unnumbered else str(self._latest)
                self._sent, self._unnumbered = self._latest, False
            try:
                client.publish(CHANNEL, payload)
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
                            wake(int(message["data"]) if message["data"] else None)
            except (redis.RedisError, OSError, ValueError) as error:
                log.warning("event wake-ups lost; resubscribing", error=str(error))
            finally:
                await client.aclose()
            await asyncio.sleep(RETRY_SECONDS)


_TAKE = """
local now = tonumber(redis.call('TIME')[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[2]) then return {0, held} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, held + 1}
"""

_KEEP = """
local now = tonumber(redis.call('TIME')[1])
for i = 1, #KEYS do
    redis.call('ZADD', KEYS[i], now + tonumber(ARGV[#ARGV]), ARGV[i])
    redis.call('EXPIRE', KEYS[i], tonumber(ARGV[#ARGV]))
end
return #KEYS
"""


class RedisSlots:
    """Open streams per key across API processes (`app/events/ports.py: StreamSlots`): a
    sorted set per key, each slot scored by the end of its lease. A process renews its slots'
    leases (`keep`) well within `LEASE_SECONDS`; the slots of a process that died lapse.
    While Redis is unreachable, slots are counted in this process alone."""

    LEASE_SECONDS = 60

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._client: redis.asyncio.Redis | None = None
        self._local = LocalSlots()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._removing: set[asyncio.Task[None]] = set()

    @property
    def client(self) -> redis.asyncio.Redis:
        if self._client is None:
            self._client = redis.asyncio.Redis.from_url(
                self.redis_url, socket_connect_timeout=1, socket_timeout=1
            )
        return self._client

    @staticmethod
    def _name(key: str) -> str:
        return f"omnistock:streams:{key}"

    async def take(self, key: str, slot: str, limit: int) -> tuple[bool, int]:
        self._loop = asyncio.get_running_loop()
        try:
            taken, held = await self.client.eval(
                _TAKE, 1, self._name(key), slot, str(limit), str(self.LEASE_SECONDS)
            )
        except (redis.RedisError, OSError) as error:
            log.warning("stream slots counted in this process only", error=str(error))
            return await self._local.take(key, slot, limit)
        return bool(taken), int(held)

    def give_back(self, key: str, slot: str) -> None:
        if self._local.holds(key, slot):
            self._local.give_back(key, slot)
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # it lapses with its lease
        try:
            here = asyncio.get_running_loop() is loop
        except RuntimeError:
            here = False
        if here:
            self._remove(key, slot)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._remove, key, slot)

    def _remove(self, key: str, slot: str) -> None:
        task = asyncio.get_running_loop().create_task(self._zrem(key, slot))
        self._removing.add(task)
        task.add_done_callback(self._removing.discard)

    async def _zrem(self, key: str, slot: str) -> None:
        try:
            await self.client.zrem(self._name(key), slot)
        except (redis.RedisError, OSError) as error:  # it lapses with its lease
            log.warning("cannot give a stream slot back", error=str(error))

    async def keep(self, slots: list[tuple[str, str]]) -> None:
        slots = [(key, slot) for key, slot in slots if not self._local.holds(key, slot)]
        if not slots:
            return
        names = [self._name(key) for key, _ in slots]
        try:
            await self.client.eval(
                _KEEP, len(names), *names, *(slot for _, slot in slots), str(self.LEASE_SECONDS)
            )
        except (redis.RedisError, OSError) as error:
            log.warning("cannot renew stream slots", error=str(error))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
