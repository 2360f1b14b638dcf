"""The lists a screening run pushes to 民政 and 乡村振兴 (seed 000: "及时推送至乡村振兴、民政部门").

Each department gets every person the run flagged — it is for them to judge 临时救助/低保 (民政)
or 纳入监测 (乡村振兴) — with the identities that department has already recognised, so a clerk
sees at once who is covered. These are official pushes between bureaus, so ID numbers are whole;
every export is audited. A second sheet counts the people per township and level.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.db.models import Q

from fangpin import audit
from fangpin.people.models import Identity
from fangpin.units import fen_to_yuan
from fangpin.warnings.models import RunFlag, ScreeningRun

DEPARTMENTS: tuple[str, ...] = ("民政", "乡村振兴")
HEADERS: tuple[str, ...] = (
    "序号",
    "乡镇",
    "村",
    "户编号",
    "姓名",
    "身份证号",
    "本部门认定身份",
    "其他身份",
    "预警规则",
    "预警等级",
    "年度累计个人负担(元)",
    "处置时限",
    "本次变化",
    "案件状态",
)
UNKNOWN_TOWNSHIP = "（人员台账未登记）"


def _identities(person_ids: list[int], on: dt.date) -> dict[int, list[tuple[str, str]]]:
    """person id -> [(department, identity name)] active on `on`."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for i in range(0, len(person_ids), 5_000):
        rows = Identity.objects.filter(
            Q(end__isnull=True) | Q(end__gte=on),
            person_id__in=person_ids[i : i + 5_000],
            begin__lte=on,
        ).values_list("person_id", "department", "name")
        for pid, dept, name in rows:
            out[pid].append((dept, name))
    return out


def list_rows(run: ScreeningRun, department: str) -> list[tuple[Any, ...]]:
    """The run's flagged people as rows of HEADERS (money in yuan, dates as dates)."""
    flags = list(
        RunFlag.objects.filter(run=run)
        .select_related(
            "case", "case__person", "case__township", "case__village", "case__household"
        )
        .order_by(
            "case__township__name",
            "case__village__name",
            "-case__level_rank",
            "-amount",
            "case__psn_no",
        )
    )
    idents = _identities(sorted({f.case.person_id for f in flags if f.case.person_id}), run.date)
    rows = []
    for n, f in enumerate(flags, start=1):
        c, p = f.case, f.case.person
        mine = sorted({name for dept, name in idents.get(c.person_id, []) if dept == department})
        other = sorted({name for dept, name in idents.get(c.person_id, []) if dept != department})
        rows.append(
            (
                n,
                c.township.name if c.township else UNKNOWN_TOWNSHIP,
                c.village.name if c.village else "",
                c.household.number if c.household else "",
                p.name if p else "",
                p.id_no if p else c.psn_no,
                "、".join(mine),
                "、".join(other),
                c.rule_name or f.rule,
                f.level,
                fen_to_yuan(f.amount),
                f.deadline,
                f.change,
                c.state,
            )
        )
    return rows


def department_list(run: ScreeningRun, department: str, *, user: Any = None) -> bytes:
    """The xlsx workbook of the run's list for `department` (民政 or 乡村振兴)."""
    import xlsxwriter

    if department not in DEPARTMENTS:
        raise ValueError(f"unknown department {department!r}: {', '.join(DEPARTMENTS)}")
    rows = list_rows(run, department)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    bold = wb.add_format({"bold": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("预警名单")
    title = f"高额医疗费用预警名单（推送{department}）筛查日期 {run.date.isoformat()} 批次 {run.pk}"
    ws.write_string(0, 0, title, wb.add_format({"bold": True, "font_size": 14}))
    for c, h in enumerate(HEADERS):
        ws.write_string(1, c, h, bold)
        ws.set_column(
            c, c, 22 if h in ("身份证号", "本部门认定身份", "其他身份") else max(10, 2 * len(h) + 2)
        )
    ws.freeze_panes(2, 0)
    for r, row in enumerate(rows, start=2):
        for c, v in enumerate(row):
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
            elif isinstance(v, int):
                ws.write_number(r, c, v)
            else:
                # Text stays text: an ID number must never become a number in Excel.
                ws.write_string(r, c, str(v))
    _summary(wb.add_worksheet("汇总"), run, rows, bold)
    wb.close()
    audit.record(
        user if getattr(user, "is_authenticated", False) else None,
        audit.EXPORT,
        "screening_run",
        run.pk,
        f"导出预警名单（推送{department}）{run.date.isoformat()}：{len(rows)} 人次",
        username=None if getattr(user, "is_authenticated", False) else "fangpin screen-run",
    )
    return buf.getvalue()


def _summary(ws, run: ScreeningRun, rows: list[tuple], bold) -> None:
    """People per township and (rule, level), in the pack's order of rules and levels."""
    columns = [(c["name"], level) for c in run.counts for level, _n in c["levels"]]
    per: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        per[row[1]][(row[8], row[9])] += 1
    ws.write_string(0, 0, "乡镇", bold)
    for c, (rule, level) in enumerate(columns, start=1):
        ws.write_string(0, c, f"{rule}·{level}", bold)
    ws.write_string(0, len(columns) + 1, "合计", bold)
    ws.set_column(0, 0, 18)
    ws.set_column(1, len(columns) + 1, 16)
    for r, town in enumerate(sorted(per), start=1):
        ws.write_string(r, 0, town)
        for c, key in enumerate(columns, start=1):
            ws.write_number(r, c, per[town].get(key, 0))
        ws.write_number(r, len(columns) + 1, sum(per[town].values()))


def file_name(run: ScreeningRun, department: str) -> str:
    return f"高额费用预警名单_{department}_{run.date.isoformat()}_批次{run.pk}.xlsx"


def write_lists(run: ScreeningRun, directory: str | Path, *, user: Any = None) -> list[Path]:
    """Write the run's lists for every department into `directory`; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for department in DEPARTMENTS:
        path = directory / file_name(run, department)
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_bytes(department_list(run, department, user=user))
        # Whole or not at all: a half-written list must not be pushed.
        tmp.replace(path)
        paths.append(path)
    return paths
