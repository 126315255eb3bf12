"""The kit in a real JupyterLab, driven through its UI in headless Chromium.

For every lesson: open the student notebook, Run > Run All Cells, and check that every lesson
cell before the exercises ran without an error (cells tagged raises-exception aside), that the
first exercise stub stopped the run with its NotImplementedError, and that widgets and figures
rendered (wherever the instructor notebook stores a widget view or a PNG, the page shows a widget
or an image). Then the same for the instructor notebook, which must run to the end with no
unexpected error. Screenshots go to tests/artifacts/ (git-ignored).

Needs Debian's chromium (`apt-get install chromium`, which .ci/run does) and the playwright
package, which drives it; no browser is downloaded. JupyterLab runs on a copy of notebooks/, so
the kit's notebooks are never modified.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from ckpt_kit.exercises import find_exercises
from ckpt_kit.paths import NOTEBOOKS_DIR, SOLUTIONS_DIR

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
LAB_SETTINGS = {  # no news pop-up over the page; every cell in the page, not only visible ones
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}
RUN_TIMEOUT_S = 240

# .ci/run sets KIT_REQUIRE_BROWSER=1: there, a missing Chromium fails the run instead of skipping
pytestmark = [
    pytest.mark.slow,  # about 5 minutes: python -m pytest -m slow
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("KIT_REQUIRE_BROWSER"),
                       reason="Debian's chromium is not installed (apt-get install chromium); "
                              ".ci/run installs it"),
]

LESSONS = sorted(p.name for p in SOLUTIONS_DIR.glob("*.ipynb"))

# Reads the notebook open in JupyterLab from its model: each code cell's tags, execution count,
# errors, and what its output area shows.
READ_CELLS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.filter(cell => cell.model.type === "code").map(cell => {
    const outputs = cell.model.outputs.toJSON();
    const node = cell.node;
    return {
      id: cell.model.id,
      first_line: cell.model.sharedModel.getSource().split("\\n")[0],
      tags: cell.model.getMetadata("tags") || [],
      count: cell.model.executionCount,
      errors: outputs.filter(o => o.output_type === "error").map(o => o.ename),
      widgets: node.querySelectorAll(".jp-OutputArea-output .jupyter-widgets").length,
      images: node.querySelectorAll(".jp-OutputArea-output img").length,
      text: [...node.querySelectorAll(".jp-OutputArea-output")].map(n => n.innerText).join("\\n"),
    };
  });
}"""
BUSY = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const prompts = [...panel.node.querySelectorAll(".jp-InputPrompt")].map(p => p.textContent);
  return {status: kernel ? kernel.status : "none", running: prompts.some(t => t.includes("*"))};
}"""


SCROLL_TO = """id => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cell = panel.content.widgets.find(c => c.model.id === id);
  cell.node.scrollIntoView({block: "center"});
}"""
BOX_OF = """id => {
  const panel = window.jupyterapp.shell.currentWidget;
  const r = panel.content.widgets.find(c => c.model.id === id).node.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""
# Cells whose screenshots illustrate the README (tests/screenshots/ holds the chosen copies).
CELL_SHOTS = {"02_train.ipynb": {"s2-train": "progress_bar.png"},
              "01_define_the_net.ipynb": {"ex1-check": "check_verdict.png",
                                          "s3-explore": "state_dict_explorer.png"},
              "04_checkpoints_and_resume.ipynb": {"s3-timeline": "checkpoint_timeline.png"}}
ZH_SHOTS = {"ex1-check": "zh_check_verdict.png"}  # README.zh-CN.md's screenshots


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on localhost, serving a copy of notebooks/."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(NOTEBOOKS_DIR, root / "notebooks",
                    ignore=shutil.ignore_patterns("checkpoints", ".ipynb_checkpoints"))
    settings = root / "settings"
    for plugin, values in LAB_SETTINGS.items():  # user settings: one file per plugin
        file = settings / f"{plugin.replace(':', '/')}.jupyterlab-settings"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(values))
    port, token = _free_port(), "kit-browser-test"
    # a kernel draws figures inline only when no MPLBACKEND (such as Agg) is inherited
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env |= {"OMP_NUM_THREADS": "1", "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
            "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", "--allow-root"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("JupyterLab did not start: " + (root / "lab.log").read_text())
            time.sleep(0.5)
    yield {"base": base, "token": token, "root": root}
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 900})
        yield context
        context.close()


def run_all(browser, lab, path: str, screenshot: str,
            cell_shots: dict[str, str] | None = None) -> list[dict]:
    """Open ``path`` in JupyterLab, click Run > Run All Cells, wait, and read every code cell.

    Saves a screenshot of the page, and of each cell named in ``cell_shots`` (id -> file name).
    """
    page = browser.new_page()
    try:
        # a workspace of its own, so that JupyterLab restores no other notebook in this page
        workspace = path.replace("/", "-").replace(".", "-")
        page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/{path}"
                  f"?reset&token={lab['token']}")
        page.wait_for_function(
            """path => {
              const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
              const session = panel && panel.context && panel.context.path === path &&
                              panel.sessionContext && panel.sessionContext.session;
              return Boolean(session && session.kernel && session.kernel.status === "idle");
            }""", arg=path, timeout=60_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(f"() => ({BUSY})().running", timeout=30_000)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"stuck_{screenshot}"))
            raise
        deadline = time.monotonic() + RUN_TIMEOUT_S
        idle_since = None
        while time.monotonic() < deadline:  # idle with no cell running, for a whole second
            state = page.evaluate(BUSY)
            if state["status"] == "idle" and not state["running"]:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 1:
                    break
            else:
                idle_since = None
            time.sleep(0.25)
        else:
            raise AssertionError(f"{path}: still running after {RUN_TIMEOUT_S} s")
        cells = _rendered(page, path)
        ARTIFACTS.mkdir(exist_ok=True)
        for cell_id, file_name in (cell_shots or {}).items():
            page.evaluate(SCROLL_TO, cell_id)
            page.wait_for_timeout(300)
            box = page.evaluate(BOX_OF, cell_id)
            page.screenshot(path=str(ARTIFACTS / file_name), clip=box)
        page.evaluate("() => window.jupyterapp.shell.currentWidget.content.scrollToItem(0)")
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / screenshot), full_page=False)
        return cells
    finally:
        with contextlib.suppress(Exception):  # free the kernel's memory for the next notebook
            page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        page.close()


def _unrendered(name: str, cells: list[dict]) -> list[str]:
    """The cells that ran and should show a widget or an image but show none (yet)."""
    expected = expected_rendering(name)
    missing = []
    for cell in cells:
        if cell["count"] is None or cell["errors"]:
            continue
        widget, image = expected.get(cell["id"], (False, False))
        if (widget and not cell["widgets"]) or (image and not cell["images"]):
            missing.append(cell["id"])
    return missing


def _rendered(page, path: str, wait_s: float = 30) -> list[dict]:
    """Every code cell as the page shows it, once the outputs have been drawn: on a busy machine
    the page draws figures and widget views a while after the kernel is idle."""
    name = Path(path).name
    deadline = time.monotonic() + wait_s
    while True:
        cells = page.evaluate(READ_CELLS)
        if not _unrendered(name, cells) or time.monotonic() > deadline:
            return cells
        page.wait_for_timeout(500)


# Cells that show a widget whose output the instructor notebook does not store (their output is
# ignored by nbval, as a progress bar's is).
WIDGET_CELLS = {"01_define_the_net.ipynb": {"s3-explore"}, "02_train.ipynb": {"s2-train"},
                "04_checkpoints_and_resume.ipynb": {"s3-timeline"}}


def expected_rendering(name: str) -> dict[str, tuple[bool, bool]]:
    """Each code cell's id -> (shows a widget, shows an image) in the reference run."""
    nb = nbformat.read(SOLUTIONS_DIR / name, as_version=4)
    expected = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            kinds = {k for out in cell.outputs for k in out.get("data", {})}
            widget = "application/vnd.jupyter.widget-view+json" in kinds
            expected[cell.id] = (widget or cell.id in WIDGET_CELLS.get(name, ()),
                                 "image/png" in kinds)
    return expected


def check_rendering(name: str, cells: list[dict]) -> None:
    lines = {cell["id"]: cell["first_line"] for cell in cells}
    missing = [lines[cell_id] for cell_id in _unrendered(name, cells)]
    assert not missing, f"{name}: no widget or image rendered in {missing}"


@pytest.mark.parametrize("name", LESSONS)
def test_student_notebook_runs_to_the_first_exercise(browser, lab, name):
    cells = run_all(browser, lab, f"notebooks/{name}", f"student_{name[:2]}.png",
                    {"ex1-answer": f"student_{name[:2]}_stub.png"})
    exercises = find_exercises(nbformat.read(SOLUTIONS_DIR / name, as_version=4))
    answer_at = next(i for i, c in enumerate(cells) if c["id"] == exercises[0].answer_id)
    for cell in cells[:answer_at]:
        assert cell["count"] is not None, f"{name}: {cell['first_line']!r} did not run"
        if "raises-exception" not in cell["tags"]:
            assert not cell["errors"], f"{name}: {cell['first_line']!r} raised {cell['errors']}"
    stopped = [i for i, c in enumerate(cells)
               if c["errors"] and "raises-exception" not in c["tags"]]
    assert stopped, f"{name}: nothing stopped the run at the first exercise"
    assert cells[stopped[0]]["errors"] == ["NotImplementedError"]
    assert stopped[0] in (answer_at, answer_at + 1), (  # the stub, or its check calling it
        f"{name}: the run stopped at {cells[stopped[0]]['first_line']!r}")
    assert all(c["count"] is None for c in cells[stopped[0] + 1:]), "cells ran after the stop"
    check_rendering(name, cells)


@pytest.mark.parametrize("name", LESSONS)
def test_instructor_notebook_runs_to_the_end(browser, lab, name):
    cells = run_all(browser, lab, f"notebooks/solutions/{name}", f"solution_{name[:2]}.png",
                    CELL_SHOTS.get(name))
    for cell in cells:
        assert cell["count"] is not None, f"{name}: {cell['first_line']!r} did not run"
        if "raises-exception" not in cell["tags"]:
            assert not cell["errors"], f"{name}: {cell['first_line']!r} raised {cell['errors']}"
    check_rendering(name, cells)


def test_the_rendering_checks_have_something_to_check():
    rendering = expected_rendering("02_train.ipynb").values()
    assert any(widget for widget, _ in rendering) and any(image for _, image in rendering)


def test_a_chinese_lesson_runs_and_speaks_chinese(browser, lab):
    # the Chinese edition's lesson 01, as a student opens it from notebooks/zh/, run to the end
    name = "01_define_the_net.ipynb"
    if os.environ.get("KIT_REQUIRE_BROWSER"):  # CI installs a CJK font: Chinese must not be boxes
        fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
        assert fonts.strip(), "no font with Chinese glyphs: install fonts-wqy-microhei"
    cells = run_all(browser, lab, f"notebooks/zh/solutions/{name}", "zh_lesson_01.png", ZH_SHOTS)
    for cell in cells:
        assert cell["count"] is not None, f"zh {name}: {cell['first_line']!r} did not run"
        if "raises-exception" not in cell["tags"]:
            assert not cell["errors"], f"zh {name}: {cell['first_line']!r} raised {cell['errors']}"
    check_rendering(name, cells)
    checks = [c for c in cells if c["first_line"].startswith("# 检查：练习")]
    assert checks and all("：通过" in c["text"] for c in checks), [c["text"] for c in checks]
    assert any("\u4e00" <= ch <= "\u9fff" for c in cells for ch in c["first_line"])
