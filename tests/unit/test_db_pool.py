"""The database pool serves requests waiting for a connection in the order they asked."""

from __future__ import annotations

import asyncio

import pytest

from services.intake.config import IntakeSettings
from shared.db import FairQueuePool, HandOffQueue, create_engine


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_waiters_are_served_in_order_and_a_newcomer_waits_its_turn() -> None:
    queue = HandOffQueue()
    served: list[tuple[str, int]] = []

    async def ask(name: str) -> None:
        try:  # as SQLAlchemy's pool asks: take what is there, else wait
            item = queue.get_nowait()
        except asyncio.QueueEmpty:
            item = await queue.get()
        served.append((name, item))

    first, second = asyncio.create_task(ask("first")), asyncio.create_task(ask("second"))
    await settle()
    queue.put_nowait(1)
    # A newcomer asking in the same step as the connection came back, before the first waiter has run
    # again: asyncio.Queue would give it 1 and send the first waiter to the back of the line.
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    late = asyncio.create_task(ask("late"))
    await settle()
    queue.put_nowait(2)
    queue.put_nowait(3)
    await asyncio.gather(first, second, late)
    assert served == [("first", 1), ("second", 2), ("late", 3)]
    assert queue.empty()


async def test_an_item_handed_to_a_waiter_that_gives_up_goes_to_the_next() -> None:
    queue = HandOffQueue()
    impatient, patient = asyncio.create_task(queue.get()), asyncio.create_task(queue.get())
    await settle()
    queue.put_nowait("connection")
    impatient.cancel()  # the pool's timeout, just as the connection came back
    assert await patient == "connection"
    assert impatient.cancelled() and queue.empty()


async def test_items_returned_while_nobody_waits_are_kept_and_taken_at_once() -> None:
    queue = HandOffQueue()
    queue.put_nowait("a")
    queue.put_nowait("b")
    assert [await queue.get(), await queue.get()] == ["a", "b"]
    waiting = asyncio.create_task(asyncio.wait_for(queue.get(), 0.01))
    await asyncio.sleep(0.05)
    assert waiting.done() and isinstance(waiting.exception(), TimeoutError)
    queue.put_nowait("c")  # the waiter that timed out is not handed anything
    assert await queue.get() == "c"


async def test_postgresql_engines_use_the_fair_pool() -> None:
    engine = create_engine(IntakeSettings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    try:
        assert isinstance(engine.pool, FairQueuePool)
    finally:
        await engine.dispose()


async def test_a_connection_handed_to_a_waiter_that_gave_up_is_kept_even_when_the_queue_filled_meanwhile() -> None:
    queue = HandOffQueue(maxsize=1)
    waiter = asyncio.create_task(queue.get())
    await settle()
    queue.put_nowait("handed")  # to the waiter, which is cancelled before it runs again ...
    waiter.cancel()
    queue.put_nowait("returned")  # ... while another connection comes back and fills the queue
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert [queue.get_nowait(), queue.get_nowait()] == ["returned", "handed"]  # neither lost
