"""Answers that students plausibly write, one module per lesson (``lessonNN.ANSWERS``), keyed by
exercise number, for the checker's tests:

- "wrong": (answer, a piece of the hint the checker must give) — each must fail with that hint;
- "right": answers that differ from the reference solution but are correct — each must pass.

An answer replaces the `raise NotImplementedError()` stub of the student notebook, at its indent.
"""
