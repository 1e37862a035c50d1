"""token families and idempotent answers: what must survive a Redis restart

token_families: one row per login session (revocation, the current refresh
token's jti); idempotent_answers: the first answer to a keyed write, 24 h.
Sessions issued before this revision have no row and are refused: their
users log in again once.

Revision ID: 7bfe67ff2693
Revises: 6d62b0e8c709
Create Date: 2026-12-02 15:47:37.298513

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7bfe67ff2693'
down_revision = '6d62b0e8c709'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('idempotent_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_answers')),
    sa.UniqueConstraint('owner', 'endpoint', 'key', name=op.f('uq_idempotent_answers_owner_endpoint_key'))
    )
    with op.batch_alter_table('idempotent_answers', schema=None) as batch_op:
        batch_op.create_index('ix_idempotent_answers_created_at', ['created_at'], unique=False)

    op.create_table('token_families',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('refresh_jti', sa.String(length=32), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_reason', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_token_families_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_token_families'))
    )
    with op.batch_alter_table('token_families', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_token_families_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('token_families', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_token_families_user_id'))

    op.drop_table('token_families')
    with op.batch_alter_table('idempotent_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotent_answers_created_at')

    op.drop_table('idempotent_answers')
