"""The widgets' logic, without a browser: what they show, and that they follow their controls.
(tests/test_browser.py shows that they render in JupyterLab.)"""

from __future__ import annotations

import math

import pytest
import torch

from ckpt_helpers import (Net, checkpoint_timeline, save_checkpoint, state_dict_explorer,
                          tensor_stats)


def test_tensor_stats():
    stats = tensor_stats(torch.tensor([[1.0, 0.0], [3.0, float("inf")]]))
    assert stats["shape"] == (2, 2) and stats["dtype"] == "float32" and stats["device"] == "cpu"
    assert stats["mean"] == pytest.approx(4 / 3, abs=1e-6)  # of the finite values
    assert stats["min"] == 0.0 and stats["max"] == math.inf
    assert stats["zeros"] == 0.25 and stats["nonfinite"] == 1
    assert tensor_stats(torch.tensor([True, False]))["mean"] == 0.5
    assert tensor_stats(torch.tensor(3))["std"] == 0.0  # 0-dim
    assert set(tensor_stats(torch.zeros(0, 3))) == {"shape", "dtype", "device", "numel"}


def test_state_dict_explorer_follows_the_picker():
    torch.manual_seed(0)
    model = Net()
    explorer = state_dict_explorer(model.state_dict())
    picker, (stats, plot) = explorer.children[0], explorer.children[1].children
    assert list(picker.options) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert "(20, 10)" in stats.value and "float32" in stats.value
    first_png = bytes(plot.value)
    assert first_png.startswith(b"\x89PNG")
    picker.value = "fc2.bias"
    assert "(10,)" in stats.value
    assert f"{round(float(model.fc2.bias.detach().double().mean()), 6)}" in stats.value
    assert bytes(plot.value) != first_png and bytes(plot.value).startswith(b"\x89PNG")
    with pytest.raises(TypeError, match="optimizer"):
        state_dict_explorer(torch.optim.SGD(model.parameters(), lr=0.1).state_dict())


def test_checkpoint_timeline_loads_the_checkpoint_it_shows(tmp_path):
    torch.manual_seed(0)
    X, y = torch.randn(16, 10), torch.randn(16, 10)
    paths = []
    for epoch in (3, 1, 2):  # saved out of order: the slider goes by epoch
        model = Net()
        ckpt = {"epoch": epoch, "loss": 1.0 / epoch, "model": model.state_dict()}
        paths.append(save_checkpoint(ckpt, tmp_path / f"epoch_{epoch}.pt"))
    shown = Net()
    timeline = checkpoint_timeline(paths, shown, X, y)
    slider, label = timeline.children[0].children
    plot = timeline.children[1]
    assert (slider.min, slider.max, slider.value) == (0, 2, 2)
    epoch_3 = torch.load(paths[0], weights_only=True)["model"]
    assert all(torch.equal(shown.state_dict()[k], v) for k, v in epoch_3.items())
    with torch.inference_mode():
        mse = float(torch.nn.functional.mse_loss(shown(X), y))
    assert label.value == f"epoch 3: validation MSE {mse:.4f}"
    last_png = bytes(plot.value)
    slider.value = 0
    epoch_1 = torch.load(paths[1], weights_only=True)["model"]
    assert all(torch.equal(shown.state_dict()[k], v) for k, v in epoch_1.items())
    assert label.value.startswith("epoch 1:") and bytes(plot.value) != last_png


def test_checkpoint_timeline_says_what_a_checkpoint_lacks(tmp_path):
    path = save_checkpoint({"epoch": 1, "model": Net().state_dict()}, tmp_path / "epoch_1.pt")
    with pytest.raises(KeyError, match="epoch_1.pt has no loss"):
        checkpoint_timeline([path], Net(), torch.zeros(2, 10), torch.zeros(2, 10))
    with pytest.raises(ValueError, match="at least one"):
        checkpoint_timeline([], Net(), torch.zeros(2, 10), torch.zeros(2, 10))
