"""The kit's benchmark: checkpoint helpers against plain torch, import time, notebook times.

    python scripts/benchmark.py                    # 16 MiB, 256 MiB, 1 GiB; notebooks
    python scripts/benchmark.py --mib 256 --save-rounds 5 --rounds 3 --no-notebooks

Everything is measured side by side in one run, alternating the order of the contenders from
round to round, and reported as the median of the rounds:

- save: three ways to write the same dict (BigNet's state_dict and an epoch), each over its own
  previous file, each after os.sync() so that none pays for another's dirty pages:
  save_checkpoint (temp folder, torch.save, fsync, rename, folder fsync, stale temps removed);
  the durable floor, torch.save(path) then an fsync of the file and one of its folder: the least
  any save must do for the bytes to be on disk, but a crash mid-write leaves half a file; and a
  plain torch.save, which leaves the bytes in the page cache.
  Goal: time(save_checkpoint) / time(durable floor) <= 1.1 at every size. The ratio to plain
  torch.save is printed too; it measures the price of durability (the disk write), which no
  crash-safe save can avoid, so it has no goal.
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
from collections.abc import Callable
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


def medians(rounds: int, *contenders: Callable[[], float]) -> list[float]:
    """The median of each contender's result over ``rounds`` rounds; the order of the contenders
    is reversed every other round, so that none always runs first (or right after another)."""
    results: list[list[float]] = [[] for _ in contenders]
    for i in range(rounds):
        order = range(len(contenders)) if i % 2 == 0 else reversed(range(len(contenders)))
        for which in order:
            results[which].append(contenders[which]())
    return [statistics.median(r) for r in results]


def timed(fn: Callable[[], object]) -> float:
    os.sync()  # nobody's dirty pages left for the contender to flush
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def durable_save(obj: object, path: Path) -> None:
    """The durable floor: torch.save, then fsync the file and its folder (not crash-safe: a
    crash while it writes leaves half a file, and the previous one is gone)."""
    torch.save(obj, path)
    for target, flags in ((path, os.O_RDWR), (path.parent, os.O_RDONLY)):
        fd = os.open(target, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def bench_save(mib: int, rounds: int, folder: Path) -> dict[str, float]:
    """Median seconds of save_checkpoint, the durable floor and torch.save, side by side."""
    from ckpt_helpers import load_checkpoint, save_checkpoint
    ckpt = {"model": BigNet(mib).state_dict(), "epoch": 1}
    paths = {name: folder / f"{name}.pt" for name in ("safe", "durable", "plain")}
    savers = {"safe": lambda: save_checkpoint(ckpt, paths["safe"]),
              "durable": lambda: durable_save(ckpt, paths["durable"]),
              "plain": lambda: torch.save(ckpt, paths["plain"])}
    for save in savers.values():  # warm up the allocator; each later save replaces a file
        timed(save)
    times = medians(rounds, *[lambda save=save: timed(save) for save in savers.values()])
    loaded = load_checkpoint(paths["safe"])
    assert all(torch.equal(loaded["model"][k], v) for k, v in ckpt["model"].items())
    paths["durable"].unlink()
    paths["plain"].unlink()
    return dict(zip(savers, times))


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
    med = lambda runs, key: statistics.median(r[key] for r in runs)
    path.unlink()
    return ({"seconds": med(naive, "seconds"), "peak_mib": med(naive, "peak_mib")},
            {"seconds": med(fast, "seconds"), "peak_mib": med(fast, "peak_mib")})


def bench_import(rounds: int) -> tuple[float, float]:
    def run(module: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True, env=ENV)
        return time.perf_counter() - start
    run("torch")  # warm the file cache
    torch_s, kit_s = medians(rounds, lambda: run("torch"), lambda: run("ckpt_helpers"))
    return torch_s, kit_s


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
    print(f"{'size':>9} | {'save_checkpoint':>15} {'durable floor':>13} {'ratio':>6} "
          f"{'torch.save':>10} {'ratio':>6} | {'load s':>7} {'naive s':>7} {'ratio':>6} | "
          f"{'peak MiB':>8} {'naive':>7} {'ratio':>6}")
    with tempfile.TemporaryDirectory(dir=KIT_DIR, prefix=".bench-") as tmp:
        for mib in args.mib:
            save = bench_save(mib, args.save_rounds, Path(tmp))
            naive, fast = bench_load(mib, args.rounds, Path(tmp))
            safe, durable, plain = save["safe"], save["durable"], save["plain"]
            print(f"{mib:>5} MiB | {safe * 1000:>12.0f} ms {durable * 1000:>10.0f} ms "
                  f"{safe / durable:>6.2f} {plain * 1000:>7.0f} ms {safe / plain:>6.2f} | "
                  f"{fast['seconds']:>7.2f} {naive['seconds']:>7.2f} "
                  f"{fast['seconds'] / naive['seconds']:>6.2f} | {fast['peak_mib']:>8.0f} "
                  f"{naive['peak_mib']:>7.0f} {fast['peak_mib'] / naive['peak_mib']:>6.2f}",
                  flush=True)
    print("(save: median ms, ratio = time of save_checkpoint / time of the other; goal <= 1.1 "
          "against the durable floor)")
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
                           check=False, cwd=KIT_DIR, capture_output=True, text=True)
    last = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else "no output"
    print(f"\nnbval suite (pytest notebooks/solutions): {time.perf_counter() - start:.0f} s "
          f"({last})")


if __name__ == "__main__":
    main()
