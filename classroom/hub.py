"""Start or stop the kit's JupyterHub: ``.venv/bin/python classroom/hub.py start|stop [options]``.

``start`` runs JupyterHub in the background with ``classroom/jupyterhub_config.py``, as root (the
hub creates a system account per student and starts each student's server as that account),
after closing ``notebooks/solutions/`` to everyone but root (mode 0700). It returns once the hub
answers, printing its address; the log is ``STATE/jupyterhub.log``. ``stop`` stops the hub, its
proxy and every student's server. Students' homes, work and passwords are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CLASSROOM = Path(__file__).resolve().parent
KIT = CLASSROOM.parent
PROXY = CLASSROOM / "node_modules/.bin/configurable-http-proxy"
DEFAULT_STATE = CLASSROOM / "state"
START_TIMEOUT_S = 90


def _fail(message: str) -> int:
    """Say why on stderr; the exit status of a refusal."""
    print(f"hub.py: {message}", file=sys.stderr)
    return 2


def preflight(students: Path, python: Path) -> str | None:
    """Why the hub cannot start on this machine, or None."""
    if not sys.platform.startswith("linux"):
        return "the classroom hub runs on Linux only"
    if os.geteuid() != 0:
        return "run as root: the hub creates a system account for each student"
    if not PROXY.exists():
        return f"the proxy is not installed: run  npm ci --prefix {CLASSROOM}"
    if not students.is_file():
        return f"no class list at {students} (one user name per line)"
    if not runnable_by_all(python):
        return (f"students cannot run {python.resolve()}: pass --python with one they can "
                "(hub.py share-python DIR makes one over this environment)")
    if not all(folder.stat().st_mode & 0o005 == 0o005 for folder in [KIT, *KIT.parents]):
        return (f"students' servers run the kit's environment: {KIT} and the folders above it "
                "must be readable by every user (e.g. put the kit in /opt/ckpt-kit)")
    return None


def runnable_by_all(program: Path) -> bool:
    """Whether every user may run ``program`` (after links) and enter the folders above it."""
    real = program.resolve()
    return real.stat().st_mode & 0o001 != 0 and all(
        folder.stat().st_mode & 0o001 for folder in real.parents)


def share_python(folder: Path) -> Path:
    """An environment in ``folder`` that every user may run: the system's Python 3 of this
    version, seeing this environment's packages. For when this environment's own interpreter
    lives where students cannot enter (pyenv under /root, say). Returns its python."""
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not system.exists():
        raise SystemExit(f"hub.py: {system} is missing: install it, or put the kit's environment "
                         "on a Python every user can run")
    subprocess.run([str(system), "-m", "venv", "--without-pip", str(folder)], check=True)
    folder.chmod(0o755)
    packages = next(Path(sys.prefix, "lib").glob("python3*/site-packages"))
    shared = next((folder / "lib").glob("python3*/site-packages"))
    (shared / "kit_environment.pth").write_text(
        f"import site; site.addsitedir({str(packages)!r})\n")
    return folder / "bin" / "python"


def python_for_all(folder: Path) -> Path:
    """This environment's python if every user may run it, else one made in ``folder`` by
    :func:`share_python` (the kit's interpreter may live where students cannot enter)."""
    here = Path(sys.executable)
    return here if runnable_by_all(here) else share_python(folder)


def close_solutions() -> None:
    """Make notebooks/solutions/ root's alone: students' servers run as the students."""
    solutions = KIT / "notebooks" / "solutions"
    os.chown(solutions, 0, 0)
    os.chmod(solutions, 0o700)


def _environment(args: argparse.Namespace, state: Path) -> dict[str, str]:
    """The hub's environment: ours, plus the settings jupyterhub_config.py reads."""
    env = dict(os.environ)
    env.update({"KIT_HUB_BIND": args.bind, "KIT_HUB_STATE": str(state),
                "KIT_HUB_STUDENTS": str(args.students.resolve()),
                "KIT_HUB_HOMES": str(args.homes), "KIT_HUB_ADMINS": args.admins,
                "KIT_HUB_PORTS": args.ports, "KIT_HUB_PYTHON": str(args.python),
                "KIT_HUB_IDLE_MINUTES": str(args.idle_minutes),
                "KIT_HUB_MEM_LIMIT": args.mem_limit, "KIT_HUB_CPU_LIMIT": str(args.cpu_limit)})
    return env


def _wait_until_up(url: str, hub: subprocess.Popen, log: Path) -> bool:
    """Wait until the hub's API answers through the proxy; False if the hub exited or hung."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/hub/api/", timeout=2):
                return True
        except OSError:
            if hub.poll() is not None:
                break
            time.sleep(0.5)
    print(log.read_text()[-3000:], file=sys.stderr)
    return False


def start(args: argparse.Namespace) -> int:
    """Start the hub in the background; 0 once it answers."""
    state = args.state.resolve()
    why = preflight(args.students, args.python)
    if why:
        return _fail(why)
    pid_file = state / "jupyterhub.pid"
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        return _fail(f"a hub is already running (pid {pid_file.read_text().strip()})")
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(state, 0o700)  # the database, cookie secret and password hashes are root's alone
    close_solutions()
    log = state / "jupyterhub.log"
    with open(log, "ab") as out:
        hub = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(CLASSROOM / "jupyterhub_config.py")],
            cwd=state, env=_environment(args, state), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    pid_file.write_text(str(hub.pid))
    host, _, port = args.bind.rpartition(":")
    url = f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}"
    if not _wait_until_up(url, hub, log):
        stop_pid(hub.pid)
        pid_file.unlink(missing_ok=True)
        return _fail(f"the hub did not start (log: {log})")
    print(f"JupyterHub is up at {url} (pid {hub.pid}); log: {log}")
    return 0


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def stop_pid(pid: int, timeout_s: float = 90) -> None:
    """SIGTERM the hub (it stops the students' servers, its services and its proxy); if it has
    not finished in ``timeout_s``, kill it and whatever it started that is still running."""
    import psutil

    try:
        started = psutil.Process(pid).children(recursive=True)  # proxy, services, servers
    except psutil.Error:
        started = []
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it, when it is our child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for proc in started:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def stop(args: argparse.Namespace) -> int:
    """Stop the hub started with the same ``--state``."""
    pid_file = args.state.resolve() / "jupyterhub.pid"
    if not pid_file.exists():
        return _fail(f"no hub to stop ({pid_file} does not exist)")
    stop_pid(int(pid_file.read_text()))
    pid_file.unlink()
    print("JupyterHub stopped")
    return 0


def remove_students(names: list[str]) -> None:
    """Delete these students' accounts, homes and what torch cached for them in /tmp: for the
    throwaway classes of the tests and the load test (a real class keeps its accounts)."""
    for name in names:
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True,
                       timeout=60)
        shutil.rmtree(f"/tmp/torchinductor_{name}", ignore_errors=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with its defaults."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "share-python"])
    parser.add_argument("folder", nargs="?", type=Path, help="share-python: where to make it")
    parser.add_argument("--python", type=Path, default=Path(sys.executable),
                        help="the Python of students' servers (default: this environment's)")
    parser.add_argument("--bind", default="0.0.0.0:8000",
                        help="IP:PORT where students connect (default 0.0.0.0:8000; TLS in front)")
    parser.add_argument("--students", type=Path, default=CLASSROOM / "students.txt",
                        help="class list: one user name per line (default classroom/students.txt)")
    parser.add_argument("--admins", default="",
                        help="comma-separated instructors who may manage students at /hub/admin")
    parser.add_argument("--homes", type=Path, default=Path("/home"),
                        help="where students' homes are created (default /home)")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE,
                        help="the hub's database, secrets and log (default classroom/state)")
    parser.add_argument("--ports", default="8081,8001",
                        help="HUB,PROXY_API: the internal ports on 127.0.0.1 (default 8081,8001)")
    parser.add_argument("--idle-minutes", type=float, default=60,
                        help="stop a student's server idle this long (default 60)")
    parser.add_argument("--mem-limit", default="2G", help="per student (default 2G; see README)")
    parser.add_argument("--cpu-limit", type=float, default=1.0, help="per student (default 1)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the command; its exit status."""
    args = parse(argv)
    if args.command == "share-python":
        if args.folder is None:
            return _fail("share-python needs a FOLDER")
        print(share_python(args.folder))
        return 0
    return start(args) if args.command == "start" else stop(args)


if __name__ == "__main__":
    sys.exit(main())
