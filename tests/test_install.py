"""Install and first run without the repository: the wheel, `init`, and `demo` from anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from lapor_sync.cli import cli
from lapor_sync.config import load_settings
from lapor_sync.config.example import example_path

ROOT = Path(__file__).resolve().parent.parent


def test_the_packaged_example_is_the_repositorys_config_toml() -> None:
    shipped = (ROOT / "config.toml").read_bytes()
    assert example_path().read_bytes() == shipped, (
        "lapor_sync/example_config.toml must be the symbolic link ../config.toml"
    )


def test_init_writes_the_commented_config_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "config.toml"
    result = CliRunner().invoke(cli, ["init", str(target.parent)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == (ROOT / "config.toml").read_bytes()
    assert target.stat().st_mode & 0o077 == 0
    assert "check-config" in result.output
    load_settings(target, env={})  # works as written (against the sandbox)
    target.write_text("# mine\n", encoding="utf-8")
    again = CliRunner().invoke(cli, ["init", str(target.parent)])
    assert again.exit_code == 2 and "already exists; use --force" in again.output
    assert target.read_text(encoding="utf-8") == "# mine\n"
    forced = CliRunner().invoke(cli, ["init", str(target.parent), "--force"])
    assert forced.exit_code == 0 and target.read_bytes() == (ROOT / "config.toml").read_bytes()


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_SYNC")}
    env.pop("PYTHONPATH", None)
    return env


@pytest.mark.slow
def test_wheel_builds_without_license_warning_and_demo_runs_outside_the_repository(
    tmp_path: Path,
) -> None:
    """A pipx-style install: the wheel's code, run from a folder with no config.toml."""
    source = tmp_path / "src"  # a clean copy: no build/ folder left from an earlier build
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "config.toml"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "lapor_sync",
        source / "lapor_sync",
        symlinks=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        check=False,
        env=_environment(),
    )
    assert built.returncode == 0, built.stderr
    assert "project.license" not in built.stderr and "License classifiers" not in built.stderr
    wheel = next(tmp_path.glob("lapor_sync-*.whl"))
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert "lapor_sync/example_config.toml" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**_environment(), "PYTHONPATH": str(unpacked)}
    code = "import sys; from lapor_sync.cli import main; sys.argv[0] = 'lapor-sync'; main()"
    demo = subprocess.run(
        [sys.executable, "-c", code, "demo", "--complaints", "30"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "example configuration shipped with lapor-sync" in demo.stdout
    assert str(unpacked) in subprocess.run(
        [sys.executable, "-c", "import lapor_sync; print(lapor_sync.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert (elsewhere / "var" / "demo-config.toml").exists()
    assert "--config var/demo-config.toml overdue --opd BMBK" in demo.stdout
    init = subprocess.run(
        [sys.executable, "-c", code, "init"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert init.returncode == 0, init.stderr
    assert (elsewhere / "config.toml").read_bytes() == (ROOT / "config.toml").read_bytes()
