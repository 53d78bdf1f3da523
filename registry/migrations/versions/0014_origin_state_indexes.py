"""Record tables: the origin index also holds id, version and seq

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 22:30:00

A checkpoint digests (id, version, seq) of every record of an origin. The origin signs one after each write
and a consumer compares its copies with one after each sync round; with these columns in the index, both
read them from the index alone instead of from rows that carry bodies and envelopes. The index replaces
the one on `origin` alone, of which it is an extension.
"""

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

TABLES = ("networks", "authorities", "contact_points", "emergency_notes", "procedures")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_origin_state", table, ["origin", "id", "version", "seq"])
        op.drop_index(f"ix_{table}_origin", table_name=table)


def downgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_origin", table, ["origin"])
        op.drop_index(f"ix_{table}_origin_state", table_name=table)
