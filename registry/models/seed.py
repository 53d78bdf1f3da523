"""What seeding wrote: the version of each record the demonstration directory last set."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime


class SeededVersion(Base):
    """The version `registry seed` last wrote of one record. A record whose current version is higher
    was changed (or deleted) since by its publishers, and seeding leaves it alone."""

    __tablename__ = "seeded_versions"
    record_id: Mapped[str] = mapped_column(String(192), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    seeded_at: Mapped[datetime] = mapped_column(UTCDateTime())
