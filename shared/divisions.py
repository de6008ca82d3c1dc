"""China's administrative divisions (县以上行政区划) with the Ministry of Civil Affairs' six-digit codes.

The catalogue is a data file, `shared/data/divisions.tsv`: one division a line (code, name, parent code,
level), its source and date in the header. It is read once per process, on first use, and indexed by code
(about 3,200 lines, a few milliseconds). `python -m services.intake.cli update-regions` rebuilds it.

Codes are the key everywhere (complaints, funds, credit subjects). A code's parent is its prefecture
(first four digits + "00") where that exists, else its province (first two + "0000"): county-level
cities a province administers directly (469001 五指山市) and a municipality's districts (500156 武隆区)
hang from the province.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "divisions.tsv"
CODE = re.compile(r"^\d{6}$")
LEVELS = ("province", "prefecture", "county")


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    parent: str | None
    level: str  # province, prefecture or county


class Divisions:
    """The catalogue, indexed by code, with each division's children."""

    def __init__(self, divisions: Iterable[Division], source: str = "") -> None:
        self.source = source
        self._by_code = {d.code: d for d in divisions}
        self._children: dict[str | None, list[str]] = {}
        for d in self._by_code.values():
            self._children.setdefault(d.parent, []).append(d.code)

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Division]:
        return iter(self._by_code.values())

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Division | None:
        return self._by_code.get(code)

    def children(self, code: str | None) -> list[Division]:
        """The divisions directly under `code` (None: the provinces), by code."""
        return [self._by_code[c] for c in sorted(self._children.get(code, []))]

    def chain(self, code: str) -> list[Division]:
        """The division and its ancestors, nearest first: 530103 -> 盘龙区, 昆明市, 云南省."""
        out = []
        d = self._by_code.get(code)
        while d is not None:
            out.append(d)
            d = self._by_code.get(d.parent) if d.parent else None
        return out

    def covers(self, scope: str, code: str) -> bool | None:
        """Whether `code` is `scope` or lies under it, by the parent chain; None when either is not known."""
        if scope not in self._by_code or code not in self._by_code:
            return None
        return any(d.code == scope for d in self.chain(code))


def parent_of(code: str, known: Container[str]) -> str | None:
    """The parent by the code's structure, among the codes `known`: prefecture, else province."""
    if code.endswith("0000"):
        return None
    prefecture, province = code[:4] + "00", code[:2] + "0000"
    if not code.endswith("00") and prefecture in known:
        return prefecture
    return province if province in known else None


def level_of(code: str, parent: str | None, known: dict[str, str | None]) -> str:
    if parent is None:
        return "province"
    # A prefecture ends in 00 under a province; anything else (or under a prefecture) is county-level.
    return "prefecture" if code.endswith("00") and known.get(parent) is None else "county"


def build(rows: Iterable[tuple[str, str]]) -> list[Division]:
    """Divisions from (code, name) rows, as the Ministry's table lists them: parents derived from the codes."""
    names: dict[str, str] = {}
    for code, name in rows:
        code, name = code.strip(), name.strip()
        if CODE.match(code) and name:
            names.setdefault(code, name)
    parents = {code: parent_of(code, names) for code in names}
    return [
        Division(code=code, name=names[code], parent=parents[code], level=level_of(code, parents[code], parents))
        for code in sorted(names)
    ]


def dump(divisions: list[Division], header: list[str]) -> str:
    """The data file's text: '#' header lines (source, date), a column line, one division a line."""
    lines = [f"# {line}" for line in header]
    lines.append("code\tname\tparent\tlevel")
    lines.extend(f"{d.code}\t{d.name}\t{d.parent or ''}\t{d.level}" for d in divisions)
    return "\n".join(lines) + "\n"


def parse(text: str) -> Divisions:
    header, divisions = [], []
    for line in text.splitlines():
        if line.startswith("#"):
            header.append(line[1:].strip())
            continue
        code, name, parent, level = line.split("\t")
        if code == "code":
            continue
        divisions.append(Division(code=code, name=name, parent=parent or None, level=level))
    return Divisions(divisions, source=" ".join(header))


@cache
def load(path: Path = DATA_FILE) -> Divisions:
    """The catalogue in `path`, read and indexed once per process."""
    return parse(path.read_text(encoding="utf-8"))


def divisions() -> Divisions:
    return load(DATA_FILE)
