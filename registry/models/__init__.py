"""ORM classes only; behaviour lives in registry.services."""

from registry.models.change_log import ChangeLogEntry, OriginSequence
from registry.models.records import (
    Authority,
    ContactPoint,
    EmergencyNote,
    Network,
    NetworkMember,
    RecordTerm,
)

__all__ = [
    "Authority",
    "ChangeLogEntry",
    "ContactPoint",
    "EmergencyNote",
    "Network",
    "NetworkMember",
    "OriginSequence",
    "RecordTerm",
]
