"""seeded versions; repeated refusals in the audit log; the tier of each arrival

`seeded_versions` remembers the version seeding last wrote of each record, so that a later
`registry seed` leaves records changed since by their publishers alone. A database seeded before
it existed gets it from the change log: a record whose newest seed-written version is its current
one is still as seeded.

`arrivals.tier` is the tier needed to see each arrival, so that partner feeds filter before they cut
a page; existing arrivals get it from their envelopes (a deletion: its record's last live version).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00
"""

import base64
import json

import sqlalchemy as sa
from alembic import op

import registry.db
from registry.visibility import Tier, record_tier

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
    with op.batch_alter_table('arrivals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.Integer(), nullable=True))
    _fill_arrival_tiers()
    with op.batch_alter_table('arrivals', schema=None) as batch_op:
        batch_op.alter_column('tier', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('last_at', existing_type=registry.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column('repeated', existing_type=sa.Integer(), server_default=None)


def _fill_arrival_tiers() -> None:
    arrivals = sa.table('arrivals', sa.column('number'), sa.column('record_id'), sa.column('type'),
                        sa.column('deleted'), sa.column('removed'), sa.column('envelope'), sa.column('tier'))
    connection = op.get_bind()
    last_tier: dict[str, int] = {}
    updates = []
    rows = connection.execute(sa.select(arrivals.c.number, arrivals.c.record_id, arrivals.c.type, arrivals.c.deleted,
                                        arrivals.c.removed, arrivals.c.envelope).order_by(arrivals.c.number))
    for number, record_id, record_type, deleted, removed, envelope in rows:
        if deleted or removed or not envelope:
            tier = last_tier.get(record_id, int(Tier.RESTRICTED))
        else:
            payload = envelope.split(".")[1]
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["body"]
            tier = last_tier[record_id] = int(record_tier(record_type, body))
        updates.append({"n": number, "t": tier})
    if updates:
        connection.execute(sa.update(arrivals).where(arrivals.c.number == sa.bindparam("n"))
                           .values(tier=sa.bindparam("t")), updates)


def downgrade() -> None:
    with op.batch_alter_table('arrivals', schema=None) as batch_op:
        batch_op.drop_column('tier')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_address_at')
        batch_op.drop_column('last_at')
        batch_op.drop_column('repeated')
    op.drop_table('seeded_versions')
