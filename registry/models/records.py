"""Federated records: one table per record type.

Each row holds the common fields (docs/api.md, Data model), the body exactly as published (`body`), and a
few columns projected from the body so that filters can use indexes. A tombstone keeps its row
(with `deleted` true and an empty body) so that versions are never reused.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from registry.db import Base, UTCDateTime

JSONBody = JSON().with_variant(JSONB(), "postgresql")


class RecordColumns:
    id: Mapped[str] = mapped_column(String(192), primary_key=True)
    origin: Mapped[str] = mapped_column(String(63))
    owner_network: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[dict] = mapped_column(JSONBody)
    # The origin's seq and signed envelope of the current version (what a snapshot serves).
    seq: Mapped[int | None] = mapped_column(Integer)
    envelope: Mapped[str | None] = mapped_column(Text)

    @declared_attr.directive
    def __table_args__(cls):
        return (origin_state_index(cls.__tablename__),)


def origin_state_index(table: str) -> Index:
    """An origin's records with what its checkpoint digests (id, version, seq): the digest is read from the
    index alone, in id order, without the rows and their envelopes; also every "records of this origin"
    question."""
    return Index(f"ix_{table}_origin_state", "origin", "id", "version", "seq")


class Network(RecordColumns, Base):
    __tablename__ = "networks"
    code: Mapped[str | None] = mapped_column(String(32), unique=True)


class NetworkMember(Base):
    """Projection of a network record's member list."""

    __tablename__ = "network_members"
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    authority_id: Mapped[str] = mapped_column(String(192), primary_key=True, index=True)
    network_code: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(16))
    since: Mapped[date | None] = mapped_column(Date)


class Authority(RecordColumns, Base):
    __tablename__ = "authorities"
    country: Mapped[str | None] = mapped_column(String(2))
    kind: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(16))
    sort_name: Mapped[str | None] = mapped_column(String(400))

    __table_args__ = (
        origin_state_index("authorities"),
        Index("ix_authorities_country_sort", "country", "sort_name"),
    )


class ContactPoint(RecordColumns, Base):
    __tablename__ = "contact_points"
    # No foreign key: a federated copy may arrive before the authority it sits in.
    authority_id: Mapped[str | None] = mapped_column(String(192), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    available_24_7: Mapped[bool | None] = mapped_column(Boolean)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class EmergencyNote(RecordColumns, Base):
    __tablename__ = "emergency_notes"
    scope_country: Mapped[str | None] = mapped_column(String(2), index=True)
    scope_authority_id: Mapped[str | None] = mapped_column(String(192), index=True)
    scope_network: Mapped[str | None] = mapped_column(String(32), index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    urgency: Mapped[str | None] = mapped_column(String(16))
    visibility: Mapped[str | None] = mapped_column(String(16))
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_until: Mapped[date | None] = mapped_column(Date)


class Procedure(RecordColumns, Base):
    """How to send a request of given types to a country."""

    __tablename__ = "procedures"
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    visibility: Mapped[str | None] = mapped_column(String(16))


class RecordTerm(Base):
    """Multi-valued facets of live records (crime types, request types, languages, roles...)."""

    __tablename__ = "record_terms"
    # Key order matters: (record_id, facet) answers "does this record have any crime type?" by a
    # key prefix; the second index serves "which records have this value?".
    record_id: Mapped[str] = mapped_column(String(192), primary_key=True)
    facet: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)

    __table_args__ = (Index("ix_record_terms_facet_value", "facet", "value"),)
