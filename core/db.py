"""The one way to call the ORM (or any blocking code that may touch it) from async code.

`run_orm` runs the function in a worker thread through Channels' `database_sync_to_async`, which
closes stale database connections before and after the call, as Django does around a request.
Calls share one thread by default (Django's rule for code that is not thread-safe); `parallel=True`
gives the call a thread of its own, for work that must not queue behind others (health probes,
the price scheduler's long runs) or that a timeout may abandon.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from channels.db import database_sync_to_async

T = TypeVar("T")


async def run_orm(func: Callable[..., T], *args: Any, parallel: bool = False) -> T:
    """`func(*args)` in a worker thread with Django's connection handling."""
    return await database_sync_to_async(func, thread_sensitive=not parallel)(*args)
