"""Reading region-pack YAML files: every value carries where it came from.

A pack file marks each value `!seed` (stated by the pack's seed document) or `!assumed`
(chosen where the documents are silent; a bureau replaces it with its own figure). A tagged
node — scalar, list or mapping — is one value; an untagged mapping is structure and merges
key by key over the pack it extends; an untagged list is replaced whole.

All scalars are read as text (BaseLoader) so amounts and ratios are parsed exactly later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class PackError(ValueError):
    """An invalid region pack; the message names the file and the key."""

    def __init__(self, file: str | Path, key: str, message: str):
        self.file = str(file)
        self.key = key
        super().__init__(f"{Path(file).name}: {key}: {message}")


@dataclass(frozen=True)
class Value:
    """One value of a pack with its provenance."""

    raw: Any  # text, list or dict of text, as written
    source: str  # "seed" or "assumed"
    file: str  # the pack file that set it
    seed: str | None  # the seed document, for source == "seed"

    @property
    def mark(self) -> str:
        return f"● {self.seed}" if self.source == "seed" else "○ assumed"


class _Loader(yaml.BaseLoader):
    pass


def _plain(loader: yaml.BaseLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_plain(loader, n) for n in node.value]
    return {loader.construct_scalar(k): _plain(loader, v) for k, v in node.value}


class _Tagged:
    __slots__ = ("raw", "source", "line")

    def __init__(self, raw: Any, source: str, line: int):
        self.raw, self.source, self.line = raw, source, line


def _make_constructor(source: str):
    def construct(loader: yaml.BaseLoader, node: yaml.Node) -> _Tagged:
        return _Tagged(_plain(loader, node), source, node.start_mark.line + 1)

    return construct


_Loader.add_constructor("!seed", _make_constructor("seed"))
_Loader.add_constructor("!assumed", _make_constructor("assumed"))


def read_pack_file(path: Path) -> dict:
    """Parse a pack file into a dict whose tagged nodes are `_Tagged`."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_Loader)  # noqa: S506 - BaseLoader subclass, text only
    except yaml.constructor.ConstructorError as exc:
        raise PackError(path, "(file)", f"unknown tag: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise PackError(path, "(file)", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PackError(path, "(file)", "a pack file must be a mapping")
    return data


def to_values(node: Any, file: Path, seed: str | None, key: str) -> Any:
    """Turn a parsed tree into structure (dicts, lists) with `Value` leaves."""
    if isinstance(node, _Tagged):
        if node.source == "seed" and not seed:
            raise PackError(file, key, "marked !seed but the pack names no seed document")
        return Value(node.raw, node.source, str(file), seed if node.source == "seed" else None)
    if isinstance(node, dict):
        return {str(k): to_values(v, file, seed, f"{key}.{k}" if key else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [to_values(v, file, seed, f"{key}[{i}]") for i, v in enumerate(node)]
    if node is None or node == "":
        return None
    raise PackError(file, key, f"value {node!r} is not marked !seed or !assumed")


def merge(base: Any, over: Any) -> Any:
    """Deep-merge structure: mappings merge by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v) if k in base else v
        return out
    return over
