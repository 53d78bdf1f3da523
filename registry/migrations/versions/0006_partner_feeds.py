"""partner feeds: arrivals and webhook subscriptions

Records already held get their arrivals from `registry db upgrade` (see
`registry.services.feeds.record_arrivals_if_empty`), which computes their feed filters.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:36:02.440707
"""

import sqlalchemy as sa
from alembic import op

import registry.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('arrival_counter',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('arrivals',
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(length=192), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('owner_network', sa.String(length=32), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('networks', sa.Text(), nullable=False),
    sa.Column('arrived_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('envelope', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('number')
    )
    with op.batch_alter_table('arrivals', schema=None) as batch_op:
        batch_op.create_index('ix_arrivals_record', ['record_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('previous_secret', sa.Text(), nullable=True),
    sa.Column('previous_secret_until', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('pending_message_id', sa.String(length=64), nullable=True),
    sa.Column('pending_payload', sa.Text(), nullable=True),
    sa.Column('pending_cursor', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_client_id'), ['client_id'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.String(length=40), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_subscription_id'), ['subscription_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_subscription_id'))

    op.drop_table('deliveries')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_client_id'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('arrivals', schema=None) as batch_op:
        batch_op.drop_index('ix_arrivals_record')

    op.drop_table('arrivals')
    op.drop_table('arrival_counter')
