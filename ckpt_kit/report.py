"""The class summary an instructor looks at: pass rate per exercise, hardest first.

:func:`write_chart` draws it as a bar chart (PNG); :func:`write_html` writes a page with the
chart and a table (one line per exercise: pass rate, the count of each verdict, the hint most
students got), ordered by difficulty and sortable by any column with a click.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class _Row(Protocol):
    lesson: str
    exercise: int
    verdict: str
    message: str


@dataclass(frozen=True)
class ExerciseSummary:
    """How the class did on one exercise."""

    lesson: str
    exercise: int
    counts: dict[str, int]
    common_message: str  # the most frequent message of those who did not pass ("" if all did)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def pass_rate(self) -> float:
        return self.counts.get("passed", 0) / self.total if self.total else 0.0

    @property
    def label(self) -> str:
        return f"{self.lesson[:2]} Ex {self.exercise}"


def summarize(rows: Iterable[_Row]) -> list[ExerciseSummary]:
    """One summary per exercise, hardest (lowest pass rate) first."""
    verdicts: dict[tuple[str, int], Counter[str]] = {}
    messages: dict[tuple[str, int], Counter[str]] = {}
    for row in rows:
        key = (row.lesson, row.exercise)
        verdicts.setdefault(key, Counter())[row.verdict] += 1
        if row.verdict != "passed":
            messages.setdefault(key, Counter())[row.message] += 1
    summaries = [ExerciseSummary(lesson, number, dict(counts),
                                 messages[(lesson, number)].most_common(1)[0][0]
                                 if (lesson, number) in messages else "")
                 for (lesson, number), counts in verdicts.items()]
    return sorted(summaries, key=lambda s: (s.pass_rate, s.lesson, s.exercise))


def write_chart(rows: Iterable[_Row], path: Path) -> None:
    """A horizontal bar chart of the pass rate per exercise, hardest at the top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summaries = summarize(rows)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.32 * max(len(summaries), 1)))
    labels = [s.label for s in summaries][::-1]
    rates = [100 * s.pass_rate for s in summaries][::-1]
    bars = ax.barh(labels, rates, color=["#c0392b" if r < 50 else "#e6a23c" if r < 80 else
                                         "#2e8b57" for r in rates])
    for bar, s in zip(bars, summaries[::-1], strict=True):
        ax.text(min(bar.get_width() + 1, 88), bar.get_y() + bar.get_height() / 2,
                f"{s.counts.get('passed', 0)}/{s.total}", va="center", fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who passed (%)")
    ax.set_title("Pass rate per exercise, hardest first")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


_SORT_SCRIPT = """
document.querySelectorAll("th").forEach((th, col) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0];
  const rows = Array.from(body.rows);
  const up = th.dataset.order !== "up";
  th.dataset.order = up ? "up" : "down";
  const value = r => r.cells[col].dataset.sort ?? r.cells[col].textContent;
  rows.sort((a, b) => {
    const x = value(a), y = value(b), n = parseFloat(x) - parseFloat(y);
    return (isNaN(n) ? x.localeCompare(y) : n) * (up ? 1 : -1);
  });
  rows.forEach(r => body.appendChild(r));
}));
"""


def write_html(rows: Iterable[_Row], path: Path, chart: str) -> None:
    """The summary page: the chart, then a table per exercise, hardest first."""
    rows = list(rows)
    summaries = summarize(rows)
    students = len({getattr(r, "student", "") for r in rows})
    head = ("<tr><th>Exercise</th><th>Pass rate</th><th>passed</th><th>wrong</th>"
            "<th>not answered</th><th>error</th><th>Most frequent message</th></tr>")
    lines = []
    for s in summaries:
        counts = "".join(f"<td>{s.counts.get(v, 0)}</td>"
                         for v in ("passed", "wrong", "not answered", "error"))
        lines.append(f"<tr><td data-sort='{html.escape(s.label)}'>{html.escape(s.label)}</td>"
                     f"<td data-sort='{s.pass_rate:.4f}'>{100 * s.pass_rate:.0f}%</td>{counts}"
                     f"<td>{html.escape(s.common_message)}</td></tr>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class results</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}} th{{cursor:pointer;
background:#eee}}</style></head><body>
<h1>Class results</h1>
<p>{students} students, {len(summaries)} exercises, hardest first. Click a column to sort.
Each student's messages are in <code>feedback/</code>; every row in
<code>gradebook.csv</code>.</p>
<img src="{html.escape(chart)}" alt="Pass rate per exercise, hardest first">
<table><thead>{head}</thead><tbody>
{chr(10).join(lines)}
</tbody></table>
<script>{_SORT_SCRIPT}</script>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
