"""Problem text: pydantic and TOML errors → one line each, starting with the key path.

Invariant: messages describe what is expected and never repeat the input (which may be a
secret); error details are requested with ``include_input=False``.
"""

from __future__ import annotations

import re
import tomllib
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from lapor_sync.config.secret_sources import SecretSpec

Loc = tuple[str | int, ...]


def key_path(loc: Loc) -> str:
    """``("accounts", 0, "api_key")`` → ``accounts[0].api_key``; odd keys are quoted."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else '"' + _toml_escape(part) + '"'
        out += f".{text}" if out else text
    return out


def _toml_escape(text: str) -> str:
    return "".join(
        ch if ch.isprintable() and ch not in '"\\' else f"\\u{ord(ch):04x}" for ch in text
    )


def toml_problem(exc: tomllib.TOMLDecodeError) -> str:
    text = str(exc)
    match = re.fullmatch(r"(?s)(.*) \(at line (\d+), column (\d+)\)", text)
    if match:
        return f"line {match[2]}, column {match[3]}: TOML syntax error: {match[1]}"
    match = re.fullmatch(r"(?s)(.*) \(at end of document\)", text)
    if match:
        return f"end of file: TOML syntax error: {match[1]}"
    return f"TOML syntax error: {text}"


def pydantic_problem(error: ErrorDetails, root: type[BaseModel]) -> tuple[Loc, str]:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        allowed = _expected(ctx)
        return loc, f"not an allowed name here (allowed: {allowed})" if allowed else "bad key"
    return loc, _message(kind, ctx, error["msg"], loc, root)


def _message(kind: str, ctx: dict[str, Any], msg: str, loc: Loc, root: type[BaseModel]) -> str:
    simple = {
        "missing": "is required",
        "int_type": "must be a whole number",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "string_type": "must be a string (in quotes)",
        "string_too_short": "must not be empty",
        "list_type": "must be an array [...]",
        "tuple_type": "must be an array [...]",
        "dict_type": "must be a table",
        "model_type": "must be a table",
        "model_attributes_type": "must be a table",
        "path_type": "must be a path (a string)",
        "timedelta_type": "must be a duration",
    }
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc[:-1])
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"unknown setting{hint}"
    if kind in ("model_type", "model_attributes_type") and model_at(root, loc) is SecretSpec:
        return (
            "must be a table with exactly one of env, file, credential or value, "
            'e.g. { env = "LAPOR_PEMPROV_KEY" }'
        )
    if kind in simple:
        if kind == "missing" and loc == ("accounts",):
            return "is required: add at least one [[accounts]] table"
        return simple[kind]
    bounds = {
        "greater_than": ("gt", "must be greater than"),
        "greater_than_equal": ("ge", "must be at least"),
        "less_than": ("lt", "must be less than"),
        "less_than_equal": ("le", "must be at most"),
    }
    if kind in bounds:
        key, text = bounds[kind]
        return f"{text} {_number(ctx.get(key))}"
    if kind == "too_short":
        n = ctx.get("min_length")
        return f"must have at least {n} entr{'y' if n == 1 else 'ies'}"
    if kind == "too_long":
        n = ctx.get("max_length")
        return f"must have at most {n} entr{'y' if n == 1 else 'ies'}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind in ("literal_error", "enum"):
        return f"must be one of: {_expected(ctx)}"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg[:1].lower() + msg[1:]


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _expected(ctx: Mapping[str, Any]) -> str:
    expected = str(ctx.get("expected", ""))
    names = re.findall(r"'([^']*)'", expected)
    return ", ".join(names) if names else expected


def allowed_keys(root: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model at ``loc`` accepts (for "unknown setting" hints)."""
    model = model_at(root, loc)
    return list(model.model_fields) if model is not None else []


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the table at ``loc`` under ``root``, if any."""
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field is not None else None
    return model


def _model_in(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
