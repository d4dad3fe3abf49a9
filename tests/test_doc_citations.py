"""Docstrings and comments cite documents of this repository only (#12.6).

The design notes the code was first written from are not part of the repository; what
the code relies on is in ``docs/``, and a citation names the file there.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"(?<![\w/.-])((?:docs/)?[a-z][a-z-]*\.md)\b")


def _citations() -> list[tuple[str, str]]:
    found = []
    for file in sorted((ROOT / "lapor_sync").rglob("*.py")):
        rel = file.relative_to(ROOT).as_posix()
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            found.extend((f"{rel}:{number}", name) for name in CITATION.findall(line))
    return found


def test_every_cited_document_is_in_docs() -> None:
    wrong = [
        f"{where} cites {name}"
        for where, name in _citations()
        if not name.startswith("docs/") or not (ROOT / name).is_file()
    ]
    assert not wrong, "cite a file under docs/ of this repository:\n  " + "\n  ".join(wrong)


def test_the_check_reads_citations() -> None:
    assert CITATION.findall('see architecture.md and docs/sync.md ("a quiet cycle")') == [
        "architecture.md",
        "docs/sync.md",
    ]
