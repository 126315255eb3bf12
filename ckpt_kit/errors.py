"""The errors of the checkpoint helpers: one family, each saying what to do.

Every failure of ``save_checkpoint``, ``load_checkpoint``, ``load_weights`` and
``latest_checkpoint`` is a ``CheckpointError``; the original error, when there is one, is its
``__cause__``. What a program may need to act on travels as attributes, never inside the text.
"""

from __future__ import annotations

from collections.abc import Sequence


class CheckpointError(Exception):
    """Base of every error raised by the checkpoint helpers; the original error is __cause__."""


class CheckpointNotFoundError(CheckpointError):
    """The path does not exist, is a folder, or cannot be read."""


class CheckpointCorruptError(CheckpointError):
    """The file is truncated or damaged: it fails its integrity check or cannot be parsed.

    ``reason`` says what is wrong, in a few words (e.g. ``"data/0 fails its CRC-32 check"``).
    """

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class UnsafeCheckpointError(CheckpointError):
    """The file needs classes or functions that ``weights_only=True`` refuses; see ``.globals``."""

    def __init__(self, message: str, globals_: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.globals = list(globals_)


class CheckpointDeviceError(CheckpointError):
    """The file was saved on a device this machine does not have; pass ``map_location``.

    ``location`` is the device tag stored in the file (``"cuda:0"``), ``target`` where it was
    asked to go.
    """

    def __init__(self, message: str, location: str = "", target: str = "") -> None:
        super().__init__(message)
        self.location, self.target = location, target


class CheckpointFormatError(CheckpointError):
    """Not a torch.save checkpoint holding a dict (safetensors, .pt2, TorchScript, text...)."""


class CheckpointWriteError(CheckpointError):
    """The save could not complete; the previous file at the path is untouched."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint's tensors do not fit the model: keys missing, unexpected or mis-shaped."""
