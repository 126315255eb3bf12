"""The kit's benchmark: checkpoint helpers against plain torch, import time, notebook times.

    python scripts/benchmark.py                    # 16 MiB, 256 MiB, 1 GiB; notebooks
    python scripts/benchmark.py --mib 256 --rounds 5 --no-notebooks

Everything is measured side by side in one run, alternating the order of the two contenders in
each round, and reported as the median of the rounds:

- save: save_checkpoint (temp file, fsync, rename, folder fsync) against a plain torch.save of
  the same dict, after os.sync() so that neither pays for the other's dirty pages.
  Goal: throughput ratio >= 0.8.
- load into a model: load_weights(BigNet, path) (verify CRCs, mmap, build on the meta device,
  assign) against the naive way (build the model, torch.load, load_state_dict), each in a fresh
  process, timed from before building the model to after touching every weight (the page cache
  is warm for both: the file was just written). Peak memory is the rise of the process's
  high-water mark (VmHWM, Linux) above its size after `import torch`. Goals: time ratio <= 0.5,
  peak memory ratio <= 0.6.
- import: `python -c "import ckpt_helpers"` against `python -c "import torch"`. Goal: <= 1.1.
- notebooks: scripts/time_notebooks.py's execute and check times (goal: execute <= 11 s on 2
  cores), and the whole nbval suite (`pytest notebooks/solutions`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from ckpt_kit.paths import KIT_DIR
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


class BigNet(nn.Sequential):
    """``mib`` MiB of float32 weights: Linear(1024, 1024) layers of 4 MiB each (and their bias)."""

    def __init__(self, mib: int) -> None:
        super().__init__(*[nn.Linear(1024, 1024) for _ in range(max(1, mib // 4))])


# The two ways to load weights into a model, each run in a fresh process. {path} and {mib} are
# filled in; each prints {"seconds": ..., "peak_mib": ...}.
LOADERS = {
    "naive": """
model = BigNet({mib})                                       # random init, all memory allocated
model.load_state_dict(torch.load({path!r}, weights_only=True)["model"])   # a second copy, copied
""",
    "load_weights": """
model = load_weights(lambda: BigNet({mib}), {path!r})      # verify, mmap, meta, assign
""",
}
CHILD = """
import json, sys, time
sys.path.insert(0, {scripts!r})
import torch
from ckpt_helpers import load_weights
from benchmark import BigNet

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(field))

base = status("VmRSS:")
start = time.perf_counter()
{loader}
with torch.no_grad():
    total = sum(float(p.sum()) for p in model.parameters())   # touch every weight
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak_mib": status("VmHWM:") - base, "total": total}}))
"""


def median_pair(rounds: int, a, b) -> tuple[float, float]:
    """Median of ``a()`` and of ``b()`` over ``rounds`` rounds, alternating which goes first."""
    results: dict[int, list] = {0: [], 1: []}
    for i in range(rounds):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for which in order:
            results[which].append((a, b)[which]())
    return statistics.median(results[0]), statistics.median(results[1])


def timed(fn) -> float:
    os.sync()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_save(mib: int, rounds: int, folder: Path) -> tuple[float, float]:
    from ckpt_helpers import load_checkpoint, save_checkpoint
    ckpt = {"model": BigNet(mib).state_dict(), "epoch": 1}
    plain_path, safe_path = folder / "plain.pt", folder / "safe.pt"
    timed(lambda: torch.save(ckpt, plain_path))  # warm up the allocator and the page cache
    timed(lambda: save_checkpoint(ckpt, safe_path))
    plain, safe = median_pair(rounds, lambda: timed(lambda: torch.save(ckpt, plain_path)),
                              lambda: timed(lambda: save_checkpoint(ckpt, safe_path)))
    loaded = load_checkpoint(safe_path)
    assert all(torch.equal(loaded["model"][k], v) for k, v in ckpt["model"].items())
    plain_path.unlink()
    return plain, safe


def load_in_child(loader: str, path: Path, mib: int) -> dict:
    code = CHILD.format(scripts=str(Path(__file__).resolve().parent),
                        loader=LOADERS[loader].format(mib=mib, path=str(path)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=ENV).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_load(mib: int, rounds: int, folder: Path) -> tuple[dict, dict]:
    path = folder / "safe.pt"  # written by bench_save
    naive, fast = [], []
    for i in range(rounds):
        for loader in (("naive", "load_weights") if i % 2 == 0 else ("load_weights", "naive")):
            (naive if loader == "naive" else fast).append(load_in_child(loader, path, mib))
    assert {r["total"] for r in naive} == {r["total"] for r in fast}, "different weights loaded"
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    path.unlink()
    return ({"seconds": med(naive, "seconds"), "peak_mib": med(naive, "peak_mib")},
            {"seconds": med(fast, "seconds"), "peak_mib": med(fast, "peak_mib")})


def bench_import(rounds: int) -> tuple[float, float]:
    def run(module: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True, env=ENV)
        return time.perf_counter() - start
    run("torch")  # warm the file cache
    return median_pair(rounds, lambda: run("torch"), lambda: run("ckpt_helpers"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, nargs="+", default=[16, 256, 1024])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--save-rounds", type=int, default=9,
                        help="rounds of the save comparison (cheap, and noisy: disk writeback)")
    parser.add_argument("--no-notebooks", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}, "
          f"Python {platform.python_version()}, torch {torch.__version__}; "
          f"median of {args.save_rounds} rounds (save) and {args.rounds} (the rest)\n")
    print(f"{'size':>9} | {'save MiB/s':>10} {'torch.save':>10} {'ratio':>6} | "
          f"{'load s':>7} {'naive s':>7} {'ratio':>6} | {'peak MiB':>8} {'naive':>7} {'ratio':>6}")
    with tempfile.TemporaryDirectory(dir=KIT_DIR, prefix=".bench-") as tmp:
        for mib in args.mib:
            plain, safe = bench_save(mib, args.save_rounds, Path(tmp))
            naive, fast = bench_load(mib, args.rounds, Path(tmp))
            print(f"{mib:>5} MiB | {mib / safe:>10.0f} {mib / plain:>10.0f} {plain / safe:>6.2f} | "
                  f"{fast['seconds']:>7.2f} {naive['seconds']:>7.2f} "
                  f"{fast['seconds'] / naive['seconds']:>6.2f} | {fast['peak_mib']:>8.0f} "
                  f"{naive['peak_mib']:>7.0f} {fast['peak_mib'] / naive['peak_mib']:>6.2f}",
                  flush=True)
    torch_s, kit_s = bench_import(max(args.rounds, 5))
    print(f"\nimport torch {torch_s:.2f} s, import ckpt_helpers {kit_s:.2f} s: "
          f"ratio {kit_s / torch_s:.2f}", flush=True)
    if args.no_notebooks:
        return
    print()
    subprocess.run([sys.executable, str(Path(__file__).resolve().with_name("time_notebooks.py")),
                    "--repeat", str(args.rounds)], check=True)
    start = time.perf_counter()
    suite = subprocess.run([sys.executable, "-m", "pytest", "-q", "notebooks/solutions"],
                           cwd=KIT_DIR, capture_output=True, text=True)
    last = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else "no output"
    print(f"\nnbval suite (pytest notebooks/solutions): {time.perf_counter() - start:.0f} s "
          f"({last})")


if __name__ == "__main__":
    main()
