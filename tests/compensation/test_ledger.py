"""The ledger's guard: a posting that would overdraw an account is refused whole, deferred or not."""

from __future__ import annotations

import pytest

from services.compensation import ledger as accounts
from services.compensation.errors import InsufficientBalance
from services.compensation.ledger import Ledger
from tests.support import Stack

FUND, DEPOSIT = accounts.fund("460200"), accounts.deposit("mer_LEDGERTEST")


async def balances(stack: Stack, *ids: str) -> list[int]:
    app = stack.apps["compensation"]
    async with app.state.sessionmaker() as session:
        ledger = Ledger(session, app.state.clock)
        return [await ledger.balance(a) for a in ids]


async def top_up(stack: Stack) -> None:
    app = stack.apps["compensation"]
    async with app.state.sessionmaker() as session:
        ledger = Ledger(session, app.state.clock)
        await ledger.post("fund_top_up", "t", [(accounts.external("budget"), -1_000), (FUND, 1_000)])
        await ledger.post("deposit_top_up", "t", [(accounts.external("merchants"), -300), (DEPOSIT, 300)])
        await session.commit()


async def test_an_overdraft_is_refused_and_names_the_account(stack: Stack) -> None:
    await top_up(stack)
    app = stack.apps["compensation"]
    async with app.state.sessionmaker() as session:
        ledger = Ledger(session, app.state.clock)
        with pytest.raises(InsufficientBalance) as refused:
            await ledger.post("payout", "p", [(FUND, -1_001), (accounts.external("consumers"), 1_001)])
        assert refused.value.code == "insufficient_balance"
        assert "fund:460200 holds 1000 fen; 1001 fen cannot be taken" in refused.value.detail
        await session.rollback()
    assert await balances(stack, FUND, DEPOSIT) == [1_000, 300]


async def test_a_deferred_batch_moves_each_account_by_its_net_or_not_at_all(stack: Stack) -> None:
    await top_up(stack)
    app = stack.apps["compensation"]
    async with app.state.sessionmaker() as session:
        ledger = Ledger(session, app.state.clock, deferred=True)
        # The deposit goes to 0 and back up within the batch: only the net (+50) is checked and moved.
        await ledger.post("draw", "a", [(DEPOSIT, -300), (FUND, 300)])
        await ledger.post("top_up", "b", [(accounts.external("merchants"), -350), (DEPOSIT, 350)])
        assert await ledger.balance(DEPOSIT) == 350
        await ledger.flush()
        await session.commit()
    assert await balances(stack, FUND, DEPOSIT) == [1_300, 350]

    async with app.state.sessionmaker() as session:
        ledger = Ledger(session, app.state.clock, deferred=True)
        await ledger.post("pay", "c", [(FUND, -1_300), (accounts.external("consumers"), 1_300)])
        await ledger.post("draw", "d", [(DEPOSIT, -351), (accounts.external("merchants"), 351)])
        with pytest.raises(InsufficientBalance) as refused:
            await ledger.flush()
        assert refused.value.detail.startswith("deposit:mer_LEDGERTEST holds 350 fen")
        await session.rollback()
    assert await balances(stack, FUND, DEPOSIT) == [1_300, 350]  # the fund's valid move was not made either
    async with app.state.sessionmaker() as session:
        assert (await Ledger(session, app.state.clock).check()).ok
