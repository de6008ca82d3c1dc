"""Demo data for `make run`: a few settled merchants in Sanya, Haikou and Kunming's Panlong district, and staff
accounts. Hainan stays the default region; Panlong's settings (units, named sources) are in intake's regions.json."""

from __future__ import annotations

import json
from pathlib import Path

from shared.settings import ServiceSettings

DEMO_FILE = Path(__file__).with_name("demo.json")


def demo_data(settings: ServiceSettings) -> dict:
    """The demo records, for a service in development only: the demo staff's passwords are published in the
    README, so seeding them anywhere else would open a real platform to anyone."""
    if settings.environment != "development":
        raise SystemExit(
            f"seed-demo refused: this service runs as {settings.environment!r}, and demo data is for development only"
        )
    return demo_records()


def demo_records() -> dict:
    """What the demo holds (the staff list that `make run` prints), without seeding anything."""
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))
