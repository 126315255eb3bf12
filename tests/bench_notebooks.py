"""Benchmark: how long each lesson takes to execute, and to check, on this machine.

    python tests/bench_notebooks.py [--repeat 3]

For each instructor notebook it times, as separate processes started the way a user starts them:
- execute: `jupyter execute notebooks/solutions/NN.ipynb` (kernel start, `import torch`, every cell);
- check: `python -m ckpt_helpers check notebooks/solutions/NN.ipynb` (a fully answered notebook:
  every exercise runs and is graded);
and prints the median of each, their ratio, and the time of the whole test suite is left to
`python -m pytest --durations=0`. Goals (README): execute <= 11 s on 2 cores, check <= 1.5 x execute.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

KIT_DIR = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((KIT_DIR / "notebooks" / "solutions").glob("*.ipynb"))
JUPYTER = str(Path(sys.executable).with_name("jupyter"))


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()}")
    print(f"{'notebook':<28} {'execute s':>9} {'check s':>8} {'check/execute':>14}")
    for path in SOLUTIONS:
        execute = [timed([JUPYTER, "execute", path.name], path.parent) for _ in range(args.repeat)]
        check = [timed([sys.executable, "-m", "ckpt_helpers", "check", path.name], path.parent)
                 for _ in range(args.repeat)]
        e, c = statistics.median(execute), statistics.median(check)
        print(f"{path.name:<28} {e:>9.1f} {c:>8.1f} {c / e:>14.2f}")


if __name__ == "__main__":
    main()
