"""Every actor, declared on the process's broker: `dramatiq workers.actors`.

The broker is installed first, because Dramatiq binds each actor to the global broker as the
actor is declared; then each module of actors is imported by name.
"""

from workers.broker import install_broker
from workers.runtime import current

broker = install_broker(current().settings.redis_url)

from workers.actors import maintenance, orders, storefronts  # noqa: E402

__all__ = ["broker", "maintenance", "orders", "storefronts"]
