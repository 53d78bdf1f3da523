"""federation: trust, peers, sync state, quarantine; current envelope on records

Records get the seq and envelope of their current version, filled from the change log (a copy
that came in through a snapshot has no change-log entry, so the row must carry them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 11:02:10.023031
"""

import sqlalchemy as sa
from alembic import op

import registry.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

RECORD_TABLES = ('networks', 'authorities', 'contact_points', 'emergency_notes')


def upgrade() -> None:
    op.create_table('peers',
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('client_secret', sa.Text(), nullable=False),
    sa.Column('created_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(length=192), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=63), nullable=True),
    sa.Column('envelope', sa.Text(), nullable=False),
    sa.Column('received_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_origin'), ['origin'], unique=False)

    op.create_table('sync_states',
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('source', sa.String(length=63), nullable=True),
    sa.Column('source_last_seq', sa.Integer(), nullable=True),
    sa.Column('bootstrapped_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('caught_up_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('applied', sa.Integer(), nullable=False),
    sa.Column('duplicate', sa.Integer(), nullable=False),
    sa.Column('stale', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('retry_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('origin')
    )
    op.create_table('trusted_origins',
    sa.Column('node_id', sa.String(length=63), nullable=False),
    sa.Column('namespace', sa.String(length=63), nullable=False),
    sa.Column('jwks_url', sa.Text(), nullable=False),
    sa.Column('jwks', sa.JSON(), nullable=False),
    sa.Column('keys_fetched_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('node_id'),
    sa.UniqueConstraint('namespace')
    )
    with op.batch_alter_table('authorities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('envelope', sa.Text(), nullable=True))
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('envelope', sa.Text(), nullable=True))

    with op.batch_alter_table('emergency_notes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('envelope', sa.Text(), nullable=True))

    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('envelope', sa.Text(), nullable=True))

    _fill_current_envelopes()


def downgrade() -> None:
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.drop_column('envelope')
        batch_op.drop_column('seq')

    with op.batch_alter_table('emergency_notes', schema=None) as batch_op:
        batch_op.drop_column('envelope')
        batch_op.drop_column('seq')

    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.drop_column('envelope')
        batch_op.drop_column('seq')

    with op.batch_alter_table('authorities', schema=None) as batch_op:
        batch_op.drop_column('envelope')
        batch_op.drop_column('seq')

    op.drop_table('trusted_origins')
    op.drop_table('sync_states')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_origin'))

    op.drop_table('quarantine')
    op.drop_table('peers')


def _fill_current_envelopes() -> None:
    for table in RECORD_TABLES:
        for column in ("seq", "envelope"):
            op.execute(f"UPDATE {table} SET {column} = (SELECT c.{column} FROM change_log c WHERE c.origin = "
                       f"{table}.origin AND c.record_id = {table}.id AND c.version = {table}.version)")
