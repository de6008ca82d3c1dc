"""What the gateway does not pass on: the services' internal routes (`/internal/...`: event deliveries,
payees, notification outcomes) and their `/metrics` and health are not reachable through it. Only
`/v1/...` paths of the route table are proxied; the gateway's own `/internal/...` asks for a service's
token, which no user holds. (Paths with dot-segments or encoded slashes are another test's.)"""

from __future__ import annotations

import re

import httpx

from shared.auth import INTERNAL_TOKEN_HEADER
from tests.e2e.conftest import System

SERVICES = ("intake", "compensation", "credit")
# What a caller outside might try, as the gateway would see it: none of these may reach a service.
PROBES = (
    ("POST", "/v1/internal/events"),
    ("POST", "/v1/internal/event-batches"),
    ("POST", "/v1/internal/payees"),
    ("POST", "/v1/internal/notification-outcomes"),
    ("GET", "/v1/metrics"),
    ("GET", "/v1/health/ready"),
    ("POST", "/v1/internal/callbacks/wechat"),
    ("GET", "/v1/openapi.json"),
)
GATEWAY_OWN = (("POST", "/internal/events"), ("POST", "/internal/event-batches"), ("POST", "/internal/payees"))
REQUESTS = re.compile(r"^http_requests_total\{(.*)\} ([0-9.e+]+)$", re.MULTILINE)


def served(url: str) -> dict[str, float]:
    """A service's request counters, by labels: what it has answered so far."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {labels: float(value) for labels, value in REQUESTS.findall(text)}


def test_internal_routes_and_metrics_of_the_services_are_not_reached_through_the_gateway(system: System) -> None:
    urls = {s: getattr(system.settings["gateway"], f"{s}_url") for s in SERVICES}
    with httpx.Client(base_url=system.url, timeout=10) as gw:
        token = gw.post("/v1/auth/staff/login", json={"username": "admin", "password": "admin-pass-e2e"})
        admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
        before = {s: served(u) for s, u in urls.items()}
        for method, path in PROBES:
            for headers in ({}, admin, {**admin, INTERNAL_TOKEN_HEADER: "forged"}):
                r = gw.request(method, path, headers=headers, json={"events": []})
                assert r.status_code == 404 and r.json()["code"] == "route_not_found", (path, r.status_code, r.text)
        for method, path in GATEWAY_OWN:  # the gateway's own internal routes: a user's token is no service's
            r = gw.request(method, path, headers=admin, json={"events": [], "accounts": []})
            assert r.status_code == 401 and r.json()["code"] == "internal_token_missing", (path, r.text)
        metrics = gw.get("/metrics")
        assert "deadlines" not in metrics.text and "payouts{" not in metrics.text, "the gateway's own, no service's"
    after = {s: served(u) for s, u in urls.items()}
    for service in SERVICES:
        reached = {
            labels: n - before[service].get(labels, 0)
            for labels, n in after[service].items()
            if n != before[service].get(labels, 0)
        }
        assert not reached, f"{service} answered: {reached}"
    # The measure works: a public path is proxied, and intake counts it.
    assert httpx.get(f"{system.url}/v1/regions", timeout=10).status_code == 200
    assert served(urls["intake"]) != after["intake"]
