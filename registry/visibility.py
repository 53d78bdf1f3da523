"""Who may see what (docs/api.md, Visibility): every visibility decision, per field, in one table.

A record is first checked against its record-level tier, then each field above the caller's
tier is removed. Every way out (API, search, exports, feeds) passes records through `redact`.
"""

from __future__ import annotations

import enum


class Tier(enum.IntEnum):
    PUBLIC = 0
    PARTNER = 1
    RESTRICTED = 2

    @classmethod
    def named(cls, name: str) -> Tier:
        return cls[name.upper()]


# record type -> (tier needed to see the record at all, {field: tier needed to see the field}).
# A record-level tier of None means the record carries its own `visibility` field.
POLICY: dict[str, tuple[Tier | None, dict[str, Tier]]] = {
    "network": (Tier.PUBLIC, {}),
    "authority": (Tier.PUBLIC, {}),
    "contact_point": (Tier.PARTNER, {"person": Tier.RESTRICTED}),
    "emergency_note": (None, {}),
    "procedure": (None, {}),
}

# Lists whose items carry their own `visibility`.
ITEM_LISTS: dict[str, tuple[str, ...]] = {"authority": ("channels",)}


def record_tier(record_type: str, body: dict) -> Tier:
    tier, _ = POLICY[record_type]
    if tier is None:
        return Tier.named(body.get("visibility", "restricted"))
    return tier


def can_see(record_type: str, body: dict, tier: Tier) -> bool:
    return record_tier(record_type, body) <= tier


def visible_tiers(tier: Tier) -> list[str]:
    """The `visibility` values a caller of `tier` may see, for filtering in queries."""
    return [t.name.lower() for t in Tier if t <= tier]


def redact(record_type: str, body: dict, tier: Tier) -> dict | None:
    """The body as a caller of `tier` may see it, or None when the record is above the tier."""
    if not can_see(record_type, body, tier):
        return None
    _, fields = POLICY[record_type]
    out = {k: v for k, v in body.items() if fields.get(k, Tier.PUBLIC) <= tier}
    for name in ITEM_LISTS.get(record_type, ()):
        if name in out:
            out[name] = [item for item in out[name] if Tier.named(item.get("visibility", "restricted")) <= tier]
    return out
