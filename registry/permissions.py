"""Who may do what: the scopes, the roles of people, the caller, and one declarative policy table.

Reading is governed by visibility tiers (registry.visibility), decided per field from the caller's
scopes; every other action is listed in POLICY with the scope it needs. A person's roles stand for
scopes (ROLES), so a person and a client holding the same scopes may do exactly the same. Services
call `require`; views never decide.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from registry.errors import Forbidden, Unauthenticated
from registry.visibility import Tier

# Every scope a client may hold, with what it grants; `publish:<network>` stands for one per network.
SCOPES: dict[str, str] = {
    "directory:read": "Partner tier: functional contact points and partner notes.",
    "directory:restricted": "Restricted tier: adds names, direct phones and e-mails of contact persons, "
                            "and restricted notes.",
    "publish:<network>": "Create, change and delete the records whose owner_network is <network>, and that "
                         "network's member list; read those records in full.",
    "federation:read": "Read the change feeds and snapshots this node serves to peers.",
    "admin": "Manage clients and keys, read the audit log.",
}

PUBLISH_SCOPE = re.compile(r"publish:([a-z][a-z0-9-]{1,31})")

# Every role a person may hold, with the scopes it stands for; `editor:<network>` stands for one per network.
ROLES: dict[str, tuple[str, ...]] = {
    "practitioner": ("directory:restricted",),
    "editor:<network>": ("publish:<network>", "directory:restricted"),
    "admin": ("admin",),
}
ROLE_HELP: dict[str, str] = {
    "practitioner": "A vetted practitioner: reads the restricted tier (names and direct lines of contact persons).",
    "editor:<network>": "A network's secretariat officer: edits its records and member list in the console, reads "
                        "the restricted tier, and may invite practitioners on the network's behalf.",
    "admin": "Manages people, invitations, clients and peers, and reads the audit log.",
}
EDITOR_ROLE = re.compile(r"editor:([a-z][a-z0-9-]{1,31})")


def is_known_role(role: str, networks: set[str]) -> bool:
    """A role this node can give: a fixed one, or editor:<a network it holds>."""
    match = EDITOR_ROLE.fullmatch(role)
    if match:
        return match.group(1) in networks
    return role in ROLES and "<" not in role


def scopes_of(roles) -> frozenset[str]:
    """The scopes a person's roles stand for."""
    scopes: set[str] = set()
    for role in roles:
        match = EDITOR_ROLE.fullmatch(role)
        if match:
            scopes.update(s.replace("<network>", match.group(1)) for s in ROLES["editor:<network>"])
        elif role in ROLES and "<" not in role:
            scopes.update(ROLES[role])
    return frozenset(scopes)


def is_known_scope(scope: str, networks: set[str]) -> bool:
    """A scope this node can grant: a fixed one, or publish:<a network it holds>."""
    match = PUBLISH_SCOPE.fullmatch(scope)
    if match:
        return match.group(1) in networks
    return scope in SCOPES and "<" not in scope


@dataclass(frozen=True)
class Caller:
    """Whoever makes a request: anonymous, the client an access token was issued to, or a person signed in
    to the pages (by the e-mail address of the account)."""

    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    person: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.client_id is not None or self.person is not None

    @property
    def actor(self) -> str | None:
        """Who the change log and the audit log name for what this caller does."""
        return self.person or self.client_id

    @property
    def tier(self) -> Tier:
        if "directory:restricted" in self.scopes:
            return Tier.RESTRICTED
        if "directory:read" in self.scopes:
            return Tier.PARTNER
        return Tier.PUBLIC

    @property
    def published_networks(self) -> frozenset[str]:
        return frozenset(m.group(1) for s in self.scopes if (m := PUBLISH_SCOPE.fullmatch(s)))

    def tier_for(self, owner_network: str) -> Tier:
        """The tier for one record: a secretariat sees the records it publishes in full."""
        return Tier.RESTRICTED if owner_network in self.published_networks else self.tier

    @property
    def cache_key(self) -> tuple:
        """What a cached answer may depend on about the caller: every scope, not only the tier, since
        the cache answers before a route checks its scope (an admin's answer is not an anonymous one)."""
        return tuple(sorted(self.scopes))


ANONYMOUS = Caller()

# A rule returns the scope the caller lacks for the action, or None when the caller may act.
Rule = Callable[..., "str | None"]


def _scope(name: str) -> Rule:
    return lambda caller, **_: None if name in caller.scopes else name


def _any_scope(*names: str) -> Rule:
    """Any one of `names` will do; the first is the one a refusal asks for."""
    return lambda caller, **_: None if caller.scopes & set(names) else names[0]


def _publisher_of(fact: str) -> Rule:
    def rule(caller: Caller, **facts) -> str | None:
        needed = f"publish:{facts[fact]}"
        return None if needed in caller.scopes else needed

    return rule


def _any_publisher_or_admin(fact: str) -> Rule:
    def rule(caller: Caller, **facts) -> str | None:
        needed = f"publish:{facts[fact]}"
        return None if needed in caller.scopes or "admin" in caller.scopes else needed

    return rule


POLICY: dict[str, Rule] = {
    "record:write": _publisher_of("owner_network"),
    "membership:write": _publisher_of("network"),
    # A contact point's role in a network, a note scoped to a network: the network's word to give.
    "network:claim": _publisher_of("network"),
    # What a network's editors review about its coverage (notes that refer to contact points it lacks).
    "network:review": _publisher_of("network"),
    # How true a network's directory is (verification rounds, freshness): its editors, and admins.
    "network:verify": _any_publisher_or_admin("network"),
    "audit:read": _scope("admin"),
    "clients:manage": _scope("admin"),
    "keys:rotate": _scope("admin"),
    "federation:read": _scope("federation:read"),
    "federation:manage": _scope("admin"),
    # A subscriber is notified at its own tier, so it needs one above the public tier (which anyone
    # can poll for); an admin may look after every client's subscriptions but not create one for itself.
    "subscriptions:create": _any_scope("directory:read", "directory:restricted"),
    "subscriptions:manage": _any_scope("directory:read", "directory:restricted", "admin"),
    "subscriptions:manage-any": _scope("admin"),
    "people:manage": _scope("admin"),
    # A network's editors vouch for the practitioners they invite on its behalf.
    "people:invite-practitioner": _any_publisher_or_admin("network"),
}


def allows(caller: Caller, action: str, **facts) -> bool:
    return POLICY[action](caller, **facts) is None


def require(caller: Caller, action: str, **facts) -> None:
    """Raise Unauthenticated (no token) or Forbidden (token without the scope) unless allowed."""
    missing = POLICY[action](caller, **facts)
    if missing is None:
        return
    if not caller.authenticated:
        raise Unauthenticated(f"This needs an access token with the scope {missing}.")
    if caller.person is not None:
        raise Forbidden(f"This needs the scope {missing}, which your roles do not give.", scope=missing)
    raise Forbidden(f"This needs the scope {missing}, which the token does not carry.", scope=missing)
