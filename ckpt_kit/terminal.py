"""Text as a terminal shows it, made stable for comparison."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(text: str) -> str:
    """``text`` without colour and bold codes (torch's error messages contain some).

    >>> strip_ansi("\\x1b[1mbold\\x1b[0m")
    'bold'
    """
    return _ANSI.sub("", text)
