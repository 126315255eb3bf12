"""The terminology list of the Chinese edition (notebooks/zh/TERMINOLOGY.md), checked on the
catalogs: where an entry's English uses a listed term, its translation uses the listed rendering,
and no translation uses a rendering the list rules out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polib

from ckpt_kit.paths import NOTEBOOKS_DIR

TERMINOLOGY = NOTEBOOKS_DIR / "zh" / "TERMINOLOGY.md"
# code is not prose: fenced blocks, `spans`, and words with _ . ( / (identifiers, paths, calls)
_CODE = re.compile(r"```.*?```|`[^`\n]*`|\S*[_./(]\S*", re.S)


@dataclass(frozen=True)
class Term:
    english: str
    chinese: str
    banned: tuple[str, ...]


def terms(path: Path = TERMINOLOGY) -> list[Term]:
    """The rows of the list's tables: English, the Chinese rendering, the banned variants."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and line.startswith("|") and cells[0] not in ("English", "---"):
            banned = tuple(b.strip() for b in re.split(r"[,，、]", cells[2]) if b.strip())
            rows.append(Term(cells[0], cells[1], banned))
    return rows


def prose(text: str) -> str:
    """``text`` without its code."""
    return _CODE.sub(" ", text)


def term_problems(po_path: Path, path: Path = TERMINOLOGY) -> list[str]:
    """One line per translated entry of a catalog that breaks the terminology list."""
    found = []
    listed = terms(path)
    for entry in polib.pofile(str(po_path)):
        if entry.obsolete or not entry.msgstr:
            continue
        markdown = entry.msgctxt is None or not entry.comment.startswith("code cell")
        label = f"{po_path.name}: {entry.comment.split(',')[0]} {entry.msgid[:50]!r}"
        for term in listed:
            for variant in term.banned:
                if variant in entry.msgstr:
                    found.append(f"{label}: write {term.chinese!r} for {term.english!r}, "
                                 f"not {variant!r}")
            if not markdown or entry.msgstr == entry.msgid:  # code, or a fragment kept as is
                continue
            english = re.compile(rf"(?<![\w-]){re.escape(term.english)}", re.I)
            # a term kept in English (state_dict) is kept in code too; the others, in prose
            kept = term.chinese.lower() == term.english.lower()
            text = entry.msgid if kept else prose(entry.msgid)
            if english.search(text) and term.chinese.lower() not in entry.msgstr.lower():
                found.append(f"{label}: the English says {term.english!r}, so the translation "
                             f"must say {term.chinese!r}")
    return found
