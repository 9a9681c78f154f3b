"""One thread beside a caller's own steps, whose errors are never lost."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any


class Beside:
    """One thread beside the caller's own steps, running what is given to it in the order given: the score stage's
    day (what reads no loan's score beside the scoring and the plan) and the day's write (its Parquet beside its
    database inserts).

    When the calling thread fails, what had not started is cancelled, what was running is waited for, and its
    error, if any, is added to the caller's as a note (not lost)."""

    def __enter__(self) -> Beside:
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._futures: list[tuple[str, Future]] = []
        return self

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        future = self._pool.submit(fn, *args, **kwargs)
        self._futures.append((fn.__name__, future))
        return future

    def __exit__(self, kind: type | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._pool.shutdown(wait=True, cancel_futures=error is not None)
        if not isinstance(error, Exception):
            return
        said = {id(error)}  # an error the caller re-raised from a result is not said twice
        for name, future in self._futures:
            if future.cancelled() or (beside := future.exception()) is None or id(beside) in said:
                continue
            said.add(id(beside))
            error.add_note(f"beside, {name}: {type(beside).__name__}: {beside}")
