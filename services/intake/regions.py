"""Regions: the national catalogue (shared/divisions.py) and each region's settings, inherited.

The settings file (services/intake/data/regions.json) holds `defaults`, the platform's `default_region` (the
region pages open on: Hainan) and, per region code, what that region sets. A region's settings are the
defaults, then what its province sets, then its prefecture, then itself: any field a region does not set
comes from the nearest ancestor that does, nested objects (`sla`, `acceptance`) field by field. A new
per-region setting is one field of RegionSettings with its default, and inherits like the rest.

Lists add to the parent's, as a bureau works: a district keeps its city's and province's units, rules and
sources and adds its own before them.
- `units`: the region's own, then its parent's (then the grandparent's); the first is the default unit, so a
  district's own first unit, else its nearest ancestor's. A unit with an ancestor's id replaces it.
- `assignment_rules`: the region's own are tried first, then its parent's, and so on up; the first match
  wins. So a city's rule with `region` set (a scenic area's district) reaches that district.
- `sources`: the region names the sources it counts in its own order; its ancestors' other sources follow,
  nearest first. A source it names with an ancestor's channel and partner replaces that one (renamed, moved
  into the region's order); an ancestor's source cannot be dropped, since its complaints reach the region.

The acceptance rules' service-wide values are intake's settings (INTAKE_AUTO_ACCEPT,
INTAKE_COMPLAINT_WINDOW_DAYS, INTAKE_DUPLICATE_WINDOW_HOURS, INTAKE_MIN_DESCRIPTION_CHARS); a region overrides
them in its `acceptance`, and the file's `defaults` do not set them (one place for each value).

Only regions whose settings say `served` take complaints and returns (Hainan but Sansha, Kunming's Panlong
district, Chongqing's Wulong district, Hunan); reports and officials' scopes work for every code in the
catalogue, so a province's or a city's officials see the served regions under them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.intake.config import IntakeSettings
from services.intake.errors import UnknownRegion
from shared import channels
from shared.contracts.common import Channel, Industry
from shared.contracts.complaints import AcceptanceRulesOut, HandlingUnitOut, RegionOut, RegionSourceOut
from shared.contracts.identity import region_covers
from shared.divisions import Division, Divisions, divisions


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlaSettings(_Strict):
    accept_seconds: int = Field(180, gt=0, description="to accept (受理) a complaint after it is received")
    dispose_seconds: int = Field(1800, gt=0, description="to dispose of (处置) it after acceptance")
    settle_seconds: int = Field(172800, gt=0, description="to settle (办结) it after acceptance")


def _service_default(name: str) -> Any:
    return IntakeSettings.model_fields[name].default


class AcceptanceSettings(_Strict):
    """What decides whether a complaint is accepted; the defaults are intake's settings of the same names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auto_accept: bool = Field(
        _service_default("auto_accept"), description="accept and assign at once (else an official decides)"
    )
    complaint_window_days: int = Field(
        _service_default("complaint_window_days"), gt=0, description="complaints about older events are out of scope"
    )
    duplicate_window_hours: int = Field(
        _service_default("duplicate_window_hours"),
        gt=0,
        description="how far back the same account's repeat (or another account's look-alike) is looked for",
    )
    min_description_chars: int = Field(
        _service_default("min_description_chars"),
        ge=0,
        description="a shorter description (punctuation and spaces not counted) is insufficient information",
    )


SERVICE_DEFAULTS = AcceptanceSettings()  # intake's settings as they are when the environment sets none


def acceptance_of(settings: IntakeSettings) -> AcceptanceSettings:
    """The service-wide acceptance rules, from intake's settings: what a region inherits unless it overrides."""
    return AcceptanceSettings(**{name: getattr(settings, name) for name in AcceptanceSettings.model_fields})


class HandlingUnit(_Strict):
    """A named unit that handles complaints (处理单位): a bureau, a command center, a scenic area's committee."""

    id: str = Field(pattern=r"^[0-9a-z_-]{1,40}$", examples=["530103-wlj"])
    name: str = Field(examples=["区文化和旅游局"], description="as the region's own reports write it")
    full_name: str | None = Field(None, examples=["盘龙区文化和旅游局"], description="as others write it")
    kind: str = Field("bureau", examples=["culture_tourism_bureau", "command_center", "scenic_area", "market"])


class NamedSource(_Strict):
    """A platform complaints come through, as the region's reports name it: its channel kind and its name;
    for a partner platform, the partner (its id or display name)."""

    channel: Channel
    name: str = Field(examples=["智旅通投诉平台"])
    partner: str | None = Field(None, description="partner id or display name, for channel partner")


class AssignmentRule(_Strict):
    """Complaints matching every field given go to `unit`; the first matching rule wins."""

    unit: str = Field(description="a unit id of the region or of an ancestor")
    industry: Industry | None = None
    channel: Channel | None = None
    source: str | None = Field(None, description="the named source")
    region: str | None = Field(None, description="the complaint's region is this one or under it")


class RegionSettings(_Strict):
    """What a region sets; whatever it leaves out it inherits from its parent region (then the defaults)."""

    served: bool = Field(False, description="takes complaints and return requests")
    sla: SlaSettings = SlaSettings()
    acceptance: AcceptanceSettings = SERVICE_DEFAULTS
    units: list[HandlingUnit] = Field(
        default_factory=list, description="its own, then its parent's; the first is the default"
    )
    assignment_rules: list[AssignmentRule] = Field(
        default_factory=list, description="its own, tried before its parent's"
    )
    sources: list[NamedSource] = Field(
        default_factory=list, description="the named sources reports count: its own in its order, then its parent's"
    )

    @model_validator(mode="before")
    @classmethod
    def _auto_accept_moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "auto_accept" in data:
            raise ValueError('auto_accept is now in acceptance: write "acceptance": {"auto_accept": ...}')
        return data

    returns_window_days: int = Field(30, gt=0, description="no-reason returns within this many days of purchase")
    returns_platform: str = Field("退换货处置平台", description="the returns platform as reports name it")
    returns_unit: str | None = Field(None, description="the unit that handles return requests")
    notice_reply_hours: int = Field(24, gt=0, description="to report back on a public-opinion notice")
    compensation_after_closing_days: int = Field(
        30, ge=0, description="how long after closing a complaint an official may still request compensation"
    )


@dataclass(frozen=True)
class Sla:
    accept: timedelta
    dispose: timedelta
    settle: timedelta


@dataclass(frozen=True)
class Region:
    division: Division
    name_en: str
    settings: RegionSettings  # as inherited: lists hold the ancestors' entries after the region's own
    default: bool = False  # the platform's default region (pages open on it)

    @property
    def code(self) -> str:
        return self.division.code

    @property
    def name(self) -> str:
        return self.division.name

    @property
    def parent(self) -> str | None:
        return self.division.parent

    @property
    def served(self) -> bool:
        return self.settings.served

    @property
    def acceptance(self) -> AcceptanceSettings:
        return self.settings.acceptance

    @cached_property
    def known_units(self) -> dict[str, HandlingUnit]:
        """The region's and its ancestors' units, by id."""
        return {unit.id: unit for unit in self.settings.units}

    @cached_property
    def sla(self) -> Sla:
        s = self.settings.sla
        return Sla(
            timedelta(seconds=s.accept_seconds),
            timedelta(seconds=s.dispose_seconds),
            timedelta(seconds=s.settle_seconds),
        )

    @property
    def compensation_after_closing(self) -> timedelta:
        return timedelta(days=self.settings.compensation_after_closing_days)

    @property
    def default_unit(self) -> HandlingUnit | None:
        return self.settings.units[0] if self.settings.units else None

    @property
    def handling_unit(self) -> str:
        unit = self.default_unit
        return unit.name if unit else ""

    def unit(self, unit_id: str | None) -> HandlingUnit | None:
        return self.known_units.get(unit_id or "")

    def unit_named(self, name: str) -> HandlingUnit | None:
        """A unit of the region (or an ancestor) by its name or full name, the region's own first."""
        for unit in self.settings.units:
            if name in (unit.name, unit.full_name, unit.id):
                return unit
        return None

    def unit_for(
        self, *, industry: str | None, channel: str | None, source: str | None, region_code: str
    ) -> HandlingUnit | None:
        """The handling unit the rules choose for a complaint (industry x region x source; the region's own rules,
        then its ancestors'), else the default unit."""
        for rule in self.settings.assignment_rules:
            if (
                (rule.industry is None or rule.industry == industry)
                and (rule.channel is None or rule.channel == channel)
                and (rule.source is None or rule.source == source)
                and (rule.region is None or region_covers(rule.region, region_code))
                and rule.unit in self.known_units
            ):
                return self.known_units[rule.unit]
        return self.default_unit

    def source_name(self, channel: str, partner_id: str | None = None, partner_name: str | None = None) -> str:
        """The named source a complaint came through: the region's name for its channel (and partner), else the
        partner's display name, else the channel's label."""
        for source in self.settings.sources:
            if source.channel == channel and (source.partner is None or source.partner in (partner_id, partner_name)):
                return source.name
        if channel == Channel.partner and partner_name:
            return partner_name
        return channels.label_zh(channel)

    def out(self) -> RegionOut:
        return RegionOut(
            code=self.code,
            name=self.name,
            name_en=self.name_en,
            parent=self.parent,
            level=self.division.level,
            served=self.served,
            default=self.default,
            handling_unit=self.handling_unit,
            units=[HandlingUnitOut.model_validate(u.model_dump()) for u in self.settings.units],
            sources=[RegionSourceOut(channel=s.channel, name=s.name) for s in self.settings.sources],
        )

    def acceptance_out(self) -> AcceptanceRulesOut:
        return AcceptanceRulesOut.model_validate(self.acceptance.model_dump())


LISTS = ("units", "assignment_rules", "sources")  # add to the parent's (see the module's docstring)


def _source_key(source: dict[str, Any]) -> tuple[Any, Any]:
    return source.get("channel"), source.get("partner")


def _added(key: str, own: list[dict[str, Any]], inherited: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A region's own entries of a list setting, then those it inherits that it does not replace."""
    if key == "units":
        ids = {unit.get("id") for unit in own}
        return own + [unit for unit in inherited if unit.get("id") not in ids]
    if key == "sources":
        named = {_source_key(source) for source in own}
        return own + [source for source in inherited if _source_key(source) not in named]
    return own + inherited


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class RegionCatalogue:
    """Every division of the national catalogue, each with its settings resolved once, on first use."""

    def __init__(
        self,
        catalogue: Divisions,
        defaults: dict[str, Any],
        regions: dict[str, dict[str, Any]],
        *,
        acceptance: AcceptanceSettings = SERVICE_DEFAULTS,
        default_region: str | None = None,
    ) -> None:
        self._divisions = catalogue
        if "acceptance" in defaults:
            raise ValueError(
                "the service-wide acceptance rules are intake's settings (INTAKE_AUTO_ACCEPT, ...), not 'defaults'"
            )
        self._defaults = RegionSettings.model_validate(defaults).model_dump(exclude_unset=True)
        self._defaults["acceptance"] = acceptance.model_dump()
        self._default_region = default_region
        self._own = {code: dict(raw) for code, raw in regions.items()}
        self._names_en = {code: raw.pop("name_en") for code, raw in self._own.items() if "name_en" in raw}
        for code, raw in self._own.items():
            if code not in catalogue:
                raise ValueError(f"region settings name {code}, which is not in the national catalogue")
            RegionSettings.model_validate(raw)  # a typo in the file fails at start-up, not on first use
        if default_region is not None and default_region not in {r.code for r in self.listed()}:
            raise ValueError(f"the default region {default_region} is neither served nor above a served region")

    @cache  # noqa: B019 (one catalogue per settings file, kept for the process)
    def _region(self, code: str) -> Region | None:
        division = self._divisions.get(code)
        if division is None:
            return None
        chain = list(reversed(self._divisions.chain(code)))  # province first
        raw: dict[str, Any] = {}
        for own in (self._defaults, *(self._own.get(d.code, {}) for d in chain)):
            lists = {key: _added(key, own.get(key, []), raw.get(key, [])) for key in LISTS}
            raw = _merge(raw, {key: value for key, value in own.items() if key not in LISTS}) | lists
        return Region(
            division=division,
            name_en=self._names_en.get(code, division.name),
            settings=RegionSettings.model_validate(raw),
            default=code == self._default_region,
        )

    def get(self, code: str) -> Region:
        """Any region of the national catalogue (reports, scopes); 422 unknown_region for another code."""
        region = self._region(code)
        if region is None:
            raise UnknownRegion(
                f"{code} is not a region code of the national catalogue.",
                field="region_code",
                params={"region_code": code},
            )
        return region

    def served(self, code: str) -> Region:
        """A region that takes complaints and returns; 422 unknown_region for any other."""
        region = self._region(code)
        if region is None or not region.served:
            raise UnknownRegion(
                f"Region {code} is not served by this platform.", field="region_code", params={"region_code": code}
            )
        return region

    @cache  # noqa: B019
    def listed(self) -> list[Region]:
        """The served regions and the regions above them (a province, a city), by code."""
        served = self.served_codes()
        codes = {d.code for code in served for d in self._divisions.chain(code)}
        return [self.get(code) for code in sorted(codes)]

    @cache  # noqa: B019
    def served_codes(self) -> list[str]:
        """Every served code: those the file turns on, their sub-regions that do not turn themselves off."""
        candidates: set[str] = set()
        for code, raw in self._own.items():
            if raw.get("served"):
                stack = [code]
                while stack:
                    current = stack.pop()
                    candidates.add(current)
                    stack.extend(d.code for d in self._divisions.children(current))
        if self._defaults.get("served"):
            candidates = {d.code for d in self._divisions}
        return sorted(code for code in candidates if self.get(code).served)

    def children(self, code: str | None) -> list[Region]:
        return [self.get(d.code) for d in self._divisions.children(code)]


@cache
def load_catalogue(path: Path, acceptance: AcceptanceSettings = SERVICE_DEFAULTS) -> RegionCatalogue:
    """The settings file at `path` over the national catalogue, read once per process; `acceptance`: the
    service-wide acceptance rules (catalogue_of gives the service's own)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return RegionCatalogue(
        divisions(),
        doc.get("defaults", {}),
        doc.get("regions", {}),
        acceptance=acceptance,
        default_region=doc.get("default_region"),
    )


def catalogue_of(settings: IntakeSettings) -> RegionCatalogue:
    """The service's region catalogue: its settings file, with its acceptance rules as the defaults."""
    return load_catalogue(settings.regions_file, acceptance_of(settings))
