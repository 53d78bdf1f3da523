"""the freshest verified checkpoint of each foreign origin

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


def downgrade() -> None:
    op.drop_table('checkpoints')
