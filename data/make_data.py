"""Generate the kit's regression dataset: 10 input features -> 10 targets.

    python data/make_data.py            # (re)write data/train.csv and data/val.csv
    python data/make_data.py --out DIR  # write them somewhere else (the tests do this)

The data is pure Python (``random`` + ``math``), so it does not depend on the torch version:
the same seed gives the same bytes everywhere, and ``data/README.md`` records their SHA-256.

How a sample is made: ``x ~ N(0, 1)^10``;
``y = x @ W + 0.5 * sin(x @ V) + noise``, with ``W`` and ``V`` fixed 10x10 random maps
(entries ~ N(0, 1/10)) and ``noise ~ N(0, 0.05^2)``. The linear part is learnable by the
classic two-layer ``Net``; the sine part is what a network with a nonlinearity can add.
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

SEED = 2024  # fixes W, V, every x and every noise draw
N_FEATURES = 10  # inputs per sample (Net.fc1 takes 10)
N_TARGETS = 10  # outputs per sample (Net.fc2 gives 10)
N_TRAIN = 512  # training samples
N_VAL = 128  # validation samples
NOISE_STD = 0.05  # standard deviation of the additive target noise
DECIMALS = 6  # digits written per value: enough for float32, stable as text

HERE = Path(__file__).resolve().parent


def _matrix(rng: random.Random, rows: int, cols: int, std: float) -> list[list[float]]:
    return [[rng.gauss(0.0, std) for _ in range(cols)] for _ in range(rows)]


def _sample(rng: random.Random, w: list[list[float]], v: list[list[float]]) -> list[float]:
    x = [rng.gauss(0.0, 1.0) for _ in range(N_FEATURES)]
    y = []
    for j in range(N_TARGETS):
        linear = sum(x[i] * w[i][j] for i in range(N_FEATURES))
        wiggle = math.sin(sum(x[i] * v[i][j] for i in range(N_FEATURES)))
        y.append(linear + 0.5 * wiggle + rng.gauss(0.0, NOISE_STD))
    return x + y


def _write_csv(path: Path, rows: list[list[float]]) -> None:
    header = [f"x{i}" for i in range(N_FEATURES)] + [f"y{j}" for j in range(N_TARGETS)]
    lines = [",".join(header)]
    lines += [",".join(f"{value:.{DECIMALS}f}" for value in row) for row in rows]
    # newline="\n": identical bytes (and checksums) on Windows too
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def generate(out_dir: Path) -> list[Path]:
    """Write ``train.csv`` and ``val.csv`` into ``out_dir`` and return their paths."""
    rng = random.Random(SEED)
    std = 1.0 / math.sqrt(N_FEATURES)
    w = _matrix(rng, N_FEATURES, N_TARGETS, std)
    v = _matrix(rng, N_FEATURES, N_TARGETS, std)
    rows = [_sample(rng, w, v) for _ in range(N_TRAIN + N_VAL)]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "train.csv", out_dir / "val.csv"]
    _write_csv(paths[0], rows[:N_TRAIN])
    _write_csv(paths[1], rows[N_TRAIN:])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into")
    args = parser.parse_args()
    for path in generate(args.out):
        print(path)


if __name__ == "__main__":
    main()
