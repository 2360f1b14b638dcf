"""Region packs on disk: listing, loading with `extends`, dated versions, effective values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fangpin.policy.build import build_policy
from fangpin.policy.schema import Policy
from fangpin.policy.source import PackError, Value, merge, read_pack_file, to_values

PACK_DIR = Path(__file__).parent / "packs"
_HEAD_KEYS = {"id", "name", "region", "seed", "extends", "effective_from", "values", "changes", "kind"}


@dataclass(frozen=True)
class Change:
    start: dt.date
    tree: dict


@dataclass(frozen=True)
class Pack:
    id: str
    name: str
    region: str
    seed: str | None
    file: str
    effective_from: dt.date
    base: dict  # merged tree (structure with Value leaves) in force from effective_from
    changes: tuple[Change, ...]
    kind: str = "region"

    def change_dates(self) -> tuple[dt.date, ...]:
        return tuple(c.start for c in self.changes)

    def tree_at(self, date: dt.date) -> dict:
        tree = self.base
        for c in self.changes:
            if c.start <= date:
                tree = merge(tree, c.tree)
        return tree

    def policy_at(self, date: dt.date) -> Policy:
        """The effective policy on `date` (values of the latest change on or before it)."""
        idx = sum(1 for c in self.changes if c.start <= date)
        return self._policy(idx)

    def versions(self) -> list[tuple[dt.date, Policy]]:
        """Every version as (first day in force, policy)."""
        starts = [self.effective_from, *self.change_dates()]
        return [(s, self._policy(i)) for i, s in enumerate(starts)]

    @lru_cache(maxsize=16)  # noqa: B019 - packs are few and immutable
    def _policy(self, n_changes: int) -> Policy:
        tree = self.base
        file = self.file
        for c in self.changes[:n_changes]:
            tree = merge(tree, c.tree)
        return build_policy(self.id, self.name, tree, file)

    def __hash__(self) -> int:
        return hash((self.id, self.file))


def _date(raw: Any, file: Path, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise PackError(file, key, f"not a date (YYYY-MM-DD): {raw!r}") from None


def load_pack_file(path: Path, *, search_dir: Path | None = None) -> Pack:
    path = Path(path)
    data = read_pack_file(path)
    for key in data:
        if key not in _HEAD_KEYS:
            raise PackError(path, str(key), "unknown key")
    for key in ("id", "name", "effective_from", "values"):
        if key not in data:
            raise PackError(path, key, "missing")
    seed = data.get("seed")
    values = to_values(data["values"], path, seed, "values")
    if not isinstance(values, dict):
        raise PackError(path, "values", "expected a mapping")
    if data.get("extends"):
        parent = load_pack(str(data["extends"]), search_dir or path.parent)
        base = merge(parent.tree_at(_date(data["effective_from"], path, "effective_from")), values)
    else:
        base = values
    changes = []
    for i, ch in enumerate(data.get("changes") or []):
        if not isinstance(ch, dict) or set(ch) != {"from", "values"}:
            raise PackError(path, f"changes[{i}]", "a change is {from: date, values: {...}}")
        start = _date(ch["from"], path, f"changes[{i}].from")
        if changes and start <= changes[-1].start:
            raise PackError(path, f"changes[{i}].from", "changes out of date order")
        changes.append(Change(start, to_values(ch["values"], path, seed, f"changes[{i}].values")))
    pack = Pack(
        id=str(data["id"]),
        name=str(data["name"]),
        region=str(data.get("region", "")),
        seed=seed,
        file=str(path),
        effective_from=_date(data["effective_from"], path, "effective_from"),
        base=base,
        changes=tuple(changes),
        kind=str(data.get("kind", "region")),
    )
    if pack.id != path.stem:
        raise PackError(path, "id", f"id {pack.id!r} differs from the file name {path.stem!r}")
    if changes and changes[0].start <= pack.effective_from:
        raise PackError(path, "changes[0].from", "a change must start after effective_from")
    return pack


@lru_cache(maxsize=64)
def load_pack(pack_id: str, search_dir: Path | None = None) -> Pack:
    """Load a pack by id from the shipped packs (or `search_dir`), or by a path to a YAML file."""
    candidate = Path(pack_id)
    if candidate.suffix in (".yaml", ".yml") and candidate.exists():
        return load_pack_file(candidate)
    directory = search_dir or PACK_DIR
    path = directory / f"{pack_id}.yaml"
    if not path.exists():
        known = ", ".join(p.id for p in list_packs(directory))
        raise PackError(path, "id", f"no pack {pack_id!r}; known packs: {known}")
    pack = load_pack_file(path, search_dir=directory)
    for _start, _policy in pack.versions():
        pass  # build every version now so a bad value fails on load, naming file and key
    return pack


def list_packs(directory: Path | None = None) -> list[Pack]:
    """The region packs (not the shared baseline), sorted by id."""
    directory = directory or PACK_DIR
    packs = [load_pack(p.stem, directory) for p in sorted(directory.glob("*.yaml"))]
    return [p for p in packs if p.kind == "region"]


def flatten(tree: Any, prefix: str = "") -> list[tuple[str, Value]]:
    """(dotted key, value) for every value of a tree, in file order."""
    out: list[tuple[str, Value]] = []
    if isinstance(tree, Value):
        out.append((prefix, tree))
    elif isinstance(tree, dict):
        for k, v in tree.items():
            out.extend(flatten(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out.extend(flatten(v, f"{prefix}[{i}]"))
    return out
