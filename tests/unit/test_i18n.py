"""Errors speak the caller's language: Chinese unless Accept-Language prefers English, the same stable code in
both, values filled in either; and every code any service raises has its words in the catalogue."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

import services
import shared
from shared.errors import Problem, install_error_handlers
from shared.i18n import MESSAGES, negotiate

ROOT = Path(__file__).resolve().parents[2]
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "zh"),
        ("", "zh"),
        ("zh-CN", "zh"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("en;q=0.5, zh;q=0.8", "zh"),
        ("fr-FR, en;q=0.7", "en"),
        ("fr-FR, de", "zh"),
        ("en;q=0", "zh"),
        ("*", "zh"),
    ],
)
def test_the_language_is_chinese_unless_english_is_preferred(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def _sources() -> list[Path]:
    return sorted([*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")])


def _problem_classes() -> list[type[Problem]]:
    """Every Problem class the services and shared define (their modules imported)."""
    for package in (services, shared):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".testing" not in module.name and not module.name.endswith("cli"):
                importlib.import_module(module.name)
    found: list[type[Problem]] = []
    pending: list[type[Problem]] = [Problem]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith(("services.", "shared.")):
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _problem_codes() -> set[str]:
    """Every code a problem is raised with: each Problem class's, and each variant (`message=` literal)."""
    codes = {cls.code for cls in _problem_classes()}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "message" and isinstance(keyword.value, ast.Constant):
                        if isinstance(keyword.value.value, str) and re.fullmatch(r"[a-z_.]+", keyword.value.value):
                            codes.add(keyword.value.value)
    return codes


def test_every_code_raised_anywhere_has_chinese_and_english_words() -> None:
    codes = _problem_codes()
    assert len(codes) > 100
    missing = sorted(code for code in codes if code not in MESSAGES)
    assert missing == [], f"codes without words in shared/i18n.py: {missing}"
    for code, message in MESSAGES.items():
        assert CHINESE.search(message.zh) and (message.zh_detail is None or CHINESE.search(message.zh_detail)), code
        assert message.en and not CHINESE.search(message.en), code


def _class_codes(node: ast.ClassDef) -> list[str]:
    """The codes a class body sets: `code = "..."`, `code: str = "..."` or `status, code, title = 409, "...", "..."`."""
    codes = []
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign):
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id == "code" and value is not None:
                values = [value]
            elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                names = [getattr(element, "id", None) for element in target.elts]
                values = [value.elts[names.index("code")]] if "code" in names else []
            else:
                continue
            codes += [v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    return codes


def test_each_code_is_defined_once_in_the_tree() -> None:
    """One class per code: an answer two services give is defined in shared/errors.py and imported."""
    defined: dict[str, list[str]] = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for code in _class_codes(node):
                    defined.setdefault(code, []).append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert len(defined) > 100
    assert {"timestamp_in_future", "action_not_allowed", "merchant_not_found", "bad_period"} <= set(defined)
    twice = {code: places for code, places in defined.items() if len(places) > 1}
    assert twice == {}, f"codes defined more than once: {twice}"
    classes = {cls.code for cls in _problem_classes() if "code" in vars(cls)}
    assert classes <= set(defined), f"codes set other than as a class's string: {sorted(classes - set(defined))}"


def test_a_problem_is_raised_as_its_class_never_with_an_inline_code() -> None:
    """`raise Conflict("...", code="x")` is refused: each code is a class in the service's errors.py (or
    shared/errors.py), so it is defined once and an endpoint can document it with `problem_responses`."""
    names = {cls.__name__ for cls in _problem_classes()}
    assert {"Problem", "Conflict", "InvalidTransition", "ServiceUnavailable", "Unauthorized"} <= names
    inline = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            literal = [k for k in node.keywords if k.arg == "code" and isinstance(k.value, ast.Constant)]
            if callee in names and literal:
                inline.append(f"{path.relative_to(ROOT)}:{node.lineno} {callee}(code={literal[0].value.value!r})")
    assert inline == [], f"problems raised with an inline code: {inline}"


def test_every_check_of_our_own_is_worded_in_chinese_with_the_same_values() -> None:
    """A field refused by `refused(kind, english, **values)` reads in Chinese by its kind (never the English
    reason inside a Chinese sentence), naming no value the check does not give."""
    from string import Formatter

    from shared.i18n import FIELD_ERRORS_ZH

    kinds: dict[str, set[str]] = {}
    for path in Path(shared.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "refused" and node.args:
                kind = node.args[0]
                assert isinstance(kind, ast.Constant) and isinstance(kind.value, str), path
                kinds[kind.value] = {k.arg for k in node.keywords if k.arg}
    assert len(kinds) >= 8
    for kind, values in kinds.items():
        assert kind in FIELD_ERRORS_ZH and CHINESE.search(FIELD_ERRORS_ZH[kind]), kind
        named = {field for _, field, _, _ in Formatter().parse(FIELD_ERRORS_ZH[kind]) if field}
        assert named <= values, (kind, named - values)


class _Amount(BaseModel):
    amount_fen: int = Field(ge=0)


class _OffScale(Problem):
    status, code, title = 422, "unknown_region", "Unknown region"


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/regions/{code}")
    async def region(code: str) -> None:
        raise _OffScale(
            f"Region {code} is not served by this platform.", field="region_code", params={"region_code": code}
        )

    @app.get("/states/{state}")
    async def state(state: str) -> None:
        raise Problem(
            f"A complaint in state {state} does not allow this.", status=409, code="invalid_transition", state=state
        )

    @app.post("/amounts")
    async def amounts(body: _Amount) -> None:
        return None

    return app


async def test_a_problem_is_chinese_by_default_and_english_on_request_with_the_same_code() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(_app()), base_url="http://test") as client:
        zh = await client.get("/regions/999999")
        en = await client.get("/regions/999999", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert zh.status_code == en.status_code == 422
        assert zh.json()["code"] == en.json()["code"] == "unknown_region"
        assert zh.headers["content-language"] == "zh-CN" and en.headers["content-language"] == "en"
        assert zh.json()["title"] == "地区不在服务范围"
        assert zh.json()["detail"] == "本平台不受理地区 999999 的投诉。"  # the value interpolated
        assert en.json()["title"] == "Unknown region"
        assert en.json()["detail"] == "Region 999999 is not served by this platform."
        assert zh.json()["field"] == en.json()["field"] == "region_code"

        closed = (await client.get("/states/closed")).json()
        assert closed["code"] == "invalid_transition" and "“已结案”" in closed["detail"]  # the state in words

        refused = await client.post("/amounts", json={"amount_fen": -1})
        body = refused.json()
        assert refused.status_code == 422 and body["code"] == "validation_failed"
        assert body["title"] == "填写的内容有误" and "body.amount_fen" in body["detail"]
        assert body["errors"] == [{"field": "body.amount_fen", "message": "不能小于 0"}]
        english = (await client.post("/amounts", json={"amount_fen": -1}, headers={"Accept-Language": "en"})).json()
        assert english["code"] == "validation_failed" and english["title"] == "Invalid request"
        assert english["errors"][0]["message"] == "Input should be greater than or equal to 0"

        broken = await client.post("/amounts", content=b"{", headers={"content-type": "application/json"})
        assert broken.json()["code"] == "malformed_json" and CHINESE.search(broken.json()["detail"])
        missing = await client.get("/nowhere")
        assert missing.json()["code"] == "not_found" and missing.json()["title"] == "未找到"
        assert (await client.get("/nowhere", headers={"Accept-Language": "en"})).json()["title"] == "Not found"
