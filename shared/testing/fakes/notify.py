"""Sending a fake provider's notifications: in the background, optionally twice, logged for tests."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

log = logging.getLogger("fakes.notify")


def _client(app: Any) -> httpx.AsyncClient:
    """One client per fake and event loop: building one per notification costs an SSL context each time."""
    loop = asyncio.get_running_loop()
    client = getattr(app.state, "notify_client", None)
    if client is None or getattr(app.state, "notify_loop", None) is not loop:
        client = httpx.AsyncClient(timeout=5.0)
        app.state.notify_client, app.state.notify_loop = client, loop
    return client


def send_later(
    app: Any, url: str, *, content: bytes, headers: dict[str, str], times: int = 1, delay: float = 0.05
) -> None:
    """POST a notification `times` times after `delay` seconds; each answer is kept in app.state.notifications."""

    async def send() -> None:
        await asyncio.sleep(delay)
        client = _client(app)
        for _ in range(times):
            status: int | str
            try:
                response = await client.post(url, content=content, headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                status = f"error: {type(exc).__name__}"
            app.state.notifications.append({"url": url, "status": status})

    task = asyncio.get_running_loop().create_task(send())
    app.state.background.add(task)
    task.add_done_callback(app.state.background.discard)
