"""ckpt_helpers, the module the lessons import: every helper it defines, its docstring examples and
those of the ckpt_kit modules, and that importing it does no heavy work."""

from __future__ import annotations

import ast
import doctest
import importlib
import pickle
import subprocess
import sys

import pytest
import torch
from torch import nn

import ckpt_helpers
from ckpt_helpers import (Net, ReLUNet, assert_state_dicts_equal, choose_device,
                          compare_state_dicts, evaluate, load_data, make_loaders, plot_losses,
                          run_fresh_python, save_as_if_on, seed_everything, state_dict_summary,
                          state_dicts_equal, train)


KIT_MODULES = sorted(
    ".".join(p.relative_to(ckpt_helpers.KIT_DIR).with_suffix("").parts).removesuffix(".__init__")
    for p in (ckpt_helpers.KIT_DIR / "ckpt_kit").rglob("*.py") if p.name != "__init__.py"
    or p.parent.name == "checks")
# what each kind of module may import of the kit: imports run one way
CHECKPOINT_MODULES = ("errors", "formats", "saving", "loading", "inspection", "state_dicts")
EXERCISE_TOOLING = ("ckpt_kit.exercises", "ckpt_kit.checker", "ckpt_kit.cli",
                    "ckpt_kit.prepared", "ckpt_kit.mutants", "ckpt_kit.nbgrader_course",
                    "ckpt_kit.batch", "ckpt_kit.gradebook", "ckpt_kit.report", "ckpt_kit.sandbox")


def test_docstring_examples_run():
    result = doctest.testmod(ckpt_helpers)
    assert result.attempted >= 15 and result.failed == 0


@pytest.mark.parametrize("name", KIT_MODULES)
def test_docstring_examples_of_the_package_run(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def _kit_imports(path) -> set[str]:
    """The kit modules a source file imports (ckpt_helpers, ckpt_kit.*), wherever it does."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("ckpt_helpers", "ckpt_kit")}


def test_imports_run_one_way():
    kit = ckpt_helpers.KIT_DIR / "ckpt_kit"
    for path in kit.glob("*.py"):
        imported = _kit_imports(path)
        assert "ckpt_helpers" not in imported, f"{path.name} imports the lesson module"
        if path.stem in CHECKPOINT_MODULES:
            assert not imported & {*EXERCISE_TOOLING, "ckpt_kit.widgets"}, path.name
    # the exercise checks sit above the lessons' module (they grade what it teaches with): they
    # may import ckpt_helpers; nothing below them imports them
    for path in kit.glob("*.py"):
        assert not any(name.startswith("ckpt_kit.checks") for name in _kit_imports(path)), path
    assert not any(n.startswith("ckpt_kit.checks")
                   for n in _kit_imports(ckpt_helpers.KIT_DIR / "ckpt_helpers.py"))
    for path in (kit / "checks").glob("*.py"):
        assert not _kit_imports(path) & {*EXERCISE_TOOLING, "ckpt_kit.widgets"}, path.name
    # the lessons import ckpt_helpers, which must not bring the exercise tooling with it
    assert not _kit_imports(ckpt_helpers.KIT_DIR / "ckpt_helpers.py") & set(EXERCISE_TOOLING[:2])


def test_every_room_is_small():
    helpers = ckpt_helpers.KIT_DIR / "ckpt_helpers.py"
    assert len(helpers.read_text(encoding="utf-8").splitlines()) <= 450
    for path in [helpers, *(ckpt_helpers.KIT_DIR / "ckpt_kit").rglob("*.py")]:
        source = path.read_text(encoding="utf-8")
        assert len(source.splitlines()) <= 500, path.name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 60, f"{path.name}: {node.name} has {length} lines"


def test_everything_exported_exists():
    assert len(set(ckpt_helpers.__all__)) == len(ckpt_helpers.__all__)
    for name in ckpt_helpers.__all__:
        assert hasattr(ckpt_helpers, name), name


def test_import_does_no_heavy_work():
    code = ("import sys, ckpt_helpers; "
            "print(sorted(m for m in ('matplotlib', 'nbformat', 'nbclient', 'pytest', 'ipywidgets',"
            " 'safetensors', 'hypothesis', 'ckpt_kit.checker', 'ckpt_kit.exercises',"
            " 'ckpt_kit.checks', 'ckpt_kit.mutants', 'IPython')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_net_has_the_classic_layers():
    model = Net()
    assert (model.fc1.in_features, model.fc1.out_features) == (10, 20)
    assert (model.fc2.in_features, model.fc2.out_features) == (20, 10)
    X = torch.randn(3, 10)
    torch.testing.assert_close(model(X), model.fc2(model.fc1(X)))


def test_relunet_shares_keys_but_not_function():
    net, relu = Net(), ReLUNet()
    relu.load_state_dict(net.state_dict())
    X = torch.randn(64, 10)
    assert not torch.equal(net(X), relu(X))
    torch.testing.assert_close(relu(X), net.fc2(torch.relu(net.fc1(X))))


def test_seed_everything_repeats_torch_python_and_numpy():
    import random

    import numpy

    seed_everything(3)
    first = (torch.rand(2), random.random(), numpy.random.rand())
    seed_everything(3)
    second = (torch.rand(2), random.random(), numpy.random.rand())
    assert torch.equal(first[0], second[0]) and first[1:] == second[1:]


@pytest.mark.parametrize("cuda, mps, expected", [
    (True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_choose_device_prefers_cuda_then_mps(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert choose_device() == torch.device(expected)


def test_load_data_rejects_an_unknown_split():
    with pytest.raises(ValueError, match="'train' or 'val'"):
        load_data("test")


def test_load_data_says_how_to_recreate_a_missing_file(monkeypatch, tmp_path):
    monkeypatch.setattr(ckpt_helpers, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="make_data.py"):
        load_data("train")


def test_make_loaders_shuffle_depends_only_on_the_seed():
    def first_batch(seed):
        return next(iter(make_loaders(batch_size=8, seed=seed)[0]))[0]

    assert torch.equal(first_batch(1), first_batch(1))
    assert not torch.equal(first_batch(1), first_batch(2))
    _, val_loader = make_loaders(batch_size=8)
    assert torch.equal(next(iter(val_loader))[0], load_data("val")[0][:8])  # not shuffled


def _trained(epochs, lr=0.05, progress=False):
    seed_everything(0)
    model = Net()
    train_loader, val_loader = make_loaders()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return model, train(model, train_loader, optimizer, epochs, val_loader=val_loader,
                        progress=progress)


def test_train_learns_and_reports_each_epoch():
    model, history = _trained(epochs=5)
    assert set(history) == {"train", "val"}
    assert len(history["train"]) == len(history["val"]) == 5
    assert all(isinstance(v, float) for v in history["train"] + history["val"])
    assert history["train"][-1] < history["train"][0] / 2
    assert history["val"][-1] == pytest.approx(evaluate(model, make_loaders()[1]))


def test_train_is_reproducible():
    model_a, history_a = _trained(epochs=2)
    model_b, history_b = _trained(epochs=2)
    assert history_a == history_b
    assert_state_dicts_equal(model_a.state_dict(), model_b.state_dict())


def test_train_progress_bar_in_a_terminal_and_silence(capsys):
    _trained(epochs=1, progress=False)
    assert capsys.readouterr().err == ""
    _trained(epochs=1, progress=True)
    assert "training" in capsys.readouterr().err  # tqdm writes its text bar to stderr


def test_evaluate_matches_a_manual_mse_and_restores_the_mode():
    model = nn.Sequential(nn.Linear(10, 10), nn.Dropout(0.5))  # dropout: eval mode matters
    _, val_loader = make_loaders()
    X, y = load_data("val")
    model.train()
    loss = evaluate(model, val_loader)
    model.eval()
    with torch.no_grad():
        expected = nn.functional.mse_loss(model(X), y).item()
    assert loss == pytest.approx(expected, rel=1e-5)
    model.train()
    evaluate(model, val_loader)
    assert model.training


def test_plot_losses_draws_one_line_per_curve():
    fig = plot_losses({"a": [1.0, 0.5, 0.25], "b": [2.0, 1.0, 0.5]}, title="t")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3]
    assert ax.get_yscale() == "log" and ax.get_title() == "t"


def test_state_dict_summary_lists_every_tensor_and_the_total():
    sd = {"w": torch.zeros(2, 3, dtype=torch.float16), "n": torch.tensor(5)}
    lines = state_dict_summary(sd).splitlines()
    assert lines[0].split() == ["name", "shape", "dtype", "device", "bytes"]
    assert lines[1].split() == ["w", "[2,", "3]", "float16", "cpu", "12"]
    assert lines[2].split() == ["n", "[]", "int64", "cpu", "8"]
    assert lines[3].split()[-1] == "20" and "2 tensors" in lines[3]


@pytest.mark.parametrize("bad, message", [
    (Net(), r"model\.state_dict\(\)"),
    ([torch.zeros(1)], "not list"),
    ({"state": {}, "param_groups": []}, "not a tensor"),
])
def test_state_dict_helpers_say_what_to_pass_instead(bad, message):
    with pytest.raises(TypeError, match=message):
        state_dict_summary(bad)
    with pytest.raises(TypeError, match=message):
        compare_state_dicts(Net().state_dict(), bad)


def test_compare_state_dicts_reports_every_kind_of_difference():
    a = {"same": torch.ones(2), "shape": torch.ones(2), "dtype": torch.ones(2),
         "value": torch.ones(2), "only_a": torch.ones(1)}
    b = {"same": torch.ones(2), "shape": torch.ones(3), "dtype": torch.ones(2).double(),
         "value": torch.tensor([1.0, 1.25]), "only_b": torch.ones(1)}
    assert compare_state_dicts(a, b) == [
        "only_a: only in a",
        "only_b: only in b",
        "shape: shape [2] vs [3]",
        "dtype: dtype torch.float32 vs torch.float64",
        "value: values differ (max abs difference 0.25)",
    ]


def test_compare_state_dicts_handles_empty_nan_and_grad_tensors():
    p = nn.Parameter(torch.ones(2))
    assert compare_state_dicts({"e": torch.zeros(0), "p": p}, {"e": torch.zeros(0), "p": p}) == []
    nan = {"x": torch.tensor([float("nan")])}
    assert compare_state_dicts(nan, nan) == ["x: values differ (max abs difference nan)"]


def test_state_dicts_equal_is_true_only_without_differences():
    a = Net().state_dict()
    assert state_dicts_equal(a, {k: v.clone() for k, v in a.items()}) is True
    assert state_dicts_equal(a, {**a, "fc2.bias": a["fc2.bias"] + 1}) is False
    assert state_dicts_equal(a, {k: v for k, v in a.items() if k != "fc1.bias"}) is False
    with pytest.raises(TypeError, match="is a model"):
        state_dicts_equal(a, Net())


def test_assert_state_dicts_equal_lists_the_differences():
    a = Net().state_dict()
    assert_state_dicts_equal(a, {k: v.clone() for k, v in a.items()})
    with pytest.raises(AssertionError, match="fc2.bias: only in a"):
        assert_state_dicts_equal(a, {k: v for k, v in a.items() if k != "fc2.bias"})


def test_kit_imports_from_any_folder(tmp_path):
    code = "import ckpt_helpers; print(ckpt_helpers.KIT_DIR)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    assert out.stdout.strip() == str(ckpt_helpers.KIT_DIR)


def test_fresh_python_runs_as_main_in_the_given_folder(tmp_path):
    code = ("import os, pickle\n"
            "class Point:\n"
            "    pass\n"
            "print(__name__, os.getcwd() == os.path.realpath('.'))\n"
            "print(type(pickle.loads(pickle.dumps(Point()))).__module__)\n")
    assert run_fresh_python(code, cwd=tmp_path) == "__main__ True\n__main__"
    (tmp_path / "note.txt").write_text("here")
    assert run_fresh_python("print(open('note.txt').read())", cwd=tmp_path) == "here"


def test_fresh_python_ends_with_the_error_and_keeps_output_order():
    out = run_fresh_python("import warnings\nprint('before')\nwarnings.warn('w')\n"
                           "raise KeyError('missing')")
    assert out.splitlines() == ["before", "UserWarning: w", "KeyError: 'missing'"]
    assert run_fresh_python("x = 1").splitlines() == []


def test_fresh_python_has_none_of_this_process_state():
    assert run_fresh_python("print(Net)") == "NameError: name 'Net' is not defined"


def test_fresh_python_rejects_bad_input_and_stops_endless_code(tmp_path):
    with pytest.raises(TypeError, match="str"):
        run_fresh_python(b"print(1)")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        run_fresh_python("print(1)", cwd=tmp_path / "nowhere")
    with pytest.raises(TimeoutError, match="larger timeout"):
        run_fresh_python("while True: pass", timeout=1)


def test_save_as_if_on_tags_every_storage_and_restores_torch(tmp_path):
    path = tmp_path / "sim.pt"
    sd = Net().state_dict()
    save_as_if_on("cuda:3", sd, path)
    tags = []
    loaded = torch.load(path, map_location=lambda storage, tag: tags.append(tag) or storage,
                        weights_only=True)
    assert tags == ["cuda:3"] * 4
    assert_state_dicts_equal(loaded, sd)
    torch.save(sd, tmp_path / "plain.pt")  # later saves are untouched
    with pytest.raises(TypeError, match="location tag"):
        save_as_if_on("", sd, path)
    with pytest.raises((pickle.PicklingError, AttributeError), match="Can.t pickle"):  # a lambda
        save_as_if_on("cuda:0", {"x": lambda: 1}, tmp_path / "bad.pt")  # a failing save ...
    tags.clear()
    torch.load(tmp_path / "plain.pt", map_location=lambda s, tag: tags.append(tag) or s,
               weights_only=True)
    torch.save(sd, tmp_path / "after.pt")  # ... still restores torch's own tagging
    torch.load(tmp_path / "after.pt", map_location=lambda s, tag: tags.append(tag) or s,
               weights_only=True)
    assert set(tags) == {"cpu"}
