"""Benchmark: the whole `fangpin demo` build for a county of N people.

    python -m bench.demo [--people 100000] [--year 2025] [--policy ningxia-wuzhong-2025] [--keep DIR]

Builds the demo (`fangpin demo --no-serve`: migrate, generate, twelve months of lists,
enrollment, reconciliation, subsidies, claims, settlement, screening and case work, then the
missed-benefit run) on a fresh SQLite file in a temporary FANGPIN_HOME, and prints the wall
and CPU seconds (of this process) of each stage and the total. The peer figure, in the same
process afterwards, is the time to generate the same county's files alone
(fangpin.synth.generate), and the ratio of the whole build to it: how much the database work
costs over writing the data it starts from.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.demo")
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--policy", default="ningxia-wuzhong-2025")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="use this folder as FANGPIN_HOME and keep it")
    args = ap.parse_args(argv)

    home = args.keep or Path(tempfile.mkdtemp(prefix="fangpin-bench-demo-"))
    home.mkdir(parents=True, exist_ok=True)
    if (home / "fangpin.sqlite3").exists():
        raise SystemExit(f"{home} already holds a database; the benchmark needs a fresh one")
    os.environ["FANGPIN_HOME"] = str(home)
    os.environ["FANGPIN_DATABASE_URL"] = ""  # the embedded SQLite file under FANGPIN_HOME
    os.environ["FANGPIN_POLICY"] = args.policy
    try:
        return _run(args, home)
    finally:
        if args.keep is None:
            shutil.rmtree(home, ignore_errors=True)


def _run(args: argparse.Namespace, home: Path) -> int:
    from fangpin.commands.synth import choose_county

    county, _ = choose_county(args.policy, args.year, None)
    started, started_cpu = time.perf_counter(), time.process_time()
    from fangpin.people.bootstrap import setup_django

    setup_django(migrate=False)
    from fangpin.people.bootstrap import migrate_if_needed

    t, c = time.perf_counter(), time.process_time()
    migrate_if_needed()
    migrate, migrate_cpu = time.perf_counter() - t, time.process_time() - c
    from fangpin.demo.cycle import build_demo

    result = build_demo(
        people=args.people,
        year=args.year,
        pack_id=args.policy,
        work_dir=home / "demo",
        seed=args.seed,
        county=county,
        progress=lambda line: print(f"  {line}", flush=True),
    )
    total, total_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    stages = {"migrate": migrate, **result.stages}
    cpus = {"migrate": migrate_cpu, **result.cpu}

    from fangpin.synth import generate

    t = time.perf_counter()
    generate(home / "peer", people=args.people, year=args.year, seed=args.seed, county=county)
    peer = time.perf_counter() - t

    print(f"demo of {args.people} people ({county}, {args.year}, {args.policy}) on SQLite:")
    print(f"  {'stage':<16} {'wall':>8}   {'CPU':>8}")
    for name, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<16} {seconds:8.2f} s {cpus.get(name, 0.0):8.2f} s")
    other, other_cpu = total - sum(stages.values()), total_cpu - sum(cpus.values())
    print(f"  {'(other)':<16} {other:8.2f} s {other_cpu:8.2f} s")
    print(f"total            {total:8.2f} s {total_cpu:8.2f} s   (target ≤ 60 s)")
    print(f"peer: generating the files alone {peer:.2f} s; ratio total/peer {total / peer:.1f}")
    for line in result.summary.lines():
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
