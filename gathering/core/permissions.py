"""Who may do what. Checked here, in the domain, whatever the templates show."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gathering.core.errors import Forbidden, NotSignedIn


@dataclass(frozen=True)
class Actor:
    """A signed-in organiser or network admin."""

    account_id: int
    email: str
    display_name: str
    is_admin: bool
    organisation_ids: frozenset[int]  # where the account is an organiser (every power below)
    # Where it is only a viewer (issue 16): the numbers on dashboards, never a name.
    viewer_organisation_ids: frozenset[int] = frozenset()


def require_actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise NotSignedIn("Please sign in first.")
    return actor


def require_admin(actor: Actor | None) -> Actor:
    actor = require_actor(actor)
    if not actor.is_admin:
        raise Forbidden("Only a network admin may do this.")
    return actor


def can_manage_session(actor: Actor, host_organisation_ids: Iterable[int]) -> bool:
    """Admins manage everything; an organiser manages sessions its organisation (co-)hosts."""
    return actor.is_admin or bool(actor.organisation_ids & set(host_organisation_ids))


def require_session_manager(actor: Actor | None, host_organisation_ids: Iterable[int]) -> Actor:
    actor = require_actor(actor)
    if not can_manage_session(actor, host_organisation_ids):
        raise Forbidden("Only organisers of this session's hosts and co-hosts may change it.")
    return actor


def is_session_host(actor: Actor, hosting_organisation_ids: Iterable[int]) -> bool:
    """Admins, and organisers of the organisation that hosts (not co-hosts) the session.

    Pass only the ids of organisations with the ``host`` role: what belongs to the host (its
    supporters list, the choice of hosts) is not shared with co-hosts.
    """
    return actor.is_admin or bool(actor.organisation_ids & set(hosting_organisation_ids))


def can_release(actor: Actor, gathering_host_id: int | None) -> bool:
    """The network admin, or an organiser of the organisation that hosts the gathering."""
    return actor.is_admin or (
        gathering_host_id is not None and gathering_host_id in actor.organisation_ids
    )


def require_release(actor: Actor | None, gathering_host_id: int | None) -> Actor:
    actor = require_actor(actor)
    if not can_release(actor, gathering_host_id):
        raise Forbidden("Only organisers of the gathering's host organisation may release it.")
    return actor


def require_member(actor: Actor | None, organisation_id: int) -> Actor:
    actor = require_actor(actor)
    if not (actor.is_admin or organisation_id in actor.organisation_ids):
        raise Forbidden("You are not an organiser of that organisation.")
    return actor
