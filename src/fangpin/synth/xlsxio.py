"""Writing department spreadsheets the way office software leaves them.

A sheet is given as a list of rows; a row is a list of cells: ``str`` → text cell,
``int``/``float`` → number cell (a number in a date column gets a date format, the
way Excel stores dates), ``None`` or ``""`` → no cell. A row that is ``None`` is left
blank. The workbook's creation time is fixed so the same input gives the same bytes.

The package is written here directly (Office Open XML: one sheet, shared strings, a
bold header, a merged title, a date style) rather than through a general library: a
county's monthly lists run to millions of cells, and building each cell's XML with
one string operation is tens of times faster than a cell object per cell.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

EXCEL_EPOCH = dt.date(1899, 12, 30)
COLUMN_WIDTH = 14
# Cell styles (indexes into cellXfs below).
_PLAIN, _BOLD, _DATE, _TITLE = 0, 1, 2, 3


@dataclass
class Sheet:
    """One workbook with one sheet, ready to write."""

    path: Path
    sheet_name: str
    rows: list[list | None]
    header_row: int  # 0-based index of the header row in ``rows``
    date_cols: frozenset[int] = frozenset()
    title: str | None = None  # if set, rows[0] is a title merged across the header's width
    created: dt.datetime = field(default_factory=lambda: dt.datetime(2000, 1, 1))


def excel_serial(d: dt.date) -> int:
    """Excel's day number of a date (1900 date system)."""
    return (d - EXCEL_EPOCH).days


def column_letters(i: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _text(s: str) -> str:
    """A <t> element; leading or trailing spaces are kept, as Excel keeps them."""
    if s[0] == " " or s[-1] == " ":
        return f'<t xml:space="preserve">{escape(s)}</t>'
    return f"<t>{escape(s)}</t>"


def _number(v: int | float) -> str:
    return str(v) if v.__class__ is int else f"{v:.16G}"


class _Strings:
    """The shared string table, in order of first use."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.uses = 0

    def __call__(self, s: str) -> int:
        self.uses += 1
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.index)
        return i

    def xml(self) -> str:
        items = "".join(f"<si>{_text(s)}</si>" for s in self.index)
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_NS}" '
            f'count="{self.uses}" uniqueCount="{len(self.index)}">{items}</sst>'
        )


def _sheet_rows(s: Sheet, strings: _Strings, letters: list[str]) -> list[str]:
    """The <row> elements of the sheet."""
    out: list[str] = []
    date_cols = s.date_cols
    for r, row in enumerate(s.rows):
        if row is None:
            continue
        n = r + 1
        if s.title is not None and r == 0:
            title = strings(s.title)
            out.append(f'<row r="{n}"><c r="A{n}" s="{_TITLE}" t="s"><v>{title}</v></c></row>')
            continue
        style = f' s="{_BOLD}"' if r == s.header_row else ""
        cells = []
        for c, v in enumerate(row):
            if v.__class__ is str:  # the common case first: most cells are text
                if v:
                    cells.append(f'<c r="{letters[c]}{n}"{style} t="s"><v>{strings(v)}</v></c>')
            elif v is None:
                continue
            elif c in date_cols and not style:
                cells.append(f'<c r="{letters[c]}{n}" s="{_DATE}"><v>{_number(v)}</v></c>')
            else:
                cells.append(f'<c r="{letters[c]}{n}"{style}><v>{_number(v)}</v></c>')
        if cells:
            out.append(f'<row r="{n}">{"".join(cells)}</row>')
    return out


def _worksheet(s: Sheet, strings: _Strings) -> str:
    width = max(len(s.rows[s.header_row] or []), 1)
    letters = [column_letters(i) for i in range(max(width, *(len(r) for r in s.rows if r)))]
    rows = _sheet_rows(s, strings, letters)
    last = f"{letters[width - 1]}{len(s.rows)}"
    merge = ""
    if s.title is not None:
        end = column_letters(max(width - 1, 1))
        merge = f'<mergeCells count="1"><mergeCell ref="A1:{end}1"/></mergeCells>'
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}" '
        f'xmlns:r="{_REL_NS}"><dimension ref="A1:{last}"/><sheetViews><sheetView '
        f'tabSelected="1" workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
        f'<cols><col min="1" max="{width}" width="{COLUMN_WIDTH + 0.7109375}" customWidth="1"/>'
        f'</cols><sheetData>{"".join(rows)}</sheetData>{merge}<pageMargins left="0.7" '
        f'right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
    )


def write_sheet(s: Sheet) -> None:
    """Write one sheet to ``s.path``."""
    strings = _Strings()
    sheet = _worksheet(s, strings)
    stamp = s.created.strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "docProps/app.xml": _APP,
        "docProps/core.xml": _CORE.format(stamp=stamp),
        "xl/workbook.xml": _WORKBOOK.format(name=escape(s.sheet_name, {'"': "&quot;"})),
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        "xl/styles.xml": _STYLES,
        "xl/sharedStrings.xml": strings.xml(),
        "xl/worksheets/sheet1.xml": sheet,
    }
    when = s.created.timetuple()[:6]
    with zipfile.ZipFile(s.path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))


def write_sheets(sheets: list[Sheet]) -> int:
    """Write several sheets; returns how many were written (handy across processes)."""
    for s in sheets:
        write_sheet(s)
    return len(sheets)


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CT = "application/vnd.openxmlformats-officedocument"
_CONTENT_TYPES = (
    _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/docProps/app.xml" ContentType="{_CT}.extended-properties+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.spreadsheetml.styles+xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.spreadsheetml.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.spreadsheetml.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    _XML + f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
    'metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_APP = (
    _XML + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    'extended-properties"><Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity>'
    "</Properties>"
)
_CORE = (
    _XML + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/'
    'dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>fangpin.synth'
    '</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
)
_WORKBOOK = (
    _XML + f'<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}"><bookViews><workbookView/></bookViews>'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    _XML + f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
# Fonts: 0 plain, 1 bold, 2 bold 14pt. Cell styles: plain, bold, date, centred title.
_STYLES = (
    _XML + f'<styleSheet xmlns="{_NS}"><numFmts count="1"><numFmt numFmtId="164" '
    'formatCode="yyyy-mm-dd"/></numFmts><fonts count="3">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill '
    'patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/>'
    '<bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
    'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" '
    'applyAlignment="1"><alignment horizontal="center"/></xf></cellXfs><cellStyles count="1">'
    '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
