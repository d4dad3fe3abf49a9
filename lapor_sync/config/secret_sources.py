"""Where an account's API key and instansi token come from, and how they are read.

A secret is a TOML table with exactly one of:

- ``env = "VAR"``: the environment variable ``VAR``;
- ``file = "/path"``: a file owned by the user running lapor-sync with no group or other
  permissions (``mode & 0o077 == 0``, i.e. ``chmod 600``); surrounding whitespace is
  stripped;
- ``credential = "name"``: a systemd credential (``LoadCredential=name:...``), read from
  ``$CREDENTIALS_DIRECTORY/name``; systemd owns that directory and its permissions;
- ``value = "..."``: the secret itself, allowed only when the account's base_url host is
  loopback (the sandbox).

Invariant: no message produced here contains a secret's value; file contents are read
only after the ownership and permission checks pass.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator

from lapor_sync.config.fields import ResolvedPath

SecretKind = Literal["env", "file", "credential", "value"]
SECRET_KINDS: tuple[SecretKind, ...] = ("env", "file", "credential", "value")
_MAX_SECRET_BYTES = 64 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class SecretSpec(_Model):
    """A secret's source as written in the config file (not yet read)."""

    env: str | None = None
    file: ResolvedPath | None = None
    credential: str | None = None
    value: SecretStr | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [kind for kind in SECRET_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            found = f" (found: {', '.join(given)})" if given else ""
            raise ValueError(f"must set exactly one of env, file, credential or value{found}")
        return self

    @field_validator("env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError("must name an environment variable, e.g. LAPOR_PEMPROV_KEY")
        return value

    @field_validator("credential")
    @classmethod
    def _credential_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*", value):
            raise ValueError("must be a plain credential name such as lapor-pemprov-key")
        return value

    @property
    def kind(self) -> SecretKind:
        for kind in SECRET_KINDS:
            if getattr(self, kind) is not None:
                return kind
        raise AssertionError("validated SecretSpec has no source")  # pragma: no cover

    def origin(self) -> SecretOrigin:
        kind = self.kind
        ref = None if kind == "value" else str(getattr(self, kind))
        return SecretOrigin(kind=kind, ref=ref)


class SecretOrigin(_Model):
    """Where a resolved secret came from; safe to show (holds no secret)."""

    kind: SecretKind
    ref: str | None = None  # variable name, file path or credential name; None for value

    def __str__(self) -> str:
        if self.kind == "env":
            return f"environment variable {self.ref}"
        if self.kind == "file":
            return f"file {self.ref}"
        if self.kind == "credential":
            return f"systemd credential {self.ref}"
        return "plain value in the configuration file"


class SecretProblem(Exception):
    """A secret could not be resolved.

    ``key`` is the source key (``env``, ``file``, ...) for the error's key path. ``missing``
    is True when the source simply is not there (unset variable, absent file): tolerated for
    a disabled account. Anything else (unsafe permissions, plain value on a remote URL) is
    always a problem.
    """

    def __init__(self, key: SecretKind, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.missing = missing


def resolve_secret(
    spec: SecretSpec, *, env: Mapping[str, str], plain_allowed: bool | None
) -> SecretStr:
    """Read the secret ``spec`` points at. Raises ``SecretProblem``.

    ``plain_allowed``: whether ``value =`` is allowed (the base_url is loopback); None when
    the base_url itself is invalid, in which case that problem is reported elsewhere.
    """
    secret = _resolve(spec, env=env, plain_allowed=plain_allowed)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in secret.get_secret_value()):
        raise SecretProblem(
            spec.kind, "contains line breaks or control characters; it must be a single line"
        )
    return secret


def _resolve(spec: SecretSpec, *, env: Mapping[str, str], plain_allowed: bool | None) -> SecretStr:
    if spec.env is not None:
        text = env.get(spec.env)
        if text is None:
            raise SecretProblem("env", f"environment variable {spec.env} is not set", missing=True)
        text = text.strip()
        if not text:
            raise SecretProblem("env", f"environment variable {spec.env} is empty", missing=True)
        return SecretStr(text)
    if spec.file is not None:
        return SecretStr(_read_private_file(spec.file))
    if spec.credential is not None:
        return SecretStr(_read_credential(spec.credential, env))
    assert spec.value is not None
    if plain_allowed is False:
        raise SecretProblem(
            "value",
            "a plain value is allowed only when base_url is a loopback sandbox address; "
            "use env, file or credential for a real SP4N-LAPOR! server",
        )
    text = spec.value.get_secret_value().strip()
    if not text:
        raise SecretProblem("value", "is empty")
    return SecretStr(text)


def _read_private_file(path: Path) -> str:
    """Read a secret file after checking it is ours and private (mode & 0o077 == 0)."""
    flags = os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SecretProblem("file", f"{path} does not exist", missing=True) from None
    except OSError as exc:
        reason = "permission denied" if exc.errno == errno.EACCES else exc.strerror
        raise SecretProblem("file", f"cannot open {path}: {reason}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretProblem("file", f"{path} is not a regular file")
        uid = os.geteuid()
        if info.st_uid != uid:
            raise SecretProblem(
                "file",
                f"{path} is owned by uid {info.st_uid}, not by the user running lapor-sync "
                f"(uid {uid}); chown it to that user and chmod 600 {path}",
            )
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise SecretProblem(
                "file",
                f"{path} is readable or writable by group or others (mode {mode:04o}); "
                f"run: chmod 600 {path}",
            )
        data = os.read(fd, _MAX_SECRET_BYTES + 1)
    finally:
        os.close(fd)
    return _decode(data, "file", str(path))


def _read_credential(name: str, env: Mapping[str, str]) -> str:
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        raise SecretProblem(
            "credential",
            "CREDENTIALS_DIRECTORY is not set: run lapor-sync under systemd with "
            f"LoadCredential={name}:/path/to/secret, or use env or file",
            missing=True,
        )
    path = Path(directory) / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SecretProblem(
            "credential",
            f"credential {name} not found in $CREDENTIALS_DIRECTORY; "
            "check LoadCredential= in the systemd unit",
            missing=True,
        ) from None
    except OSError as exc:
        raise SecretProblem(
            "credential", f"cannot read credential {name}: {exc.strerror}"
        ) from None
    return _decode(data, "credential", name)


def _decode(data: bytes, key: SecretKind, where: str) -> str:
    if len(data) > _MAX_SECRET_BYTES:
        raise SecretProblem(key, f"{where} is too large to be a secret")
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretProblem(key, f"{where} is not UTF-8 text") from None
    if not text:
        raise SecretProblem(key, f"{where} is empty")
    return text
