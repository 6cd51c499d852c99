"""The garbage collector of a serving process, tuned for its tail latency.

CPython's cyclic collector stops the process while it walks the objects of the generations it
collects. A served API holds some 200,000 long-lived objects made at start (modules, routes,
SQLAlchemy's tables and compiled statements, the OpenAPI schema), and each full collection
walks them all again while the requests in flight wait: measured in an API process on the
benchmark machine (2 shared cores, loaded), one full collection took 0.5 s, and 0.1 ms once
they were frozen. So once the application has started, what exists is frozen: moved where the
collector never looks again, as nothing made at start is garbage later. Young collections
keep CPython's thresholds: raising the first one made each young collection longer without
making them cost less in all (bench/open_loop.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_startup_heap() -> Iterator[None]:
    """For the life of a served application: everything alive now is frozen after one last
    collection; on exit it is unfrozen (tests start many applications in one process, whose
    objects must become collectable again)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
