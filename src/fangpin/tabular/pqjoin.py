"""One Parquet file written in parts on several threads, the parts joined into one file.

pyarrow writes a file's row groups one after another on one thread. A file is the magic bytes
`PAR1`, the row groups' pages, then the footer (Thrift compact FileMetaData), its length and
`PAR1` again; the footer locates every column chunk by its offset in the file. So parts written
side by side, each a whole file of consecutive rows, join into one: their page bytes end to
end, and one footer listing every part's row groups in order, with the offsets of each part
moved by the bytes placed before it, row counts summed and row-group ordinals renumbered.
Everything else in the footer (schema, key-value metadata, statistics) is the first part's, or
each row group's own, kept byte for byte through a generic Thrift compact reader and writer.
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

MAGIC = b"PAR1"

# Thrift compact type codes
T_TRUE, T_FALSE, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE, T_BINARY = 1, 2, 3, 4, 5, 6, 7, 8
T_LIST, T_SET, T_MAP, T_STRUCT = 9, 10, 11, 12
_INTS = (T_I16, T_I32, T_I64)

# Field ids of parquet.thrift used here
FMD_NUM_ROWS, FMD_ROW_GROUPS = 3, 4
RG_COLUMNS, RG_FILE_OFFSET, RG_ORDINAL = 1, 5, 7
CC_FILE_OFFSET, CC_META, CC_OFFSET_INDEX, CC_COLUMN_INDEX = 2, 3, 4, 6
CMD_OFFSETS = (9, 10, 11, 14)  # data, index and dictionary pages, bloom filter


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, t: int):
        if t in (T_TRUE, T_FALSE):  # inside a collection: one byte
            return self.byte() == T_TRUE
        if t == T_BYTE:
            return self.byte()
        if t in _INTS:
            return self.zigzag()
        if t == T_DOUBLE:
            self.pos += 8
            return self.data[self.pos - 8 : self.pos]
        if t == T_BINARY:
            n = self.varint()
            self.pos += n
            return self.data[self.pos - n : self.pos]
        if t in (T_LIST, T_SET):
            head = self.byte()
            size, et = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return (et, [self.value(et) for _ in range(size)])
        if t == T_MAP:
            size = self.varint()
            kv = self.byte() if size else 0
            kt, vt = kv >> 4, kv & 0x0F
            return (kt, vt, [(self.value(kt), self.value(vt)) for _ in range(size)])
        if t == T_STRUCT:
            return self.struct()
        raise ValueError(f"Thrift compact type {t} unknown")

    def struct(self) -> list[list]:
        """Fields as [id, type, value] in the order read (booleans: type T_TRUE, value)."""
        fields, last = [], 0
        while True:
            head = self.byte()
            if head == 0:
                return fields
            t, delta = head & 0x0F, head >> 4
            fid = last + delta if delta else self.zigzag()
            if t in (T_TRUE, T_FALSE):
                fields.append([fid, T_TRUE, t == T_TRUE])
            else:
                fields.append([fid, t, self.value(t)])
            last = fid


def _varint(n: int, out: bytearray) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zigzag(n: int, out: bytearray) -> None:
    _varint((n << 1) ^ (n >> 63), out)


def _write_value(t: int, v, out: bytearray) -> None:
    if t in (T_TRUE, T_FALSE):
        out.append(T_TRUE if v else T_FALSE)
    elif t == T_BYTE:
        out.append(v)
    elif t in _INTS:
        _zigzag(v, out)
    elif t == T_DOUBLE:
        out += v
    elif t == T_BINARY:
        _varint(len(v), out)
        out += v
    elif t in (T_LIST, T_SET):
        et, items = v
        if len(items) < 15:
            out.append(len(items) << 4 | et)
        else:
            out.append(0xF0 | et)
            _varint(len(items), out)
        for item in items:
            _write_value(et, item, out)
    elif t == T_MAP:
        kt, vt, items = v
        _varint(len(items), out)
        if items:
            out.append(kt << 4 | vt)
        for key, val in items:
            _write_value(kt, key, out)
            _write_value(vt, val, out)
    elif t == T_STRUCT:
        _write_struct(v, out)
    else:
        raise ValueError(f"Thrift compact type {t} unknown")


def _write_struct(fields: list[list], out: bytearray) -> None:
    last = 0
    for fid, t, v in fields:
        wire = (T_TRUE if v else T_FALSE) if t == T_TRUE else t
        if 0 < fid - last <= 15:
            out.append((fid - last) << 4 | wire)
        else:
            out.append(wire)
            _zigzag(fid, out)
        if t != T_TRUE:
            _write_value(t, v, out)
        last = fid
    out.append(0)


def _field(fields: list[list], fid: int) -> list | None:
    return next((f for f in fields if f[0] == fid), None)


def _shift(fields: list[list], ids: tuple[int, ...], by: int) -> None:
    for f in fields:
        if f[0] in ids:
            f[2] += by


def _moved_row_groups(footer: list[list], by: int, first_ordinal: int) -> list[list]:
    groups = _field(footer, FMD_ROW_GROUPS)[2][1]
    for i, rg in enumerate(groups):
        _shift(rg, (RG_FILE_OFFSET,), by)
        ordinal = _field(rg, RG_ORDINAL)
        if ordinal is not None:
            ordinal[2] = first_ordinal + i
        for chunk in _field(rg, RG_COLUMNS)[2][1]:
            _shift(chunk, (CC_FILE_OFFSET, CC_OFFSET_INDEX, CC_COLUMN_INDEX), by)
            meta = _field(chunk, CC_META)
            if meta is not None:
                _shift(meta[2], CMD_OFFSETS, by)
    return groups


def footer_of(f) -> tuple[int, bytes]:
    """The length of a whole Parquet file's page bytes (between the leading magic and the
    footer) and its footer, read from the end of the open file `f`."""
    size = f.seek(0, os.SEEK_END)
    f.seek(size - 8)
    tail = f.read(8)
    f.seek(0)
    if size < 12 or tail[4:] != MAGIC or f.read(4) != MAGIC:
        raise ValueError("not a Parquet file")
    (length,) = struct.unpack("<I", tail[:4])
    if 12 + length > size:
        raise ValueError("not a Parquet file (its footer is longer than the file)")
    f.seek(size - 8 - length)
    return size - 12 - length, f.read(length)


def join_footers(footers: list[bytes], sizes: list[int]) -> bytes:
    """One footer for parts whose page bytes (of `sizes`) are placed end to end after the
    leading magic."""
    parsed = [_Reader(f).struct() for f in footers]
    out_groups, before, rows = [], 0, 0
    for footer, size in zip(parsed, sizes, strict=True):
        out_groups += _moved_row_groups(footer, before, len(out_groups))
        rows += _field(footer, FMD_NUM_ROWS)[2]
        before += size
    joined = parsed[0]
    _field(joined, FMD_NUM_ROWS)[2] = rows
    row_groups = _field(joined, FMD_ROW_GROUPS)
    row_groups[2] = (row_groups[2][0], out_groups)
    out = bytearray()
    _write_struct(joined, out)
    return bytes(out)


def write_in_parts(
    table: pa.Table, path: str | Path, *, row_group_rows: int, parts: int | None = None, **options
) -> None:
    """Write `table` to `path` as one Parquet file (pq.write_table's `options`), its rows cut
    into `parts` runs of whole row groups written on as many threads; whole or not at all."""
    path = Path(path)
    groups = max(1, -(-table.num_rows // row_group_rows))
    parts = max(1, min(parts or os.cpu_count() or 1, groups))
    tmp = path.with_name(f".{path.name}.part")
    if parts == 1:
        pq.write_table(table, tmp, row_group_size=row_group_rows, **options)
        tmp.replace(path)
        return
    cuts = [(groups * i // parts) * row_group_rows for i in range(parts)] + [table.num_rows]
    # The first part is written where the file will be; the others beside it, then appended.
    files = [tmp] + [path.with_name(f".{path.name}.part{i}") for i in range(1, parts)]

    def work(i: int) -> None:
        piece = table.slice(cuts[i], cuts[i + 1] - cuts[i])
        pq.write_table(piece, files[i], row_group_size=row_group_rows, **options)

    try:
        _on_threads(work, parts)
        _join(files)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for extra in files[1:]:
            extra.unlink(missing_ok=True)
    tmp.replace(path)


def _on_threads(work, n: int) -> None:
    """work(0) … work(n - 1), each on its own thread (0 on the calling one); the first error
    raised is raised again here, once all have ended."""
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(1, n)]
    for t in threads:
        t.start()
    guarded(0)
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _join(files: list[Path]) -> None:
    """Append the page bytes of files[1:] to files[0] (each a whole Parquet file of the rows
    after the previous one's) and end it with the joined footer."""
    with open(files[0], "r+b") as out:
        size, footer = footer_of(out)
        sizes, footers = [size], [footer]
        out.truncate(4 + size)
        out.seek(4 + size)
        for extra in files[1:]:
            with open(extra, "rb") as f:
                size, footer = footer_of(f)
                sizes.append(size)
                footers.append(footer)
                _copy(f, 4, size, out)
        joined = join_footers(footers, sizes)
        out.write(joined)
        out.write(struct.pack("<I", len(joined)))
        out.write(MAGIC)


def _copy(src, offset: int, length: int, dst) -> None:
    """`length` bytes of `src` from `offset` to the end of `dst`: inside the kernel where it
    can, else through a buffer."""
    dst.flush()
    done = 0
    try:
        while done < length:
            n = os.copy_file_range(src.fileno(), dst.fileno(), length - done, offset + done)
            if n == 0:
                break
            done += n
    except OSError:
        pass  # not supported here: the rest goes through Python
    dst.seek(0, os.SEEK_END)
    src.seek(offset + done)
    while done < length:
        block = src.read(min(1 << 24, length - done))
        if not block:
            raise OSError(f"{src.name}: ended {length - done} bytes early")
        dst.write(block)
        done += len(block)


# --- Joining by columns: some of a file's columns copied page for page from another file ------
#
# Settled claims keep each claim's setl_id and psn_no as the claims file gave them. When that
# file is Parquet and every one of its rows settled, in its order, those two columns are its own
# column chunks: copied byte for byte (still in the source's codec, with its statistics), they
# cost no decoding or encoding at all, and only the computed columns are written. The new file's
# row groups then hold the same rows as the source's.

FMD_SCHEMA, FMD_ENCRYPTION = 2, 8
RG_TOTAL_BYTES, RG_NUM_ROWS, RG_SORTING, RG_COMPRESSED = 2, 3, 4, 6
CC_FILE_PATH, CC_CRYPTO, CC_ENCRYPTED_META = 1, 8, 9
CC_PAGE_INDEX = (4, 5, 6, 7)  # offset and column index: in the source's index area, not copied
CMD_TYPE, CMD_PATH, CMD_UNCOMPRESSED, CMD_COMPRESSED = 1, 3, 6, 7
CMD_DATA_PAGE, CMD_DICT_PAGE = 9, 11
SE_TYPE, SE_REPETITION, SE_NAME, SE_CHILDREN, SE_CONVERTED, SE_LOGICAL = 1, 3, 4, 5, 6, 10
BYTE_ARRAY, UTF8, LOGICAL_STRING = 6, 0, 1
REQUIRED, OPTIONAL = 0, 1
MIN_GROUP_ROWS = 1 << 14  # smaller row groups on average: written afresh instead


class SourceText:
    """Text columns of a Parquet file that can be copied into another file page for page: the
    footer read once, each column's chunks located, or `usable` False with the reason."""

    def __init__(
        self, path: str | Path, names: tuple[str, ...], stamp: tuple[int, int] | None = None
    ):
        """`stamp`: the file's (size, mtime_ns) when its rows were read, if taken before."""
        self.path, self.names = Path(path), names
        self.usable, self.why = False, ""
        self.nullable: dict[str, bool] = {}
        self.group_rows: list[int] = []
        self.chunks: list[list[list]] = []  # per row group, the ColumnChunk of each name
        try:
            with open(self.path, "rb") as f:
                _, footer = footer_of(f)
                st = os.fstat(f.fileno())
            self.stamp = (st.st_size, st.st_mtime_ns)
            if stamp is not None and stamp != self.stamp:
                self.why = "the file changed while it was read"
                return
            self._read(_Reader(footer).struct())
        except Exception as exc:  # any file it cannot follow is written afresh instead
            self.usable, self.why = False, f"footer not understood: {exc}"

    def _read(self, meta: list[list]) -> None:
        if _field(meta, FMD_ENCRYPTION) is not None:
            self.why = "encrypted"
            return
        top = _top_level(_field(meta, FMD_SCHEMA)[2][1])
        for name in self.names:
            el = top.get(name.encode())
            if el is None:
                self.why = f"no top-level column {name}"
                return
            rep = _value(el, SE_REPETITION, REQUIRED)
            logical = _field(el, SE_LOGICAL)
            text = _value(el, SE_CONVERTED, None) == UTF8 or (
                logical is not None and logical[2] and logical[2][0][0] == LOGICAL_STRING
            )
            if (
                _value(el, SE_TYPE, None) != BYTE_ARRAY
                or not text
                or rep not in (REQUIRED, OPTIONAL)
            ):
                self.why = f"{name} is not a plain text column"
                return
            self.nullable[name] = rep == OPTIONAL
        groups = _field(meta, FMD_ROW_GROUPS)[2][1]
        for rg in groups:
            rows = _field(rg, RG_NUM_ROWS)[2]
            by_path = {}
            for chunk in _field(rg, RG_COLUMNS)[2][1]:
                if any(
                    _field(chunk, f) is not None
                    for f in (CC_FILE_PATH, CC_CRYPTO, CC_ENCRYPTED_META)
                ):
                    self.why = "column chunks kept outside the file or encrypted"
                    return
                cmd = _field(chunk, CC_META)
                if cmd is not None:
                    path = _field(cmd[2], CMD_PATH)[2][1]
                    by_path[tuple(path)] = chunk
            picked = [by_path.get((name.encode(),)) for name in self.names]
            if rows <= 0 or any(c is None for c in picked):
                self.why = "an empty row group, or a chunk missing"
                return
            self.group_rows.append(rows)
            self.chunks.append(picked)
        if not groups or sum(self.group_rows) < MIN_GROUP_ROWS * len(groups):
            self.why = "row groups too small to copy"
            return
        self.usable = True

    @property
    def rows(self) -> int:
        return sum(self.group_rows)

    def unchanged(self) -> bool:
        try:
            st = self.path.stat()
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns) == self.stamp


def _value(fields: list[list], fid: int, default):
    f = _field(fields, fid)
    return default if f is None else f[2]


def _top_level(schema: list[list[list]]) -> dict[bytes, list[list]]:
    """The root's direct children that are leaves, by name (a group's leaves are skipped)."""
    out: dict[bytes, list[list]] = {}
    i, pending = 1, _value(schema[0], SE_CHILDREN, 0)

    def skip(j: int) -> int:  # index after element j and all its descendants
        kids = _value(schema[j], SE_CHILDREN, 0)
        j += 1
        for _ in range(kids):
            j = skip(j)
        return j

    for _ in range(pending):
        el = schema[i]
        if _value(el, SE_CHILDREN, 0) == 0 and _field(el, SE_TYPE) is not None:
            out[_field(el, SE_NAME)[2]] = el
        i = skip(i)
    return out


def _chunk_span(chunk: list[list]) -> tuple[int, int]:
    """Where a column chunk's pages lie in its file: (first byte, length)."""
    cmd = _field(chunk, CC_META)[2]
    data = _field(cmd, CMD_DATA_PAGE)[2]
    dic = _value(cmd, CMD_DICT_PAGE, None)
    start = dic if dic is not None and 0 < dic < data else data
    return start, _field(cmd, CMD_COMPRESSED)[2]


def _moved_chunk(chunk: list[list], by: int, drop_index: bool) -> list[list]:
    out = [list(f) for f in chunk if not (drop_index and f[0] in CC_PAGE_INDEX)]
    meta = _field(out, CC_META)
    meta[2] = [list(f) for f in meta[2]]
    _shift(out, (CC_FILE_OFFSET,), by)
    _shift(meta[2], CMD_OFFSETS, by)
    return out


def write_with_copied(
    table: pa.Table,
    path: str | Path,
    source: SourceText,
    order: tuple[str, ...],
    copied_types: dict[str, pa.DataType],
    parts: int | None = None,
    **options,
) -> None:
    """Write the columns `order` names to `path` as one Parquet file: the source's columns
    (source.names, typed in the file's Arrow schema as `copied_types`) copied page for page,
    the others from `table`, which holds the source's rows in its order. Whole or not at all."""
    if not source.usable or table.num_rows != source.rows:
        raise ValueError(
            f"{source.path}: its columns cannot be copied ({source.why or 'rows differ'})"
        )
    path = Path(path)
    fields = {f.name: f for f in table.schema}
    schema = pa.schema(
        [
            pa.field(n, copied_types[n], nullable=source.nullable[n])
            if n in source.names
            else fields[n]
            for n in order
        ]
    )
    # The footer's schema, Arrow schema and column orders: those of the same file with no rows
    # (built from pa.nulls: Schema.empty_table and pa.array would import pandas).
    empty = pa.BufferOutputStream()
    no_rows = pa.Table.from_arrays([pa.nulls(0, f.type) for f in schema], schema=schema)
    pq.write_table(no_rows, empty, **options)
    with pa.BufferReader(empty.getvalue()) as f:
        meta = _Reader(footer_of(f)[1]).struct()
    computed = tuple(n for n in order if n not in source.names)
    pieces = _computed_row_groups(
        _as_stored(table.select(list(computed)), options), source.group_rows, parts, options
    )
    tmp = path.with_name(f".{path.name}.part")
    groups = []
    try:
        with open(tmp, "wb") as out, open(source.path, "rb") as src:
            out.write(MAGIC)
            pos = len(MAGIC)
            for rg, rows in enumerate(source.group_rows):
                own, body, body_at = pieces[rg]
                chunks: dict[str, list[list]] = {}
                first = pos
                total_bytes = 0
                for name, chunk in zip(source.names, source.chunks[rg], strict=True):
                    start, length = _chunk_span(chunk)
                    _copy(src, start, length, out)
                    chunks[name] = _moved_chunk(chunk, pos - start, drop_index=True)
                    total_bytes += _field(_field(chunk, CC_META)[2], CMD_UNCOMPRESSED)[2]
                    pos += length
                out.write(body)
                for name, chunk in zip(computed, _field(own, RG_COLUMNS)[2][1], strict=True):
                    chunks[name] = _moved_chunk(chunk, pos - body_at, drop_index=True)
                pos += len(body)
                total_bytes += _field(own, RG_TOTAL_BYTES)[2]
                groups.append(
                    [
                        [RG_COLUMNS, T_LIST, (T_STRUCT, [chunks[n] for n in order])],
                        [RG_TOTAL_BYTES, T_I64, total_bytes],
                        [RG_NUM_ROWS, T_I64, rows],
                        [RG_FILE_OFFSET, T_I64, first],
                        [RG_COMPRESSED, T_I64, pos - first],
                        [RG_ORDINAL, T_I16, rg],
                    ]
                )
            if not source.unchanged():
                raise OSError(f"{source.path} changed while its columns were copied")
            _field(meta, FMD_NUM_ROWS)[2] = source.rows
            _field(meta, FMD_ROW_GROUPS)[2] = (T_STRUCT, groups)
            footer = bytearray()
            _write_struct(meta, footer)
            out.write(footer)
            out.write(struct.pack("<I", len(footer)))
            out.write(MAGIC)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _as_stored(table: pa.Table, options: dict) -> pa.Table:
    """Decimal64 columns that are stored as INT64 (store_decimal_as_integer) as the int64
    columns over the same memory: their pages are the same bytes, written by pyarrow's faster
    integer path, and the footer (write_with_copied's, from the decimal schema) still calls them
    decimals. Without statistics only: a decimal's would be kept in another form."""
    if not options.get("store_decimal_as_integer") or options.get("write_statistics") is True:
        return table
    stats = set(options.get("write_statistics") or ())
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_decimal64(field.type) and field.name not in stats:
            column = pa.chunked_array(
                [
                    pa.Array.from_buffers(pa.int64(), len(c), c.buffers(), c.null_count, c.offset)
                    for c in column.chunks
                ],
                pa.int64(),
            )
            field = field.with_type(pa.int64())
        columns.append(column)
        fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _written(
    part: pa.Table, g0: int, g1: int, bounds: list[int], group_rows: list[int], options, growing
) -> pa.Buffer:
    """Row groups g0..g1-1 (rows of `part` from bounds[g0] on) as a Parquet file in memory.

    Written into one buffer as large as the data could become (the uncompressed values, a
    tenth more, a MiB for each group's headers): the pages of it left unwritten are never
    touched, and the buffer is never copied to grow, as a growing stream's is. `growing`
    writes to such a stream, for data the bound did not hold.
    """
    if growing:
        sink = pa.BufferOutputStream()
    else:
        room = part.nbytes + part.nbytes // 10 + (g1 - g0 + 1) * (1 << 20)
        buf = pa.allocate_buffer(room)
        sink = pa.FixedSizeBufferWriter(buf)
    with pq.ParquetWriter(sink, part.schema, **options) as writer:
        for g in range(g0, g1):
            writer.write_table(
                part.slice(bounds[g] - bounds[g0], group_rows[g]), row_group_size=group_rows[g]
            )
    return sink.getvalue() if growing else buf.slice(0, sink.tell())


def _computed_row_groups(
    table: pa.Table, group_rows: list[int], parts: int | None, options: dict
) -> list[tuple[list[list], memoryview, int]]:
    """Each row group of `table` cut at the source's row-group bounds, written on several
    threads into memory: per group its RowGroup footer entry, its page bytes and their offset
    in the written piece."""
    bounds = [0]
    for rows in group_rows:
        bounds.append(bounds[-1] + rows)
    n_parts = max(1, min(parts or os.cpu_count() or 1, len(group_rows)))
    cuts = (
        [0]
        + [
            min(range(len(bounds)), key=lambda g: abs(bounds[g] - table.num_rows * p // n_parts))
            for p in range(1, n_parts)
        ]
        + [len(group_rows)]
    )
    results: list = [None] * n_parts

    def work(p: int) -> None:
        part = table.slice(bounds[cuts[p]], bounds[cuts[p + 1]] - bounds[cuts[p]])
        try:
            data = _written(part, cuts[p], cuts[p + 1], bounds, group_rows, options, False)
        except (pa.ArrowInvalid, OSError):  # larger than its bound: written growing
            data = _written(part, cuts[p], cuts[p + 1], bounds, group_rows, options, True)
        with pa.BufferReader(data) as f:
            meta = _Reader(footer_of(f)[1]).struct()
        view = memoryview(data)
        out = []
        for rg in _field(meta, FMD_ROW_GROUPS)[2][1]:
            spans = [_chunk_span(c) for c in _field(rg, RG_COLUMNS)[2][1]]
            lo = min(s for s, _ in spans)
            hi = max(s + n for s, n in spans)
            out.append((rg, view[lo:hi], lo))
        results[p] = out

    _on_threads(work, n_parts)
    pieces = [piece for part in results for piece in part]
    if len(pieces) != len(group_rows):
        raise ValueError("the computed columns were not written in the source's row groups")
    return pieces
