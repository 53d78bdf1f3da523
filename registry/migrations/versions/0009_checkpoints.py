"""the freshest verified checkpoint of each foreign origin; trims of each origin's log

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 02:20:00
"""

import sqlalchemy as sa
from alembic import op

import registry.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkpoints',
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('as_of_seq', sa.Integer(), nullable=False),
    sa.Column('issued_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('signed', sa.Text(), nullable=False),
    sa.Column('matched', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('origin')
    )
    with op.batch_alter_table('origin_sequences') as batch:
        batch.add_column(sa.Column('trims', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('origin_sequences') as batch:
        batch.drop_column('trims')
    op.drop_table('checkpoints')
