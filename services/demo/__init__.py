"""Demo data for `make run`: a few settled merchants in Sanya and Haikou, and staff accounts."""

from __future__ import annotations

import json
from pathlib import Path

DEMO_FILE = Path(__file__).with_name("demo.json")


def demo_data() -> dict:
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))
