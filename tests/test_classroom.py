"""The kit on JupyterHub, as a class uses it: three students at once in Debian's Chromium.

Starts the hub with ``classroom/hub.py start`` on 127.0.0.1 (the pinned proxy from
``classroom/node_modules``), with a class list of three throwaway names; the hub creates their
system accounts and homes. Three browser contexts, one per student, log in at the same time, open
lesson 01 from their own home, answer Exercise 1 (right, wrong, blank), Run All Cells and read
their own verdict in the check cell, then run ``python -m ckpt_helpers check`` from their kernel.
Then: a student's browser cannot reach a classmate's server, their kernel can open neither a
classmate's notebook nor the solutions, and the instructor grades the three homes. The accounts,
homes and hub state are removed at the end; screenshots go to tests/artifacts/.

Needs root (system accounts), Linux, Debian's chromium and ``npm ci --prefix classroom``; it
skips, saying why, without them, unless KIT_REQUIRE_BROWSER is set (as .ci/run does).
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from conftest import fill
from exercise_answers import ANSWERS
from test_browser import ARTIFACTS, BUSY, CHROMIUM, CHROMIUM_FLAGS, _free_port

from ckpt_kit.paths import KIT_DIR, NOTEBOOKS_DIR, SOLUTIONS_DIR

HUB = KIT_DIR / "classroom" / "hub.py"


def _hub_module():
    """classroom/hub.py, the instructor's start/stop command, as a module."""
    spec = importlib.util.spec_from_file_location("classroom_hub", HUB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
PROXY = KIT_DIR / "classroom" / "node_modules" / ".bin" / "configurable-http-proxy"
LESSON = "01_define_the_net.ipynb"
ANSWER_ID, CHECK_ID = "ex1-answer", "ex1-check"
KINDS = ("right", "wrong", "blank")  # what each of the three students answers to Exercise 1
EXPECTED = {"right": "passed", "wrong": "wrong", "blank": "not answered"}  # the gradebook's verdict
CHECKER_SAYS = {"right": "passed", "wrong": "not right yet", "blank": "not answered yet"}
RUN_TIMEOUT_S = 240


def _missing() -> str | None:
    """Why the test cannot run here, or None."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "needs root on Linux: the hub creates a system account per student"
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed (apt-get install chromium)"
    if not PROXY.exists():
        return "the hub's proxy is not installed (npm ci --prefix classroom)"
    return None


pytestmark = [
    # about 3 minutes, alone (three kernels and a browser fill 2 cores): .ci/run runs it after
    # the slow tests, with `python -m pytest -m classroom`
    pytest.mark.classroom,
    pytest.mark.skipif(bool(_missing()) and not os.environ.get("KIT_REQUIRE_BROWSER"),
                       reason=_missing() or ""),
]

LAB_READY = """path => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const session = panel && panel.context && panel.context.path === path &&
                  panel.sessionContext && panel.sessionContext.session;
  return Boolean(session && session.kernel && session.kernel.status === "idle");
}"""
SET_SOURCE = """([id, source]) => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.widgets.find(c => c.model.id === id).model.sharedModel.setSource(source);
}"""
OUTPUTS_OF = """id => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.find(c => c.model.id === id).model.outputs.toJSON();
}"""
ERRORS_BEFORE = """id => {
  const cells = window.jupyterapp.shell.currentWidget.content.widgets;
  const stop = cells.findIndex(c => c.model.id === id);
  return cells.slice(0, stop).filter(c => c.model.type === "code").map(c => ({
    line: c.model.sharedModel.getSource().split("\\n")[0], count: c.model.executionCount,
    tags: c.model.getMetadata("tags") || [],
    errors: c.model.outputs.toJSON().filter(o => o.output_type === "error").map(o => o.ename)}));
}"""
# Runs code in the page's kernel (the student's own, as the student) and keeps what it printed
# in window.kitOutput, so that several pages can run code at once.
START_CODE = """code => {
  window.kitOutput = null;
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, store_history: false});
  let out = "";
  future.onIOPub = msg => {
    const kind = msg.header.msg_type;
    if (kind === "stream") out += msg.content.text;
    if (kind === "error") out += msg.content.ename + ": " + msg.content.evalue + "\\n";
  };
  future.done.then(() => { window.kitOutput = out; }, () => { window.kitOutput = out; });
}"""
SCROLL_TO = """id => window.jupyterapp.shell.currentWidget.content.widgets
  .find(c => c.model.id === id).node.scrollIntoView({block: "center"})"""


def _students_python(folder: Path) -> str:
    """A python every student may run that sees this environment's packages."""
    return str(_hub_module().python_for_all(folder))


def _end_processes_of(names: list[str]) -> None:
    """Kill, by pid, whatever the throwaway students still run (the hub stops their servers)."""
    import psutil

    for proc in psutil.process_iter(["username"]):
        if proc.info["username"] in names:
            with contextlib.suppress(psutil.Error):
                proc.kill()


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[dict]:
    """The hub on 127.0.0.1 with a class of three throwaway students, removed afterwards."""
    root = tmp_path_factory.mktemp("hub")
    suffix = secrets.token_hex(3)
    names = [f"kitstu{i}x{suffix}" for i in (1, 2, 3)]
    (root / "students.txt").write_text("\n".join(names) + "\n")
    homes = Path(tempfile.mkdtemp(prefix="kitclass-", dir="/home"))
    homes.chmod(0o755)
    port = _free_port()
    solutions_mode = SOLUTIONS_DIR.stat().st_mode & 0o777
    env = {**os.environ, "KIT_HUB_TEST_HOOKS": "1"}
    env.pop("MPLBACKEND", None)  # figures inline in the students' kernels
    common = ["--state", str(root / "state")]
    shared = Path(tempfile.mkdtemp(prefix="kitpython-"))
    try:
        started = subprocess.run(
            [sys.executable, str(HUB), "start", "--bind", f"127.0.0.1:{port}",
             "--students", str(root / "students.txt"), "--homes", str(homes),
             "--ports", f"{_free_port()},{_free_port()}", "--idle-minutes", "30",
             "--python", _students_python(shared), *common],
            env=env, check=False, capture_output=True, text=True, timeout=180)
        assert started.returncode == 0, started.stdout + started.stderr
        yield {"url": f"http://127.0.0.1:{port}", "names": names, "homes": homes,
               "passwords": {name: secrets.token_urlsafe(12) for name in names}}
    finally:
        subprocess.run([sys.executable, str(HUB), "stop", *common], check=False,
                       capture_output=True, timeout=120)
        _end_processes_of(names)
        _hub_module().remove_students(names)
        shutil.rmtree(homes, ignore_errors=True)
        shutil.rmtree(shared, ignore_errors=True)
        SOLUTIONS_DIR.chmod(solutions_mode)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _answer(kind: str) -> str | None:
    """Exercise 1's answer cell as the student leaves it."""
    stub = next(c for c in nbformat.read(NOTEBOOKS_DIR / LESSON, as_version=4).cells
                if c.get("id") == ANSWER_ID).source
    answers = {"right": ANSWERS[LESSON][1]["right"][0], "wrong": ANSWERS[LESSON][1]["wrong"][0][0]}
    return fill(stub, answers[kind]) if kind in answers else None


def _log_in(page, hub: dict, name: str) -> None:
    """Fill in the login form (the first login sets the password) and submit it."""
    page.goto(f"{hub['url']}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", hub["passwords"][name])
    page.click("#login_submit", no_wait_after=True)


def _wait_until_idle(pages: list, timeout_s: float) -> None:
    """Until no page has a cell running and every kernel has been idle for a second."""
    deadline = time.monotonic() + timeout_s
    idle_since: dict[int, float] = {}
    while len([i for i, t in idle_since.items() if time.monotonic() - t > 1]) < len(pages):
        assert time.monotonic() < deadline, f"still running after {timeout_s} s"
        for i, page in enumerate(pages):
            state = page.evaluate(BUSY)
            if state["status"] == "idle" and not state["running"]:
                idle_since.setdefault(i, time.monotonic())
            else:
                idle_since.pop(i, None)
        time.sleep(0.25)


def _run_code(pages: list, code: str, timeout_s: float = 300) -> list[str]:
    """Run ``code`` in every page's kernel at once; what each printed."""
    for page in pages:
        page.evaluate(START_CODE, code)
    outputs = []
    for page in pages:
        page.wait_for_function("() => window.kitOutput !== null", timeout=timeout_s * 1000)
        outputs.append(page.evaluate("() => window.kitOutput"))
    return outputs


def _run_all(pages: list) -> None:
    """Run > Run All Cells in every page, then wait for all of them."""
    for page in pages:
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    for page in pages:
        with contextlib.suppress(Exception):  # a fast kernel may be done already
            page.wait_for_function(f"() => ({BUSY})().running", timeout=10_000)
    _wait_until_idle(pages, RUN_TIMEOUT_S)


def _shot(page, name: str, cell_id: str | None = None) -> None:
    """A screenshot in tests/artifacts/, scrolled to ``cell_id`` if given."""
    ARTIFACTS.mkdir(exist_ok=True)
    if cell_id:
        page.evaluate(SCROLL_TO, cell_id)
        page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / name))


def _verdict_in_page(page) -> str:
    """What Exercise 1's check cell shows: its printed text, or its error."""
    shown = []
    for out in page.evaluate(OUTPUTS_OF, CHECK_ID):
        text = out.get("text", "")
        shown.append("".join(text) if out["output_type"] == "stream"
                     else f"{out.get('ename')}: {out.get('evalue')}")
    return "".join(shown)


def _open_lesson(browser, hub: dict) -> list:
    """Three students log in at once; each one's JupyterLab opens lesson 01 from their home."""
    pages = []
    for name in hub["names"]:
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        _log_in(page, hub, name)
        pages.append(page)
    for name, page in zip(hub["names"], pages):
        page.wait_for_url(f"**/user/{name}/lab/**", timeout=240_000)
        page.wait_for_function(LAB_READY, arg=f"course/{LESSON}", timeout=240_000)
    return pages


def test_three_students_at_once(browser, hub, tmp_path):
    """Right, wrong, blank: each sees their own verdict; then isolation and grading."""
    started = time.monotonic()
    login = browser.new_page()
    login.goto(f"{hub['url']}/hub/login")
    _shot(login, "hub_login.png")
    login.close()
    pages = _open_lesson(browser, hub)
    _shot(pages[0], "hub_lab.png")
    for page, kind in zip(pages, KINDS):
        if _answer(kind) is not None:
            page.evaluate(SET_SOURCE, [ANSWER_ID, _answer(kind)])
    _run_all(pages)
    for page, kind in zip(pages, KINDS):
        for cell in page.evaluate(ERRORS_BEFORE, ANSWER_ID):  # the lesson ran without error
            assert cell["count"] is not None, f"{kind}: {cell['line']!r} did not run"
            if "raises-exception" not in cell["tags"]:
                assert not cell["errors"], f"{kind}: {cell['line']!r} raised {cell['errors']}"
    verdicts = dict(zip(KINDS, (_verdict_in_page(page) for page in pages)))
    assert "Exercise 1: passed" in verdicts["right"], verdicts
    assert verdicts["wrong"].startswith("AssertionError") and "Hint:" in verdicts["wrong"], verdicts
    assert verdicts["blank"].startswith("NotImplementedError"), verdicts
    _shot(pages[0], "hub_verdict.png", CHECK_ID)
    for page in pages:
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    print(f"three students logged in, ran lesson 01 and saw their verdicts: "
          f"{time.monotonic() - started:.0f} s")
    steps = {"`check` in three kernels": lambda: _check_from_kernels(pages),
             "isolation": lambda: _check_isolation(pages, hub),
             "grading the three homes": lambda: _check_grades(hub, tmp_path)}
    for what, step in steps.items():
        step_started = time.monotonic()
        step()
        print(f"{what}: {time.monotonic() - step_started:.0f} s")
    print(f"whole class test: {time.monotonic() - started:.0f} s")


def _check_from_kernels(pages: list) -> None:
    """``python -m ckpt_helpers check`` in each student's own server gives their verdict.

    One student after another: three checkers at once beside three kernels and the browser on
    2 cores once made a lesson cell fail in the checker's own run (a setup failure, not a verdict).
    """
    code = ("import subprocess, sys\n"
            f"r = subprocess.run([sys.executable, '-m', 'ckpt_helpers', 'check', '{LESSON}'], "
            "capture_output=True, text=True)\nprint(r.stdout + r.stderr)")
    for kind, page in zip(KINDS, pages):
        out = _run_code([page], code)[0]
        said = re.search(r"Exercise 1(?: \(.*?\))?: (.*)", out)
        assert said and said.group(1).startswith(CHECKER_SAYS[kind]), f"{kind}: {out}"


def _check_isolation(pages: list, hub: dict) -> None:
    """A student reaches neither a classmate's server or files, nor the solutions."""
    me, other = hub["names"][0], hub["names"][1]
    response = pages[0].request.get(
        f"{hub['url']}/user/{other}/api/contents/course/{LESSON}?content=1")
    assert response.status in (403, 404) or '"cells"' not in response.text(), (
        f"{me} read {other}'s notebook by URL: {response.status}")
    pages[0].goto(f"{hub['url']}/user/{other}/lab/tree/course/{LESSON}")
    assert f"/user/{other}/lab" not in pages[0].url or "403" in pages[0].content()
    targets = [hub["homes"] / other / "course" / LESSON, SOLUTIONS_DIR / LESSON, SOLUTIONS_DIR]
    code = ("import os\nfor path in %r:\n    try:\n"
            "        os.listdir(path) if os.path.isdir(path) else open(path, 'rb').read(1)\n"
            "        print('read', path)\n"
            "    except OSError as error:\n        print(type(error).__name__, path)\n"
            % [str(t) for t in targets])
    out = _run_code([pages[2]], code)[0]
    assert out.count("PermissionError") == len(targets), out


def _check_grades(hub: dict, tmp_path: Path) -> None:
    """The instructor grades the folder of the three homes: passed, wrong, not answered."""
    out = tmp_path / "grades"
    proc = subprocess.run([sys.executable, "-m", "ckpt_helpers", "grade", str(hub["homes"]),
                           "--out", str(out)], check=False, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out / "gradebook.csv", encoding="utf-8") as file:
        rows = {(r["student"], r["exercise"]): r["verdict"] for r in csv.DictReader(file)
                if r["lesson"].startswith("01")}
    got = {kind: rows.get((name, "1")) for kind, name in zip(KINDS, hub["names"])}
    assert got == EXPECTED, (got, proc.stdout[-2000:])
