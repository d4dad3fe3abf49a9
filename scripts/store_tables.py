"""Who writes and who reads each table of the register, from the package's own source.

    .venv/bin/python scripts/store_tables.py           # print the table
    .venv/bin/python scripts/store_tables.py --write   # rewrite it in docs/store.md

Every SQL string literal in ``lapor_sync/`` (f-string pieces included, docstrings left
out) is scanned: ``INSERT``/``REPLACE INTO t``, ``UPDATE t SET`` and ``DELETE FROM t``
are writes, ``FROM t``/``JOIN t`` otherwise are reads; sqlite-utils table writes
(``db["t"].insert(...)`` and friends) count as writes too. ``tests/test_table_owners.py``
holds the rules over these facts and checks that ``docs/store.md`` shows them.

``lapor_sync/sandbox/`` is left out: it is the fake LAPOR! server, and its state is its
own (the sandbox's world), not the register. The migration modules create the schema;
the change-journal triggers they install write ``local_changes`` for the register, so
they are not counted as a table's owner.
"""

from __future__ import annotations

import argparse
import ast
import functools
import re
import sqlite3
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lapor_sync.store.migrations import apply_migrations

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lapor_sync"
DOCS_FILE = ROOT / "docs" / "store.md"
BEGIN = "<!-- store_tables:begin -->"
END = "<!-- store_tables:end -->"

# The fake LAPOR! server keeps its own state; it is not the register.
WRITERS_ALLOWED_OUTSIDE_STORE = ("lapor_sync/sandbox/",)
# Schema creation (and the triggers it installs) is not a second owner.
MIGRATION_MODULES = (
    "lapor_sync/store/migrations.py",
    "lapor_sync/store/migrations_history.py",
    "lapor_sync/store/migration_script.py",
)

_WRITE_SQL = re.compile(
    r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|DELETE\s+FROM)\s+[\"`\[]?(\w+)"
    r"|(?<!DO )\bUPDATE(?:\s+OR\s+\w+)?\s+[\"`\[]?(\w+)[\"`\]]?\s+SET\b",
    re.IGNORECASE,
)
_TABLE_WRITE_METHODS = {
    "insert", "insert_all", "upsert", "upsert_all", "update", "delete", "delete_where",
    "add_column", "transform", "drop",
}


@dataclass(frozen=True)
class Write:
    path: str  # relative to the repository, with forward slashes
    line: int
    table: str
    how: str

    def where(self) -> str:
        return f"{self.path}:{self.line} ({self.how} {self.table})"


def _docstring_nodes(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _string_pieces(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal with its line; an f-string's constant parts joined by a blank."""
    skip = _docstring_nodes(tree)
    inside_fstring: set[int] = set()
    pieces: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inside_fstring.add(id(value))
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                else:
                    parts.append(" x ")
            pieces.append((node.lineno, "".join(parts)))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and id(node) not in inside_fstring
        ):
            pieces.append((node.lineno, node.value))
    return pieces


def _table_method_writes(tree: ast.AST) -> list[tuple[int, str, str]]:
    """sqlite-utils writes: ``db["t"].insert(...)`` or ``db.table("t").upsert(...)``."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in _TABLE_WRITE_METHODS:
            continue
        target = node.func.value
        name: ast.expr | None = None
        if isinstance(target, ast.Subscript):
            name = target.slice
        elif (
            isinstance(target, ast.Call)
            and isinstance(target.func, ast.Attribute)
            and target.func.attr == "table"
            and target.args
        ):
            name = target.args[0]
        else:
            continue
        table = name.value if isinstance(name, ast.Constant) else "<dynamic>"
        found.append((node.lineno, str(table), f".{node.func.attr}()"))
    return found


def scan_source(source: str, path: str) -> list[Write]:
    """The writes one module's source holds (``path`` only labels them)."""
    tree = ast.parse(source)
    writes = []
    for line, text in _string_pieces(tree):
        for match in _WRITE_SQL.finditer(text):
            table = (match.group(1) or match.group(2)).lower()
            how = " ".join(match.group(0).split()[:1]).upper()
            offset = text[: match.start()].count("\n")
            writes.append(Write(path, line + offset, table, how))
    for line, table, how in _table_method_writes(tree):
        writes.append(Write(path, line, table, how))
    return writes


@functools.cache
def _package_writes() -> tuple[Write, ...]:
    writes = []
    for file in sorted(PACKAGE.rglob("*.py")):
        rel = file.relative_to(ROOT).as_posix()
        writes.extend(scan_source(file.read_text(encoding="utf-8"), rel))
    return tuple(writes)


def package_writes() -> list[Write]:
    """Every write the package's source holds, in file order."""
    return list(_package_writes())


@functools.cache
def _schema() -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """The migrated schema's tables, and each trigger's (table it is on, SQL)."""
    db = sqlite_utils.Database(sqlite3.connect(":memory:"))
    apply_migrations(db)
    master = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    tables = frozenset(
        name
        for kind, name, _on, _sql in master
        if kind == "table" and not name.startswith(("sqlite_", "_sqlite_"))
    )
    triggers = tuple((on, sql) for kind, _name, on, sql in master if kind == "trigger")
    return tables, triggers


def schema_tables() -> set[str]:
    """The tables a fully migrated register has (sqlite's and the migration log left out)."""
    return set(_schema()[0])


def owners() -> dict[str, set[str]]:
    by_table: dict[str, set[str]] = defaultdict(set)
    for write in package_writes():
        if write.path.startswith("lapor_sync/store/") and write.path not in MIGRATION_MODULES:
            by_table[write.table].add(write.path)
    return by_table


_READ_SQL = re.compile(r"\b(?:FROM|JOIN)\s+[\"`\[]?(\w+)")
_DELETE_BEFORE = re.compile(r"\bDELETE\s+$", re.IGNORECASE)


def scan_reads(source: str) -> set[str]:
    """Names after ``FROM``/``JOIN`` (upper case, the package's SQL style) in one module.

    Lower-case ``from`` is left out: table names such as ``users`` or ``links`` are also
    words of the English messages.
    """
    names = set()
    for _line, text in _string_pieces(ast.parse(source)):
        for match in _READ_SQL.finditer(text):
            if not _DELETE_BEFORE.search(text[: match.start()]):
                names.add(match.group(1).lower())
    return names


def _module(path: str) -> str:
    return path.removeprefix("lapor_sync/").removesuffix(".py")


def readers() -> dict[str, set[str]]:
    """Table → modules (``store/tickets`` style) whose SQL reads it.

    sandbox/ and the migrations (whose trigger bodies read) are left out.
    """
    tables = schema_tables()
    by_table: dict[str, set[str]] = defaultdict(set)
    for file in sorted(PACKAGE.rglob("*.py")):
        rel = file.relative_to(ROOT).as_posix()
        if rel.startswith(WRITERS_ALLOWED_OUTSIDE_STORE) or rel in MIGRATION_MODULES:
            continue
        for name in scan_reads(file.read_text(encoding="utf-8")) & tables:
            by_table[name].add(_module(rel))
    return by_table


def trigger_writes() -> dict[str, set[str]]:
    """Table → tables whose triggers (installed by the migrations) write into it."""
    by_table: dict[str, set[str]] = defaultdict(set)
    for on_table, sql in _schema()[1]:
        for match in _WRITE_SQL.finditer(sql):
            by_table[(match.group(1) or match.group(2)).lower()].add(on_table)
    return by_table


def render_table() -> str:
    """The markdown table of docs/store.md: table → owning module → who reads it."""
    owned = owners()
    read = readers()
    triggered = trigger_writes()
    lines = [
        "| table | written only by | rows also added by triggers on "
        "| read by (SQL, besides the owner) |",
        "|---|---|---|---|",
    ]
    for table in sorted(schema_tables()):
        owner = ", ".join(f"`{_module(p)}`" for p in sorted(owned.get(table, ()))) or "—"
        others = sorted(read.get(table, set()) - {_module(p) for p in owned.get(table, ())})
        shown = ", ".join(f"`{m}`" for m in others) or "—"
        by_trigger = ", ".join(f"`{t}`" for t in sorted(triggered.get(table, ()))) or "—"
        lines.append(f"| `{table}` | {owner} | {by_trigger} | {shown} |")
    return "\n".join(lines) + "\n"


def docs_with_table(text: str) -> str:
    """``text`` (docs/store.md) with the part between the markers replaced by the table."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{render_table()}{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the table in docs/store.md")
    args = parser.parse_args()
    if not args.write:
        print(render_table(), end="")
        return 0
    text = DOCS_FILE.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"{DOCS_FILE}: the markers {BEGIN} and {END} are missing", file=sys.stderr)
        return 1
    DOCS_FILE.write_text(docs_with_table(text), encoding="utf-8")
    print(f"wrote the table into {DOCS_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
