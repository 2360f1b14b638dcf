"""Entry point of the helper process that writes department spreadsheets (see ``worker``).

Kept apart from ``worker`` so that ``python -m`` runs a module the package has not
already imported.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from fangpin.synth.deptlists import DeptJob, run_job


def main(argv: list[str]) -> int:
    jobs_path, results_path = Path(argv[0]), Path(argv[1])
    with open(jobs_path, "rb") as f:
        jobs: list[DeptJob] = pickle.load(f)
    results = [r for job in jobs for r in run_job(job)]
    tmp_out = results_path.with_suffix(".part")
    with open(tmp_out, "wb") as f:
        pickle.dump(results, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp_out.replace(results_path)  # appear only when complete
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
