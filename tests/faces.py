"""One test body, both faces: the `face` fixture drives the sync client or the async one.

The runtime is written async-first (`*/_async/`); the sync face is its unasync twin. A
fake-org test about client behaviour takes `face` (parametrized "sync" and "async") and builds
its clients through it: `face.salesforce(...)`, `face.bulk2(sf)`, `face.bulk1(sf)`,
`face.soap(sf)`, `face.soap_login(...)`.

- On the sync face these are the real sync classes, untouched.
- On the async face they are the real async classes behind `Blocking`, a thin adapter: each
  coroutine runs on the face's private event loop (one thread per test, so the client stays on
  one loop), `async for` becomes `for` and `async with` becomes `with`. Nothing is faked or
  re-implemented: a call is the async client's own code, awaited, and its exception is raised
  as is. A test written once therefore fails when either face breaks.

Only objects of the async face (classes from a `._async.` module) and coroutines/async
iterators are adapted; records, results and errors pass through untouched, so `isinstance`
checks on them hold on both faces.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import httpx

if TYPE_CHECKING:  # each factory imports its API's clients: a REST test needs no Bulk import
    from salesforce_typed import Salesforce
    from salesforce_typed.bulk import Bulk1, Bulk2
    from salesforce_typed.soap import SoapClient

FaceName = Literal["sync", "async"]
FACES: tuple[FaceName, ...] = ("sync", "async")
T = TypeVar("T")


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class Portal:
    """A private event loop in its own thread; `run` blocks the caller on one awaitable."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="async-face", daemon=True)
        self.closed = False
        self.thread.start()

    def run(self, awaitable: Awaitable[T]) -> T:
        if threading.current_thread() is self.thread:
            raise RuntimeError("a blocking call from the face's own loop would deadlock")
        return asyncio.run_coroutine_threadsafe(_await(awaitable), self.loop).result()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a plain function on the loop's thread (constructors of loop-bound objects)."""

        async def on_loop() -> T:
            return fn(*args, **kwargs)

        return self.run(on_loop())

    def wrap(self, value: Any) -> Any:
        """What a blocking caller sees of `value`: awaited, iterated, or adapted."""
        if isinstance(value, Blocking):
            return value
        if inspect.isawaitable(value):
            return self.wrap(self.run(value))
        if hasattr(value, "__anext__"):
            return self._iterate(value)
        if "._async." in type(value).__module__:
            return Blocking(value, self)
        return value

    def _iterate(self, agen: Any) -> Iterator[Any]:
        try:
            while True:
                try:
                    item = self.run(agen.__anext__())
                except StopAsyncIteration:
                    return
                yield self.wrap(item)
        finally:  # a partly read async generator is closed on its own loop
            aclose = getattr(agen, "aclose", None)
            if aclose is not None and not self.closed:
                self.run(aclose())

    def close(self) -> None:
        self.run(self.loop.shutdown_asyncgens())
        self.closed = True
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


def unwrap(value: Any) -> Any:
    return value._inner if isinstance(value, Blocking) else value


class Blocking:
    """An async-face object seen through the portal: same names, blocking calls."""

    __slots__ = ("_inner", "_portal")
    _inner: Any
    _portal: Portal

    def __init__(self, inner: Any, portal: Portal) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_portal", portal)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if inspect.ismethod(value) or inspect.isfunction(value):
            portal = self._portal

            def blocking(*args: Any, **kwargs: Any) -> Any:
                args = tuple(unwrap(a) for a in args)
                kwargs = {k: unwrap(v) for k, v in kwargs.items()}
                return portal.wrap(value(*args, **kwargs))

            return blocking
        return self._portal.wrap(value)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, unwrap(value))

    def __iter__(self) -> Iterator[Any]:
        return self._portal._iterate(self._inner.__aiter__())

    def __enter__(self) -> Any:
        return self._portal.wrap(self._inner.__aenter__())

    def __exit__(self, *exc: object) -> None:
        self._portal.run(self._inner.__aexit__(*exc))

    def __repr__(self) -> str:
        return f"Blocking({self._inner!r})"


class Face:
    """Builds the clients of one face; on the async face, behind `Blocking`.

    Factories are typed as the sync classes: the adapter gives the async ones that shape.
    """

    def __init__(self, name: FaceName) -> None:
        self.name = name
        self.portal = Portal() if name == "async" else None

    @property
    def is_async(self) -> bool:
        return self.portal is not None

    def _build(self, sync: Callable[..., T], make: Callable[..., Any], *a: Any, **kw: Any) -> T:
        if self.portal is None:
            return sync(*a, **kw)
        args = tuple(unwrap(x) for x in a)
        built = self.portal.call(make, *args, **{k: unwrap(v) for k, v in kw.items()})
        return cast(T, self.portal.wrap(built))

    def salesforce(self, **kw: Any) -> Salesforce:
        """The REST client (use it as a context manager, as the real ones are)."""
        from salesforce_typed import AsyncSalesforce, Salesforce

        return self._build(Salesforce, AsyncSalesforce, **kw)

    def bulk2(self, sf: Salesforce, **kw: Any) -> Bulk2:
        from salesforce_typed.bulk import AsyncBulk2, Bulk2

        return self._build(Bulk2, AsyncBulk2, sf, **kw)

    def bulk1(self, sf: Salesforce, **kw: Any) -> Bulk1:
        from salesforce_typed.bulk import AsyncBulk1, Bulk1

        return self._build(Bulk1, AsyncBulk1, sf, **kw)

    def soap(self, sf: Salesforce) -> SoapClient:
        from salesforce_typed.soap import AsyncSoapClient, SoapClient

        return self._build(SoapClient.from_client, AsyncSoapClient.from_client, sf)

    def soap_login(self, *a: Any, **kw: Any) -> SoapClient:
        from salesforce_typed.soap import AsyncSoapClient, SoapClient

        return self._build(SoapClient.login, AsyncSoapClient.login, *a, **kw)

    def http_client(self, **kw: Any) -> httpx.Client:
        """An httpx client of this face's kind (`http_client=` for a mocked transport)."""
        return self._build(httpx.Client, httpx.AsyncClient, **kw)

    def stream(self, items: Iterable[T]) -> Iterable[T]:
        """Rows as this face streams them: a plain iterator, or an async generator that
        yields to the loop between rows."""
        if self.portal is None:
            return iter(items)

        async def rows() -> AsyncIterator[T]:
            for item in items:
                await asyncio.sleep(0)
                yield item

        return cast(Iterable[T], rows())

    def after_each(self, obj: object, method: str, after: Callable[..., None]) -> None:
        """Patch `obj.method` so `after(*args)` runs once each call has returned."""
        raw = unwrap(obj)
        original = getattr(raw, method)
        hooked: Callable[..., Any]
        if inspect.iscoroutinefunction(original):

            async def hooked(*args: Any, **kwargs: Any) -> Any:
                answer = await original(*args, **kwargs)
                after(*args, **kwargs)
                return answer

        else:

            def hooked(*args: Any, **kwargs: Any) -> Any:
                answer = original(*args, **kwargs)
                after(*args, **kwargs)
                return answer

        setattr(raw, method, hooked)

    def concurrently(self, n: int, obj: object, method: str, *args: Any) -> list[Any]:
        """`obj.method(*args)` n times at once: threads on the sync face, tasks on the async
        one. Raises the first error after all have finished."""
        raw = unwrap(obj)
        if self.portal is not None:

            async def gather() -> list[Any]:
                return await asyncio.gather(*(getattr(raw, method)(*args) for _ in range(n)))

            return self.portal.run(gather())
        results: list[Any] = [None] * n
        errors: list[BaseException] = []
        barrier = threading.Barrier(n)

        def worker(i: int) -> None:
            try:
                barrier.wait()
                results[i] = getattr(raw, method)(*args)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        if errors:
            raise errors[0]
        return results

    def close(self) -> None:
        if self.portal is not None:
            self.portal.close()


@contextlib.contextmanager
def open_face(name: FaceName) -> Iterator[Face]:
    face = Face(name)
    try:
        yield face
    finally:
        face.close()
