"""The public contract, checked against the running system: schemathesis fuzzes every operation of the
gateway's merged OpenAPI document, over real HTTP, as each kind of caller (a tourist logged in through
the WeChat fake, an official, merchant staff, an admin, a signed partner, nobody). No input may cause a
5xx, and every answer must be one the document names: its status, its content type, its schema."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from shared.clock import ManualClock
from shared.testing.fakes.server import ServerThread, free_port
from tests.conftest import Providers, gateway_overrides
from tests.e2e.conftest import _add_staff, _wipe_all
from tests.support import FACTORIES, SERVICES, START, Databases, service_settings
from tools.partner_sign import signature

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation and caller, of valid requests and of invalid ones (a wrong type, a missing field,
# a control character in a path): the run stays well under two minutes.
EXAMPLES = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 2}
STAFF = {"official": "sanya", "merchant_staff": "hotel", "admin": "admin"}


@pytest.fixture(scope="module")
def gateway(databases: Databases, providers: Providers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The four services on loopback ports, as tests/e2e/conftest.py starts them, with the gateway's rate
    limits off (a fuzzer is one client sending thousands of requests a minute)."""
    tmp: Path = tmp_path_factory.mktemp("contract")
    clock = ManualClock(START)
    ports = {name: free_port() for name in SERVICES}
    urls = {f"{name}_url": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    extra = {
        "gateway": {
            **gateway_overrides(providers),
            "rate_limit_per_identity": 0,
            "rate_limit_per_ip": 0,
            "rate_limit_logins_per_ip": 100_000,
        }
    }
    built = {name: service_settings(name, databases, tmp, **urls, **extra.get(name, {})) for name in SERVICES}
    with ExitStack() as servers:
        for name in ("credit", "compensation", "intake", "gateway"):
            servers.enter_context(ServerThread(FACTORIES[name](built[name], clock=clock), port=ports[name]))
        asyncio.run(_add_staff(built["gateway"]))
        yield urls["gateway_url"]
    asyncio.run(_wipe_all(built))


@pytest.fixture(scope="module")
def callers(gateway: str) -> dict[str, Callable[[schemathesis.Case], requests.Response]]:
    """How each kind of caller sends a generated case: with its bearer token, signed, or bare."""
    with httpx.Client(base_url=gateway, timeout=10) as gw:
        tokens = {"consumer": gw.post("/v1/auth/wechat/login", json={"code": "demo-fuzzer"}).json()["access_token"]}
        for role, username in STAFF.items():
            login = gw.post("/v1/auth/staff/login", json={"username": username, "password": f"{username}-pass-e2e"})
            tokens[role] = login.json()["access_token"]
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        key = gw.post("/v1/partners", headers=admin, json={"name": "模糊测试旅行平台"}).json()["key"]
    session = requests.Session()

    def with_token(token: str | None) -> Callable[[schemathesis.Case], requests.Response]:
        def send(case: schemathesis.Case) -> requests.Response:
            return case.call(
                base_url=gateway, session=session, headers={"Authorization": f"Bearer {token}"} if token else None
            )

        return send

    def signed(case: schemathesis.Case) -> requests.Response:
        kwargs = case.as_transport_kwargs(base_url=gateway)
        fields = {
            k: kwargs[k]
            for k in ("method", "url", "headers", "params", "json", "data", "files", "cookies")
            if k in kwargs
        }
        prepared = session.prepare_request(requests.Request(**fields))
        body = prepared.body or b""
        body = body.encode() if isinstance(body, str) else body
        url = urlsplit(prepared.url)
        stamp, nonce = str(int(time.time())), f"n{time.perf_counter_ns()}"
        prepared.headers.update(
            {
                "X-Partner-Key": key["key_id"],
                "X-Partner-Timestamp": stamp,
                "X-Partner-Nonce": nonce,
                "X-Partner-Signature": signature(
                    key["secret"], prepared.method or "GET", unquote(url.path), url.query, stamp, nonce, body
                ),
            }
        )
        return session.send(prepared, timeout=10)

    return {
        **{role: with_token(token) for role, token in tokens.items()},
        "partner": signed,
        "anonymous": with_token(None),
    }


def modes(operation: Any) -> tuple[GenerationMode, ...]:
    """Invalid requests exist only for an operation that takes something (a parameter, a body)."""
    takes = operation.definition.raw.get("parameters") or "requestBody" in operation.definition.raw
    return tuple(EXAMPLES) if takes else (GenerationMode.POSITIVE,)


def _last(operation: Any) -> bool:
    return operation.path == "/v1/auth/logout"  # it ends the caller's session: after everything else


@pytest.mark.parametrize("caller", ["consumer", "official", "merchant_staff", "admin", "partner", "anonymous"])
def test_every_answer_of_the_public_api_is_one_its_document_names(
    gateway: str, callers: dict[str, Callable[[schemathesis.Case], requests.Response]], caller: str
) -> None:
    document = httpx.get(f"{gateway}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    send = callers[caller]
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_last)
    signed = [op for op in operations if any("partnerSignature" in r for r in op.definition.raw.get("security", []))]
    # A partner signs partner requests; a token goes to everything else (the partner API refuses it).
    mine = signed if caller == "partner" else operations
    problems: list[str] = []
    calls: dict[str, list[int]] = {}
    for operation, mode in ((op, mode) for op in mine for mode in EXAMPLES if mode in modes(op)):

        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            response = send(case)
            calls.setdefault(case.operation.label, []).append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except (Exception, FailureGroup) as exc:  # every operation's failure, reported together
            problems.append(f"{operation.label} as {caller} ({mode.value}): {exc}")
    assert not problems, "\n\n".join(problems)
    assert len(calls) == len(mine), set(op.label for op in mine) - set(calls)
    if caller != "anonymous":  # the callers are who they say: some answers are not refusals of the caller
        assert any(s < 400 for statuses in calls.values() for s in statuses), calls
    assert json.dumps(document).count("HTTPValidationError") == 0
