"""`fangpin settle` (file in, file out) and `fangpin explain` (one claim's settlement bill)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from fangpin.cli import EXIT_OK, EXIT_REJECTS, UsageError
from fangpin.policy.registry import Pack, load_pack
from fangpin.policy.source import PackError
from fangpin.tabular.claims import read_inputs
from fangpin.tabular.io import TableError, rejects_path, table_format, write_table
from fangpin.tabular.output import write_settled

PROGRESS_MIN_ROWS = 200_000


def register(sub) -> None:
    p = sub.add_parser("settle", help="settle a file of claims through the three tiers")
    _common(p)
    p.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    p.set_defaults(handler=cmd_settle)
    e = sub.add_parser("explain", help="print one claim's settlement bill with each tier's basis")
    _common(e)
    e.add_argument("--setl-id", required=True)
    e.set_defaults(handler=cmd_explain)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", required=True, help="region pack id (see: fangpin policy list)")
    p.add_argument("--claims", required=True, type=Path, help="claims file (.csv or .parquet)")
    p.add_argument(
        "--identities", required=True, type=Path, help="identities file (.csv or .parquet)"
    )


class _Progress:
    """Stage progress on stderr, only on a terminal and only for long runs: the bar appears at
    the first stage of a run of PROGRESS_MIN_ROWS rows or more, so short runs print nothing."""

    def __init__(self, stages: list[str]):
        self.bar = None
        self.stages = stages
        self.terminal = sys.stderr.isatty()

    def step(self, name: str, rows: int = 0) -> None:
        if not self.terminal or rows < PROGRESS_MIN_ROWS:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=len(self.stages), file=sys.stderr, unit="step", leave=False)
        self.bar.set_description(name)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _load(args: argparse.Namespace):
    try:
        pack = load_pack(args.policy)
    except PackError as exc:
        raise UsageError(str(exc)) from None
    try:
        claims, identities = read_inputs(args.claims, args.identities)
    except TableError as exc:
        raise UsageError(str(exc)) from None
    return pack, claims, identities


def cmd_settle(args: argparse.Namespace) -> int:
    from fangpin.engine.settle import settle_batch

    try:
        table_format(args.out)
    except TableError as exc:
        raise UsageError(str(exc)) from None
    progress = _Progress(["read", "settle", "write"])
    pack, claims, identities = _load(args)
    progress.step("read", claims.good.height)
    result = settle_batch(pack, claims.good, identities.good)
    progress.step("settle", claims.good.height)
    write_settled(result.claims, args.out, claims.source)
    rejects = pl.concat([claims.rejects, identities.rejects])
    write_table(rejects, rejects_path(args.out))
    progress.step("write", claims.good.height)
    progress.close()
    print(
        f"settled {result.claims.height} claims with {pack.id} -> {args.out}; "
        f"rejected {claims.rejects.height} claim rows and {identities.rejects.height} identity rows"
        + (f" (reasons in {rejects_path(args.out)})" if rejects.height else "")
    )
    return EXIT_REJECTS if rejects.height else EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from fangpin.engine.explain import explain_claim, render_bill

    pack: Pack
    pack, claims, identities = _load(args)
    try:
        e = explain_claim(pack, claims.good, identities.good, args.setl_id)
    except KeyError:
        bad = claims.rejects.filter(pl.col("id") == args.setl_id)
        if bad.height:
            raise UsageError(f"claim {args.setl_id} was rejected: {bad['reason'][0]}") from None
        raise UsageError(f"no claim with setl_id {args.setl_id} in {args.claims}") from None
    print(render_bill(e))
    return EXIT_OK
