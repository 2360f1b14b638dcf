"""The files a synthetic county consists of: names, columns, determinism, manifest."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from fangpin.synth import generate

COLUMNS = {
    "areas.csv": ["code", "name", "level", "parent_code", "synthetic"],
    "persons.csv": [
        "psn_no", "id_no", "name", "sex", "birth_date",
        "township_code", "village_code", "household_no", "relation",
    ],
    "identities.csv": ["psn_no", "psn_idet_type", "begndate", "enddate"],
    "enrollment.csv": ["psn_no", "name", "year", "insutype", "tier", "paid_date", "stop_reason",
                       "township", "village"],
    "births.csv": ["psn_no", "name", "birth_date", "township_code"],
    "claims.csv": [
        "setl_id", "psn_no", "setl_date", "med_type", "hosp_lv", "in_province", "referral",
        "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
    ],
    "dept/_dirty.csv": ["file", "row", "kind"],
}  # fmt: skip
DEPARTMENTS = ["民政", "乡村振兴", "残联", "卫健", "退役军人事务"]
TOWNSHIPS = {
    "豫海镇", "河西镇", "丁塘镇", "韦州镇", "下马关镇", "预旺镇", "王团镇",
    "田老庄乡", "马高庄乡", "张家塬乡", "兴隆乡",
}  # fmt: skip


def _all_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_the_same_seed_gives_byte_identical_files_with_or_without_the_helper_process(
    tmp_path, tiny, monkeypatch
):
    import fangpin.synth.worker as worker

    given_to_helper = []
    start = worker.start
    monkeypatch.setattr(worker, "start", lambda jobs: given_to_helper.extend(jobs) or start(jobs))
    again = generate(tmp_path / "again", people=800, year=2024, seed=3, workers=2)
    assert given_to_helper  # the helper did write some of the files
    a, b = _all_files(tiny.out), _all_files(again["out_dir"])
    assert sorted(a) == sorted(b)
    differing = [name for name in a if a[name] != b[name]]
    assert differing == []


def test_a_different_seed_gives_different_people(tmp_path, tiny):
    other = generate(tmp_path / "other", people=800, year=2024, seed=4, workers=1)
    assert (tiny.out / "persons.csv").read_bytes() != (
        other["out_dir"] / "persons.csv"
    ).read_bytes()


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_every_csv_has_exactly_the_specified_columns(county20k, name):
    assert county20k.csv(name).columns == COLUMNS[name]


def test_there_is_one_spreadsheet_per_department_and_month(county20k):
    names = sorted(p.name for p in (county20k.out / "dept").glob("*.xlsx"))
    expected = sorted(f"{d}_2025{m:02d}.xlsx" for d in DEPARTMENTS for m in range(1, 13))
    assert names == expected


def test_the_manifest_lists_every_file_with_its_row_count_and_says_the_data_is_synthetic(county20k):
    manifest = json.loads((county20k.out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True
    assert "synthetic" in manifest["note"]
    assert (manifest["seed"], manifest["year"], manifest["county"]) == (1, 2025, "同心县")
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {
        str(p.relative_to(county20k.out)) for p in county20k.out.rglob("*") if p.is_file()
    } - {"manifest.json"}
    assert set(listed) == on_disk
    for name in COLUMNS:
        assert listed[name]["rows"] == county20k.csv(name).height, name


def test_the_summary_returns_counts_and_paths_that_exist(county20k):
    s = county20k.summary
    assert s["counts"]["people"] == 20_000
    assert s["counts"]["claims"] == county20k.csv("claims.csv").height
    assert all(Path(p).exists() for p in s["files"].values())


def test_the_area_tree_has_the_real_townships_under_the_county_and_synthetic_codes(county20k):
    areas = county20k.csv("areas.csv")
    county = areas.filter(areas["level"] == "county")
    assert county.rows() == [("640324", "同心县", "county", None, "0")]
    towns = areas.filter(areas["level"] == "township")
    assert set(towns["name"]) == TOWNSHIPS
    assert set(towns["parent_code"]) == {"640324"}
    villages = areas.filter(areas["level"] == "village")
    assert set(villages["parent_code"]) == set(towns["code"])
    assert set(areas.filter(areas["level"] != "county")["synthetic"]) == {"1"}
    assert areas["code"].is_unique().all()
    assert all(v.endswith(("村", "社区")) for v in villages["name"])
    # every person lives in a village of the tree, within its township
    persons = county20k.csv("persons.csv")
    parent = dict(zip(villages["code"], villages["parent_code"], strict=True))
    assert all(
        parent[v] == t
        for v, t in zip(persons["village_code"], persons["township_code"], strict=True)
    )


def test_an_unknown_county_is_refused_with_the_known_ones_named(tmp_path):
    with pytest.raises(ValueError, match="同心县"):
        generate(tmp_path, people=100, county="不存在县")


def test_another_built_in_county_can_be_generated(tmp_path):
    s = generate(tmp_path, people=300, county="盐池县", workers=1)
    assert s["counts"]["people"] == 300
    assert (
        pl.read_csv(s["files"]["persons.csv"], infer_schema=False)["id_no"]
        .str.slice(0, 6)
        .is_in(["640323", "642126"])
        .mean()
        > 0.8
    )


def test_a_failing_helper_process_changes_nothing_in_the_output(tmp_path, tiny, monkeypatch):
    import fangpin.synth.worker as worker

    monkeypatch.setattr(worker.sys, "executable", "/bin/false")  # the helper exits with 1
    with pytest.warns(RuntimeWarning, match="helper process exited with status 1"):
        again = generate(tmp_path / "again", people=800, year=2024, seed=3, workers=2)
    assert _all_files(tiny.out) == _all_files(again["out_dir"])
