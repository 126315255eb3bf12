"""The languages the kit speaks to students, and the translation of its messages at run time.

English is the default. A lesson's set-up cell sets ``CKPT_KIT_LANGUAGE`` in its kernel (the
Chinese lessons set ``zh-CN``), so that the checks' hints come in the lesson's language; the
checker (``python -m ckpt_helpers check``) takes the language from the notebook's metadata
(``metadata.ckpt_kit.language``) or from ``--lang``.

The translations are gettext catalogs, one ``.po`` file per lesson plus ``kit.po``, in
``ckpt_kit/locale/<language>/`` (written and kept in sync by :mod:`ckpt_kit.translation`). A
message entry's ``msgid`` is the English template as the code writes it, an f-string's fields
kept as ``{expression}``; :func:`translate` recognises a finished English message by its
template, puts the fields' values into the translated template, and translates each value that
is itself a message. A message without a translation stays English.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ckpt_kit.environment import LANGUAGE_VARIABLE
from ckpt_kit.paths import PACKAGE_DIR

DEFAULT = "en"
LANGUAGES = {"en": "English", "zh-CN": "简体中文"}
LOCALE_DIR = PACKAGE_DIR / "locale"
_FIELD = re.compile(r"\{\{|\}\}|\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}")  # a field, or an escaped brace


def language(value: str | None) -> str:
    """The kit's name for a language: ``"zh"``, ``"zh_CN"`` and ``"zh-cn"`` are ``"zh-CN"``.

    >>> language("zh_CN"), language(None), language("EN")
    ('zh-CN', 'en', 'en')
    >>> language("fr")
    Traceback (most recent call last):
    ValueError: the kit speaks en, zh-CN, not 'fr'
    """
    if not value:
        return DEFAULT
    wanted = value.strip().replace("_", "-").lower()
    for known in LANGUAGES:
        if wanted in (known.lower(), known.split("-")[0].lower()):
            return known
    raise ValueError(f"the kit speaks {', '.join(LANGUAGES)}, not {value!r}")


def kernel_language() -> str:
    """The language of this process: ``CKPT_KIT_LANGUAGE``, English if unset or unknown."""
    try:
        return language(os.environ.get(LANGUAGE_VARIABLE))
    except ValueError:
        return DEFAULT


# fonts with Chinese glyphs on common systems (Linux, Windows, macOS): what a figure falls back to
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Arial Unicode MS")


def use_language(lang: str) -> None:
    """Speak ``lang`` in this kernel: the checks' hints (through ``CKPT_KIT_LANGUAGE``, which
    processes started from here inherit too) and, for Chinese, figures, whose text falls back
    to an installed font with Chinese glyphs (:data:`CJK_FONTS`). A lesson's set-up cell calls
    it."""
    lang = language(lang)
    os.environ[LANGUAGE_VARIABLE] = lang
    if lang.startswith("zh"):
        from matplotlib import font_manager, rcParams

        chinese = _chinese_fonts(font_manager)
        if chinese and chinese[0] not in rcParams["font.family"]:
            # Latin text keeps its font; each glyph it lacks comes from the next family
            rcParams["font.family"] = [*rcParams["font.family"], chinese[0]]


def _chinese_fonts(font_manager: Any) -> list[str]:
    """The fonts of :data:`CJK_FONTS` that matplotlib can use; fonts installed after it made
    its font cache are added first (matplotlib does not look for new fonts by itself)."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    if not installed & set(CJK_FONTS):
        hints = ("wqy", "notosanscjk", "sourcehansans", "msyh", "simhei", "pingfang", "heiti",
                 "arial unicode", "arialuni")
        for path in font_manager.findSystemFonts():
            if any(hint in Path(path).name.lower().replace("-", "") for hint in hints):
                font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in installed]


def notebook_language(nb: Any) -> str:
    """The language a notebook is written in (``metadata.ckpt_kit.language``), else English."""
    try:
        return language(nb.get("metadata", {}).get("ckpt_kit", {}).get("language"))
    except (AttributeError, ValueError):
        return DEFAULT


def file_language(notebook: Path) -> str:
    """The language of a notebook file (:func:`notebook_language`); English where it cannot be
    read, since whoever reads the file says what is wrong with it."""
    import json

    try:
        return notebook_language(json.loads(Path(notebook).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return DEFAULT


def locale_folder(lang: str) -> Path:
    """Where the catalogs of ``lang`` live: ``ckpt_kit/locale/zh_CN``."""
    return LOCALE_DIR / lang.replace("-", "_")


def fields(template: str) -> list[str]:
    """The fields of a template, in order, without the escaped braces.

    >>> fields("{n} of {total:g} passed {{not a field}}")
    ['{n}', '{total:g}']
    """
    return [f for f in _FIELD.findall(template) if f not in ("{{", "}}")]


@dataclass(frozen=True)
class _Template:
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    translation: str
    literal: int  # how many characters of a message its fixed text covers
    start: str  # its fixed text before the first field
    # where it ends with a field: the text before that field, and all before that text
    separator: str = ""
    head: re.Pattern[str] | None = None


def _template(msgid: str, msgstr: str) -> _Template:
    parts, names, last, separator, head = [], [], 0, "", None
    for match in _FIELD.finditer(msgid):
        text = msgid[last:match.start()]
        parts.append(re.escape(text))
        if match.group() in ("{{", "}}"):
            parts.append(re.escape(match.group()[0]))
        else:
            if match.end() == len(msgid) and text:  # the last field ends the template
                separator, head = text, re.compile("".join(parts[:-1]), re.DOTALL)
            parts.append("(.*?)")
            names.append(match.group())
        last = match.end()
    parts.append(re.escape(msgid[last:]))
    return _Template(re.compile("".join(parts), re.DOTALL), tuple(names), msgstr,
                     len(_FIELD.sub("", msgid)), _FIELD.split(msgid)[0], separator, head)


@dataclass(frozen=True)
class Catalog:
    """The message translations of one language: exact ones, and templates with fields (the
    exact ones too, for messages the code joined with ``+``), also by their first characters."""

    exact: dict[str, str]
    templates: tuple[_Template, ...]
    by_start: dict[str, tuple[_Template, ...]]


@functools.lru_cache(maxsize=None)
def catalog(lang: str) -> Catalog:
    """The translated, current (not fuzzy) message entries of every catalog of ``lang``."""
    import polib

    exact: dict[str, str] = {}
    templates: list[tuple[int, _Template]] = []
    for path in sorted(locale_folder(lang).glob("*.po")):
        for entry in polib.pofile(str(path)):
            if entry.msgctxt or entry.obsolete or entry.fuzzy or not entry.msgstr:
                continue  # a notebook cell (its context is the cell id), or not translated
            if entry.msgid not in exact:
                literal = len(_FIELD.sub("", entry.msgid))
                templates.append((literal, _template(entry.msgid, entry.msgstr)))
            exact.setdefault(entry.msgid, entry.msgstr)
    # the template with the most fixed text first: "{what} is not {kind}" is tried last
    ordered = tuple(t for _, t in sorted(templates, key=lambda pair: -pair[0]))
    by_start: dict[str, tuple[_Template, ...]] = {}
    for template in ordered:
        if len(template.start) >= _START:
            by_start[template.start[:_START]] = (*by_start.get(template.start[:_START], ()),
                                                 template)
    return Catalog(exact, ordered, by_start)


_START = 8  # characters of a message that find the templates it may begin


def _filled(template: _Template, groups: tuple[str, ...], lang: str,
            depth: int) -> tuple[int, str]:
    """A template's translation with its fields' values put in (translated where known), and
    how many characters of the message the catalogs covered."""
    covered, values = template.literal, {}
    for name, value in zip(template.names, groups):
        found = _best(value, lang, depth + 1) if value else None
        covered += found[0] if found else 0
        values[name] = found[1] if found else value
    return covered, _FIELD.sub(lambda m: values.get(m.group(), m.group()[0] if m.group() in (
        "{{", "}}") else m.group()), template.translation)


def _readings(template: _Template, message: str, lang: str,
              depth: int) -> list[tuple[int, str]]:
    """The ways ``template`` reads ``message``: its fields matched as short as they go, and,
    where it ends with a field, each split whose last part is a message a catalog knows (``{what}
    {advice}``: the advice, not a word of the error before it)."""
    match = template.pattern.fullmatch(message)
    if match is None:
        return []
    readings = [_filled(template, match.groups(), lang, depth)]
    if template.head is None:
        return readings
    table = catalog(lang)
    at = message.find(template.separator)
    while at != -1:
        tail = message[at + len(template.separator):]
        head = template.head.fullmatch(message[:at])
        if head is not None and (tail in table.exact or tail[:_START] in table.by_start):
            readings.append(_filled(template, (*head.groups(), tail), lang, depth))
        at = message.find(template.separator, at + 1)
    return readings


@functools.lru_cache(maxsize=4096)
def _best(message: str, lang: str, depth: int) -> tuple[int, str] | None:
    """The translation of ``message`` that covers most of it with catalog text (a message, a
    template filled in, or messages the code joined with ``+``), with that coverage; ``None``
    where no catalog knows any of it. The most general templates ("{call} raised {error}")
    match much; the reading that translates the most wins."""
    table = catalog(lang)
    if message in table.exact:
        return len(message), table.exact[message]
    if depth > 8:
        return None
    found = [reading for t in table.templates for reading in _readings(t, message, lang, depth)]
    if depth <= 3 and max((f[0] for f in found), default=0) < len(message):
        for template in table.templates:  # a known message, then the rest
            match = template.pattern.match(message)
            if match is not None and 0 < match.end() < len(message):
                rest = _best(message[match.end():], lang, depth + 1)
                if rest is not None:
                    head = _filled(template, match.groups(), lang, depth)
                    found.append((head[0] + rest[0], head[1] + rest[1]))
        for english, translation in table.exact.items():  # something, then a known message
            if len(english) >= 12 and message.endswith(english) and message != english:
                head = message[:-len(english)]
                known = _best(head, lang, depth + 1)
                found.append(((known[0] if known else 0) + len(english),
                              (known[1] if known else head) + translation))
    return max(found, key=lambda f: f[0]) if found else None


def translate(message: str, lang: str) -> str:
    """``message`` (an English message the kit wrote) in ``lang``, as far as its catalogs know
    it; the fields' values are translated too where they are messages themselves."""
    if lang == DEFAULT or not message:
        return message
    found = _best(message, lang, 0)
    return message if found is None else found[1]


def tr(message: str) -> str:
    """``message`` in this process's language (:func:`kernel_language`)."""
    return translate(message, kernel_language())
