"""records, projections and change log

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:38:28.197178
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import registry.db

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('authorities',
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('sort_name', sa.String(length=400), nullable=True),
    sa.Column('id', sa.String(length=192), nullable=False),
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('owner_network', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('authorities', schema=None) as batch_op:
        batch_op.create_index('ix_authorities_country_sort', ['country', 'sort_name'], unique=False)
        batch_op.create_index('ix_authorities_origin', ['origin'], unique=False)

    op.create_table('change_log',
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('record_id', sa.String(length=192), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('owner_network', sa.String(length=32), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('recorded_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('origin', 'seq')
    )
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_log_record_id'), ['record_id'], unique=False)

    op.create_table('contact_points',
    sa.Column('authority_id', sa.String(length=192), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('available_24_7', sa.Boolean(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('id', sa.String(length=192), nullable=False),
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('owner_network', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_points_authority_id'), ['authority_id'], unique=False)
        batch_op.create_index('ix_contact_points_origin', ['origin'], unique=False)

    op.create_table('emergency_notes',
    sa.Column('scope_country', sa.String(length=2), nullable=True),
    sa.Column('scope_authority_id', sa.String(length=192), nullable=True),
    sa.Column('scope_network', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('urgency', sa.String(length=16), nullable=True),
    sa.Column('visibility', sa.String(length=16), nullable=True),
    sa.Column('effective_from', sa.Date(), nullable=True),
    sa.Column('effective_until', sa.Date(), nullable=True),
    sa.Column('id', sa.String(length=192), nullable=False),
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('owner_network', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('emergency_notes', schema=None) as batch_op:
        batch_op.create_index('ix_emergency_notes_origin', ['origin'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_notes_scope_authority_id'), ['scope_authority_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_notes_scope_country'), ['scope_country'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_notes_scope_network'), ['scope_network'], unique=False)

    op.create_table('networks',
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('id', sa.String(length=192), nullable=False),
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('owner_network', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', registry.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.create_index('ix_networks_origin', ['origin'], unique=False)

    op.create_table('origin_sequences',
    sa.Column('origin', sa.String(length=63), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('origin')
    )
    op.create_table('record_terms',
    sa.Column('record_id', sa.String(length=192), nullable=False),
    sa.Column('facet', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('record_id', 'facet', 'value')
    )
    with op.batch_alter_table('record_terms', schema=None) as batch_op:
        batch_op.create_index('ix_record_terms_facet_value', ['facet', 'value'], unique=False)

    op.create_table('network_members',
    sa.Column('network_id', sa.String(length=192), nullable=False),
    sa.Column('authority_id', sa.String(length=192), nullable=False),
    sa.Column('network_code', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('since', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('network_id', 'authority_id')
    )
    with op.batch_alter_table('network_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_members_authority_id'), ['authority_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_network_members_network_code'), ['network_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('network_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_network_members_network_code'))
        batch_op.drop_index(batch_op.f('ix_network_members_authority_id'))

    op.drop_table('network_members')
    with op.batch_alter_table('record_terms', schema=None) as batch_op:
        batch_op.drop_index('ix_record_terms_facet_value')

    op.drop_table('record_terms')
    op.drop_table('origin_sequences')
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.drop_index('ix_networks_origin')

    op.drop_table('networks')
    with op.batch_alter_table('emergency_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergency_notes_scope_network'))
        batch_op.drop_index(batch_op.f('ix_emergency_notes_scope_country'))
        batch_op.drop_index(batch_op.f('ix_emergency_notes_scope_authority_id'))
        batch_op.drop_index('ix_emergency_notes_origin')

    op.drop_table('emergency_notes')
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_points_origin')
        batch_op.drop_index(batch_op.f('ix_contact_points_authority_id'))

    op.drop_table('contact_points')
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_log_record_id'))

    op.drop_table('change_log')
    with op.batch_alter_table('authorities', schema=None) as batch_op:
        batch_op.drop_index('ix_authorities_origin')
        batch_op.drop_index('ix_authorities_country_sort')

    op.drop_table('authorities')
