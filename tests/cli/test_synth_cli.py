"""`fangpin synth` as a user runs it: files written, determinism, the pack choosing the county."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fangpin.cli import main

WZ = "ningxia-wuzhong-2025"


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _synth(out: Path, *extra: str, people: int = 200, year: int = 2025) -> int:
    return main(
        [
            "synth",
            "--people",
            str(people),
            "--year",
            str(year),
            "--policy",
            WZ,
            "--out",
            str(out),
            *extra,
        ]
    )


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "county"
    assert _synth(out, "--seed", "7") == 0
    return out


def test_it_writes_the_county_and_prints_the_counts_and_the_paths(tmp_path, capsys):
    out = tmp_path / "c"
    assert _synth(out, "--seed", "7") == 0
    printed = capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    counts = manifest["counts"]
    assert manifest["county"] == "同心县" and manifest["seed"] == 7 and manifest["year"] == 2025
    assert f"{counts['people']} people" in printed
    assert f"{counts['claims']} claims" in printed
    assert f"{counts['dept_files']} department lists" in printed
    for name in ("areas.csv", "persons.csv", "claims.csv", "manifest.json"):
        assert str(out / name) in printed
    assert len(list((out / "dept").glob("*.xlsx"))) == counts["dept_files"] == 60


def test_the_same_seed_gives_byte_identical_files(first, tmp_path):
    again = tmp_path / "again"
    assert _synth(again, "--seed", "7") == 0
    a, b = _files(first), _files(again)
    assert sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []


def test_a_different_seed_gives_different_people_and_claims(first, tmp_path):
    other = tmp_path / "other"
    assert _synth(other, "--seed", "8") == 0
    for name in ("persons.csv", "claims.csv", "enrollment.csv"):
        assert (first / name).read_bytes() != (other / name).read_bytes()


def test_an_unknown_pack_is_a_usage_error_naming_the_known_packs(tmp_path, capsys):
    status = main(
        [
            "synth",
            "--people",
            "50",
            "--year",
            "2025",
            "--policy",
            "nowhere-2025",
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "nowhere-2025" in err and WZ in err
    assert not (tmp_path / "x").exists()


def test_an_unknown_county_and_a_year_before_the_pack_are_usage_errors(tmp_path, capsys):
    assert _synth(tmp_path / "a", "--county", "不存在县", people=50) == 2
    assert "同心县" in capsys.readouterr().err
    assert _synth(tmp_path / "b", people=50, year=2024) == 2
    assert "2025-01-01" in capsys.readouterr().err
    assert _synth(tmp_path / "c", people=5) == 2


def test_the_pack_chooses_the_county_or_says_which_geography_it_lends(tmp_path, capsys):
    assert _synth(tmp_path / "yc", "--county", "盐池县", people=50) == 0
    assert json.loads((tmp_path / "yc" / "manifest.json").read_text("utf-8"))["county"] == "盐池县"
    capsys.readouterr()
    status = main(
        [
            "synth",
            "--people",
            "50",
            "--year",
            "2023",
            "--policy",
            "shanxi-linxian-2023",
            "--out",
            str(tmp_path / "sx"),
        ]
    )
    assert status == 0
    assert "no built-in county" in capsys.readouterr().err
    assert json.loads((tmp_path / "sx" / "manifest.json").read_text("utf-8"))["county"] == "同心县"
