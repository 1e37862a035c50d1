"""The audit trail: one append-only row per admin action and per change of a
person's status (app.audit); on PostgreSQL a trigger refuses UPDATE and
DELETE of its rows.

Revision ID: e73e69443d3a
Revises: 4340275bfc53
Create Date: 2026-12-03 06:34:37.586299

"""
import sqlalchemy as sa
from alembic import op

# As in app.audit.models at the time of writing.
APPEND_ONLY = (
    """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only';
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
)

revision = 'e73e69443d3a'
down_revision = '4340275bfc53'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('object_type', sa.String(length=48), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['org_nodes.id'], name=op.f('fk_audit_log_org_id_org_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_actor_id_id', ['actor_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_log_object', ['object_type', 'object_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_log_org_id_id', ['org_id', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        for statement in APPEND_ONLY:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log')
        op.execute('DROP FUNCTION IF EXISTS audit_log_append_only()')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_org_id_id')
        batch_op.drop_index('ix_audit_log_object')
        batch_op.drop_index('ix_audit_log_actor_id_id')

    op.drop_table('audit_log')
