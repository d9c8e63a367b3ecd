"""Async handlers under WSGI (R80–R82): one event loop per worker thread, kept across requests.

WSGI calls the app synchronously on a worker thread, so an `async def`
handler's coroutine is run to completion on that thread's own loop. The loop
is made on first use and reused by the thread's later requests, so an async
connection pool made in one request still works in the next (a loop per
request, as `asyncio.run` would make, would strand it).
"""
from __future__ import annotations

import types
from _thread import _local as _thread_local
from collections.abc import Awaitable, Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (PERF: cold start); mypy reads the name
if TYPE_CHECKING:
    import asyncio
    from typing import Any, TypeVar

    T = TypeVar("T")



class _Holder:
    """Closes the thread's loop when the thread ends (its thread-local dies with it)."""

    __slots__ = ("loop",)

    def __init__(self) -> None:
        import asyncio  # PERF: imported on first use, so `import nextapi` stays without it (cold start)
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        if not self.loop.is_closed() and not self.loop.is_running():
            self.loop.close()


_local = _thread_local()  # threading.local itself; PERF: without importing threading (cold start)
_ASYNC: dict[Any, bool] = {}  # function -> is it `async def`? (inspect is slow enough to cache)


def thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's loop, made (and set as its current loop) on first use."""
    holder: _Holder | None = getattr(_local, "holder", None)
    if holder is None or holder.loop.is_closed():
        import asyncio  # PERF: imported on first use, so `import nextapi` stays without it (cold start)
        holder = _local.holder = _Holder()
        asyncio.set_event_loop(holder.loop)
    return holder.loop


def run(awaitable: Awaitable[T]) -> T:
    """Run an awaitable to completion from sync code on this thread's loop.

    PERF: most handlers finish without waiting on I/O, and a full
    `run_until_complete` costs ~28 µs of loop start-up and shut-down for
    them. So the task's first step runs here, with the loop set as the running
    loop and the task as the current one, exactly as the loop would run it;
    only a task still waiting after that step enters the loop (~7 µs when not).
    """
    import asyncio  # PERF: imported on first use, so `import nextapi` stays without it (cold start)
    loop = thread_loop()
    ready = getattr(loop, "_ready", None)  # the loop's queue of callbacks (asyncio.BaseEventLoop)
    if ready is None or ready or not isinstance(awaitable, types.CoroutineType):
        return loop.run_until_complete(awaitable)
    task: asyncio.Task[T] = loop.create_task(awaitable)  # a coroutine: checked above
    if len(ready) == 1:  # exactly the task's first step, as create_task scheduled it
        step = ready.popleft()
        asyncio.events._set_running_loop(loop)
        try:
            step._run()
        finally:
            asyncio.events._set_running_loop(None)
        if task.done():
            return task.result()
    return loop.run_until_complete(task)  # it waits on something: the loop takes it from here


def is_async(fn: Callable[..., Any]) -> bool:
    """`async def` (directly, or behind functools.wraps/partial or an async `__call__`)?"""
    known = _ASYNC.get(fn)
    if known is None:
        import inspect  # PERF: on the first unseen function only (cached below), not at import (cold start)

        known = inspect.iscoroutinefunction(fn) or (
            not inspect.isroutine(fn) and inspect.iscoroutinefunction(type(fn).__call__))
        if len(_ASYNC) < 4096:  # bounded: handlers and middleware are few, decorators may make more
            _ASYNC[fn] = known
    return known


def isawaitable(value: Any) -> bool:
    """inspect.isawaitable, without its ABC check for the plain values handlers return.

    PERF: None, dict, list, str, a dataclass... are answered by one class test or one
    attribute lookup on the class (an Awaitable defines `__await__`).
    """
    cls = value.__class__
    if cls is types.CoroutineType:
        return True
    if value is None or cls in _PLAIN or cls in _NOT_AWAITABLE:  # PERF: a failed hasattr raises inside
        return False
    if cls is types.GeneratorType:  # a @types.coroutine generator
        return bool(value.gi_code.co_flags & _CO_ITERABLE_COROUTINE)
    if hasattr(cls, "__await__"):
        return True
    if len(_NOT_AWAITABLE) < 1024:  # bounded: the classes handlers return are few
        _NOT_AWAITABLE.add(cls)
    return False


_NOT_AWAITABLE: set[type] = set()  # classes seen without __await__ (a dataclass a typed handler returns)


_CO_ITERABLE_COROUTINE = 0x100  # inspect.CO_ITERABLE_COROUTINE; PERF: without importing inspect (cold start)
_PLAIN = frozenset((dict, list, str, bytes, int, float, bool, tuple))
