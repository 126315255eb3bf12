"""Try to break the kit's checkpoint helpers: corrupted files, crashes mid-save, malicious files.

    python scripts/attack_checkpoints.py           # a deterministic sample of every category
    python scripts/attack_checkpoints.py --full    # the full counts (5,000 mutated files, every
                                                # metadata byte, 50 kills)

It prints one table and exits 1 if anything escaped: an exception outside the CheckpointError
family, a hang, a crash, a silent wrong load, a lost checkpoint, an orphan temp file, or a payload
that ran. tests/test_attack_checkpoints.py runs the sample under pytest.

- corruption: mutated copies of a small (< 64 KiB) and a large (> 1 MiB) checkpoint go through
  load_checkpoint and inspect_checkpoint in worker processes, each case under a timeout;
- metadata scan: every byte of the small checkpoint's zip headers and central directory, set in
  turn to 6 values (the bytes a random mutation rarely hits, and the ones that matter most);
- kill: a forked child saves in a loop and is SIGKILLed at a random moment; the path must then
  hold the previous or the new checkpoint, and the next save must leave no temp folder;
- malicious: payloads that would create a sentinel file if they ran (their unsafe loaders really
  do create it in a control run) are refused by load_checkpoint and described by
  inspect_checkpoint, and the sentinel never appears.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import torch

import ckpt_helpers
from ckpt_helpers import CheckpointError, inspect_checkpoint, load_checkpoint, save_checkpoint

SAMPLE = {"corruption": 400, "scan step": 20, "kills": 8}
FULL = {"corruption": 5000, "scan step": 1, "kills": 50}
MUTATIONS = ("truncate", "bit flips", "overwritten run", "header bytes", "random bytes")
CASE_TIMEOUT_S = 20


# --- the checkpoints under attack --------------------------------------------------------------


def make_checkpoint(size: str) -> dict[str, Any]:
    """A typical checkpoint: model, optimizer after a step, epoch, history; 'large' adds 1.5 MiB."""
    torch.manual_seed(0)
    model = ckpt_helpers.Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(4, 10)).sum().backward()
    optimizer.step()
    ckpt: dict[str, Any] = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                            "epoch": 7, "history": {"val_loss": [0.9, 0.5, 0.25]}}
    if size == "large":
        ckpt["features"] = torch.randn(384, 1024)  # 1.5 MiB of float32
    return ckpt


def same(a: Any, b: Any) -> bool:
    """Nested equality: tensors by torch.equal (and dtype), everything else by ==."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
                and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return bool(a == b)


# --- corruption ------------------------------------------------------------------------------


def mutate(data: bytes, case: int, seed: int) -> tuple[str, bytes]:
    """The mutation for ``case``: deterministic in (case, seed)."""
    rng = random.Random(seed * 1_000_003 + case)
    kind = MUTATIONS[case % len(MUTATIONS)]
    out = bytearray(data)
    if kind == "truncate":
        return kind, bytes(out[:rng.randrange(len(out))])
    if kind == "bit flips":
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif kind == "overwritten run":
        start, length = rng.randrange(len(out)), rng.randint(1, 512)
        fill = rng.choice([b"\0", b"\xff", None])
        run = fill * length if fill else rng.randbytes(length)
        out[start:start + length] = run[:len(out) - start]
    elif kind == "header bytes":  # the first local header, or the central directory at the end
        region = range(0, 64) if rng.random() < 0.5 else range(max(0, len(out) - 1024), len(out))
        for _ in range(rng.randint(1, 4)):
            out[rng.choice(region)] = rng.randrange(256)
    else:  # random bytes, of the same length or a random one
        return kind, rng.randbytes(rng.choice([len(out), rng.randint(1, 4096)]))
    return kind, bytes(out)


def metadata_positions(data: bytes) -> list[int]:
    """Offsets of every byte of a zip that is not a member's data: headers, central directory."""
    in_data = bytearray(len(data))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:
                                                            info.header_offset + 30])
            start = info.header_offset + 30 + name_len + extra_len
            in_data[start:start + info.compress_size] = b"\1" * info.compress_size
    return [i for i, flag in enumerate(in_data) if not flag]


SCAN_VALUES = 6  # per metadata byte: 0x00, 0xff, 0x10 (the folder flag), and three bit flips


def scan_mutation(data: bytes, positions: list[int], case: int) -> tuple[str, bytes]:
    """Case ``case`` of the exhaustive scan: one metadata byte set to one of SCAN_VALUES values."""
    position, which = positions[case // SCAN_VALUES], case % SCAN_VALUES
    byte = data[position]
    value = [0x00, 0xFF, 0x10, byte ^ 0x01, byte ^ 0x80, byte ^ 0x10][which]
    if value == byte:
        value = byte ^ 0x04
    out = bytearray(data)
    out[position] = value
    return "metadata byte", bytes(out)


def run_case(path: Path, original: dict[str, Any]) -> str:
    """load_checkpoint and inspect_checkpoint on one file -> an outcome label."""
    try:
        loaded = load_checkpoint(path)
        outcome = "loaded, equal" if same(loaded, original) else "SILENT WRONG LOAD"
    except CheckpointError as error:
        outcome = f"refused: {type(error).__name__}"
    except Exception as error:  # noqa: BLE001 - counting escapes is the point
        outcome = f"ESCAPED load_checkpoint: {type(error).__name__}: {str(error)[:120]}"
    try:
        inspect_checkpoint(path)
    except Exception as error:  # noqa: BLE001
        outcome += f" | ESCAPED inspect_checkpoint: {type(error).__name__}: {str(error)[:120]}"
    return outcome


def corruption_worker(size: str, cases: list[int], seed: int, scan: bool = False) -> None:
    """Run in a child process: one line per case on stdout; SIGALRM kills a hung case."""
    torch.set_num_threads(1)
    original = make_checkpoint(size)
    folder = Path(tempfile.mkdtemp(prefix="break-"))
    base = save_checkpoint(original, folder / f"{size}.pt").read_bytes()
    positions = metadata_positions(base)
    target = folder / "mutated.pt"
    for case in cases:
        kind, data = scan_mutation(base, positions, case) if scan else mutate(base, case, seed)
        target.write_bytes(data)
        print(json.dumps({"start": case}), flush=True)
        signal.alarm(CASE_TIMEOUT_S)  # default action: the worker dies, the parent counts a hang
        outcome = run_case(target, original)
        signal.alarm(0)
        print(json.dumps({"case": case, "size": size, "kind": kind, "outcome": outcome}),
              flush=True)


def corruption_campaign(n: int, seed: int = 2024, workers: int = 2) -> Counter[str]:
    """Mutate n files (half small, half large) in ``workers`` processes; count the outcomes."""
    jobs = [(size, [c for c in range(n // 2) if c % workers == w], False)
            for size in ("small", "large") for w in range(workers)]
    return _run_jobs(jobs, seed)


def metadata_scan(step: int = 1, workers: int = 2) -> Counter[str]:
    """Every ``step``-th metadata byte of the small checkpoint, each set to SCAN_VALUES values."""
    original = make_checkpoint("small")
    with tempfile.TemporaryDirectory() as folder:
        base = save_checkpoint(original, Path(folder) / "small.pt").read_bytes()
    cases = [c for c in range(len(metadata_positions(base)) * SCAN_VALUES)
             if (c // SCAN_VALUES) % step == 0]
    return _run_jobs([("small", cases[w::workers], True) for w in range(workers)], 0)


def _run_jobs(jobs: list[tuple[str, list[int], bool]], seed: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def drive(size: str, cases: list[int], scan: bool) -> None:
        todo = list(cases)
        while todo:
            code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                    f"import attack_checkpoints as b; "
                    f"b.corruption_worker({size!r}, {todo!r}, {seed}, {scan})")
            proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                    text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            started = None
            assert proc.stdout is not None
            for line in proc.stdout:
                record = json.loads(line)
                if "start" in record:
                    started = record["start"]
                    continue
                todo.remove(record["case"])
                started = None
                with lock:
                    counts[f"{record['size']:5} {record['kind']:15} {record['outcome']}"] += 1
            proc.wait()
            if started is not None:  # the worker died inside a case
                todo.remove(started)
                what = "HANG" if proc.returncode == -signal.SIGALRM else \
                    f"CRASH (exit {proc.returncode})"
                with lock:
                    counts[f"{size:5} {'?':15} {what}"] += 1
            elif todo:
                raise RuntimeError(f"corruption worker failed with exit {proc.returncode}")

    threads = [threading.Thread(target=drive, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


# --- kills -----------------------------------------------------------------------------------


def versioned(version: int) -> dict[str, Any]:
    """Checkpoint number ``version``: 8 MiB whose content says which version it is."""
    return {"version": version, "weights": torch.full((2048, 1024), float(version))}


def temp_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def kill_campaign(n: int, seed: int = 2024) -> Counter[str]:
    """SIGKILL a process saving in a loop ``n`` times; check what the path holds each time."""
    rng = random.Random(seed)
    # one thread: an OpenMP pool the parent used does not survive fork, and a child that touches
    # it hangs instead of saving
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _kills(n, rng)
    finally:
        torch.set_num_threads(threads)


def _kills(n: int, rng: random.Random) -> Counter[str]:
    folder = Path(tempfile.mkdtemp(prefix="kill-"))
    path = folder / "ckpt.pt"
    counts: Counter[str] = Counter()
    version = 0
    save_checkpoint(versioned(version), path)
    for _ in range(n):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: save versions version+1, version+2, ... until killed
            os.close(read_end)
            try:
                for v in range(version + 1, version + 1000):
                    os.write(write_end, f"begin {v}\n".encode())
                    save_checkpoint(versioned(v), path)
                    os.write(write_end, f"end {v}\n".encode())
            finally:
                os._exit(0)
        os.close(write_end)
        time.sleep(rng.uniform(0.03, 0.4))  # after the first save, at a random moment
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(read_end) as pipe:
            events = pipe.read().split()
        ended = [int(v) for e, v in zip(events[::2], events[1::2]) if e == "end"]
        begun = [int(v) for e, v in zip(events[::2], events[1::2]) if e == "begin"]
        if not ended:
            counts["CHILD NEVER FINISHED A SAVE (the test itself is broken)"] += 1
        previous = ended[-1] if ended else version
        in_flight = begun[-1] if begun else version
        try:
            held = load_checkpoint(path)
            ok = held["version"] in (previous, in_flight) and same(held, versioned(held["version"]))
            counts["path held the previous or the new checkpoint, verified" if ok
                   else "LOST: the path held something else"] += 1
            version = held["version"]
        except CheckpointError as error:
            counts[f"LOST: {type(error).__name__}"] += 1
        counts["killed mid-write (a temp folder was left)" if temp_folders(folder)
               else "killed between saves or after the rename"] += 1
        version += 1
        save_checkpoint(versioned(version), path)  # the next save cleans up after the dead one
        counts["no orphan temp folder after the next save" if not temp_folders(folder)
               else "ORPHAN temp folder after the next save"] += 1
    return counts


# --- malicious files -------------------------------------------------------------------------
# Each payload, if it ran, would create SENTINEL. They are built in a fresh process from
# PAYLOAD_SOURCE; CONTROL loads each one with the unsafe loader a careless user would call,
# to prove that the payload is real.

PAYLOAD_SOURCE = r'''
import functools, os, pickle, subprocess, sys, warnings, zipfile
from pathlib import Path
import numpy as np
import torch

folder, sentinel = Path(sys.argv[1]), sys.argv[2]
touch = f"open({sentinel!r}, 'w').close()"

class Reduce:
    def __init__(self, fn, *args): self.fn, self.args = fn, args
    def __reduce__(self): return (self.fn, self.args)

class Evil:  # pickled as __main__.Evil; its __setstate__ in the victim's __main__ would run
    def __reduce__(self): return (Evil, (), {"cmd": touch})

plain = {"weights": torch.zeros(3)}
torch.save({**plain, "x": Reduce(os.system, f"touch {sentinel}")}, folder / "os_system.pt")
torch.save({**plain, "x": Reduce(eval, touch)}, folder / "builtins_eval.pt")
torch.save({**plain, "x": Reduce(exec, touch)}, folder / "builtins_exec.pt")
torch.save({**plain, "x": Reduce(subprocess.call, ["touch", sentinel])}, folder / "subprocess.pt")
torch.save({**plain, "x": Reduce(functools.partial(os.system, f"touch {sentinel}"))},
           folder / "functools_partial.pt")
torch.save({**plain, "x": Evil()}, folder / "main_class.pt")
arr = np.empty(1, dtype=object); arr[0] = Reduce(os.system, f"touch {sentinel}")
torch.save({**plain, "x": arr}, folder / "numpy_object_array.pt")
(folder / "pickle_protocol4.pt").write_bytes(
    pickle.dumps({"x": Reduce(os.system, f"touch {sentinel}")}, protocol=4))
torch.save({**plain, "x": Reduce(os.system, f"touch {sentinel}")}, folder / "legacy_format.pt",
           _use_new_zipfile_serialization=False)
payload = pickle.dumps(Reduce(os.system, f"touch {sentinel}"), protocol=2)
torch.save(plain, folder / "good.pt")
good = (folder / "good.pt").read_bytes()
(folder / "trailing_garbage.pt").write_bytes(good + payload)
(folder / "pickle_then_zip.pt").write_bytes(payload + good)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # TorchScript is deprecated: the archive is what we need
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(folder / "torchscript.pt"))
(folder / "good.pt").unlink()
'''

# How a careless user would open each file; running it must create the sentinel.
CONTROL = r'''
import os, pickle, sys
from pathlib import Path
import torch
folder, sentinel, name = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

class Evil:
    def __setstate__(self, state): exec(state["cmd"])

path = folder / name
try:
    if name == "pickle_protocol4.pt":
        pickle.loads(path.read_bytes())
    elif name == "trailing_garbage.pt":
        data = path.read_bytes(); pickle.loads(data[data.rindex(b"PK\x05\x06") + 22:])
    else:
        torch.load(path, weights_only=False)
except Exception as error:
    print(type(error).__name__, error)
print("RAN" if os.path.exists(sentinel) else "did not run")
'''

# What inspect_checkpoint must say about each payload (a piece of its report).
EXPECTED = {
    "os_system.pt": "unsafe:    posix.system" if os.name == "posix" else "unsafe:    nt.system",
    "builtins_eval.pt": "unsafe:    builtins.eval",
    "builtins_exec.pt": "unsafe:    builtins.exec",
    "subprocess.pt": "unsafe:    subprocess.call",
    "functools_partial.pt": "unsafe:    functools.partial",
    "main_class.pt": "unsafe:    __main__.Evil",
    "numpy_object_array.pt": "numpy.",
    "pickle_protocol4.pt": "format:    plain pickle",
    "legacy_format.pt": "format:    legacy torch",
    "trailing_garbage.pt": "integrity: FAILED: it does not end where the zip ends",
    "pickle_then_zip.pt": "format:    plain pickle",
    "torchscript.pt": "format:    TorchScript archive",
}
NO_CONTROL = {"torchscript.pt": "TorchScript holds TorchScript code, not a pickle payload"}


def malicious_campaign(control: bool = True) -> Counter[str]:
    """Build the payloads, prove they are live (control), then attack the helpers with them."""
    folder = Path(tempfile.mkdtemp(prefix="payloads-"))
    sentinel = folder / "SENTINEL"
    subprocess.run([sys.executable, "-c", PAYLOAD_SOURCE, str(folder), str(sentinel)],
                   check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    counts: Counter[str] = Counter()
    for path in sorted(folder.glob("*.pt")):
        name = path.name
        if control and name not in NO_CONTROL:
            out = subprocess.run([sys.executable, "-c", CONTROL, str(folder), str(sentinel), name],
                                 capture_output=True, text=True, check=True).stdout
            counts["control: the unsafe loader ran the payload" if "RAN" in out
                   else f"CONTROL FAILED for {name}: {out.strip()[-200:]}"] += 1
            sentinel.unlink(missing_ok=True)
        try:
            load_checkpoint(path)
            counts[f"LOADED {name}"] += 1
        except CheckpointError as error:
            counts[f"refused by load_checkpoint: {type(error).__name__}"] += 1
        except Exception as error:  # noqa: BLE001
            counts[f"ESCAPED on {name}: {type(error).__name__}"] += 1
        report = str(inspect_checkpoint(path))
        counts["described by inspect_checkpoint: " + EXPECTED[name] if EXPECTED[name] in report
               else f"INSPECT CALLED {name} SAFE: {report}"] += 1
        counts["payload ran" if sentinel.exists() else "payload never ran"] += 1
    counts["payloads"] = len(list(folder.glob("*.pt")))
    return counts


BAD = ("ESCAPED", "HANG", "CRASH", "SILENT", "LOST", "ORPHAN", "LOADED", "INSPECT CALLED",
       "CONTROL FAILED", "payload ran", "CHILD NEVER")


def failures(counts: Counter[str]) -> int:
    return sum(n for label, n in counts.items() if label.startswith(BAD) or
               any(f" {word}" in label for word in BAD))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="5,000 mutated files and 50 kills")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    sizes = FULL if args.full else SAMPLE
    bad = 0
    for title, run in [
        (f"corruption: {sizes['corruption']} mutated files",
         lambda: corruption_campaign(sizes["corruption"], args.seed)),
        ("metadata scan: " + ("every" if sizes["scan step"] == 1 else
                              f"every {sizes['scan step']}th") + " header byte, 6 values each",
         lambda: metadata_scan(sizes["scan step"])),
        (f"kill: {sizes['kills']} SIGKILLs during save_checkpoint",
         lambda: kill_campaign(sizes["kills"], args.seed)),
        ("malicious payloads", malicious_campaign),
    ]:
        start = time.perf_counter()
        counts = run()
        print(f"\n{title} ({time.perf_counter() - start:.0f} s)")
        for label, n in sorted(counts.items()):
            print(f"  {n:6}  {label}")
        bad += failures(counts)
    print(f"\n{'FAILED' if bad else 'OK'}: {bad} failures")
    return 1 if bad else 0


if __name__ == "__main__":
    warnings.simplefilter("ignore", DeprecationWarning)
    sys.exit(main())
