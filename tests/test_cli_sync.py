"""The pull and push commands as an admin runs them: summaries, exit codes, clear errors."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from lapor_sync.cli import cli
from lapor_sync.sandbox import SandboxWorld, seed_world


def run(env: Any, *args: str) -> Any:
    config = str(env.tmp_path / "config.toml")
    env.app.close()  # the command opens its own
    return CliRunner().invoke(cli, ["--config", config, "--log-level", "error", *args])


def test_pull_prints_a_summary_per_account(make_env: Any) -> None:
    world = SandboxWorld(seed=21)
    seed_world(world, complaints=40)
    env = make_env(world)
    result = run(env, "pull", "--account", "pemprov-lampung")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("pull pemprov-lampung"))
    for figure in ("fetched=", "new=", "changed=", "quarantined=", "requests=", "duration_s="):
        assert figure in line


def test_pull_with_bad_credentials_exits_1_with_one_sentence(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=22))
    config = env.tmp_path / "config.toml"
    config.write_text(
        config.read_text().replace("sandbox-key-pemprov", "sandbox-key-wrong"), encoding="utf-8"
    )
    result = run(env, "pull", "--account", "pemprov-lampung")
    assert result.exit_code == 1
    assert "refused the credentials" in result.output
    assert "Traceback" not in result.output
    assert "sandbox-key-wrong" not in result.output


def test_unknown_account_is_a_usage_error(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=23))
    result = run(env, "pull", "--account", "kabupaten-x")
    assert result.exit_code == 2 and "kabupaten-x" in result.output


def test_push_prints_its_summary(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=24))
    result = run(env, "push")
    assert result.exit_code == 0 and result.output.startswith("push: pushed=0")


def test_bad_config_exits_2_listing_problems(tmp_path: Any) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[store]\npath = 3\n[http]\nconnect_timeout = -1\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(bad), "pull"])
    assert result.exit_code == 2
    assert "store.path" in result.output and "http.connect_timeout" in result.output


def test_read_only_commands_work_without_the_service_credentials(make_env: Any) -> None:
    """A liaison's shell has no $CREDENTIALS_DIRECTORY; reading the log must still work."""
    env = make_env(SandboxWorld(seed=25))
    config = env.tmp_path / "config.toml"
    text = config.read_text()
    text = text.replace(
        'api_key = { value = "sandbox-key-pemprov" }',
        'api_key = { credential = "lapor-pemprov-key" }',
    )
    config.write_text(text, encoding="utf-8")
    env.app.close()
    runner = CliRunner()
    for args in (["log", "--since", "7d"], ["overdue"], ["conflicts"], ["status"]):
        result = runner.invoke(cli, ["--config", str(config), "--log-level", "error", *args])
        assert result.exit_code == 0, (args, result.output)
    pulled = runner.invoke(
        cli, ["--config", str(config), "pull"], env={"CREDENTIALS_DIRECTORY": ""}
    )
    assert pulled.exit_code == 2 and "accounts[0].api_key" in pulled.output


def test_a_locked_database_is_one_clear_sentence_not_a_traceback(
    make_env: Any, monkeypatch: Any
) -> None:
    import sqlite3

    from lapor_sync.store import db as store_db

    env = make_env(SandboxWorld(seed=26))
    env.app.close()
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 100)  # do not wait 10 s in a test
    holder = sqlite3.connect(env.settings.store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    try:
        result = run(
            env,
            "local",
            "add",
            "--channel",
            "sms",
            "--title",
            "Judul",
            "--content",
            "Isi",
            "--opd",
            "BMBK",
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "The database is busy" in result.output
    assert "Traceback" not in result.output
