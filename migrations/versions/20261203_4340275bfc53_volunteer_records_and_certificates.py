"""Volunteer service records and certificates: each hours-ledger row keeps the
record as it was confirmed (service, organizing body, place, start and end,
who confirmed), filled here for the rows there are; on PostgreSQL a trigger
makes the ledger append-only; volunteers get a name for their record; and
the certificates of volunteer service (志愿服务证明) get their table.

Revision ID: 4340275bfc53
Revises: d5e8b0c4a7f3
Create Date: 2026-12-03 06:11:48

"""
import sqlalchemy as sa
from alembic import op

# As in app.tasks.models at the time of writing (a migration does not follow the models).
LEDGER_APPEND_ONLY = (
    """CREATE OR REPLACE FUNCTION hours_ledger_append_only() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION 'hours_ledger is append-only: a correction is a new row'
        USING ERRCODE = 'restrict_violation';
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER hours_ledger_append_only BEFORE UPDATE OR DELETE ON hours_ledger
    FOR EACH ROW EXECUTE FUNCTION hours_ledger_append_only()""",
)
revision = '4340275bfc53'
down_revision = 'd5e8b0c4a7f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('volunteer_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=24), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('holder_name', sa.String(length=50), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('total_hours', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['issuer_id'], ['org_nodes.id'], name=op.f('fk_volunteer_certificates_issuer_id_org_nodes')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_volunteer_certificates_revoked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_volunteer_certificates_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_certificates')),
    sa.UniqueConstraint('serial', name=op.f('uq_volunteer_certificates_serial'))
    )
    with op.batch_alter_table('volunteer_certificates', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_certificates_user_id_id', ['user_id', 'id'], unique=False)

    with op.batch_alter_table('hours_ledger', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_name', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('organizer', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('place', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('service_started_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('service_ended_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_by', sa.String(length=16), nullable=False, server_default=''))
    _fill_records()
    if op.get_bind().dialect.name == 'postgresql':
        for statement in LEDGER_APPEND_ONLY:
            op.execute(statement)

    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=50), nullable=True))



def _fill_records():
    """The rows written before: their record from the task and participation
    as they are now (the best there is), before the trigger freezes them."""
    ledger = sa.table('hours_ledger', sa.column('id'), sa.column('task_id'), sa.column('participation_id'),
                      sa.column('service_name'), sa.column('organizer'), sa.column('place'),
                      sa.column('service_started_at'), sa.column('service_ended_at'),
                      sa.column('confirmed_by'))
    tasks = sa.table('tasks', sa.column('id'), sa.column('title'), sa.column('address'),
                     sa.column('community_id'), sa.column('help_request_id'))
    orgs = sa.table('org_nodes', sa.column('id'), sa.column('name'))
    participations = sa.table('participations', sa.column('id'), sa.column('checked_in_at'),
                              sa.column('checked_out_at'))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(ledger.c.id, tasks.c.title, tasks.c.address, orgs.c.name, tasks.c.help_request_id,
                  participations.c.checked_in_at, participations.c.checked_out_at)
        .join(tasks, tasks.c.id == ledger.c.task_id).join(orgs, orgs.c.id == tasks.c.community_id)
        .join(participations, participations.c.id == ledger.c.participation_id)).all()
    for row_id, title, address, organizer, request_id, started, ended in rows:
        bind.execute(ledger.update().where(ledger.c.id == row_id).values(
            service_name=title, organizer=organizer, place=address or '', service_started_at=started,
            service_ended_at=ended, confirmed_by='requester' if request_id else 'organizer'))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS hours_ledger_append_only ON hours_ledger')
        op.execute('DROP FUNCTION IF EXISTS hours_ledger_append_only()')
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_column('name')

    with op.batch_alter_table('hours_ledger', schema=None) as batch_op:
        batch_op.drop_column('confirmed_by')
        batch_op.drop_column('service_ended_at')
        batch_op.drop_column('service_started_at')
        batch_op.drop_column('place')
        batch_op.drop_column('organizer')
        batch_op.drop_column('service_name')

    with op.batch_alter_table('volunteer_certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_certificates_user_id_id')

    op.drop_table('volunteer_certificates')
