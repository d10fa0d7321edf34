"""Falcon's ASGI app calls only coroutines: the app's resources, sinks and error handlers are
written once, synchronously, and served to an ASGI engine through the views here. A resource
that awaits something (a batcher, a request body) has its own `on_<method>_async` responder,
which the view uses instead of the synchronous one."""
from __future__ import annotations

from typing import Any, Callable, Coroutine

__all__ = ["AsyncView", "coroutine"]


def coroutine(func: Callable) -> Callable[..., Coroutine]:
    """`func` as a coroutine function that runs it on the loop (for work that never blocks)."""
    async def run(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return run


class AsyncView:
    """A resource as Falcon's ASGI app routes it: every `on_<method>` responder, awaitable."""

    def __init__(self, resource: Any) -> None:
        for name in dir(resource):
            if name.startswith("on_") and not name.endswith("_async"):
                awaited = getattr(resource, f"{name}_async", None)
                setattr(self, name, awaited or coroutine(getattr(resource, name)))
