"""signed envelopes in the change log

Entries written before this revision have no envelope; `registry db upgrade` signs this node's own
(see `registry.services.records.sign_unsigned`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('envelope', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.drop_column('envelope')
