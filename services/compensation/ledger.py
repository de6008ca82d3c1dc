"""The double-entry ledger: every movement of money is one balanced transaction.

Accounts hold signed balances; each transaction's entries sum to zero. Accounts of the platform's
own money (funds, deposits, payables, clearing, receivables) may never go negative; `external:*`
(the world outside: the budget, merchants, consumers) and `advanced:*` (the contra of receivables)
may. The sum of every entry is always zero: `check()` proves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.compensation.errors import InsufficientBalance
from services.compensation.models import LedgerAccount, LedgerEntry, LedgerTransaction
from shared.clock import Clock
from shared.contracts.compensation import LedgerCheck
from shared.db import rows_affected, table_of
from shared.ids import new_id

MAY_GO_NEGATIVE = frozenset({"external", "advanced"})


def fund(region_code: str) -> str:
    return f"fund:{region_code}"


def deposit(merchant_id: str) -> str:
    return f"deposit:{merchant_id}"


def receivable(merchant_id: str) -> str:
    return f"receivable:{merchant_id}"


def payable(consumer_id: str) -> str:
    return f"payable:{consumer_id}"


def clearing(provider: str) -> str:
    return f"clearing:{provider}"


def advanced(region_code: str) -> str:
    return f"advanced:{region_code}"


def external(name: str) -> str:
    return f"external:{name}"


@dataclass
class Ledger:
    """Posts balanced transactions. Deferred, it keeps them until `flush()` writes them all at once:
    one insert of the transactions, one of the entries, and one guarded update per account for the
    net of its movements, so a batch of payouts locks each hot row (a fund, a clearing account) once.
    """

    session: AsyncSession
    clock: Clock
    deferred: bool = False
    _pending: list[tuple[LedgerTransaction, list[tuple[str, int]]]] = field(default_factory=list)
    _deltas: dict[str, int] = field(default_factory=dict)
    _read: dict[str, int] = field(default_factory=dict)

    async def balance(self, account_id: str) -> int:
        """The balance, counting what this ledger has posted but not yet flushed.

        Deferred, a balance is read once per batch: the guarded update at `flush()` still refuses
        an overdraft if another writer took the money meanwhile.
        """
        if self.deferred and account_id in self._read:
            return self._read[account_id] + self._deltas.get(account_id, 0)
        if account_id.split(":", 1)[0] in MAY_GO_NEGATIVE:  # no cached balance: the sum of its entries
            value = await self.session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(LedgerEntry.account_id == account_id)
            )
        else:
            value = await self.session.scalar(select(LedgerAccount.balance_fen).where(LedgerAccount.id == account_id))
        if self.deferred:
            self._read[account_id] = int(value or 0)
        return int(value or 0) + self._deltas.get(account_id, 0)

    async def _ensure(self, account_ids: set[str]) -> None:
        dialect = self.session.get_bind().dialect.name
        upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        now = self.clock.now()
        rows = [
            {"id": a, "kind": a.split(":", 1)[0], "owner": a.split(":", 1)[1], "balance_fen": 0, "created_at": now}
            for a in sorted(account_ids)
        ]
        await self.session.execute(upsert(LedgerAccount).values(rows).on_conflict_do_nothing(index_elements=["id"]))

    async def _move(self, moves: dict[str, int]) -> None:
        """Move cached balances by their nets in one guarded statement; refuse all if one would go below zero.

        The rows are locked in id order first (PostgreSQL), so two batches touching the same hot rows
        wait for each other instead of deadlocking.
        """
        table = table_of(LedgerAccount)
        ids = sorted(moves)
        if self.session.get_bind().dialect.name == "postgresql" and len(ids) > 1:
            await self.session.execute(
                select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update()
            )
        new_balance = table.c.balance_fen + case(moves, value=table.c.id, else_=0)
        moved = await rows_affected(
            self.session, update(table).where(table.c.id.in_(ids), new_balance >= 0).values(balance_fen=new_balance)
        )
        if moved == len(ids):
            return
        held = dict(
            (await self.session.execute(select(table.c.id, table.c.balance_fen).where(table.c.id.in_(ids)))).all()
        )
        short = next(a for a in ids if held[a] + moves[a] < 0)
        raise InsufficientBalance(
            f"{short} holds {held[short]} fen; {-moves[short]} fen cannot be taken from it.", account=short
        )

    async def post(
        self,
        kind: str,
        reference: str,
        entries: list[tuple[str, int]],
        *,
        region_code: str | None = None,
        memo: str | None = None,
    ) -> str:
        """Write one balanced transaction; refuse it whole if an account would go below zero.

        Guarded accounts (funds, deposits, payables, clearing, receivables) keep a cached balance moved
        by one atomic `UPDATE ... SET balance = balance + :amount WHERE balance + :amount >= 0`: no
        read-modify-write, so concurrent postings neither lose an update nor overdraw, on SQLite as on
        PostgreSQL. `external:*` and `advanced:*` may go negative and keep no cached balance.
        """
        if sum(amount for _, amount in entries) != 0:
            raise ValueError(f"unbalanced ledger transaction {kind}: {entries}")
        if any(amount == 0 for _, amount in entries):
            raise ValueError("ledger entries move a non-zero amount")
        transaction = LedgerTransaction(
            id=new_id("ltx"),
            kind=kind,
            reference=reference,
            region_code=region_code,
            memo=memo,
            created_at=self.clock.now(),
        )
        self._pending.append((transaction, entries))
        for account_id, amount in entries:
            self._deltas[account_id] = self._deltas.get(account_id, 0) + amount
        if not self.deferred:
            await self.flush()
        return transaction.id

    async def flush(self) -> None:
        """Write what was posted: net balance moves (in a fixed order: no deadlocks), then the rows."""
        if not self._pending:
            return
        pending, deltas = self._pending, self._deltas
        self._pending, self._deltas, self._read = [], {}, {}
        await self._ensure(set(deltas))  # every account an entry names exists (new ones start at zero)
        moves = {a: amount for a, amount in deltas.items() if amount != 0 and a.split(":", 1)[0] not in MAY_GO_NEGATIVE}
        if moves:
            await self._move(moves)
        self.session.add_all(transaction for transaction, _ in pending)
        await self.session.flush()  # the transaction rows before their entries (no ORM relationship orders them)
        await self.session.execute(
            insert(LedgerEntry),
            [
                {"transaction_id": transaction.id, "account_id": a, "amount_fen": amount}
                for transaction, entries in pending
                for a, amount in entries
            ],
        )

    async def check(self) -> LedgerCheck:
        """Does every transaction balance, does everything sum to zero, do cached balances match?"""
        unbalanced = (
            await self.session.execute(
                select(func.count()).select_from(
                    select(LedgerEntry.transaction_id)
                    .group_by(LedgerEntry.transaction_id)
                    .having(func.sum(LedgerEntry.amount_fen) != 0)
                    .subquery()
                )
            )
        ).scalar_one()
        transactions = (await self.session.execute(select(func.count(LedgerTransaction.id)))).scalar_one()
        total = (await self.session.execute(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)))).scalar_one()
        sums = dict(
            (
                await self.session.execute(
                    select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_fen)).group_by(LedgerEntry.account_id)
                )
            ).all()
        )
        accounts = (await self.session.scalars(select(LedgerAccount))).all()
        negative = [a.id for a in accounts if a.kind not in MAY_GO_NEGATIVE and a.balance_fen < 0]
        mismatched = [
            a.id for a in accounts if a.kind not in MAY_GO_NEGATIVE and int(sums.get(a.id, 0)) != a.balance_fen
        ]
        return LedgerCheck(
            transactions=transactions,
            unbalanced_transactions=unbalanced,
            total_fen=int(total),
            negative_accounts=negative,
            cached_balance_mismatches=mismatched,
            ok=not unbalanced and total == 0 and not negative and not mismatched,
        )
