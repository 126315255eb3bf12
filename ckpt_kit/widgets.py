"""Widgets for a lesson: look inside a state_dict, slide through a training run.

Both are built from ipywidgets (imported only inside them) and render matplotlib figures as PNG
images, so they work in JupyterLab and keep working in a saved notebook's static view. The
figures and statistics they show are plain functions, testable without a browser.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ckpt_kit.loading import load_checkpoint
from ckpt_kit.state_dicts import state_dict_tensors

if TYPE_CHECKING:  # only for type hints: matplotlib costs time to import
    from matplotlib.figure import Figure




def tensor_stats(tensor: torch.Tensor) -> dict[str, Any]:
    """Shape, dtype, device and statistics of a tensor (numbers as Python floats, rounded).

    >>> tensor_stats(torch.tensor([[1.0, 0.0], [3.0, 4.0]]))["mean"]
    2.0
    """
    stats: dict[str, Any] = {"shape": tuple(tensor.shape),
                             "dtype": str(tensor.dtype).split(".")[-1],
                             "device": str(tensor.device), "numel": tensor.numel()}
    if tensor.numel() == 0 or tensor.is_complex() or tensor.is_meta:
        return stats
    values = tensor.detach().to("cpu", torch.float64)
    finite = values[values.isfinite()]
    stats.update(
        mean=round(float(finite.mean()), 6) if finite.numel() else math.nan,
        std=round(float(finite.std()), 6) if finite.numel() > 1 else 0.0,
        min=round(float(values.min()), 6), max=round(float(values.max()), 6),
        zeros=round(float((values == 0).double().mean()), 6),
        nonfinite=int(values.numel() - finite.numel()))
    return stats


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes (and closed, so that it is not also shown as a cell output)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def histogram_figure(name: str, tensor: torch.Tensor, bins: int = 40) -> Figure:
    """A histogram of a tensor's values, titled with its name and shape."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.6))
    values = tensor.detach().to("cpu", torch.float64).flatten()
    values = values[values.isfinite()]
    if values.numel():
        ax.hist(values.numpy(), bins=bins, color="tab:blue")
    ax.set(title=f"{name} {tuple(tensor.shape)}", xlabel="value", ylabel="count")
    fig.tight_layout()
    return fig


def state_dict_explorer(state_dict: Mapping[str, Any]) -> Any:
    """A widget: pick a tensor of ``state_dict``; see its shape, dtype, device, statistics and a
    histogram of its values. End a cell with it to show it."""
    import ipywidgets as widgets  # type: ignore[import-untyped]

    tensors = state_dict_tensors(state_dict, "state_dict_explorer")
    if not tensors:
        raise ValueError("state_dict_explorer needs at least one tensor in the state_dict")
    picker = widgets.Dropdown(options=list(tensors), description="tensor")
    stats = widgets.HTML()
    plot = widgets.Image(format="png")

    def show(name: str) -> None:
        rows = "".join(f"<tr><td>{key}</td><td><code>{value}</code></td></tr>"
                       for key, value in tensor_stats(tensors[name]).items())
        stats.value = f"<table>{rows}</table>"
        plot.value = _png(histogram_figure(name, tensors[name]))

    picker.observe(lambda change: show(change["new"]), names="value")
    show(picker.value)
    return widgets.VBox([picker, widgets.HBox([stats, plot])])


def timeline_figure(epochs: Sequence[int], losses: Mapping[str, Sequence[float]], upto: int,
                    predictions: torch.Tensor, y: torch.Tensor) -> Figure:
    """Loss curves up to the ``upto``-th checkpoint, and predictions against targets."""
    import matplotlib.pyplot as plt

    fig, (curve, scatter) = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, values in losses.items():
        curve.plot(epochs, values, color="lightgray")  # the whole run, for context
        curve.plot(epochs[:upto + 1], values[:upto + 1], marker="o", label=name)
    curve.set(xlabel="epoch", ylabel="loss", yscale="log", title=f"epoch {epochs[upto]}")
    curve.legend()
    y0, p0 = y[:, 0].numpy(), predictions[:, 0].numpy()
    scatter.scatter(y0, p0, s=8)
    low, high = float(min(y0.min(), p0.min())), float(max(y0.max(), p0.max()))
    scatter.plot([low, high], [low, high], color="gray", linewidth=1)  # perfect predictions
    scatter.set(xlabel="target y0", ylabel="prediction", title="first output, validation set")
    fig.tight_layout()
    return fig


def checkpoint_timeline(paths: Sequence[str | os.PathLike[str]], model: nn.Module, X: torch.Tensor,
                        y: torch.Tensor, *, loss_keys: Sequence[str] = ("loss",)) -> Any:
    """A widget: a slider over checkpoints saved during training; for each, the loss curve up to
    its epoch and the predictions of ``model`` loaded from it, on ``X`` against ``y``.

    Each file is read with ``load_checkpoint`` and must hold ``epoch``, ``model`` (a state_dict)
    and the numbers named in ``loss_keys``.
    """
    import ipywidgets as widgets  # type: ignore[import-untyped]

    if not paths:
        raise ValueError("checkpoint_timeline needs at least one checkpoint path")
    ckpts = [load_checkpoint(path) for path in paths]
    for path, ckpt in zip(paths, ckpts):
        missing = [key for key in ("epoch", "model", *loss_keys) if key not in ckpt]
        if missing:
            raise KeyError(f"{Path(path).name} has no {', '.join(missing)}: the timeline needs "
                           "checkpoints with epoch, model and the loss keys you name")
    order = sorted(range(len(ckpts)), key=lambda i: ckpts[i]["epoch"])
    ckpts = [ckpts[i] for i in order]
    epochs = [int(c["epoch"]) for c in ckpts]
    losses = {key: [float(c[key]) for c in ckpts] for key in loss_keys}
    slider = widgets.IntSlider(value=len(ckpts) - 1, min=0, max=len(ckpts) - 1,
                               description="checkpoint", continuous_update=False,
                               readout=False)  # the label says which epoch
    label = widgets.Label()
    plot = widgets.Image(format="png")

    def show(i: int) -> None:
        model.load_state_dict(ckpts[i]["model"])
        model.eval()
        with torch.inference_mode():
            predictions = model(X)
        mse = float(nn.functional.mse_loss(predictions, y))
        label.value = f"epoch {epochs[i]}: validation MSE {mse:.4f}"
        plot.value = _png(timeline_figure(epochs, losses, i, predictions, y))

    slider.observe(lambda change: show(change["new"]), names="value")
    show(slider.value)
    return widgets.VBox([widgets.HBox([slider, label]), plot])
