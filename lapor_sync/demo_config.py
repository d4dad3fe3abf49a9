"""The configuration file the demo leaves beside its store, so its advice works as printed.

The demo prints commands such as ``lapor-sync --config var/demo-config.toml overdue --opd
BMBK``; they must read the demo's store, not the configured one. The file is the
configuration the demo ran with, word for word (comments included), with two keys set to
absolute paths: ``[store] path`` (the demo's database) and ``[report] out_dir`` (its report
folder). Invariant: the file is written only if it loads (``load_settings``, without
secrets) to exactly that store and report folder; otherwise the demo says so and prints
no ``--config`` advice.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from lapor_sync.config import load_settings
from lapor_sync.errors import ConfigError


def set_key(text: str, section: str, key: str, value: str) -> str:
    """``text`` with ``key = "value"`` in the top-level table ``[section]``.

    An existing ``key = …`` line of that table is replaced (its comment goes with it); a
    missing key is added under the table's header; a missing table is appended.
    """
    header = re.compile(rf"^\[\s*{re.escape(section)}\s*\]\s*(#.*)?$")
    assignment = re.compile(rf"^{re.escape(key)}\s*=")
    entry = f"{key} = {json.dumps(value)}\n"  # a JSON string is a valid TOML basic string
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if header.match(line.strip())), None)
    if start is None:
        return text.rstrip("\n") + f"\n\n[{section}]\n{entry}"
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        if stripped.startswith("["):
            break
        if assignment.match(stripped):
            lines[i] = entry
            return "".join(lines)
    lines.insert(start + 1, entry)
    return "".join(lines)


def write_demo_config(source_text: str, dest: Path, store: Path, report_dir: Path) -> bool:
    """Write the demo's configuration to ``dest``; False (and no file) if it would not load."""
    text = set_key(source_text, "store", "path", str(store.absolute()))
    text = set_key(text, "report", "out_dir", str(report_dir.absolute()))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    try:
        loaded = load_settings(tmp, env={}, resolve_secrets=False)
    except ConfigError:
        tmp.unlink(missing_ok=True)
        return False
    if loaded.store.path != store.absolute() or loaded.report.out_dir != report_dir.absolute():
        tmp.unlink(missing_ok=True)
        return False
    os.replace(tmp, dest)
    return True
