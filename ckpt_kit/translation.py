"""The translated editions of the course, made from the English one and gettext catalogs.

A language's catalogs live in ``ckpt_kit/locale/<language>/`` (see :mod:`ckpt_kit.i18n`):

- one ``NN_lesson.po`` per lesson. Each of the instructor notebook's cells that a reader reads
  (every markdown cell; every code cell with a comment or a sentence in a string) is one entry:
  its ``msgctxt`` is the cell id, its ``msgid`` the English cell, its ``msgstr`` the translated
  cell, whose code must stay the same (:func:`same_code`). Then the messages of the lesson's
  checks module (``ckpt_kit/checks/lessonNN.py``), one entry per template;
- ``kit.po``: the set-up cell every lesson opens with, the stub of a blank answer, and the
  messages of the checker and of the checks' shared code.

``python -m ckpt_helpers translate`` brings the catalogs up to date with the English (as
gettext's ``msgmerge`` does: a changed English text keeps its old translation, marked fuzzy,
with the English it was made for as ``#| msgid``) and writes the translated notebooks,
``notebooks/zh/solutions/`` and the student versions beside them. A cell whose entry is missing,
fuzzy or made for other English stays English there; :func:`problems` names every such entry,
and the sync test fails on them.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ckpt_kit.environment import SETUP_CELL_ID
from ckpt_kit.exercises import STUB
from ckpt_kit.i18n import locale_folder
from ckpt_kit.paths import PACKAGE_DIR, SOLUTIONS_DIR

if TYPE_CHECKING:
    import polib
    from nbformat import NotebookNode

EDITIONS = {"zh-CN": "zh"}  # language -> its folder under notebooks/
KIT_CATALOG = "kit"
STUB_CONTEXT = "stub"  # kit.po's entry for the stub's first line
# the kit's own messages a student reads: the checker's, and those the checks share
# (in those functions only, where named): the checker's, the feedback of `grade`, the checks' own
KIT_SOURCES: dict[str, tuple[str, ...]] = {
    "checker.py": (), "cli.py": ("_check",), "gradebook.py": ("write_feedback",),
    "checks/__init__.py": (), "checks/probes.py": ()}
_NOT_MESSAGES = {"EQUIVALENT_MUTANTS"}  # module constants for the instructor, not the student
_SENTENCE = re.compile(r"[A-Za-z]{2,}")


# --- what a reader reads ----------------------------------------------------------------------


def _python(source: str) -> str:
    """A cell as plain Python: IPython's magics (``%time``, ``!ls``) turned into calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _is_sentence(text: str) -> bool:
    """Text a person reads: two words with a letter, not an identifier or a file name."""
    from ckpt_kit.i18n import _FIELD

    literal = _FIELD.sub("", text)
    return bool(_SENTENCE.search(literal)) and " " in text.strip()


def has_prose(source: str) -> bool:
    """Whether a code cell holds a comment or a sentence in a string literal.

    >>> has_prose("x = 1"), has_prose("x = 1  # one"), has_prose('print("a sentence")')
    (False, True, True)
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return True
    if any(t.type == tokenize.COMMENT for t in tokens):
        return True
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return True
    return any(isinstance(node, ast.Constant) and isinstance(node.value, str) and
               _is_sentence(node.value) for node in ast.walk(tree))


class _Mask(ast.NodeTransformer):
    """Every string literal emptied, every f-string reduced to its fields."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):
            return ast.copy_location(ast.Constant(""), node)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node.value = self.visit(node.value)  # its format spec (":.3f") is code: kept
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        node.values = [self.visit(v) for v in node.values if isinstance(v, ast.FormattedValue)]
        return node


def masked(source: str) -> str:
    """A code cell's logic: its AST with comments gone and string literals emptied.

    >>> masked('x = f"loss {y:.3f}"  # note') == masked('x = f"损失 {y:.3f}"  # 注')
    True
    """
    return ast.dump(_Mask().visit(ast.parse(_python(source))))


def same_code(english: str, translated: str) -> bool:
    """Whether two code cells differ only in comments and string literals."""
    try:
        return masked(english) == masked(translated)
    except SyntaxError:
        return english == translated


# --- the messages of the kit's code -----------------------------------------------------------


def _template(node: ast.AST) -> str | None:
    """An f-string or string as the template a catalog holds (fields as ``{expression}``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
        elif isinstance(value, ast.FormattedValue):
            field = ast.unparse(value.value)
            if value.conversion != -1:
                field += "!" + chr(value.conversion)
            if value.format_spec is not None:
                field += ":" + "".join(str(v.value) for v in value.format_spec.values
                                       if isinstance(v, ast.Constant))
            parts.append("{" + field + "}")
    return "".join(parts)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def messages(path: Path, functions: tuple[str, ...] = ()) -> dict[str, list[int]]:
    """The messages a student can read in a module of the kit (in ``functions`` only, where
    given): every string and f-string that is a sentence, by template, with its lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in _NOT_MESSAGES for t in targets):
                skip |= {id(n) for n in ast.walk(node)}
        if isinstance(node, ast.JoinedStr):  # the parts of an f-string are not messages
            skip |= {id(n) for n in ast.walk(node) if n is not node}
    roots = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in functions]
    found: dict[str, list[int]] = {}
    for root in roots or [tree]:
        for node in ast.walk(root):
            text = None if id(node) in skip else _template(node)
            if text is not None and _is_sentence(text):
                found.setdefault(text, []).append(node.lineno)
    return found


# --- the catalogs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """An entry a catalog must have: its context (a cell id, or none for a message), its
    English, and where it comes from."""

    context: str | None
    english: str
    where: str


def lesson_entries(solution: NotebookNode, checks: Path | None) -> list[Wanted]:
    """What a lesson's catalog must translate: its cells a reader reads, its checks' messages."""
    wanted = []
    for cell in solution.cells:
        if cell.get("id") == SETUP_CELL_ID or not cell.source.strip():
            continue
        if cell.cell_type == "markdown" or (cell.cell_type == "code" and has_prose(cell.source)):
            wanted.append(Wanted(cell.id, cell.source, f"{cell.cell_type} cell {cell.id}"))
    if checks is not None and checks.is_file():
        relative = checks.relative_to(PACKAGE_DIR.parent).as_posix()
        for text, lines in messages(checks).items():
            wanted.append(Wanted(None, text, ", ".join(f"{relative}:{n}" for n in lines)))
    return wanted


def kit_entries() -> list[Wanted]:
    """What ``kit.po`` must translate: the set-up cell, the stub, the checker's messages."""
    from ckpt_kit.environment import SETUP_CELL

    wanted = [Wanted(SETUP_CELL_ID, SETUP_CELL, "the set-up cell of every lesson"),
              Wanted(STUB_CONTEXT, STUB[0], "the first line of a blank answer")]
    wanted += [Wanted(None, verdict, "a verdict: ckpt_kit/checker.py (passed), the gradebook")
               for verdict in ("passed", "wrong", "not answered", "error")]
    for name, functions in KIT_SOURCES.items():
        path = PACKAGE_DIR / name
        for text, lines in messages(path, functions).items():
            wanted.append(Wanted(None, text, ", ".join(f"ckpt_kit/{name}:{n}" for n in lines)))
    return wanted


def _key(context: str | None, english: str) -> tuple[str, str]:
    return (context, "") if context else ("", english)


def update_catalog(path: Path, wanted: list[Wanted], lang: str) -> polib.POFile:
    """Bring one catalog up to date (``msgmerge``): new entries empty, changed ones fuzzy with
    their old English kept, gone ones obsolete. Writes it only if something changed."""
    import polib

    po = polib.pofile(str(path)) if path.is_file() else polib.POFile(wrapwidth=0)
    text_before = po.__unicode__() if path.is_file() else None
    po.metadata = {"Project-Id-Version": "ckpt-kit", "Language": lang.replace("-", "_"),
                   "MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8",
                   "Content-Transfer-Encoding": "8bit"}
    old = {_key(e.msgctxt, e.msgid): e for e in po if not e.obsolete}
    entries = []
    for want in wanted:
        entry = old.pop(_key(want.context, want.english), None)
        if entry is None:
            entry = polib.POEntry(msgctxt=want.context, msgid=want.english, msgstr="")
        elif entry.msgid != want.english:  # the English of a cell changed: keep, mark fuzzy
            entry.previous_msgid = entry.previous_msgid or entry.msgid
            entry.msgid = want.english
            if "fuzzy" not in entry.flags:
                entry.flags.append("fuzzy")
        entry.occurrences = []
        entry.comment = want.where
        if want.context is None and "{" in want.english and "python-brace-format" not in (
                entry.flags):
            entry.flags.append("python-brace-format")
        entries.append(entry)
    for entry in old.values():
        entry.obsolete = True
        entries.append(entry)
    po[:] = entries
    if po.__unicode__() != text_before:
        path.parent.mkdir(parents=True, exist_ok=True)
        po.save(str(path))
    return po


def lesson_names(solutions_dir: Path = SOLUTIONS_DIR) -> list[str]:
    """The lessons' notebook names without ``.ipynb``: ``03_whole_model_vs_state_dict``."""
    return [p.stem for p in sorted(Path(solutions_dir).glob("*.ipynb"))]


def _catalogs(lang: str, solutions_dir: Path,
              locale_dir: Path | None) -> list[tuple[Path, list[Wanted], dict[str, bool]]]:
    """Each catalog of ``lang``, what it must translate now, and which of its contexts are code
    cells."""
    import nbformat

    folder = locale_dir or locale_folder(lang)
    catalogs = []
    for name in lesson_names(solutions_dir):
        solution = nbformat.read(Path(solutions_dir) / f"{name}.ipynb", as_version=4)
        checks = PACKAGE_DIR / "checks" / f"lesson{name[:2]}.py"
        catalogs.append((folder / f"{name}.po", lesson_entries(solution, checks),
                         {c.id: c.cell_type == "code" for c in solution.cells}))
    catalogs.append((folder / f"{KIT_CATALOG}.po", kit_entries(), {SETUP_CELL_ID: True}))
    return catalogs


def update_catalogs(lang: str, solutions_dir: Path = SOLUTIONS_DIR,
                    locale_dir: Path | None = None) -> list[Path]:
    """Update every catalog of ``lang`` from the English instructor notebooks and the kit."""
    catalogs = _catalogs(lang, solutions_dir, locale_dir)
    for path, wanted, _ in catalogs:
        update_catalog(path, wanted, lang)
    return [path for path, _, _ in catalogs]


# --- is a catalog complete? -------------------------------------------------------------------


def entry_problem(entry: polib.POEntry) -> str | None:
    """What is wrong with one entry of a catalog, or ``None``."""
    if entry.obsolete:
        return None
    if not entry.msgstr.strip():
        return "not translated"
    if entry.fuzzy:
        old = (f" (translated from: {entry.previous_msgid[:60]!r}...)"
               if entry.previous_msgid else "")
        return f"stale: its English changed{old}; update the translation, then drop the fuzzy mark"
    if entry.msgctxt is None and sorted(_fields(entry.msgid)) != sorted(_fields(entry.msgstr)):
        return (f"the translation must keep the fields {sorted(set(_fields(entry.msgid)))}, "
                f"has {sorted(set(_fields(entry.msgstr)))}")
    return None


def _fields(text: str) -> list[str]:
    from ckpt_kit.i18n import fields

    return fields(text)


def catalog_problems(path: Path, wanted: list[Wanted], code: dict[str, bool]) -> list[str]:
    """Every entry of one catalog that is missing, stale, untranslated or changes code: one
    line each, naming the catalog, the entry and what to do. ``code`` says which contexts are
    code cells."""
    import polib

    name = path.name
    if not path.is_file():
        return [f"{name}: missing; run `python -m ckpt_helpers translate`"]
    entries = {_key(e.msgctxt, e.msgid): e for e in polib.pofile(str(path)) if not e.obsolete}
    found = []
    for want in wanted:
        entry = entries.get(_key(want.context, want.english))
        label = (f"{name}: {want.where}" if want.context else
                 f"{name}: message {want.english[:70]!r}")
        if entry is None:
            found.append(f"{label}: no entry; run `python -m ckpt_helpers translate`")
            continue
        problem = entry_problem(entry)
        if problem is None and entry.msgid != want.english:
            problem = "stale: made for other English; run `python -m ckpt_helpers translate`"
        if problem is None and code.get(want.context or "") and not same_code(entry.msgid,
                                                                             entry.msgstr):
            problem = "its code differs from the English cell's (only comments and strings may)"
        if problem:
            found.append(f"{label}: {problem}")
    return found


def problems(lang: str, solutions_dir: Path = SOLUTIONS_DIR,
             locale_dir: Path | None = None) -> list[str]:
    """Every stale, missing or broken entry of ``lang``'s catalogs, against the English now."""
    return [problem for path, wanted, code in _catalogs(lang, solutions_dir, locale_dir)
            for problem in catalog_problems(path, wanted, code)]
