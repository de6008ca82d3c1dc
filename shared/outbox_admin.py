"""The operator's commands on a service's outbox, for every service's CLI:

    python -m services.<service>.cli outbox dead-letters            # what was given up, oldest first
    python -m services.<service>.cli outbox replay [--event-id E] [--subscriber S]

Replay after the subscriber is fixed: the events go out again in their order (shared/outbox.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from sqlalchemy import Table

from shared.clock import Clock, system_clock
from shared.db import create_engine, create_sessionmaker
from shared.outbox import dead_letters, replay_dead_letters
from shared.settings import ServiceSettings


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # add_subparsers()'s type
    outbox = sub.add_parser("outbox", help="the outbox's dead letters: list them, replay them")
    commands = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = commands.add_parser("dead-letters", help="events a subscriber refused, oldest first (JSON lines)")
    listing.add_argument("--limit", type=int, default=100)
    replay = commands.add_parser("replay", help="send dead letters again, in their order")
    replay.add_argument("--event-id", help="only this event")
    replay.add_argument("--subscriber", help="only to this subscriber")


def run(args: argparse.Namespace, table: Table, settings: ServiceSettings, clock: Clock = system_clock) -> int:
    return asyncio.run(_run(args, table, settings, clock))


async def _run(args: argparse.Namespace, table: Table, settings: ServiceSettings, clock: Clock) -> int:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            if args.outbox_command == "dead-letters":
                for row in await dead_letters(session, table, args.limit):
                    print(json.dumps(row, default=str, ensure_ascii=False))
                return 0
            count = await replay_dead_letters(session, table, clock, event_id=args.event_id, subscriber=args.subscriber)
            await session.commit()
            print(f"{count} dead letters back in the queue")
            return 0
    finally:
        await engine.dispose()
