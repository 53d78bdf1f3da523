"""procedures: how to send a request to a country

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 04:21:11
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import registry.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('procedures',
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('visibility', sa.String(length=16), nullable=True),
    sa.Column('id', sa.String(length=192), nullable=False),
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('owner_network', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('envelope', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('procedures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedures_country'), ['country'], unique=False)
        batch_op.create_index('ix_procedures_origin', ['origin'], unique=False)



def downgrade() -> None:
    # The filter terms projected from procedures go with them: a later upgrade stores them afresh.
    op.execute("DELETE FROM record_terms WHERE record_id IN (SELECT id FROM procedures)")
    with op.batch_alter_table('procedures', schema=None) as batch_op:
        batch_op.drop_index('ix_procedures_origin')
        batch_op.drop_index(batch_op.f('ix_procedures_country'))

    op.drop_table('procedures')
