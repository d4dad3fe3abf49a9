"""Gateway authentication: OAuth2 client credentials against the sandbox's loopback token
endpoint, renewal before expiry and after a 401, one renewal shared by concurrent workers,
credential header names as settings, and the secret kept out of logs and errors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from lapor_sync.app import make_client
from lapor_sync.config import load_settings
from lapor_sync.domain import ListQuery
from lapor_sync.errors import AuthError, ConfigError, RetryableRemoteError, describe
from lapor_sync.lapor.auth import HeaderNames, OAuth2Options, jwt_expiry, token_lifetime
from lapor_sync.lapor.client import ClientOptions, LaporClient
from lapor_sync.sandbox import SandboxServer, SandboxWorld
from lapor_sync.sandbox.gateway import TOKEN_PATH, client_id_of
from lapor_sync.sandbox.masters import ACCOUNT_BY_ID
from lapor_sync.sandbox.seed import seed_world
from lapor_sync.timeutil import WIB

PEMPROV = ACCOUNT_BY_ID["18"]
SECRET = PEMPROV.api_key  # the sandbox's client secret for this account


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    world = SandboxWorld(seed=3)
    seed_world(world, complaints=20)
    return world


@pytest.fixture(autouse=True)
def fresh_gateway(world: SandboxWorld) -> Iterator[None]:
    world.gateway.configure(
        key_header="Authorization", key_scheme="Bearer", token_header="token",
        token_lifetime=3600, token_format="opaque",
    )
    world.gateway.revoke_all()
    yield
    world.gateway.revoke_all()


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def oauth_client(
    server: SandboxServer,
    *,
    secret: str = SECRET,
    token: str = PEMPROV.token,
    names: HeaderNames | None = None,
    monotonic: FakeMonotonic | None = None,
    renew_before: float = 60.0,
    token_url: str | None = None,
    client_auth: str = "basic",
) -> LaporClient:
    options = ClientOptions(
        base_url=server.base_url,
        api_key="",
        token=token,
        retry_attempts=2,
        header_names=names or HeaderNames(),
        oauth2=OAuth2Options(
            token_url=token_url or server.root_url + TOKEN_PATH,
            client_id=client_id_of("18"),
            client_secret=secret,
            client_auth=client_auth,  # type: ignore[arg-type]
            renew_before=renew_before,
        ),
    )
    return LaporClient(options, sleep=lambda _s: None, monotonic=monotonic or FakeMonotonic())


def query() -> ListQuery:
    return ListQuery(updated_from=datetime(2020, 1, 1, tzinfo=WIB), page=1, page_size=5)


def test_first_use_fetches_one_token_and_reuses_it(
    world: SandboxWorld, server: SandboxServer
) -> None:
    issued = world.gateway.tokens_issued
    client = oauth_client(server)
    assert world.gateway.tokens_issued == issued  # nothing fetched before the first request
    first = client.list_complaints(query())
    client.list_complaints(query())
    client.institutions()
    assert first.page.items  # the API accepted the access token
    assert world.gateway.tokens_issued == issued + 1
    assert client.stats.by_endpoint["token"] == 1


@pytest.mark.parametrize("client_auth", ["basic", "body"])
def test_both_ways_of_sending_the_client_credentials(
    world: SandboxWorld, server: SandboxServer, client_auth: str
) -> None:
    client = oauth_client(server, client_auth=client_auth)
    assert client.list_complaints(query()).page.items


def test_token_is_renewed_shortly_before_it_expires(
    world: SandboxWorld, server: SandboxServer
) -> None:
    world.gateway.configure(token_lifetime=600)
    clock = FakeMonotonic()
    client = oauth_client(server, monotonic=clock, renew_before=60)
    issued = world.gateway.tokens_issued
    client.list_complaints(query())
    clock.now += 539  # 600 s lifetime, renewed 60 s early: still the first token
    client.list_complaints(query())
    assert world.gateway.tokens_issued == issued + 1
    clock.now += 2  # now inside the renewal margin
    client.list_complaints(query())
    assert world.gateway.tokens_issued == issued + 2
    assert world.stats.count(status=401) == 0  # renewed before the gateway refused it


def test_a_jwt_without_expires_in_is_timed_by_its_exp_claim(
    world: SandboxWorld, server: SandboxServer
) -> None:
    world.gateway.configure(token_format="jwt", token_lifetime=900)
    clock = FakeMonotonic()
    client = oauth_client(server, monotonic=clock, renew_before=60)
    issued = world.gateway.tokens_issued
    client.list_complaints(query())
    clock.now += 830
    client.list_complaints(query())
    assert world.gateway.tokens_issued == issued + 1
    clock.now += 20  # 850 s: past 900 - 60 (one second of slack for the real clock)
    client.list_complaints(query())
    assert world.gateway.tokens_issued == issued + 2


def test_lifetime_rules() -> None:
    assert token_lifetime(3600, "opaque", 0) == 3600
    assert token_lifetime("120", "opaque", 0) == 120
    assert token_lifetime(None, "opaque", 0) is None  # kept until a 401
    assert jwt_expiry("a.b") is None and jwt_expiry("x.!!!.y") is None


def test_a_401_that_a_renewal_cures(world: SandboxWorld, server: SandboxServer) -> None:
    client = oauth_client(server)
    client.list_complaints(query())
    issued = world.gateway.tokens_issued
    unauthorized = world.stats.count(status=401)
    world.gateway.revoke_all()  # the gateway drops the token before its expiry
    assert client.list_complaints(query()).page.items
    assert world.gateway.tokens_issued == issued + 1
    assert world.stats.count(status=401) == unauthorized + 1


def test_a_401_that_a_renewal_does_not_cure_stops_as_bad_credentials(
    world: SandboxWorld, server: SandboxServer
) -> None:
    client = oauth_client(server, token="not-the-instansi-token-0000")
    issued = world.gateway.tokens_issued
    unauthorized = world.stats.count(status=401)
    with pytest.raises(AuthError):
        client.list_complaints(query())
    # one token, one renewal, two refused requests: no loop, no retries of a 401
    assert world.gateway.tokens_issued == issued + 2
    assert world.stats.count(status=401) == unauthorized + 2


def test_refused_client_credentials_are_a_clear_error_without_the_secret(
    server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-client-secret-9d8c7b6a"
    client = oauth_client(server, secret=wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError) as info:
        client.list_complaints(query())
    text = describe(info.value)
    assert "invalid_client" in text and "auth.client_secret" in text
    assert wrong not in text and wrong not in caplog.text
    assert wrong not in repr(client) and wrong not in repr(client.credentials)


def test_unreachable_token_endpoint_is_retryable_and_sends_nothing(
    world: SandboxWorld, server: SandboxServer
) -> None:
    client = oauth_client(server, token_url="http://127.0.0.1:9/oauth2/token")
    before = world.stats.count()
    with pytest.raises(RetryableRemoteError):
        client.list_complaints(query())
    assert world.stats.count() == before  # no API request went out without a token


def test_concurrent_workers_share_one_renewal(world: SandboxWorld, server: SandboxServer) -> None:
    client = oauth_client(server)
    issued = world.gateway.tokens_issued
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                client.list_complaints(query())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def run_all() -> None:
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    run_all()
    assert errors == [] and world.gateway.tokens_issued == issued + 1
    world.gateway.revoke_all()  # every worker's next request meets a 401 at once
    run_all()
    assert errors == [] and world.gateway.tokens_issued == issued + 2


def test_header_names_are_settings(world: SandboxWorld, server: SandboxServer) -> None:
    world.gateway.configure(key_header="auth")
    default = oauth_client(server)
    with pytest.raises(AuthError):
        default.list_complaints(query())
    renamed = oauth_client(server, names=HeaderNames(key_header="auth"))
    assert renamed.list_complaints(query()).page.items
    static = LaporClient(
        ClientOptions(
            base_url=server.base_url, api_key=PEMPROV.api_key, token=PEMPROV.token,
            header_names=HeaderNames(key_header="auth"),
        ),
        sleep=lambda _s: None,
    )
    assert static.list_complaints(query()).page.items


# --- configuration -----------------------------------------------------------------------


def config(tmp_path: Path, auth: str, *, base_url: str, api_key: bool = False) -> Path:
    key = 'api_key = { value = "k-123456789" }\n' if api_key else ""
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[store]
path = "{tmp_path / 'store.db'}"

[[accounts]]
name = "pemprov-lampung"
institution_id = "18"
base_url = "{base_url}"
{key}token = {{ value = "{PEMPROV.token}" }}

[accounts.auth]
{auth}
""",
        encoding="utf-8",
    )
    return path


def test_oauth2_account_from_the_config_file_pulls_from_the_sandbox(
    world: SandboxWorld, server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(
        tmp_path,
        f"""scheme = "oauth2"
token_url = "{server.root_url}{TOKEN_PATH}"
client_id = {{ value = "{client_id_of('18')}" }}
client_secret = {{ env = "PEMPROV_CLIENT_SECRET" }}
scope = "lapor"
""",
        base_url=server.base_url,
    )
    settings = load_settings(path, env={"PEMPROV_CLIENT_SECRET": SECRET})
    account = settings.account("pemprov-lampung")
    assert account.auth.is_oauth2 and account.api_key.get_secret_value() == ""
    assert SECRET not in repr(account) and SECRET not in repr(settings)
    client = make_client(settings, "pemprov-lampung")
    assert client.list_complaints(query()).page.items
    assert client.credentials.scheme == "oauth2"
    assert SECRET not in capsys.readouterr().err


def test_config_problems_name_the_key(tmp_path: Path) -> None:
    cases = {
        'scheme = "oauth2"\ntoken_url = "https://sso.example.go.id/token"':
            'accounts[0].auth.client_auth: auth.scheme = "oauth2" needs auth.client_id, '
            "auth.client_secret",
        'key_header = "bad header"':
            "accounts[0].auth.key_header: must be an HTTP header name",
        'token_header = "authorization"\nkey_header = "Authorization"':
            "accounts[0].auth.token_header: must differ from auth.key_header",
        'scheme = "static"': 'accounts[0].api_key: is required (unless auth.scheme = "oauth2")',
    }
    for auth, expected in cases.items():
        path = config(tmp_path, auth, base_url="http://127.0.0.1:8765/api")
        with pytest.raises(ConfigError) as info:
            load_settings(path, env={})
        assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


def test_a_plain_client_secret_is_refused_for_a_real_server(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        """scheme = "oauth2"
token_url = "https://sso.example.go.id/token"
client_id = { value = "abc" }
client_secret = { value = "plain-secret-123456" }
""",
        base_url="https://api.example.go.id/v1",
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    joined = "\n".join(info.value.problems)
    assert "accounts[0].auth.client_secret.value: a plain value is allowed only" in joined
    assert "plain-secret-123456" not in joined


def test_a_multipart_write_resent_after_a_401_keeps_its_form(
    world: SandboxWorld, server: SandboxServer
) -> None:
    """The resend after a renewal carries the same form fields (and files) as the first try."""
    from dataclasses import replace

    from lapor_sync.domain import NewFollowUp
    from lapor_sync.lapor.profiles import LMW_PROFILE

    cid = world.add_complaint("Jalan rusak", "Lubang di jalan", created_by="18")
    world.verify(cid, "18")
    client = oauth_client(server)
    client._options = replace(client._options, profile=LMW_PROFILE)  # follow-ups as a form
    client.list_complaints(query())
    unauthorized = world.stats.count(status=401)
    world.gateway.revoke_all()  # the next write meets a 401 and is sent again
    followup_id = client.add_followup(
        NewFollowUp(complaint_id=str(cid), from_institution_id="18", content="Sudah ditambal")
    )
    assert world.stats.count(status=401) == unauthorized + 1
    texts = [f.content for f in world.record(cid).followups if str(f.id) == followup_id]
    assert texts == ["Sudah ditambal"]


def test_an_upload_resent_after_a_401_keeps_its_file(
    world: SandboxWorld, server: SandboxServer
) -> None:
    from lapor_sync.domain import NewUpload

    client = oauth_client(server)
    client.list_complaints(query())
    world.gateway.revoke_all()
    data = b"%PDF-1.4\n" + b"x" * 100
    uploaded = client.upload_attachment(NewUpload("surat.pdf", "application/pdf", "doc", data))
    kept = world.uploads.by_id[int(uploaded.upload_id)]
    assert (uploaded.kind, kept.name, kept.data) == ("doc", "surat.pdf", data)
