"""Shared synthetic counties for the synth tests, generated once per session."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from fangpin.synth import generate


@dataclass
class County:
    out: Path
    summary: dict
    seconds: float

    def csv(self, name: str) -> pl.DataFrame:
        """A CSV file with every column read as text, exactly as written."""
        return pl.read_csv(self.out / name, infer_schema=False)


@pytest.fixture(scope="session")
def county20k(tmp_path_factory: pytest.TempPathFactory) -> County:
    out = tmp_path_factory.mktemp("county20k")
    t0 = time.perf_counter()
    summary = generate(out, people=20_000, year=2025, seed=1)
    return County(out, summary, time.perf_counter() - t0)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> County:
    """A small county for comparisons between runs."""
    out = tmp_path_factory.mktemp("tiny")
    t0 = time.perf_counter()
    summary = generate(out, people=800, year=2024, seed=3, workers=1)
    return County(out, summary, time.perf_counter() - t0)
