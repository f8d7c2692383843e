"""Shared fixtures of the microbenchmarks (issue 8, item 3).

    .venv/bin/python -m pytest loadtests/micro --benchmark-only \
        --benchmark-columns=min,median,mean,ops,rounds --benchmark-sort=name

Add ``-m "not embedding"`` to skip the benchmarks that load the embedding model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # The root config passes --strict-markers.
    config.addinivalue_line(
        "markers", "embedding: loads the embedding model; deselect with -m 'not embedding'"
    )


@pytest.fixture(scope="session")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for every coroutine that really suspends (a thread hop, a gather):
    a new loop per call would cost more than some of the things measured."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _drive(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("the coroutine suspended: run it on the `loop` fixture instead")


@pytest.fixture(scope="session")
def drive() -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Runs a coroutine that completes without suspending, with no event loop at all.

    A routing decision takes ~5 us; ``loop.run_until_complete`` adds a task and a loop turn
    (~9 us on a 2-core EPYC) that would be most of what is measured.
    """
    return _drive
