"""Which contract profile the sandbox holds clients to (lapor/profiles.py).

``profile = None`` (the default) accepts every known variant: both create paths and both
body encodings. Set to ``"default"`` or ``"lmw"`` the sandbox is strict, as a real server
speaking only one of them would be: a create on the other profile's path is a 404, and a
write body in the other encoding is unreadable (422).
"""

from __future__ import annotations

from dataclasses import dataclass

from lapor_sync.lapor.profiles import PROFILES

_WRITE_ENCODING = {"create": "create_encoding", "followup_add": "followup_encoding"}


@dataclass
class SandboxContract:
    """``strict`` takes the strict reading where the contract is silent
    (docs/lapor-api.md, "Where the contract is silent"): every create field it lists is
    required and checked against the masters, and a forward needs ``is_request=1`` and
    ``not_authority=1``, a follow-up is taken only while the complaint is with the posting
    instansi or one of its units, and a write may name only institutions the directory
    lists. Strict is the default, so every world — the sandbox's own tests included —
    disagrees with the connector wherever the contract leaves room; ``strict = False`` is
    the lenient reading, for training (``lapor-sync sandbox --lenient``) and for the tests
    that show what the lenient reading accepts."""

    profile: str | None = None
    strict: bool = True

    def configure(self, profile: str | None) -> None:
        if profile is not None and profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)} or null")
        self.profile = profile

    def accepts_path(self, kind: str, path: str) -> bool:
        """``path`` is below the API prefix, with a leading ``/``."""
        if self.profile is None or kind != "create":
            return True
        return path.strip("/") == PROFILES[self.profile].paths["create"]

    def accepts_encoding(self, kind: str, encoding: str) -> bool:
        if kind == "upload":
            return encoding == "multipart"  # a file travels only in a form, in every profile
        if self.profile is None:
            return True
        attribute = _WRITE_ENCODING.get(kind)
        if attribute is None:
            return encoding == "json"
        return bool(getattr(PROFILES[self.profile], attribute) == encoding)
