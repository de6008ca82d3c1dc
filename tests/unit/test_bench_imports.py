"""The benchmarks run outside the suite (`make bench`), so a renamed module would break them unnoticed: each
one must at least import."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bench


@pytest.mark.parametrize("name", sorted(m.name for m in pkgutil.iter_modules(bench.__path__)))
def test_every_benchmark_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")
