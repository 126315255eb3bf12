"""Benchmark: save_checkpoint (temp file, fsync, rename, folder fsync) against a plain torch.save.

    python tests/bench_checkpoints.py                  # 256 MiB, 5 rounds
    python tests/bench_checkpoints.py --mib 16 256 1024 --rounds 3

Both save the same dict of float32 tensors, side by side in one run: in each round both run once,
in alternating order, each writing its own file in the same folder, after `os.sync()` so that
neither pays for the other's dirty pages. The table gives the median time of each, the throughput
and the ratio save_checkpoint / torch.save of throughputs (the goal is >= 0.8).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ckpt_helpers import load_checkpoint, save_checkpoint


def state_dict_of(mib: int) -> dict[str, torch.Tensor]:
    """``mib`` MiB of float32 weights, in 16 tensors like the layers of a model."""
    per_tensor = mib * 2**20 // 4 // 16
    generator = torch.Generator().manual_seed(0)
    return {f"layer{i}.weight": torch.randn(per_tensor, generator=generator) for i in range(16)}


def timed(fn) -> float:
    os.sync()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(mib: int, rounds: int, folder: Path) -> tuple[float, float]:
    """Median seconds of torch.save and of save_checkpoint for a ``mib`` MiB checkpoint."""
    ckpt = {"model": state_dict_of(mib), "epoch": 1}
    plain_path, safe_path = folder / "plain.pt", folder / "safe.pt"
    plain, safe = [], []
    for i in range(rounds + 1):  # round 0 warms up the page cache and the allocator
        pair = [("plain", lambda: torch.save(ckpt, plain_path)),
                ("safe", lambda: save_checkpoint(safe_path, ckpt))]
        for name, fn in (pair if i % 2 else pair[::-1]):
            seconds = timed(fn)
            if i:
                (plain if name == "plain" else safe).append(seconds)
    loaded = load_checkpoint(safe_path)  # the saved file is right
    assert all(torch.equal(loaded["model"][k], v) for k, v in ckpt["model"].items())
    plain_path.unlink()
    safe_path.unlink()
    return statistics.median(plain), statistics.median(safe)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, nargs="+", default=[256])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None,
                        help="folder to write in (default: a temp folder under the kit)")
    args = parser.parse_args()
    base = args.dir or Path(__file__).resolve().parent.parent
    print(f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"median of {args.rounds} rounds")
    print(f"{'size':>8}  {'torch.save':>12}  {'save_checkpoint':>16}  {'ratio':>6}")
    with tempfile.TemporaryDirectory(dir=base, prefix=".bench-") as folder:
        for mib in args.mib:
            plain, safe = bench(mib, args.rounds, Path(folder))
            print(f"{mib:>5} MiB  {mib / plain:>7.0f} MiB/s  {mib / safe:>11.0f} MiB/s  "
                  f"{plain / safe:>6.2f}")


if __name__ == "__main__":
    main()
