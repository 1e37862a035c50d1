"""console login tickets: the admin console's QR login

console_tickets: one row per QR shown on a console login page (pending ->
confirmed by an admin's phone -> redeemed once by that page for a token pair);
only a hash of the page's poll secret is kept. Rows expired for a day are
deleted when new tickets are made.

Revision ID: 9133d457fb7c
Revises: 7bfe67ff2693
Create Date: 2026-12-02 18:37:18.289932

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9133d457fb7c'
down_revision = '7bfe67ff2693'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('console_tickets',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('poll_secret_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('redeemed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_console_tickets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_tickets'))
    )
    with op.batch_alter_table('console_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_tickets_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('console_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_tickets_expires_at'))
    op.drop_table('console_tickets')
