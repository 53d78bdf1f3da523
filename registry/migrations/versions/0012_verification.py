"""verification rounds: the requests sent to contact points and the changes their holders propose

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 13:06:16
"""

import sqlalchemy as sa
from alembic import op

import registry.db

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('verification_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.String(length=192), nullable=False),
    sa.Column('record_type', sa.String(length=32), nullable=False),
    sa.Column('network', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('record_version', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=254), nullable=True),
    sa.Column('created_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('last_reminder_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('failure', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('verification_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_requests_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_requests_network'), ['network'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_requests_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_requests_record_id'), ['record_id'], unique=False)

    op.create_table('change_proposals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('record_id', sa.String(length=192), nullable=False),
    sa.Column('network', sa.String(length=32), nullable=False),
    sa.Column('submitted_by', sa.String(length=254), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('submitted_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reviewed_by', sa.String(length=254), nullable=True),
    sa.Column('reviewed_at', registry.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['verification_requests.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('change_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_proposals_network'), ['network'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_proposals_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_proposals_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('change_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_proposals_status'))
        batch_op.drop_index(batch_op.f('ix_change_proposals_record_id'))
        batch_op.drop_index(batch_op.f('ix_change_proposals_network'))

    op.drop_table('change_proposals')
    with op.batch_alter_table('verification_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_requests_record_id'))
        batch_op.drop_index(batch_op.f('ix_verification_requests_outcome'))
        batch_op.drop_index(batch_op.f('ix_verification_requests_network'))
        batch_op.drop_index(batch_op.f('ix_verification_requests_message_id'))

    op.drop_table('verification_requests')
