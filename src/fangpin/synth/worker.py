"""Write department spreadsheets in a second Python process while this one works on.

A county's monthly lists run to millions of cells; ``generate(..., workers=2)`` has half
of them written by a helper process. Since the sheets are written as one string per cell
(``xlsxio``) this saves about what starting and feeding the helper costs, so it is no
longer the default. It is a plain ``python -m fangpin.synth.worker_main JOBS RESULTS``
child rather than a multiprocessing pool: nothing of the caller's ``__main__`` is
re-imported (no ``if __name__ == "__main__"`` guard needed in user scripts), and no
fork happens after Polars has started its threads. Each file's dirt comes from its own
seed, so the output is the same whichever process writes a file. If the helper fails,
a warning says why and its files are written here instead.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from fangpin.synth.deptlists import DeptJob, run_job


@dataclass
class Helper:
    """A running helper process and where its results will appear."""

    jobs: list[DeptJob]
    tmp: tempfile.TemporaryDirectory | None = None
    proc: subprocess.Popen | None = None
    results_path: Path | None = None
    log_path: Path | None = None
    log: object = field(default=None, repr=False)


def start(jobs: list[DeptJob]) -> Helper:
    """Start a helper process on ``jobs``; returns at once."""
    h = Helper(jobs=jobs)
    if not jobs:
        return h
    h.tmp = tempfile.TemporaryDirectory(prefix="fangpin-synth-")
    tmp = Path(h.tmp.name)
    jobs_path, h.results_path, h.log_path = (
        tmp / "jobs.pkl",
        tmp / "results.pkl",
        tmp / "stderr.txt",
    )
    with open(jobs_path, "wb") as f:
        pickle.dump(jobs, f, protocol=pickle.HIGHEST_PROTOCOL)
    env = dict(os.environ)
    # Make the package importable in the child even when run from a source checkout.
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    h.log = open(h.log_path, "wb")  # noqa: SIM115 - closed in finish()
    try:
        h.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fangpin.synth.worker_main",
                str(jobs_path),
                str(h.results_path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=h.log,
            env=env,
        )
    except OSError:
        h.proc = None  # cannot start a process here: finish() writes the files itself
    return h


def finish(h: Helper) -> list[dict]:
    """Wait for the helper and return its per-file results (written here if it failed)."""
    if not h.jobs:
        return []
    results: list[dict] | None = None
    why = "could not start"
    try:
        if h.proc is not None:
            code = h.proc.wait()
            if code == 0 and h.results_path and h.results_path.exists():
                with open(h.results_path, "rb") as f:
                    results = pickle.load(f)
            else:
                h.log.close()
                tail = h.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                why = f"exited with status {code}: {tail.strip()}"
    finally:
        if h.log is not None:
            h.log.close()
        if h.tmp is not None:
            h.tmp.cleanup()
    if results is None:
        warnings.warn(
            f"fangpin.synth helper process {why}; writing its files in this process",
            RuntimeWarning,
            stacklevel=2,
        )
        results = [r for job in h.jobs for r in run_job(job)]
    return results


def abort(h: Helper) -> None:
    """Stop the helper (this process started it) and clean up, e.g. after an error here."""
    if h.proc is not None and h.proc.poll() is None:
        h.proc.kill()
        h.proc.wait()
    if h.log is not None:
        h.log.close()
    if h.tmp is not None:
        h.tmp.cleanup()
