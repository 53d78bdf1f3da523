"""ORM classes only; behaviour lives in registry.services."""

from registry.models.auth import AuditEntry, Client, RevokedToken
from registry.models.change_log import ChangeLogEntry, OriginSequence
from registry.models.federation import Checkpoint, Peer, QuarantinedItem, SyncState, TrustedOrigin
from registry.models.feeds import Arrival, ArrivalCounter, Delivery, Subscription
from registry.models.people import Invitation, Passkey, Person, WebSession
from registry.models.records import (
    Authority,
    ContactPoint,
    EmergencyNote,
    Network,
    NetworkMember,
    Procedure,
    RecordTerm,
)
from registry.models.search import SearchCursor, SearchDocumentRow, SearchFacet
from registry.models.seed import SeededVersion
from registry.models.verification import ChangeProposal, VerificationRequest

__all__ = [
    "Arrival",
    "ArrivalCounter",
    "Delivery",
    "Subscription",
    "AuditEntry",
    "Client",
    "RevokedToken",
    "Authority",
    "ChangeLogEntry",
    "Checkpoint",
    "ContactPoint",
    "EmergencyNote",
    "Network",
    "NetworkMember",
    "OriginSequence",
    "Peer",
    "Procedure",
    "QuarantinedItem",
    "RecordTerm",
    "SearchCursor",
    "SearchDocumentRow",
    "SearchFacet",
    "SeededVersion",
    "Invitation",
    "Passkey",
    "Person",
    "WebSession",
    "SyncState",
    "TrustedOrigin",
    "ChangeProposal",
    "VerificationRequest",
]
