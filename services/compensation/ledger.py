"""The double-entry ledger: every movement of money is one balanced transaction.

Accounts hold signed balances; each transaction's entries sum to zero. Accounts of the platform's
own money (funds, deposits, payables, clearing, receivables) may never go negative; `external:*`
(the world outside: the budget, merchants, consumers) and `advanced:*` (the contra of receivables)
may. The sum of every entry is always zero: `check()` proves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation.models import LedgerAccount, LedgerEntry, LedgerTransaction
from shared.clock import Clock
from shared.contracts.compensation import LedgerCheck
from shared.errors import Conflict
from shared.ids import new_id

MAY_GO_NEGATIVE = frozenset({"external", "advanced"})


class InsufficientBalance(Conflict):
    code, title = "insufficient_balance", "Insufficient balance"


def fund(region_code: str) -> str:
    return f"fund:{region_code}"


def deposit(merchant_id: str) -> str:
    return f"deposit:{merchant_id}"


def receivable(merchant_id: str) -> str:
    return f"receivable:{merchant_id}"


def payable(consumer_id: str) -> str:
    return f"payable:{consumer_id}"


def clearing(channel: str) -> str:
    return f"clearing:{channel}"


def advanced(region_code: str) -> str:
    return f"advanced:{region_code}"


def external(name: str) -> str:
    return f"external:{name}"


@dataclass
class Ledger:
    session: AsyncSession
    clock: Clock

    async def balance(self, account_id: str) -> int:
        if account_id.split(":", 1)[0] in MAY_GO_NEGATIVE:  # no cached balance: the sum of its entries
            value = await self.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
                                              .where(LedgerEntry.account_id == account_id))
        else:
            value = await self.session.scalar(select(LedgerAccount.balance_fen).where(LedgerAccount.id == account_id))
        return int(value or 0)

    async def _ensure(self, account_ids: set[str]) -> None:
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        now = self.clock.now()
        rows = [{"id": a, "kind": a.split(":", 1)[0], "owner": a.split(":", 1)[1], "balance_fen": 0, "created_at": now}
                for a in sorted(account_ids)]
        await self.session.execute(insert(LedgerAccount).values(rows).on_conflict_do_nothing(index_elements=["id"]))

    async def _move(self, account_id: str, amount: int) -> bool:
        """Move one cached balance atomically; False when the account is missing or would go below zero."""
        statement = (update(LedgerAccount)
                     .where(LedgerAccount.id == account_id, LedgerAccount.balance_fen + amount >= 0)
                     .values(balance_fen=LedgerAccount.balance_fen + amount))
        return (await self.session.execute(statement)).rowcount == 1

    async def post(self, kind: str, reference: str, entries: list[tuple[str, int]], *,
                   region_code: str | None = None, memo: str | None = None) -> str:
        """Write one balanced transaction; refuse it whole if an account would go below zero.

        Guarded accounts (funds, deposits, payables, clearing, receivables) keep a cached balance moved
        by one atomic `UPDATE ... SET balance = balance + :amount WHERE balance + :amount >= 0`: no
        read-modify-write, so concurrent postings neither lose an update nor overdraw, on SQLite as on
        PostgreSQL. `external:*` and `advanced:*` may go negative and keep no cached balance, so the
        postings of many payouts do not queue on their rows.
        """
        if sum(amount for _, amount in entries) != 0:
            raise ValueError(f"unbalanced ledger transaction {kind}: {entries}")
        if any(amount == 0 for _, amount in entries):
            raise ValueError("ledger entries move a non-zero amount")
        accounts_ = {a for a, _ in entries}
        guarded = sorted((a, amount) for a, amount in entries if a.split(":", 1)[0] not in MAY_GO_NEGATIVE)
        unguarded = accounts_ - {a for a, _ in guarded}
        if unguarded:
            await self._ensure(unguarded)
        # A fixed order, so two transactions over the same accounts never deadlock.
        for account_id, amount in guarded:
            if not await self._move(account_id, amount):
                await self._ensure({account_id})  # a new account starts at zero
                if not await self._move(account_id, amount):
                    held = await self.balance(account_id)
                    raise InsufficientBalance(
                        f"{account_id} holds {held} fen; {-amount} fen cannot be taken from it.", account=account_id)
        transaction_id = new_id("ltx")
        self.session.add(LedgerTransaction(id=transaction_id, kind=kind, reference=reference,
                                           region_code=region_code, memo=memo, created_at=self.clock.now()))
        await self.session.flush()  # the transaction row before its entries (no ORM relationship orders them)
        self.session.add_all(LedgerEntry(transaction_id=transaction_id, account_id=a, amount_fen=amount)
                             for a, amount in entries)
        await self.session.flush()
        return transaction_id

    async def check(self) -> LedgerCheck:
        """Does every transaction balance, does everything sum to zero, do cached balances match?"""
        unbalanced = (await self.session.execute(
            select(func.count()).select_from(
                select(LedgerEntry.transaction_id).group_by(LedgerEntry.transaction_id)
                .having(func.sum(LedgerEntry.amount_fen) != 0).subquery()))).scalar_one()
        transactions = (await self.session.execute(select(func.count(LedgerTransaction.id)))).scalar_one()
        total = (await self.session.execute(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)))).scalar_one()
        sums = dict((await self.session.execute(
            select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_fen)).group_by(LedgerEntry.account_id))).all())
        accounts = (await self.session.scalars(select(LedgerAccount))).all()
        negative = [a.id for a in accounts if a.kind not in MAY_GO_NEGATIVE and a.balance_fen < 0]
        mismatched = [a.id for a in accounts
                      if a.kind not in MAY_GO_NEGATIVE and int(sums.get(a.id, 0)) != a.balance_fen]
        return LedgerCheck(transactions=transactions, unbalanced_transactions=unbalanced, total_fen=int(total),
                           negative_accounts=negative, cached_balance_mismatches=mismatched,
                           ok=not unbalanced and total == 0 and not negative and not mismatched)
