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
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeated', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('last_at', registry.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_audit_log_address_at', ['address', 'at'], unique=False)
    op.execute("UPDATE audit_log SET last_at = at")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('last_at', existing_type=registry.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column('repeated', existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_address_at')
        batch_op.drop_column('last_at')
        batch_op.drop_column('repeated')
    op.drop_table('seeded_versions')
