"""Badges name an identity by a random reference instead of its id, so a
badge tells no internal id: member_identities.badge_ref, filled for the
identities there are.

Revision ID: c3d9a6e2b851
Revises: b7c4e1a9d2f0
Create Date: 2026-12-03 06:10:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = 'c3d9a6e2b851'
down_revision = 'b7c4e1a9d2f0'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('member_identities', sa.Column('badge_ref', sa.String(length=16), nullable=True))
    identities = sa.table('member_identities', sa.column('id', sa.Integer), sa.column('badge_ref', sa.String))
    bind = op.get_bind()
    for (identity_id,) in bind.execute(sa.select(identities.c.id)).all():
        bind.execute(identities.update().where(identities.c.id == identity_id)
                     .values(badge_ref=secrets.token_hex(8)))
    with op.batch_alter_table('member_identities') as batch_op:
        batch_op.alter_column('badge_ref', existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint('uq_member_identities_badge_ref', ['badge_ref'])


def downgrade():
    with op.batch_alter_table('member_identities') as batch_op:
        batch_op.drop_constraint('uq_member_identities_badge_ref', type_='unique')
        batch_op.drop_column('badge_ref')
