"""Put the course into a student's home: ``python course.py LESSONS_DIR COURSE_DIR``.

The hub runs this as the student (never as root), before each start of their server, so that
nothing it writes can land outside what the student may write themselves. It copies every lesson
notebook of ``LESSONS_DIR`` (``notebooks/*.ipynb``, not ``notebooks/solutions/``) that
``COURSE_DIR`` does not hold yet, and never touches a file that is already there: a student's
work is never overwritten, and lessons the instructor added since the last login appear. It also
turns off JupyterLab's news pop-up for the student, unless they set it themselves.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

LAB_SETTINGS = {  # plugin -> settings written once per student; a class needs no news pop-up
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}


def write_new(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` only if nothing is there (not even a link); True if written."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    return True


def copy_course(lessons: Path, course: Path) -> list[str]:
    """Copy the lessons that ``course`` lacks; the names of those copied.

    >>> import tempfile; src, dst = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp()) / "c"
    >>> _ = (src / "01.ipynb").write_text("{}")
    >>> copy_course(src, dst), copy_course(src, dst)
    (['01.ipynb'], [])
    """
    course.mkdir(mode=0o700, exist_ok=True)
    return [lesson.name for lesson in sorted(lessons.glob("*.ipynb"))
            if write_new(course / lesson.name, lesson.read_bytes())]


def write_lab_settings(home: Path) -> None:
    """JupyterLab settings for a class, written only where the student has none."""
    for plugin, values in LAB_SETTINGS.items():
        name = f"{plugin.replace(':', '/')}.jupyterlab-settings"
        file = home / ".jupyter/lab/user-settings" / name
        file.parent.mkdir(parents=True, exist_ok=True)
        write_new(file, json.dumps(values).encode())


def main(argv: list[str]) -> int:
    """Copy the course into ``argv[1]`` from ``argv[0]``; print what was copied."""
    lessons, course = Path(argv[0]), Path(argv[1])
    copied = copy_course(lessons, course)
    write_lab_settings(Path.home())
    print(f"copied {len(copied)} lesson(s) into {course}: {', '.join(copied) or 'none new'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
