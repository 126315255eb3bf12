"""A classroom under load: K students at once on the kit's JupyterHub, on 127.0.0.1 only.

    sudo .venv/bin/python scripts/load_classroom.py [--students 2,4,8] [--deadline 1200]

Starts the hub (``classroom/hub.py``, a throwaway class list and homes, an API token for this
script), then for each K: starts K students' servers at once through the hub's REST API, and in
each, through the kernel websocket, runs every code cell of lesson 01 with right answers in its
exercise cells (the check cells included; each must print ``Exercise N: passed``), then runs
``python -m ckpt_helpers check`` on that notebook, saved in the student's home, from the same
kernel. It measures, per student: the seconds to the last check cell's verdict, to the checker's
verdict, and the peak resident memory (RSS) of the student's server, kernel and checker
processes. It prints a Markdown table; the accounts and homes are removed at the end. Bounded:
at most 16 students per round, and ``--deadline`` seconds in all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

KIT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT / "tests"))
from answers.lesson01 import ANSWERS
from conftest import fill

from ckpt_kit.exercises import find_exercises

LESSON = "01_define_the_net.ipynb"
MAX_STUDENTS = 16
MIB = 2**20


def hub_module():  # noqa: ANN201 - classroom/hub.py, imported from its folder
    """The instructor's start/stop command (classroom/hub.py) as a module."""
    sys.path.insert(0, str(KIT / "classroom"))
    import hub

    return hub


@dataclass
class Student:
    """One student of a round and what was measured for them."""

    name: str
    lesson_s: float = 0.0
    check_s: float = 0.0
    verdicts: str = ""
    check_ok: bool = False
    peak: dict[str, int] = field(default_factory=lambda: {"server": 0, "kernel": 0, "check": 0})


def answered_cells() -> tuple[list[str], nbformat.NotebookNode]:
    """Lesson 01's code cells with a right answer in each exercise, and that notebook."""
    nb = nbformat.read(KIT / "notebooks" / LESSON, as_version=4)
    cells = {cell.get("id"): cell for cell in nb.cells}
    for ex in find_exercises(nb):
        answer = ANSWERS[ex.number]["right"][0]
        cells[ex.answer_id].source = fill(cells[ex.answer_id].source, answer)
    return [c.source for c in nb.cells if c.cell_type == "code"], nb


class Hub:
    """The hub's REST API and the students' servers, through the proxy, with the token."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.http = AsyncHTTPClient(force_instance=True, defaults={"request_timeout": 300})

    async def call(self, method: str, path: str, body: object = None) -> object:
        """A REST call with the token; its JSON answer."""
        request = HTTPRequest(f"{self.url}{path}", method=method,
                              headers={"Authorization": f"token {self.token}"},
                              body=None if body is None else json.dumps(body),
                              allow_nonstandard_methods=True)
        response = await self.http.fetch(request, raise_error=True)
        return json.loads(response.body) if response.body else None

    async def start_server(self, name: str, timeout_s: float = 300) -> None:
        """Ask the hub to start ``name``'s server and wait until it is ready."""
        await self.call("POST", f"/hub/api/users/{name}/server", {})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            user = await self.call("GET", f"/hub/api/users/{name}")
            if user["servers"].get("", {}).get("ready"):
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"{name}'s server did not start in {timeout_s} s")

    async def stop_server(self, name: str) -> None:
        """Ask the hub to stop ``name``'s server."""
        await self.call("DELETE", f"/hub/api/users/{name}/server")


async def execute(ws, code: str, session: str) -> tuple[str, str]:
    """Run ``code`` through the kernel websocket; its status and what it printed."""
    msg_id = uuid.uuid4().hex
    await ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                   "username": "", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    printed = []
    while True:
        raw = await ws.read_message()
        if raw is None:
            raise ConnectionError("the kernel's websocket closed")
        if isinstance(raw, bytes):  # a message with binary buffers (a widget's): not ours
            continue
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        elif msg["msg_type"] == "execute_reply":
            return msg["content"]["status"], "".join(printed)


CHECK_CODE = ("import subprocess, sys\n"
              f"r = subprocess.run([sys.executable, '-m', 'ckpt_helpers', 'check', '{LESSON}'],"
              " capture_output=True, text=True)\nprint(r.stdout + r.stderr)")


async def run_student(hub: Hub, student: Student, cells: list[str],
                      nb: nbformat.NotebookNode) -> None:
    """Start the server, run the answered lesson through a kernel, then the checker."""
    base = f"/user/{student.name}/api"
    await hub.call("PUT", f"{base}/contents/course/{LESSON}",
                   {"type": "notebook", "format": "json", "content": nb})
    session = await hub.call("POST", f"{base}/sessions",
                             {"path": f"course/{LESSON}", "type": "notebook",
                              "kernel": {"name": "python3"}})
    ws_url = hub.url.replace("http", "ws", 1) + f"{base}/kernels/{session['kernel']['id']}/channels"
    ws = await websocket_connect(HTTPRequest(ws_url, headers={
        "Authorization": f"token {hub.token}"}))
    started = time.monotonic()
    printed = []
    for source in cells:
        status, out = await execute(ws, source, session["id"])
        printed.append(out)
        if status != "ok":
            raise RuntimeError(f"{student.name}: a cell failed: {out[-500:]}")
    student.lesson_s = time.monotonic() - started
    student.verdicts = " ".join(line for line in "".join(printed).splitlines()
                                if line.startswith("Exercise "))
    started = time.monotonic()
    _, out = await execute(ws, CHECK_CODE, session["id"])
    student.check_s = time.monotonic() - started
    student.check_ok = out.count(": passed") == 3
    if not student.check_ok:
        print(f"{student.name}: the checker did not pass every exercise: {out[-600:]}",
              file=sys.stderr)
    ws.close()
    await hub.call("DELETE", f"{base}/sessions/{session['id']}")


def _rss(procs: list[psutil.Process]) -> int:
    """The summed resident memory of ``procs``, in bytes."""
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:  # it ended between the listing and the reading
            pass
    return total


def _sample(student: Student, server: psutil.Process) -> None:
    """One reading of a student's processes: the server, its kernels, what the kernels run."""
    try:
        kernels = server.children()
        below = [p for k in kernels for p in k.children(recursive=True)]
    except psutil.Error:
        return
    for kind, procs in (("server", [server]), ("kernel", kernels), ("check", below)):
        student.peak[kind] = max(student.peak[kind], _rss(procs))


def sample_memory(students: list[Student], stop: threading.Event) -> None:
    """Every 0.3 s, each student's processes' RSS: the peaks of server, kernel and checker."""
    servers: dict[str, psutil.Process] = {}
    while not stop.wait(0.3):
        if len(servers) < len(students):
            for proc in psutil.process_iter(["username", "cmdline"]):
                command = " ".join(proc.info["cmdline"] or []).replace("-", ".")
                if "jupyterhub.singleuser" in command:
                    servers.setdefault(proc.info["username"], proc)
        for student in students:
            if student.name in servers:
                _sample(student, servers[student.name])


async def run_round(hub: Hub, names: list[str]) -> tuple[list[Student], float]:
    """K students at once: start servers, run the lesson and the checker; the round's seconds."""
    cells, nb = answered_cells()
    students = [Student(name) for name in names]
    stop = threading.Event()
    sampler = threading.Thread(target=sample_memory, args=(students, stop), daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        await asyncio.gather(*(hub.start_server(name) for name in names))
        spawn_s = time.monotonic() - started
        await asyncio.gather(*(run_student(hub, s, cells, nb) for s in students))
    finally:
        stop.set()
        sampler.join()
        await asyncio.gather(*(hub.stop_server(name) for name in names),
                             return_exceptions=True)
    return students, spawn_s


def row(k: int, students: list[Student], spawn_s: float) -> str:
    """One line of the Markdown table."""
    lesson = [s.lesson_s for s in students]
    check = [s.check_s for s in students]

    def peak(kind: str) -> str:
        values = [s.peak[kind] / MIB for s in students]
        return f"{statistics.median(values):.0f} / {max(values):.0f}"

    return (f"| {k} | {spawn_s:.1f} | {statistics.median(lesson):.1f} / {max(lesson):.1f} | "
            f"{statistics.median(check):.1f} / {max(check):.1f} | {peak('server')} | "
            f"{peak('kernel')} | {peak('check')} | "
            f"{sum(s.check_ok for s in students)} of {len(students)} |")


HEADER = ("| students at once | all servers started (s) | lesson 01 to its last verdict, "
          "median / worst (s) | `check`, median / worst (s) | server RSS, median / max (MiB) | "
          "kernel RSS (MiB) | checker RSS (MiB) | checker said passed ×3 |\n"
          "|---|---|---|---|---|---|---|---|")


def start_hub(names: list[str], work: Path, homes: Path, token: str, python: str) -> str:
    """Start the hub on 127.0.0.1 for ``names``; its URL."""
    (work / "students.txt").write_text("\n".join(names) + "\n")
    ports = [_free_port() for _ in range(3)]
    subprocess.run(
        [sys.executable, str(KIT / "classroom" / "hub.py"), "start",
         "--bind", f"127.0.0.1:{ports[0]}", "--students", str(work / "students.txt"),
         "--homes", str(homes), "--state", str(work / "state"),
         "--ports", f"{ports[1]},{ports[2]}", "--python", python],
        env={**os.environ, "KIT_HUB_API_TOKEN": token}, check=True, timeout=180)
    return f"http://127.0.0.1:{ports[0]}"


def _free_port() -> int:
    """A port nobody listens on, on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def measure(url: str, token: str, rounds: dict[int, list[str]], deadline: float) -> None:
    """Run each round in turn and print its line of the table."""
    hub = Hub(url, token)
    print(HEADER, flush=True)
    for k, names in rounds.items():
        if time.monotonic() > deadline:
            print(f"| {k} | (skipped: past the deadline) |||||")
            continue
        students, spawn_s = await asyncio.wait_for(run_round(hub, names),
                                                   timeout=max(deadline - time.monotonic(), 1))
        print(row(k, students, spawn_s), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Start the hub, measure every round, and remove everything the run made."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", default="2,4,8", help="K for each round (default 2,4,8)")
    parser.add_argument("--deadline", type=float, default=1200, help="seconds in all")
    parser.add_argument("--python", default=sys.executable,
                        help="the Python of students' servers (see classroom/hub.py --python)")
    args = parser.parse_args(argv)
    sizes = [int(k) for k in args.students.split(",")]
    if os.geteuid() != 0 or any(not 1 <= k <= MAX_STUDENTS for k in sizes):
        parser.error(f"run as root, with 1 to {MAX_STUDENTS} students per round")
    suffix, token = secrets.token_hex(3), secrets.token_hex(24)
    rounds = {k: [f"kitload{k}n{i}x{suffix}" for i in range(k)] for k in sizes}
    names = [name for group in rounds.values() for name in group]
    work = Path(tempfile.mkdtemp(prefix="kit-load-"))
    homes = Path(tempfile.mkdtemp(prefix="kitload-", dir="/home"))
    homes.chmod(0o755)
    solutions = KIT / "notebooks" / "solutions"
    solutions_mode = solutions.stat().st_mode & 0o777  # hub.py start closes it: put it back
    deadline = time.monotonic() + args.deadline
    try:
        url = start_hub(names, work, homes, token, args.python)
        asyncio.run(measure(url, token, rounds, deadline))
    finally:
        subprocess.run([sys.executable, str(KIT / "classroom" / "hub.py"), "stop",
                        "--state", str(work / "state")], check=False, timeout=120)
        hub_module().remove_students(names)
        shutil.rmtree(homes, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        solutions.chmod(solutions_mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
