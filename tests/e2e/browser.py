"""What every browser test needs: Debian's Chromium (never a downloaded browser), Playwright's sync API, and
the two widths people use, a desktop's and a phone's."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def playwright_or_skip() -> Any:
    """Playwright's sync API; the calling test module is skipped where Chromium is not installed (.ci/run
    installs it, so the tests run there)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed here (.ci/run installs it)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


@contextmanager
def chromium(sync_api: Any) -> Iterator[Any]:
    """A headless Chromium. Playwright's sync API holds this thread's event loop while it runs, so a module's
    browser starts after its system (whose setup runs coroutines) and stops before the system's teardown."""
    # The whole system and the browser share two cores here: an assertion waits as long as an action may.
    sync_api.expect.set_options(timeout=15_000)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=_ARGS)
        yield browser
        browser.close()
