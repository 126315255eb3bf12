"""The Chinese edition (notebooks/zh/): made from the English lessons and the catalogs in
ckpt_kit/locale/zh_CN/, complete, current, with the English code, the listed terminology, and the
corrections to the popular article. (Its notebooks run under nbval like the English ones; the
checker on them: test_checker_zh.py; in a browser: test_browser.py.)"""

from __future__ import annotations

import io
import re
import shutil
import tokenize

import nbformat
import polib
import pytest

from ckpt_kit.editions import edition_folder, write_edition
from ckpt_kit.exercises import find_exercises
from ckpt_kit.i18n import catalog, fields, language, locale_folder, notebook_language, translate
from ckpt_kit.paths import NOTEBOOKS_DIR, SOLUTIONS_DIR
from ckpt_kit.translation import masked, problems, same_code, update_catalogs
from terminology import TERMINOLOGY, prose, term_problems, terms

ZH = "zh-CN"
LESSONS = sorted(p.name for p in SOLUTIONS_DIR.glob("*.ipynb"))
ZH_DIR = edition_folder(ZH)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _cells(path):
    return nbformat.read(path, as_version=4).cells


def test_every_entry_is_translated_and_current():
    found = problems(ZH)
    assert not found, f"{len(found)} catalog entries are stale or missing:\n" + "\n".join(found)


def test_a_changed_english_cell_makes_its_entry_stale_and_the_cell_english(tmp_path):
    solutions, locale = tmp_path / "solutions", tmp_path / "locale"
    shutil.copytree(SOLUTIONS_DIR, solutions, ignore=shutil.ignore_patterns("checkpoints"))
    shutil.copytree(locale_folder(ZH), locale)
    path = solutions / LESSONS[2]
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and c.id != "title")
    old = cell.source
    cell.source = old.replace(" ", "  ", 1) + "\n\nA sentence the translation has not seen."
    nbformat.write(nb, path)
    assert problems(ZH, solutions, locale) == [
        f"{LESSONS[2][:-6]}.po: markdown cell {cell.id}: stale: made for other English; "
        "run `python -m ckpt_helpers translate`"]
    update_catalogs(ZH, solutions, locale)  # msgmerge: kept, marked fuzzy, old English noted
    entry = next(e for e in polib.pofile(str(locale / f"{LESSONS[2][:-6]}.po"))
                 if e.msgctxt == cell.id)
    assert entry.fuzzy and entry.previous_msgid == old and entry.msgid == cell.source
    [stale] = problems(ZH, solutions, locale)
    assert stale.startswith(f"{LESSONS[2][:-6]}.po: markdown cell {cell.id}: stale: its "
                            "English changed")
    written = write_edition(ZH, notebooks_dir=tmp_path / "notebooks", lessons=(LESSONS[2][:2],),
                            solutions_dir=solutions, locale_dir=locale)
    [(student, english)] = written.items()
    assert english == [cell.id]  # it falls back to the English cell, and says so
    assert {c.id: c.source for c in _cells(student)}[cell.id] == cell.source


def test_the_notebooks_are_generated_from_the_english_and_the_catalogs(tmp_path):
    # nobody edits a Chinese notebook: regenerating them gives the committed sources
    write_edition(ZH, notebooks_dir=tmp_path)
    for name in LESSONS:
        for sub in ("", "solutions/"):
            made = [(c.id, c.cell_type, c.source) for c in _cells(tmp_path / "zh" / sub / name)]
            kept = [(c.id, c.cell_type, c.source) for c in _cells(ZH_DIR / sub / name)]
            assert made == kept, f"notebooks/zh/{sub}{name} differs from what the catalogs make"


@pytest.mark.parametrize("name", LESSONS)
def test_each_chinese_code_cell_is_the_english_code(name):
    english = _cells(SOLUTIONS_DIR / name)
    chinese = _cells(ZH_DIR / "solutions" / name)
    assert [(c.id, c.cell_type) for c in english] == [(c.id, c.cell_type) for c in chinese]
    for en, zh in zip(english, chinese):
        if en.cell_type == "code":
            assert masked(en.source) == masked(zh.source), f"{name} cell {en.id}"


def test_the_code_identity_ignores_only_comments_and_strings():
    english = 'x = load(path, weights_only=True)  # load\nprint(f"loss {x:.3f}")'
    assert same_code(english, 'x = load(path, weights_only=True)  # 加载\nprint(f"损失 {x:.3f}")')
    assert not same_code(english, 'x = load(path, weights_only=False)\nprint(f"损失 {x:.3f}")')
    assert not same_code(english, 'x = load(path, weights_only=True)\nprint(f"损失 {x:.4f}")')
    assert not same_code(english, 'x = load(path, weights_only=True)\nprint(f"损失 {y:.3f}")')


@pytest.mark.parametrize("name", LESSONS)
def test_everything_a_student_reads_is_chinese(name):
    nb = nbformat.read(ZH_DIR / name, as_version=4)
    assert notebook_language(nb) == ZH
    exercises = find_exercises(nb)
    assert exercises and all(CJK.search(ex.title) for ex in exercises)
    for cell in nb.cells:
        comments = "\n".join(token.string for token in tokenize.generate_tokens(
            io.StringIO(cell.source).readline) if token.type == tokenize.COMMENT
            ) if cell.cell_type == "code" else ""
        text = cell.source if cell.cell_type == "markdown" else comments
        if cell.cell_type == "markdown" or re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", prose(text)):
            assert CJK.search(text), f"{name} cell {cell.id} has no Chinese: {text[:80]!r}"
    stubs = [c for c in nb.cells
             if c.cell_type == "code" and "raise NotImplementedError()" in c.source]
    assert stubs and all("# 在这里写你的代码" in c.source for c in stubs)


@pytest.mark.parametrize("name", LESSONS)
def test_the_solutions_print_in_chinese(name):
    # what the lesson's own cells print was translated with them (outputs of the zh run)
    printed = [o.get("text", "") for c in _cells(ZH_DIR / "solutions" / name)
               if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"]
    assert any("：通过" in text for text in printed), name
    assert not any("passed" in text and "Exercise" in text for text in printed), name


def test_the_terminology_list_is_used_consistently():
    assert len(terms()) >= 20 and TERMINOLOGY.is_file()
    assert {"state_dict", "map_location", "weights_only"} <= {t.english for t in terms()}
    found = [p for path in sorted(locale_folder(ZH).glob("*.po")) for p in term_problems(path)]
    assert not found, "\n".join(found)


def test_the_terminology_check_catches_a_stray_rendering(tmp_path):
    po = polib.POFile()
    po.append(polib.POEntry(msgctxt="a", msgid="Save the checkpoint.", msgstr="保存存档点。",
                            comment="markdown cell a"))
    po.append(polib.POEntry(msgctxt="b", msgid="Load the state_dict.", msgstr="加载状态字典。",
                            comment="markdown cell b"))
    po.save(str(tmp_path / "x.po"))
    found = term_problems(tmp_path / "x.po")
    assert any("'检查点'" in f and "'存档点'" in f for f in found), found
    assert any("must say 'state_dict'" in f for f in found), found


def _markdown(name):
    return "\n".join(c.source for c in _cells(ZH_DIR / name) if c.cell_type == "markdown")


def test_the_corrections_to_the_popular_article_are_stated_in_its_words():
    lesson03 = _markdown("03_whole_model_vs_state_dict.ipynb")
    assert "pickle 协议 0" in lesson03 and "默认是 2" in lesson03
    assert "每个 epoch 都保存会大大拖慢训练" in lesson03
    assert "从 PyTorch 2.6 起，`torch.load` 默认 `weights_only=True`" in lesson03
    everything = "\n".join(_markdown(name) for name in LESSONS)
    assert "TorchScript" in everything and "torch.export" in everything


def test_messages_are_translated_with_their_fields():
    hint = ("not right yet. Hint: `predict` is not defined: run your answer cell, which must "
            "define your function")
    chinese = translate(hint, ZH)
    assert CJK.search(chinese) and "`predict`" in chinese and "answer cell" not in chinese
    assert translate("Exercise 3: passed", ZH) == "练习 3：通过"
    assert translate("Exercise 3: passed", "en") == "Exercise 3: passed"
    assert translate("something no catalog knows", ZH) == "something no catalog knows"
    assert language("zh_CN") == ZH and language("zh") == ZH


def test_every_message_translation_keeps_its_fields():
    for entry in (e for path in locale_folder(ZH).glob("*.po")
                  for e in polib.pofile(str(path)) if not e.msgctxt and e.msgstr):
        assert sorted(fields(entry.msgid)) == sorted(fields(entry.msgstr)), entry.msgid
    assert len(catalog(ZH).templates) > 100


def test_the_readmes_link_to_each_other_and_give_the_same_two_commands():
    english = (NOTEBOOKS_DIR.parent / "README.md").read_text(encoding="utf-8")
    chinese = (NOTEBOOKS_DIR.parent / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "README.zh-CN.md" in english and "](README.md)" in chinese
    lab = ".venv/bin/jupyter lab notebooks/01_define_the_net.ipynb"
    tests = ("python3 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt && "
             ".venv/bin/python -m pytest")
    assert lab in english and tests in english
    assert lab.replace("notebooks/", "notebooks/zh/") in chinese and tests in chinese
    assert "python -m ckpt_helpers check notebooks/zh/" in chinese
    assert "tests/screenshots/zh_" in chinese
    assert (ZH_DIR / "INSTRUCTOR.md").is_file()


def test_a_chinese_students_feedback_is_chinese(tmp_path):
    from ckpt_kit.gradebook import Row, write_feedback

    hint = "not right yet. Hint: `predict` is not defined: run your answer cell, which must " \
           "define your function"
    rows = [Row(student, "03_whole_model_vs_state_dict.ipynb", 1, "wrong", hint)
            for student in ("li", "ann")]
    write_feedback(rows, tmp_path, {"li": ZH})
    chinese = (tmp_path / "li.md").read_text(encoding="utf-8")
    english = (tmp_path / "ann.md").read_text(encoding="utf-8")
    assert "# li 的反馈" in chinese and "- 练习 1：**不对**：" in chinese
    assert translate(hint, ZH) in chinese and "answer cell" not in chinese
    assert "# Feedback for ann" in english and f"**wrong**: {hint}" in english


def test_chinese_markdown_renders_as_written():
    # a line break inside a paragraph, between two Chinese characters, shows as a space; and
    # "**时间：**讲解" shows its asterisks (CommonMark: bold that ends in punctuation must be
    # followed by a space or punctuation)
    cjk, punctuation = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef", "：；，。！？、）」"
    block = re.compile(r"\s*([#|>]|[-*+] |\d+\. |```)")
    found = []
    for name in LESSONS:
        for cell in (c for c in _cells(ZH_DIR / name) if c.cell_type == "markdown"):
            lines = re.sub(r"```.*?```", "", cell.source, flags=re.S).split("\n")
            for above, line in zip(lines, lines[1:]):
                if (re.search(f"[{cjk}]$", above) and re.match(f"[{cjk}]", line) and
                        not block.match(above) and not block.match(line)):
                    found.append(f"{name} {cell.id}: {above[-20:]!r} / {line[:20]!r}")
            for line in lines:
                parts = line.split("**")  # the odd parts are bold
                found += [f"{name} {cell.id}: **{bold}**{after[:5]}"
                          for bold, after in zip(parts[1::2], parts[2::2])
                          if bold and bold[-1] in punctuation and after and
                          not after[0].isspace() and after[0] not in punctuation]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", LESSONS)
def test_each_chinese_lesson_follows_the_template_in_chinese(name):
    # the English template (test_notebooks.py) under its Chinese headings, same steps and minutes
    def text(folder):
        return "\n".join(c.source for c in _cells(folder / name) if c.cell_type == "markdown")

    english, chinese = text(SOLUTIONS_DIR), text(ZH_DIR / "solutions")
    assert chinese.startswith(f"# {name[:2]} · ")
    headings = ["## 你将学到", "## 预备知识", "**时间**：讲解", "## 第 1 步 — ", "## 小结",
                "## 练习"]
    positions = [chinese.find(h) for h in headings]
    assert -1 not in positions and positions == sorted(positions), headings
    steps = re.findall(r"^## 第 (\d+) 步 — ", chinese, flags=re.M)
    assert steps == re.findall(r"^## Step (\d+) — ", english, flags=re.M)
    minutes = re.findall(r"^### 练习 (\d+) — .+（(\d+) 分钟）$", chinese, flags=re.M)
    assert minutes and minutes == re.findall(r"^### Exercise (\d+) — .+\((\d+) min\)$", english,
                                             flags=re.M)
