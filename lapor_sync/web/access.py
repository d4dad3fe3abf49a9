"""Who may do what in the portal: the role table and the personal-data rules.

This is the one place that decides; routes ask it and never decide for themselves.

Roles (issue 13):
- admin (Diskominfotik): everything, every OPD; users; outbox; conflicts.
- liaison: only the OPDs on the account: their complaints, late and near-due, the
  reconciliation log, conflicts; writes follow-ups and forward requests.
- operator (Call Center): the intake form, and what the province recorded (origin
  'local') with its outbox state and Tracking ID, and the outbox page of those (without
  sending anything again: that stays the admin's).
- viewer (monitoring and evaluation): the figures and the report of every OPD, complaint
  list and pages without any personal data.
- every role: its own password (``/kata-sandi``); an account that must change it (a
  one-time password) may do nothing else until it has (``auth.guard``).

Personal data:
- reporter identity: admin, operator, and liaisons of the complaint's OPD unless the
  complaint is anonim (then the OPD does not see it);
- rahasia content (the text of a rahasia complaint or follow-up): admin and the
  complaint's OPD only;
- viewer: neither, and no complaint or follow-up text at all (free text names people in
  ways no mask catches); titles as the report shows them (NIK/phone/e-mail masked,
  rahasia hidden).

A complaint outside an account's scope is "not found" (404), never "forbidden": whether it
exists is itself not shown.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from lapor_sync.store.portal_queries import Scope
from lapor_sync.store.users import Role, User


class Action(enum.StrEnum):
    HOME = "home"
    LIST = "list"  # complaint list and its export
    VIEW = "view"  # a complaint's page and its export
    FOLLOWUP = "followup"  # post a follow-up / ask for a forward
    INTAKE = "intake"
    CONFLICTS = "conflicts"  # see and decide conflicts
    LOG = "log"  # the reconciliation log
    REPORT = "report"  # the liaison report
    SENDING = "sending"  # see what has not reached SP4N-LAPOR! yet (the outbox page)
    OUTBOX = "outbox"  # send dead outbox rows and failed notifications again
    USERS = "users"
    PASSWORD = "password"  # noqa: S105 (an action's name): change one's own password


ALLOWED: Mapping[Action, frozenset[Role]] = {
    Action.HOME: frozenset(Role),
    Action.LIST: frozenset(Role),
    Action.VIEW: frozenset(Role),
    Action.FOLLOWUP: frozenset({Role.ADMIN, Role.LIAISON}),
    Action.INTAKE: frozenset({Role.ADMIN, Role.OPERATOR}),
    Action.CONFLICTS: frozenset({Role.ADMIN, Role.LIAISON}),
    Action.LOG: frozenset({Role.ADMIN, Role.LIAISON}),
    Action.REPORT: frozenset({Role.ADMIN, Role.LIAISON, Role.VIEWER}),
    Action.SENDING: frozenset({Role.ADMIN, Role.OPERATOR}),
    Action.OUTBOX: frozenset({Role.ADMIN}),
    Action.USERS: frozenset({Role.ADMIN}),
    Action.PASSWORD: frozenset(Role),
}


def allowed(user: User, action: Action) -> bool:
    return user.role in ALLOWED[action]


def scope_of(user: User) -> Scope:
    """The complaints ``user`` may see at all."""
    if user.role is Role.LIAISON:
        return Scope(opds=user.opds)
    if user.role is Role.OPERATOR:
        return Scope(local_only=True)
    return Scope()


def is_own_opd(user: User, complaint: Mapping[str, Any]) -> bool:
    return user.role is Role.LIAISON and complaint.get("opd_code") in user.opds


def sees_identity(user: User, complaint: Mapping[str, Any]) -> bool:
    """Whether the reporter's name, phone and e-mail may be shown to ``user``."""
    if user.role in (Role.ADMIN, Role.OPERATOR):
        return True
    return is_own_opd(user, complaint) and not complaint.get("is_anonymous")


def sees_secret(user: User, complaint: Mapping[str, Any]) -> bool:
    """Whether rahasia content of this complaint may be shown to ``user``."""
    return user.role is Role.ADMIN or is_own_opd(user, complaint)


def sees_clear_text(user: User) -> bool:
    """Whether non-rahasia complaint and follow-up text is shown (never to a viewer)."""
    return user.role is not Role.VIEWER


def may_write(user: User, complaint: Mapping[str, Any]) -> bool:
    """Follow-ups and forward requests: admin, or a liaison of the complaint's OPD."""
    return user.role is Role.ADMIN or is_own_opd(user, complaint)
