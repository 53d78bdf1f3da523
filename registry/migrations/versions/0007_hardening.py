"""seeded versions; repeated refusals in the audit log

`seeded_versions` remembers the version seeding last wrote of each record, so that a later
`registry seed` leaves records changed since by their publishers alone. A database seeded before
it existed gets it from the change log: a record whose newest seed-written version is its current
one is still as seeded.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import registry.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('seeded_versions',
    sa.Column('record_id', sa.String(length=192), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('seeded_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('record_id')
    )
    op.execute("INSERT INTO seeded_versions (record_id, version, seeded_at) "
               "SELECT record_id, MAX(version), MAX(recorded_at) FROM change_log WHERE actor = 'seed' "
               "GROUP BY record_id")


def downgrade() -> None:
    op.drop_table('seeded_versions')
