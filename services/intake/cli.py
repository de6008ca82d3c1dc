"""intake's command line: `python -m services.intake.cli outbox dead-letters | outbox replay`."""

from __future__ import annotations

import argparse
import sys

from services.intake.config import settings
from services.intake.models import outbox
from shared import outbox_admin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.intake.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    outbox_admin.add_commands(sub)
    args = parser.parse_args(argv)
    return outbox_admin.run(args, outbox, settings)


if __name__ == "__main__":
    sys.exit(main())
