"""Configuration: loading, every-problem-at-once validation, secrets, CLI check."""

from __future__ import annotations

import os
import zlib
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from lapor_sync.cli.config_cmd import check_config_command
from lapor_sync.config import Settings, load_settings, parse_duration
from lapor_sync.domain import ComplaintState
from lapor_sync.errors import ConfigError, describe

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config.toml"

PROD_KEY = "prod-key-6f1d2c9a"
PROD_TOKEN = "prod-token-0b7e4a31"
ENV = {"LAPOR_PEMPROV_KEY": PROD_KEY, "LAPOR_PEMPROV_TOKEN": PROD_TOKEN}

# A production-style account (https, env secrets) and a sandbox account (plain values).
BASE = """
[[accounts]]
name = "pemprov-lampung"
institution_id = 18
base_url = "https://lapor.example.go.id/api/"
api_key = { env = "LAPOR_PEMPROV_KEY" }
token = { env = "LAPOR_PEMPROV_TOKEN" }

[[accounts]]
name = "kota-bandar-lampung"
institution_id = "1871"
base_url = "http://127.0.0.1:8765/api"
api_key = { value = "sandbox-key-bandarlampung" }
token = { value = "sandbox-token-1871" }

[[opd]]
code = "DISDIK"
name = "Dinas Pendidikan dan Kebudayaan"
institution_id = "18001"
account = "pemprov-lampung"
liaison = "Penghubung Dinas Pendidikan"
email = "penghubung.disdik@example.go.id"

[[opd]]
code = "DINKES"
name = "Dinas Kesehatan"
institution_id = 18002
account = "pemprov-lampung"
liaison = "Penghubung Dinas Kesehatan"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    return load_settings(write(tmp_path, text), env=ENV if env is None else env)


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env)
    return info.value.problems


def account(name: str, base_url: str, api_key: str, token: str, extra: str = "") -> str:
    return f"""
[[accounts]]
name = "{name}"
institution_id = "{zlib.crc32(name.encode()) % 10**6}"
base_url = "{base_url}"
api_key = {api_key}
token = {token}
{extra}
"""


# --- the shipped file ------------------------------------------------------------------


def test_shipped_config_loads_against_the_sandbox() -> None:
    settings = load_settings(SHIPPED, env={})
    assert [a.name for a in settings.accounts] == [
        "pemprov-lampung",
        "kota-bandar-lampung",
        "kab-lampung-selatan",
    ]
    assert [a.institution_id for a in settings.accounts] == ["18", "1871", "1801"]
    pemprov = settings.account("pemprov-lampung")
    assert pemprov.base_url == "http://127.0.0.1:8765/api"
    assert pemprov.is_sandbox
    assert pemprov.api_key.get_secret_value() == "sandbox-key-pemprov"
    assert pemprov.token.get_secret_value() == "5b1f3c2e-0000-4000-8000-000000000018"
    assert settings.account("kab-lampung-selatan").api_key.get_secret_value() == (
        "sandbox-key-lampungselatan"
    )
    assert [o.code for o in settings.opd] == [
        "DISDIK", "DINKES", "BMBK", "DISKOMINFOTIK", "DISHUB", "DINSOS", "BPBD", "DLH"
    ]
    assert all(o.account == "pemprov-lampung" for o in settings.opd)
    assert all(o.liaison.startswith("Penghubung ") for o in settings.opd)
    assert settings.opd_by_institution("18004").code == "DISKOMINFOTIK"  # type: ignore[union-attr]
    assert settings.default_account.name == "pemprov-lampung"
    assert settings.store.path == REPO / "var" / "lapor-sync.db"
    assert settings.report.out_dir == REPO / "var" / "report"
    assert settings.config_path == SHIPPED
    assert settings.channels["whatsapp"] == "7"


def test_shipped_config_equals_the_built_in_defaults(tmp_path: Path) -> None:
    shipped = load_settings(SHIPPED, env={})
    minimal = load(tmp_path, BASE)
    for section in ("http", "pull", "push", "schedule", "deadlines", "calendar_overrides",
                    "daemon"):
        assert getattr(shipped, section) == getattr(minimal, section), section
    assert shipped.channels == minimal.channels
    assert shipped.status_map == minimal.status_map
    assert shipped.local.reference_format == minimal.local.reference_format


def test_path_from_environment_and_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, BASE, "elsewhere.toml")
    settings = load_settings(env={**ENV, "LAPOR_SYNC_CONFIG": str(path)})
    assert settings.config_path == path
    write(tmp_path, BASE)
    monkeypatch.chdir(tmp_path)
    assert load_settings(env=ENV).config_path == tmp_path / "config.toml"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.toml", env={})
    assert info.value.source == str(tmp_path / "nope.toml")
    assert "does not exist" in info.value.problems[0]


def test_defaults(tmp_path: Path) -> None:
    s = load(tmp_path, BASE)
    assert s.http.connect_timeout == 5.0 and s.http.read_timeout == 30.0
    assert s.http.timeout == (5.0, 30.0)
    assert (s.http.retry_attempts, s.http.concurrency, s.http.ca_bundle) == (5, 4, None)
    assert s.http.user_agent.startswith("lapor-sync/")
    assert s.pull.lookback == timedelta(seconds=600) and s.pull.mass_drop_ratio == 0.5
    assert s.pull.backfill_since is None
    assert (s.push.max_attempts, s.push.backoff_max_seconds) == (8, 3600)
    assert s.schedule.pull_every == timedelta(minutes=5)
    assert s.schedule.push_every == timedelta(minutes=1)
    assert s.schedule.deadlines_every == timedelta(minutes=15)
    assert s.schedule.daily_summary_at == time(7, 0)
    assert s.schedule.misfire_grace == timedelta(minutes=2)
    assert s.deadlines.settlement_unit == "working" and s.deadlines.followup_days == 5
    assert s.local.reference_format.format(year=2026, seq=123) == "LPG-2026-000123"
    assert s.local.default_account == "pemprov-lampung"
    assert (s.daemon.health_host, s.daemon.health_port) == ("127.0.0.1", 9108)
    assert (s.daemon.log_format, s.daemon.log_level) == ("auto", "info")
    assert s.store.path == tmp_path / "var" / "lapor-sync.db"
    assert s.channels == {
        "sms": "2", "whatsapp": "7", "telepon": "8", "walk-in": "9", "media-sosial": "4",
        "web": "1",
    }


def test_ids_are_strings_and_urls_normalized(tmp_path: Path) -> None:
    s = load(tmp_path, BASE)
    assert s.account("pemprov-lampung").institution_id == "18"
    assert s.account("pemprov-lampung").base_url == "https://lapor.example.go.id/api"
    assert s.opd_by_code("dinkes").institution_id == "18002"  # type: ignore[union-attr]
    assert s.opd_by_institution(18001).code == "DISDIK"  # type: ignore[union-attr]
    assert s.opd_by_institution("99") is None and s.opd_by_code("XYZ") is None
    assert [o.code for o in s.opds_of_account("pemprov-lampung")] == ["DISDIK", "DINKES"]
    with pytest.raises(KeyError):
        s.account("nobody")


def test_settings_are_frozen(tmp_path: Path) -> None:
    s = load(tmp_path, BASE)
    with pytest.raises(ValidationError):
        s.http.connect_timeout = 1.0
    with pytest.raises(ValidationError):
        s.accounts = ()


# --- every problem at once -------------------------------------------------------------


def test_five_mistakes_give_five_problems_with_key_paths(tmp_path: Path) -> None:
    text = BASE.replace('account = "pemprov-lampung"', 'account = "pemprov"', 1) + """
[http]
connect_timeout = 0
[schedule]
pull_every = "5 minutes"
[daemon]
health_port = 70000
"""
    env = {"LAPOR_PEMPROV_TOKEN": PROD_TOKEN}  # the key is missing
    assert problems(tmp_path, text, env) == [
        "accounts[0].api_key.env: environment variable LAPOR_PEMPROV_KEY is not set",
        'opd[0].account: unknown account "pemprov" '
        "(known: pemprov-lampung, kota-bandar-lampung)",
        "http.connect_timeout: must be greater than 0",
        'schedule.pull_every: must be a duration such as "90s", "5m", "2h", "1h30m", "7d" '
        'or "2w"',
        "daemon.health_port: must be at most 65535",
    ]


def test_problems_in_one_account_do_not_hide_its_secret_problems(tmp_path: Path) -> None:
    text = account(
        "remote", "https://lapor.example.go.id/api", '{ env = "UNSET_KEY" }',
        '{ value = "plain" }', "page_size = 500",
    )
    assert problems(tmp_path, text, {}) == [
        "accounts[0].page_size: must be at most 100",
        "accounts[0].api_key.env: environment variable UNSET_KEY is not set",
        "accounts[0].token.value: a plain value is allowed only when base_url is a loopback "
        "sandbox address; use env, file or credential for a real SP4N-LAPOR! server",
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[http]\nconect_timeout = 3\n", "http.conect_timeout: unknown setting"),
        ("[htpp]\nconnect_timeout = 3\n", "htpp: unknown setting"),
        ("verify_tls = false\n", "verify_tls: unknown setting"),
        ("[http]\nverify = false\n", "http.verify: unknown setting"),
        ("[channels]\nfax = \"3\"\n", "channels.fax: not an allowed name here"),
    ],
)
def test_unknown_keys_are_rejected_with_their_path(
    tmp_path: Path, extra: str, expected: str
) -> None:
    # top-level keys must come before the first table
    text = extra + BASE if not extra.startswith("[") else BASE + extra
    found = problems(tmp_path, text)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_unknown_key_inside_an_account_lists_the_allowed_ones(tmp_path: Path) -> None:
    text = BASE.replace("institution_id = 18\n", "institution_id = 18\nverify_ssl = false\n")
    [problem] = problems(tmp_path, text)
    assert problem.startswith("accounts[0].verify_ssl: unknown setting (allowed here: name,")


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "[store]\npath = \n")
    [problem] = info.value.problems
    assert problem.startswith("line 2, column 8: TOML syntax error")


def test_cross_checks(tmp_path: Path) -> None:
    text = BASE + account(
        "pemprov-lampung", "http://localhost:8765/api", '{ value = "a" }', '{ value = "b" }'
    ) + """
[[opd]]
code = "DISDIK"
name = "Duplikat"
institution_id = "18001"
account = "pemprov-lampung"
liaison = "x"

[local]
default_account = "kab-tanggamus"
"""
    assert problems(tmp_path, text) == [
        'accounts[2].name: duplicate account name "pemprov-lampung" (also accounts[0])',
        'opd[2].code: duplicate OPD code "DISDIK" (also opd[0])',
        'opd[2].institution_id: duplicate institution_id "18001" (also opd[0])',
        'local.default_account: unknown account "kab-tanggamus" '
        "(known: pemprov-lampung, kota-bandar-lampung)",
    ]


def test_no_accounts(tmp_path: Path) -> None:
    assert problems(tmp_path, "[http]\nconcurrency = 2\n") == [
        "accounts: is required: add at least one [[accounts]] table"
    ]
    assert problems(tmp_path, "accounts = []\n") == [
        "accounts: must have at least one [[accounts]] table"
    ]


def test_ranges_and_section_checks(tmp_path: Path) -> None:
    text = BASE + """
[http]
retry_attempts = 0
concurrency = 33
retry_initial_wait = 10.0
retry_max_wait = 5.0
ca_bundle = "missing-ca.pem"
[pull]
lookback_seconds = -1
mass_drop_ratio = 1.5
backfill_since = "2025-13-01"
[local]
reference_format = "LPG-{year}"
[daemon]
health_host = "0.0.0.0"
log_format = "xml"
[deadlines]
settlement_unit = "hours"
"""
    assert problems(tmp_path, text) == [
        "http.retry_attempts: must be at least 1",
        "http.retry_max_wait: must be at least http.retry_initial_wait",
        "http.concurrency: must be at most 32",
        f"http.ca_bundle: CA bundle file {tmp_path / 'missing-ca.pem'} does not exist",
        "pull.lookback_seconds: must be at least 0",
        "pull.backfill_since: is not a valid calendar date",
        "pull.mass_drop_ratio: must be at most 1",
        "deadlines.settlement_unit: must be one of: working, calendar",
        "local.reference_format: must contain {seq}, or every ticket gets the same reference",
        "daemon.health_host: must be a loopback address (127.0.0.1, ::1 or localhost) "
        "unless daemon.allow_remote_health = true",
        "daemon.log_format: must be one of: auto, json, console",
    ]


def test_remote_health_needs_explicit_permission(tmp_path: Path) -> None:
    s = load(tmp_path, BASE + '[daemon]\nhealth_host = "0.0.0.0"\nallow_remote_health = true\n')
    assert s.daemon.health_host == "0.0.0.0"


def test_relative_paths_follow_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    (conf_dir / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.chdir(tmp_path)
    text = BASE + """
[store]
path = "data/sync.db"
[http]
ca_bundle = "ca.pem"
[report]
out_dir = "/srv/reports"
"""
    s = load_settings(write(conf_dir, text), env=ENV)
    assert s.store.path == conf_dir / "data" / "sync.db"
    assert s.http.ca_bundle == conf_dir / "ca.pem"
    assert s.report.out_dir == Path("/srv/reports")


# --- secrets ---------------------------------------------------------------------------


def secret_file(directory: Path, content: str, mode: int, name: str = "key") -> Path:
    path = directory / name
    path.write_text(content)
    path.chmod(mode)
    return path


def file_account(path: str) -> str:
    return account(
        "pemprov-lampung", "https://lapor.example.go.id/api", f'{{ file = "{path}" }}',
        '{ env = "LAPOR_PEMPROV_TOKEN" }',
    )


def test_secret_file_with_mode_0600_is_read_and_stripped(tmp_path: Path) -> None:
    secret_file(tmp_path, f"  {PROD_KEY}\n", 0o600)
    s = load(tmp_path, file_account("key"))  # relative to the config file
    assert s.accounts[0].api_key.get_secret_value() == PROD_KEY
    assert str(s.accounts[0].api_key_origin) == f"file {tmp_path / 'key'}"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602])
def test_secret_file_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = secret_file(tmp_path, PROD_KEY, mode)
    [problem] = problems(tmp_path, file_account(str(path)))
    assert problem.startswith("accounts[0].api_key.file: ")
    assert f"mode {mode:04o}" in problem and f"chmod 600 {path}" in problem
    assert PROD_KEY not in problem


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file away")
def test_secret_file_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    path = secret_file(tmp_path, PROD_KEY, 0o600)
    os.chown(path, 65534, 65534)
    [problem] = problems(tmp_path, file_account(str(path)))
    assert "owned by uid 65534" in problem and "chmod 600" in problem


def test_missing_secret_file(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, file_account("nope.key"))
    assert problem == f"accounts[0].api_key.file: {tmp_path / 'nope.key'} does not exist"


def test_env_secret_missing_and_empty(tmp_path: Path) -> None:
    assert problems(tmp_path, BASE, {"LAPOR_PEMPROV_TOKEN": "  "}) == [
        "accounts[0].api_key.env: environment variable LAPOR_PEMPROV_KEY is not set",
        "accounts[0].token.env: environment variable LAPOR_PEMPROV_TOKEN is empty",
    ]


def test_env_secret_is_stripped(tmp_path: Path) -> None:
    s = load(tmp_path, BASE, {"LAPOR_PEMPROV_KEY": f"{PROD_KEY}\n", "LAPOR_PEMPROV_TOKEN": "t"})
    assert s.accounts[0].api_key.get_secret_value() == PROD_KEY
    assert s.accounts[0].api_key_origin.kind == "env"


def test_systemd_credential(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "lapor-key").write_text(PROD_KEY + "\n")
    text = account(
        "pemprov-lampung", "https://lapor.example.go.id/api", '{ credential = "lapor-key" }',
        '{ credential = "lapor-token" }',
    )
    env = {"CREDENTIALS_DIRECTORY": str(creds)}
    [problem] = problems(tmp_path, text, env)
    assert problem.startswith("accounts[0].token.credential: credential lapor-token not found")
    (creds / "lapor-token").write_text(PROD_TOKEN)
    s = load(tmp_path, text, env)
    assert s.accounts[0].api_key.get_secret_value() == PROD_KEY
    assert s.accounts[0].token.get_secret_value() == PROD_TOKEN
    unset = problems(tmp_path, text, {})
    assert [p.split(":")[0] for p in unset] == [
        "accounts[0].api_key.credential", "accounts[0].token.credential"
    ]
    assert "CREDENTIALS_DIRECTORY is not set" in unset[0]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ('{ env = "A", file = "/b" }', "(found: env, file)"),
        ("{ }", "must set exactly one of env, file, credential or value"),
        ('"raw-secret"', "must be a table with exactly one of env, file, credential or value"),
        ('{ env = "NOT A VAR" }', "must name an environment variable"),
    ],
)
def test_secret_table_needs_exactly_one_source(tmp_path: Path, spec: str, expected: str) -> None:
    text = account("pemprov-lampung", "http://127.0.0.1:8765/api", spec, '{ value = "t" }')
    [problem] = problems(tmp_path, text)
    assert problem.startswith("accounts[0].api_key") and expected in problem
    assert "raw-secret" not in problem


def test_plain_value_refused_for_remote_https(tmp_path: Path) -> None:
    text = account(
        "pemprov-lampung", "https://lapor.example.go.id/api", '{ value = "sk-plain" }',
        '{ env = "LAPOR_PEMPROV_TOKEN" }',
    )
    [problem] = problems(tmp_path, text)
    assert problem.startswith(
        "accounts[0].api_key.value: a plain value is allowed only when base_url is a loopback"
    )
    assert "sk-plain" not in problem


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/api", "http://localhost:8765", "http://[::1]:8765/api",
            "https://127.0.0.2/api"],
)
def test_plain_value_allowed_on_loopback(tmp_path: Path, url: str) -> None:
    s = load(tmp_path, account("sandbox", url, '{ value = "k" }', '{ value = "t" }'))
    assert s.accounts[0].is_sandbox and s.accounts[0].api_key.get_secret_value() == "k"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://lapor.example.go.id/api", "must use https://"),
        ("http://10.0.0.5:8765/api", "must use https://"),
        ("ftp://lapor.example.go.id", "must be an absolute URL"),
        ("lapor.example.go.id/api", "must be an absolute URL"),
        ("https://user:pw@lapor.example.go.id/api", "must not contain a user name or password"),
        ("https://lapor.example.go.id/api?token=x", "must not contain a query string"),
    ],
)
def test_base_url_rules(tmp_path: Path, url: str, expected: str) -> None:
    text = account("pemprov-lampung", url, '{ env = "LAPOR_PEMPROV_KEY" }',
                   '{ env = "LAPOR_PEMPROV_TOKEN" }')
    [problem] = problems(tmp_path, text)
    assert problem.startswith("accounts[0].base_url: ") and expected in problem
    assert "pw@" not in problem and "token=x" not in problem


def test_disabled_account_may_lack_secrets_but_not_be_unsafe(tmp_path: Path) -> None:
    disabled = account(
        "kab-tanggamus", "https://lapor.example.go.id/api", '{ env = "UNSET" }',
        '{ file = "absent.token" }', "enabled = false",
    )
    s = load(tmp_path, BASE + disabled)
    tanggamus = s.account("kab-tanggamus")
    assert not tanggamus.enabled and tanggamus.api_key.get_secret_value() == ""
    assert [a.name for a in s.enabled_accounts] == ["pemprov-lampung", "kota-bandar-lampung"]
    secret_file(tmp_path, "x", 0o644, "absent.token")
    [problem] = problems(tmp_path, BASE + disabled)
    assert problem.startswith("accounts[2].token.file: ") and "chmod 600" in problem


def test_default_account_must_be_enabled(tmp_path: Path) -> None:
    text = BASE.replace('token = { value = "sandbox-token-1871" }',
                        'token = { value = "sandbox-token-1871" }\nenabled = false')
    text += '[local]\ndefault_account = "kota-bandar-lampung"\n'
    assert problems(tmp_path, text) == [
        'local.default_account: account "kota-bandar-lampung" has enabled = false'
    ]


LEAKS = ["LEAK-plain-remote", "LEAK-file-content", "LEAK-env-value", "LEAK-raw-string",
         "LEAK-misplaced", "LEAK-url-password", PROD_KEY, PROD_TOKEN]


def leaky_config(tmp_path: Path) -> Path:
    secret_file(tmp_path, "LEAK-file-content", 0o644, "leaky.key")
    text = BASE + account(
        "remote-a", "https://lapor.example.go.id/api", '{ value = "LEAK-plain-remote" }',
        '{ file = "leaky.key" }',
    ) + account(
        "remote-b", "https://x:LEAK-url-password@lapor.example.go.id/api",
        '"LEAK-raw-string"', '{ value = "t", valu = "LEAK-misplaced" }',
    ) + account(
        "remote-c", "https://lapor.example.go.id/api", '{ env = "LEAKY_ENV" }',
        '{ env = "LEAKY_ENV" }', "page_size = 1000",
    )
    return write(tmp_path, text)


def test_secrets_never_in_repr_or_errors(tmp_path: Path) -> None:
    settings = load(tmp_path, BASE)
    for text in (repr(settings), str(settings), settings.model_dump_json(),
                 repr(settings.accounts[0])):
        assert PROD_KEY not in text and PROD_TOKEN not in text
        assert "sandbox-key-bandarlampung" not in text
    env = {**ENV, "LEAKY_ENV": "LEAK-env-value"}
    with pytest.raises(ConfigError) as info:
        load_settings(leaky_config(tmp_path), env=env)
    error = info.value
    assert len(error.problems) >= 5
    rendered = "\n".join([str(error), repr(error), describe(error), *error.problems])
    for secret in LEAKS:
        assert secret not in rendered, secret


def test_cli_output_has_no_secrets(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {**ENV, "LEAKY_ENV": "LEAK-env-value"}
    bad = runner.invoke(check_config_command, [str(leaky_config(tmp_path))], env=env)
    good = runner.invoke(check_config_command, [str(write(tmp_path, BASE, "ok.toml"))], env=ENV)
    assert (bad.exit_code, good.exit_code) == (2, 0)
    for result in (bad, good):
        for secret in [*LEAKS, "sandbox-key-bandarlampung", "sandbox-token-1871"]:
            assert secret not in result.output


# --- CLI -------------------------------------------------------------------------------


def test_cli_ok_for_the_shipped_file() -> None:
    result = CliRunner().invoke(check_config_command, [str(SHIPPED)], env={})
    assert result.exit_code == 0, result.output
    assert result.stdout == f"OK: 3 accounts, 8 OPDs, store at {REPO / 'var' / 'lapor-sync.db'}\n"


def test_cli_uses_lapor_sync_config_by_default(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    result = CliRunner().invoke(
        check_config_command, [], env={**ENV, "LAPOR_SYNC_CONFIG": str(path)}
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("OK: 2 accounts, 2 OPDs, store at ")


def test_cli_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    text = BASE + "[http]\nconnect_timeout = 0\nconcurrency = 99\n"
    result = CliRunner().invoke(check_config_command, [str(write(tmp_path, text))], env={})
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"{tmp_path / 'config.toml'} has 4 problem(s); fix them and try again:"
    assert lines[1:] == [
        "  - accounts[0].api_key.env: environment variable LAPOR_PEMPROV_KEY is not set",
        "  - accounts[0].token.env: environment variable LAPOR_PEMPROV_TOKEN is not set",
        "  - http.connect_timeout: must be greater than 0",
        "  - http.concurrency: must be at most 32",
    ]
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("content", [None, "[store\n", "\xff"])
def test_cli_unreadable_or_broken_file_exits_2(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "config.toml"
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    result = CliRunner().invoke(check_config_command, [str(path)], env={})
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "problem(s)" in result.stderr


# --- durations, status map, calendar, sandbox override -----------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("2M", 120),
     (45, 45), (0, 0)],
)
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["5 minutes", "", "m", "5x", "1.5m", 1.5, True, None, "-5m"])
def test_parse_duration_rejects(text: object) -> None:
    with pytest.raises(ValueError, match="must be a duration"):
        parse_duration(text)


def test_schedule_durations_in_the_file(tmp_path: Path) -> None:
    s = load(tmp_path, BASE + '[schedule]\npull_every = "90s"\npush_every = 20\n'
             'deadlines_every = "1h"\ndaily_summary_at = "06:30"\nhealth_window_factor = 2\n')
    assert s.schedule.pull_every == timedelta(seconds=90)
    assert s.schedule.push_every == timedelta(seconds=20)
    assert s.schedule.deadlines_every == timedelta(hours=1)
    assert s.schedule.daily_summary_at == time(6, 30)
    assert problems(tmp_path, BASE + "[schedule]\nmisfire_grace = 0\n") == [
        "schedule.misfire_grace: must be longer than 0 seconds"
    ]


def test_status_map_defaults_and_lookup(tmp_path: Path) -> None:
    s = load(tmp_path, BASE)
    assert s.state_for_status("Belum Terverifikasi") is ComplaintState.AWAITING_VERIFICATION
    assert s.state_for_status("  dalam PROSES ") is ComplaintState.IN_PROGRESS
    assert s.state_for_status("Ditolak") is ComplaintState.FORWARDED
    assert s.state_for_status("Ditunda") is ComplaintState.POSTPONED
    assert s.state_for_status("Terdisposisi Belum Ditindaklanjuti") is (
        ComplaintState.DISPOSITIONED
    )
    assert s.state_for_status("Laporan Arsip") is ComplaintState.ARCHIVED
    assert s.state_for_status("Terdisposisi Selesai") is ComplaintState.CLOSED
    assert s.state_for_status("Proses") is None
    assert s.state_for_status("Dalam  Proses") is None  # no fuzzy matching


def test_status_map_from_the_file_overrides_and_extends(tmp_path: Path) -> None:
    s = load(tmp_path, BASE + '[status_map]\n"selesai" = "answered"\n"Proses" = "in_progress"\n')
    assert s.state_for_status("Selesai") is ComplaintState.ANSWERED
    assert s.state_for_status("proses") is ComplaintState.IN_PROGRESS
    assert s.state_for_status("Diarsipkan") is ComplaintState.ARCHIVED
    [problem] = problems(tmp_path, BASE + '[status_map]\n"Selesai" = "done"\n')
    assert problem == (
        "status_map.Selesai: must be one of: received, awaiting_verification, dispositioned, "
        "in_progress, answered, closed, archived, forwarded, postponed"
    )
    [problem] = problems(tmp_path, BASE + '[status_map]\n"Tunda" = "postponed"\n'
                         '" tunda" = "closed"\n')
    assert problem.startswith("status_map: ") and "map to different states" in problem


def test_calendar_overrides_reach_the_working_calendar(tmp_path: Path) -> None:
    wednesday, saturday = date(2026, 9, 16), date(2026, 9, 19)
    default = load(tmp_path, BASE).calendar()
    assert default.is_working_day(wednesday) and not default.is_working_day(saturday)
    s = load(tmp_path, BASE + '[calendar]\nextra_holidays = [2026-09-16]\n'
             'extra_working_days = ["2026-09-19"]\n')
    assert s.calendar_overrides.extra_holidays == (wednesday,)
    calendar = s.calendar()
    assert calendar is s.calendar()
    assert not calendar.is_working_day(wednesday) and calendar.is_working_day(saturday)
    assert calendar.fingerprint != default.fingerprint


def test_calendar_date_in_both_lists_is_a_problem(tmp_path: Path) -> None:
    text = BASE + '[calendar]\nextra_holidays = ["2026-09-16", 20260917]\n' \
        "extra_working_days = [2026-09-16, 2026-09-18T00:00:00]\n"
    assert problems(tmp_path, text) == [
        'calendar.extra_holidays[1]: must be a date written 2026-03-20 or "2026-03-20"',
        "calendar.extra_working_days[1]: must be a date without a time, e.g. 2026-03-20",
    ]
    text = BASE + '[calendar]\nextra_holidays = ["2026-09-16"]\n' \
        "extra_working_days = [2026-09-16]\n"
    [problem] = problems(tmp_path, text)
    assert problem.startswith("calendar.extra_working_days: 2026-09-16 also in")


def test_with_base_url(tmp_path: Path) -> None:
    s = load_settings(SHIPPED, env={})
    moved = s.with_base_url("http://127.0.0.1:9999/api/")
    assert {a.base_url for a in moved.accounts} == {"http://127.0.0.1:9999/api"}
    assert {a.base_url for a in s.accounts} == {"http://127.0.0.1:8765/api"}
    assert moved.accounts[0].api_key == s.accounts[0].api_key
    assert moved.state_for_status("Selesai") is ComplaintState.CLOSED
    with pytest.raises(ConfigError) as info:
        s.with_base_url("https://lapor.example.go.id/api")
    assert len(info.value.problems) == 6  # 3 accounts x (api_key, token), all plain values
    assert info.value.problems[0].startswith("accounts[0].api_key.value: a plain value")
    with pytest.raises(ConfigError):
        s.with_base_url("http://lapor.example.go.id/api")
    prod = load(tmp_path, account(
        "pemprov-lampung", "https://lapor.example.go.id/api", '{ env = "LAPOR_PEMPROV_KEY" }',
        '{ env = "LAPOR_PEMPROV_TOKEN" }',
    ))
    assert prod.with_base_url("https://other.example.go.id").accounts[0].base_url == (
        "https://other.example.go.id"
    )


def test_shipped_config_matches_the_sandbox_masters() -> None:
    masters = pytest.importorskip("lapor_sync.sandbox.masters")
    settings = load_settings(SHIPPED, env={})
    expected = {a.institution_id: (a.api_key, a.token) for a in masters.ACCOUNTS}
    assert {
        a.institution_id: (a.api_key.get_secret_value(), a.token.get_secret_value())
        for a in settings.accounts
    } == expected
    for opd in settings.opd:
        parent = settings.account(opd.account).institution_id
        assert masters.UNIT_PARENT[opd.institution_id] == parent, opd.code
        assert masters.INSTITUTIONS[opd.institution_id] == opd.name, opd.code
    assert {int(cid) for cid in settings.channels.values()} <= set(masters.CHANNELS)
    for name in masters.STATUS_NAMES.values():
        assert settings.state_for_status(name) is not None, name


def test_a_config_file_anyone_can_write_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        (Path(__file__).resolve().parent.parent / "config.toml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    config.chmod(0o666)
    with pytest.raises(ConfigError) as info:
        load_settings(config, env={})
    assert "writable by any user" in str(info.value.problems)
    assert "chmod o-w" in info.value.problems[0]
    config.chmod(0o664)  # an admin group may write it
    load_settings(config, env={})
