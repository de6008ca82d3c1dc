"""Fuzz each service's OpenAPI with schemathesis over real HTTP: no input may cause a 500, and every
answer must match the schema it claims."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from shared.auth import INTERNAL_TOKEN_HEADER, issue_internal_token
from shared.testing.fakes.server import ServerThread
from tests.conftest import ADMIN, consumer, official
from tests.support import FACTORIES, INTERNAL_SECRET, METADATA, Databases, service_settings, wipe

IDENTITIES = {"consumer": consumer(), "official": official(), "admin": ADMIN}


@pytest.fixture(scope="module")
def servers(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    import asyncio

    from shared.db import create_engine

    tmp: Path = tmp_path_factory.mktemp("fuzz")
    built = {name: service_settings(name, databases, tmp) for name in ("intake", "credit")}
    with (
        ServerThread(FACTORIES["intake"](built["intake"])) as intake,
        ServerThread(FACTORIES["credit"](built["credit"])) as credit,
    ):
        yield {"intake": intake.url, "credit": credit.url}

    async def clean() -> None:
        for name, settings_ in built.items():
            engine = create_engine(settings_)
            await wipe(engine, METADATA[name])
            await engine.dispose()

    asyncio.run(clean())


@pytest.mark.parametrize("role", ["consumer", "official", "admin"])
@pytest.mark.parametrize("service", ["intake", "credit"])
def test_no_input_breaks_the_service_or_its_schema(servers: dict[str, str], service: str, role: str) -> None:
    schema = schemathesis.openapi.from_url(f"{servers[service]}/openapi.json")
    identity = IDENTITIES[role]
    problems: list[str] = []
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy()

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=strategy)
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers={INTERNAL_TOKEN_HEADER: issue_internal_token(identity, INTERNAL_SECRET)})
            calls[case.path] = calls.get(case.path, 0) + 1
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them together
            problems.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not problems, "\n\n".join(problems)
    assert len(calls) >= (12 if service == "intake" else 3), calls  # every operation was exercised
    assert sum(calls.values()) >= 5 * len(calls), calls
