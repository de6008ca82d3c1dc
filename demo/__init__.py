"""Demo data for `make run`: a few settled merchants in Sanya, Haikou and Kunming's Panlong district, and staff
accounts. Hainan stays the default region (`default_region`), and Panlong's settings (units, named sources) are
in intake's regions.json.

Outside `services/` on purpose: no service imports it. Each service's `seed-demo FILE` command reads the file it is
given, and `python -m demo.devstack` (`make run`) passes it DEMO_FILE."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEMO_FILE = Path(__file__).with_name("demo.json")


def demo_records() -> dict[str, Any]:
    """What the demo holds (the staff list that `make run` prints), without seeding anything."""
    records: dict[str, Any] = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    return records
