"""Docstrings and comments cite documents of this repository only (#12.6).

The design notes the code was first written from are not part of the repository; what
the code relies on is in ``docs/``, and a citation names the file there; a passage cited by
its words (``docs/sync.md, "a quiet cycle"``) must still be in that file.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"(?<![\w/.-])((?:docs/)?[a-z][a-z-]*\.md)\b")
# docs/sync.md, "a quiet cycle"  or  docs/design.md ("after claiming an outbox row", ...)
SECTION = re.compile(r'(docs/[a-z][a-z-]*\.md),? \(?"([^"]+)"')


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


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def test_every_cited_passage_is_in_its_document() -> None:
    wrong = []
    for file in sorted((ROOT / "lapor_sync").rglob("*.py")):
        text = " ".join(file.read_text(encoding="utf-8").split())
        for name, passage in SECTION.findall(text):
            document = ROOT / name
            if document.is_file() and _words(passage) not in _words(document.read_text()):
                wrong.append(f"{file.relative_to(ROOT)} cites {name}, \"{passage}\"")
    assert not wrong, "the cited passage is not in the document:\n  " + "\n  ".join(wrong)


def test_the_check_reads_citations() -> None:
    assert CITATION.findall('see architecture.md and docs/sync.md ("a quiet cycle")') == [
        "architecture.md",
        "docs/sync.md",
    ]
    assert SECTION.findall('(docs/design.md, "A measured trap")') == [
        ("docs/design.md", "A measured trap")
    ]
