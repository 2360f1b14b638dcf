"""Region packs: shipped packs load, values carry provenance, bad packs fail naming file and key."""

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest

from fangpin.cli import main
from fangpin.policy.registry import PACK_DIR, flatten, list_packs, load_pack, load_pack_file
from fangpin.policy.source import PackError

PACK_IDS = {
    "anhui-huaibei-2022", "shanxi-linxian-2023", "sichuan-suining-2022",
    "zhejiang-xiangshan-2022", "ningxia-wuzhong-2025", "ningxia-shizuishan-2025",
}
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def test_the_six_region_packs_are_shipped_and_load():
    assert {p.id for p in list_packs()} == PACK_IDS


@pytest.mark.parametrize("pack_id", sorted(PACK_IDS))
def test_every_value_is_marked_seed_or_assumed_and_seeds_exist(pack_id):
    pack = load_pack(pack_id)
    values = flatten(pack.tree_at(pack.effective_from))
    assert values
    for key, v in values:
        assert v.source in ("seed", "assumed"), key
        if v.source == "seed":
            assert v.seed == pack.seed, key
    if SEEDS.exists():
        assert (SEEDS / pack.seed).exists(), pack.seed


def test_pack_figures_from_the_seeds_are_in_force():
    wz = load_pack("ningxia-wuzhong-2025").policy_at(dt.date(2025, 6, 1))
    assert wz.basic.outpatient_cap == 380_00
    assert wz.critical.tilt.schedule.deductible == 3000_00
    assert [lv.name for lv in wz.warnings.rules[0].levels] == ["黄色", "橙色", "红色"]
    sz = load_pack("ningxia-shizuishan-2025").policy_at(dt.date(2025, 6, 1))
    assert sz.critical.tilt.schedule.deductible == 4500_00  # 15,000 less 70 %
    assert sz.assistance.schedules["特困"].cap == 160000_00
    lx = load_pack("shanxi-linxian-2023").policy_at(dt.date(2023, 6, 1))
    assert lx.out_of_catalogue.limits == {1: 1500, 2: 1500, 3: 2000, 4: 3000}
    assert lx.reassistance.schedules["监测对象"].cap == 20000_00
    xs = load_pack("zhejiang-xiangshan-2022").policy_at(dt.date(2022, 6, 1))
    assert {b.ratio for b in xs.critical.tilt.schedule.bands} == {8000}
    hb = load_pack("anhui-huaibei-2022").policy_at(dt.date(2022, 6, 1))
    assert hb.enrollment.contribution == {"一档": 320_00}


def _pack(tmp_path: Path, body: str, name: str = "test-pack") -> Path:
    (tmp_path / "baseline.yaml").write_text((PACK_DIR / "baseline.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / f"{name}.yaml"
    head = f"id: {name}\nname: 测试\nseed: 000_x.txt\nextends: baseline\neffective_from: 2024-01-01\n"
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return path


def _error(tmp_path: Path, body: str) -> PackError:
    path = _pack(tmp_path, body)
    with pytest.raises(PackError) as exc:
        load_pack.__wrapped__("test-pack", tmp_path)
    assert path.name in str(exc.value)
    return exc.value


def test_an_unknown_key_names_the_file_and_the_key(tmp_path):
    err = _error(tmp_path, "values:\n  basic:\n    inpatient_ratoi: !seed 0.9\n")
    assert err.key == "basic.inpatient_ratoi" and "unknown key" in str(err)


def test_a_ratio_outside_zero_to_one_is_refused(tmp_path):
    err = _error(tmp_path, "values:\n  basic:\n    chronic_ratio: !seed 1.2\n")
    assert err.key == "basic.chronic_ratio" and "outside" in str(err)


def test_bands_out_of_order_are_refused(tmp_path):
    body = """\
        values:
          critical:
            bands: !seed [{upto: 80000, ratio: 0.6}, {upto: 50000, ratio: 0.65}, {upto: none, ratio: 0.7}]
        """
    err = _error(tmp_path, body)
    assert err.key == "critical.bands[1]" and "out of order" in str(err)


def test_a_missing_value_is_refused(tmp_path):
    (tmp_path / "baseline.yaml").write_text("", encoding="utf-8")
    path = tmp_path / "lonely.yaml"
    path.write_text("id: lonely\nname: x\neffective_from: 2024-01-01\nvalues:\n  basic:\n    annual_cap: !assumed 1\n", encoding="utf-8")
    with pytest.raises(PackError) as exc:
        load_pack_file(path).policy_at(dt.date(2024, 1, 1))
    assert "lonely.yaml" in str(exc.value) and "missing" in str(exc.value)


def test_an_unmarked_value_and_an_unknown_group_are_refused(tmp_path):
    err = _error(tmp_path, "values:\n  basic:\n    chronic_ratio: 0.7\n")
    assert "not marked !seed or !assumed" in str(err)
    err = _error(tmp_path, "values:\n  critical:\n    tilt:\n      groups: !seed [特困, 富豪]\n")
    assert err.key == "critical.tilt.groups" and "富豪" in str(err)


def test_a_dated_change_takes_effect_from_its_date(tmp_path):
    _pack(
        tmp_path,
        """\
        values:
          basic:
            outpatient_cap: !seed 300
        changes:
          - from: 2024-07-01
            values:
              basic:
                outpatient_cap: !seed 380
        """,
    )
    pack = load_pack.__wrapped__("test-pack", tmp_path)
    assert pack.policy_at(dt.date(2024, 6, 30)).basic.outpatient_cap == 300_00
    assert pack.policy_at(dt.date(2024, 7, 1)).basic.outpatient_cap == 380_00


def test_policy_show_prints_values_with_their_marks(capsys):
    assert main(["policy", "show", "ningxia-wuzhong-2025", "--date", "2025-03-01"]) == 0
    out = capsys.readouterr().out
    assert "basic.outpatient_cap" in out and "380" in out and "● 000_28945524f016ccdd.txt" in out
    assert main(["policy", "show", "ningxia-wuzhong-2025", "--date", "2025-03-01", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["values"]["basic.outpatient_cap"] == {"value": "380", "source": "seed", "seed": "000_28945524f016ccdd.txt"}
    assert doc["values"]["basic.chronic_ratio"]["source"] == "assumed"


def test_policy_list_names_every_pack(capsys):
    assert main(["policy", "list"]) == 0
    out = capsys.readouterr().out
    assert all(pid in out for pid in PACK_IDS)


def test_an_unknown_pack_is_a_usage_error(capsys):
    assert main(["policy", "show", "atlantis-2030"]) == 2
    assert "no pack 'atlantis-2030'" in capsys.readouterr().err
