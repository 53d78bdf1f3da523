"""the request id of each audit entry

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 01:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('request_id', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_column('request_id')
