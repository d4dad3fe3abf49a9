"""The commented example configuration shipped inside the package.

``lapor_sync/example_config.toml`` is a symbolic link to the repository's top-level
``config.toml``: one source of truth, which a build copies into the wheel as a plain file
(``tests/test_install.py`` builds one and compares). An install without the repository
(``pipx install``) gets it from ``lapor-sync init DIR``, and ``lapor-sync demo`` runs on it
when no configuration is found.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

EXAMPLE_NAME = "example_config.toml"


def example_path() -> Path:
    """The example's file inside the installed package (packages are installed unzipped)."""
    return Path(str(files("lapor_sync").joinpath(EXAMPLE_NAME)))


def example_text() -> str:
    return example_path().read_text(encoding="utf-8")
