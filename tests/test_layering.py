"""Import arrows point down (#12.6): a lower layer never imports a higher one.

Every ``import`` in the package counts, those under ``if TYPE_CHECKING:`` too: a type-only
arrow still ties the lower module to the higher one's shape. The layers, bottom up:

- the foundation modules (``domain``, ``errors``, ``timeutil``, ``working_days``,
  ``durations``, ``fsmodes``) import only each other;
- ``config/`` turns the configuration into settings and knows nothing of what runs:
  not ``sla/``, ``report/``, ``sync/``, ``web/``, ``daemon/``, ``cli/``, ``notify/``,
  ``local/``, ``store/``, ``sandbox/`` or ``app``;
- ``sla/`` (deadlines) imports no reporting, sync, portal, daemon or CLI module;
- ``app`` assembles a running lapor-sync: nothing below it (``config/``, ``store/``,
  ``local/``, ``lapor/``, ``sla/``, ``report/``) imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "lapor_sync"

FOUNDATION = {"domain", "errors", "timeutil", "working_days", "durations", "fsmodes"}

# layer (a top-level module or package of lapor_sync) → what it must never import
FORBIDDEN: dict[str, set[str]] = {
    **{name: set() for name in FOUNDATION},
    "config": {
        "sla", "report", "sync", "web", "daemon", "cli", "notify", "local", "store",
        "sandbox", "app",
    },
    "sla": {"report", "sync", "web", "daemon", "cli", "notify", "sandbox", "app"},
    "store": {"app"},
    "local": {"app"},
    "lapor": {"app"},
    "report": {"app"},
}


def _imports(file: Path) -> list[tuple[int, str]]:
    """(line, top-level part under lapor_sync) of every import of the package in ``file``."""
    found = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "lapor_sync":
                if len(parts) > 1:
                    found.append((node.lineno, parts[1]))
                else:  # from lapor_sync import x
                    found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "lapor_sync" and len(parts) > 1:
                    found.append((node.lineno, parts[1]))
    return sorted(found)


def _layer(file: Path) -> str:
    rel = file.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def arrows_up() -> list[str]:
    wrong = []
    for file in sorted(PACKAGE.rglob("*.py")):
        layer = _layer(file)
        allowed_only = FOUNDATION if layer in FOUNDATION else None
        for line, target in _imports(file):
            if target == layer or target == "__version__":
                continue
            refused = target in FORBIDDEN.get(layer, set())
            if allowed_only is not None and target not in allowed_only:
                refused = True
            if refused:
                rel = file.relative_to(PACKAGE.parent).as_posix()
                wrong.append(f"{rel}:{line} imports lapor_sync.{target}")
    return wrong


def test_no_import_arrow_runs_back_up() -> None:
    wrong = arrows_up()
    assert not wrong, "imports from a higher layer (move the shared piece down):\n  " + (
        "\n  ".join(wrong)
    )


def test_the_check_sees_an_arrow_up(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "from lapor_sync.domain import ComplaintState\n"
        "if TYPE_CHECKING:\n"
        "    from lapor_sync.app import App\n"
        "import lapor_sync.sla.stages\n"
    )
    assert sorted(_imports(probe)) == [(2, "domain"), (4, "app"), (5, "sla")]
