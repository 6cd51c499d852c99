"""Every actor, declared on the process's broker: `dramatiq workers.actors` (`omnistock worker`).

The broker is installed first, because Dramatiq binds each actor to the global broker as the
actor is declared; then each module of actors is imported by name. With Redis, every worker
process also runs the schedule; without it the API runs actors and schedule itself.
"""

from app.platform.logging import configure_logging
from workers.broker import install_broker
from workers.runtime import current
from workers.schedule import intervals
from workers.scheduler import ScheduleInWorkers
from workers.sweeps import SweepRecorder

settings = current().settings
configure_logging(settings.log_level)  # JSON, like the API's
broker = install_broker(settings.redis_url)

from workers.actors import carts, events, maintenance, orders, storefronts  # noqa: E402

broker.add_middleware(SweepRecorder(settings.redis_url, intervals(settings)))
if settings.redis_url:
    broker.add_middleware(ScheduleInWorkers(settings))

__all__ = ["broker", "carts", "events", "maintenance", "orders", "storefronts"]
