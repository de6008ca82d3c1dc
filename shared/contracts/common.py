"""Enums, money and small value types used across the services."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from shared import channels
from shared.channels import own_sources

# Ids in paths: what our ids are made of, so nothing else reaches a query.
ID_PATTERN = r"^[0-9A-Za-z_]{1,40}$"
# Free text in a query string: anything but NUL (PostgreSQL refuses it in text).
TEXT_QUERY_PATTERN = r"^[^\x00]*$"


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Input(BaseModel):
    """Every request body: unknown fields refused, and no NUL character anywhere in its text."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: object) -> object:
        if _has_nul(data):
            raise refused("text_nul", "text must not contain NUL characters")
        return data


# Money is integer fen (CNY cents). Never a float.
Fen = Annotated[int, Field(ge=0, le=10_000_000_000, strict=True, examples=[4256500])]
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$"), Field(examples=["460200"])]
Phone = Annotated[str, StringConstraints(pattern=r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$"), Field(examples=["13812341234"])]


def refused(kind: str, english: str, **values: Any) -> PydanticCustomError:
    """A field refused by a check of our own: `kind` names the check (shared/i18n.py words it in Chinese, with
    the same `values`), `english` is the English message, a template over them."""
    return PydanticCustomError(kind, english, values)


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    # pydantic alone takes a number (or "4.6e-102") as seconds since 1970 and makes a day of it.
    if not isinstance(value, date) and not (isinstance(value, str) and _DAY.fullmatch(value)):
        raise refused("day_format", "a day is written YYYY-MM-DD")
    return value


# A calendar day as the API takes it: RFC 3339's full-date, nothing else.
Day = Annotated[date, BeforeValidator(_iso_day), Field(examples=["2021-01-08"])]


def yuan(fen: int) -> str:
    """42565.00 for 4256500 fen: how reports and providers write amounts."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def fen_from_yuan(text: str) -> int:
    """4256500 for "42565.00": providers write yuan with two decimals; no floats on the way."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"more than two decimals: {text!r}")
    return int(fen)


class _Channels(type):
    """`for c in Channel`, `len(Channel)`: every channel known, as for an enum."""

    def __iter__(cls) -> Iterator[Channel]:
        return iter([str.__new__(Channel, name) for name in channels.names()])

    def __len__(cls) -> int:
        return len(channels.names())


class Channel(str, metaclass=_Channels):
    """A complaint channel's name (`hotline_12345`): one of those the channel modules declare (`shared/channels/`),
    a plain string on the wire. The platform's own sources that code refers to are constants here; a
    government channel is known by its module alone."""

    __slots__ = ()

    wechat_miniprogram: ClassVar[Channel]
    alipay_miniprogram: ClassVar[Channel]
    wechat_official_account: ClassVar[Channel]
    partner: ClassVar[Channel]
    douyin: ClassVar[Channel]
    kuaishou: ClassVar[Channel]
    walk_in: ClassVar[Channel]
    public_opinion: ClassVar[Channel]

    def __new__(cls, value: object) -> Channel:
        if isinstance(value, Channel):
            return value
        if not isinstance(value, str) or channels.info(value) is None:
            raise ValueError(f"{value!r} is not a channel: one of {', '.join(channels.names())}")
        return super().__new__(cls, value)

    @property
    def value(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Channel({str.__repr__(self)})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls._check,
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str.__str__, when_used="json"),
            ref="Channel",
        )

    @classmethod
    def _check(cls, value: str) -> Channel:
        if channels.info(value) is None:
            raise PydanticCustomError(
                "enum", "Input should be one of: {expected}", {"expected": ", ".join(channels.names())}
            )
        return cls(value)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "enum": channels.names(), "title": "Channel"}


for _own in own_sources.INFOS:  # Channel.walk_in and the like: the sources the services' code refers to
    setattr(Channel, _own.name, str.__new__(Channel, _own.name))


class Industry(StrEnum):
    """吃住行游购娱: food, lodging, transport, sightseeing, shopping, entertainment."""

    food = "food"
    lodging = "lodging"
    transport = "transport"
    sightseeing = "sightseeing"
    shopping = "shopping"
    entertainment = "entertainment"


INDUSTRY_LABELS_ZH = {
    Industry.food: "吃",
    Industry.lodging: "住",
    Industry.transport: "行",
    Industry.sightseeing: "游",
    Industry.shopping: "购",
    Industry.entertainment: "娱",
}

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a list: pass `next_cursor` back as `cursor` for the next one; null at the end."""

    items: list[T]
    next_cursor: str | None = None
