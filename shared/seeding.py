"""Demo records for a service's `seed-demo` command, read from the JSON file its caller names (`make run` passes
the repository's demo/demo.json); no service knows where the demo lives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.settings import ServiceSettings


def read_demo_file(path: Path, settings: ServiceSettings) -> dict[str, Any]:
    """The demo records, for a service in development only: the demo staff's passwords are published in the
    README, so seeding them anywhere else would open a real platform to anyone."""
    if settings.environment != "development":
        raise SystemExit(
            f"seed-demo refused: this service runs as {settings.environment!r}, and demo data is for development only"
        )
    records: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return records
