"""Flat at ten million signatures: indexes for what staff search, hourly figures kept by the
count journal, figures worked out by the worker, retention that remembers what it finished.

On PostgreSQL every index on `signatures` and `outbox` is built (and the old ones dropped)
CONCURRENTLY, and the new column is filled batch by batch, each batch its own transaction:
signing goes on throughout (a test upgrades a database while readers sign).

Revision ID: 0b982aebc30c
Revises: 94bc9101aedf
Create Date: 2026-11-29 23:40:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import INET


# revision identifiers, used by Alembic.
revision = '0b982aebc30c'
down_revision = '94bc9101aedf'
branch_labels = None
depends_on = None

BATCH = 5000


def _indexes():
    """The new indexes: (name, table, columns, options)."""
    return [
        ('ix_signatures_email_domain', 'signatures', ['email_domain'], dict(where='email_domain IS NOT NULL')),
        ('ix_signatures_name_trgm', 'signatures', ['name'], dict(where='name IS NOT NULL', using='gin', ops={'name': 'gin_trgm_ops'})),
        ('ix_signatures_postcode_prefix', 'signatures', ['postcode'], dict(where='postcode IS NOT NULL', ops={'postcode': 'varchar_pattern_ops'})),
        ('ix_signatures_withdrawn_at_unerased', 'signatures', ['withdrawn_at'], dict(where='withdrawn_at IS NOT NULL AND erased_at IS NULL')),
        ('ix_outbox_sent_at', 'outbox', ['sent_at'], dict(where='sent_at IS NOT NULL')),
        ('ix_outbox_failed_at', 'outbox', ['failed_at'], dict(where='failed_at IS NOT NULL')),
    ]


OLD_INDEXES = ['ix_signatures_canonical_email', 'ix_signatures_consent_wording_id', 'ix_signatures_ip_address']


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        # The tables this changes, locked up front in the order signing and confirming take
        # them (a signature, then its journal entry, then the petition its foreign key names).
        # Taken in the order of the statements below instead (petitions first, for the new
        # table's foreign key), a signature arriving mid-upgrade deadlocked with it.
        op.execute('LOCK TABLE signatures, count_journal, petitions IN ACCESS EXCLUSIVE MODE')
    op.create_table('figures',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_figures'))
    )
    op.create_table('petition_hours',
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_petition_hours_petition_id_petitions')),
    sa.PrimaryKeyConstraint('petition_id', 'hour', name=op.f('pk_petition_hours'))
    )
    with op.batch_alter_table('count_journal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('new_signature', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal_data_removed_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_domain', sa.String(length=253), nullable=True))

    if not postgres:
        _hours()
        _fill_email_domains()
        with op.batch_alter_table('signatures', schema=None) as batch_op:
            for name in OLD_INDEXES:
                batch_op.drop_index(name)
        for name, table, columns, options in _indexes():
            op.create_index(name, table, columns, unique=False, sqlite_where=sa.text(options['where']))
        return

    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    # From here each statement commits on its own: the reads and batches below hold no lock
    # that signing waits for (the DDL above, quick, has committed).
    with op.get_context().autocommit_block():
        _hours()
        _fill_email_domains()
        for name, table, columns, options in _indexes():
            op.create_index(
                name, table, columns, unique=False, postgresql_concurrently=True, if_not_exists=True,
                postgresql_where=sa.text(options['where']), postgresql_using=options.get('using'),
                postgresql_ops=options.get('ops', {}),
            )
        for name in OLD_INDEXES:
            op.drop_index(name, table_name='signatures', postgresql_concurrently=True, if_exists=True)
        # IP ranges: PostgreSQL's inet type and its GiST operators (no such thing in SQLite).
        op.create_index(
            'ix_signatures_ip_inet', 'signatures', [sa.cast(sa.column('ip_address'), INET).label('ip_inet')],
            unique=False, postgresql_concurrently=True, if_not_exists=True,
            postgresql_where=sa.text('ip_address IS NOT NULL'), postgresql_using='gist',
            postgresql_ops={'ip_inet': 'inet_ops'},
        )


def _fill_email_domains():
    """The part after @ of every address still held, a batch per statement."""
    bind = op.get_bind()
    last = 0
    while True:
        top = bind.execute(sa.text(
            'SELECT max(id) FROM (SELECT id FROM signatures WHERE id > :last ORDER BY id LIMIT :n) AS batch'
        ), {'last': last, 'n': BATCH}).scalar()
        if top is None:
            return
        domain = (
            "split_part(canonical_email, '@', 2)" if bind.dialect.name == 'postgresql'
            else "substr(canonical_email, instr(canonical_email, '@') + 1)"
        )
        bind.execute(sa.text(
            f'UPDATE signatures SET email_domain = {domain} '
            'WHERE id > :last AND id <= :top AND canonical_email IS NOT NULL'
        ), {'last': last, 'top': top})
        last = top


def _hours():
    """What each hour so far saw: signatures made (by when), and confirmations (by when)."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        hour = "date_trunc('hour', {0} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    else:
        hour = "strftime('%Y-%m-%d %H:00:00.000000', {0})"
    bind.execute(sa.text(
        'INSERT INTO petition_hours (petition_id, hour, signed, confirmed) '
        'SELECT petition_id, at, sum(signed), sum(confirmed) FROM ('
        f'  SELECT petition_id, {hour.format("created_at")} AS at, 1 AS signed, 0 AS confirmed FROM signatures'
        '  UNION ALL'
        f'  SELECT petition_id, {hour.format("confirmed_at")}, 0, 1 FROM signatures'
        "   WHERE confirmed_at IS NOT NULL AND state = 'confirmed'"
        ') AS events GROUP BY petition_id, at'
    ))


def downgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.drop_index('ix_signatures_ip_inet', table_name='signatures')
    for name, table, _, options in _indexes():
        op.drop_index(name, table_name=table, postgresql_where=sa.text(options['where']), sqlite_where=sa.text(options['where']))
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index('ix_signatures_ip_address', ['ip_address'], unique=False)
        batch_op.create_index('ix_signatures_consent_wording_id', ['consent_wording_id'], unique=False)
        batch_op.create_index('ix_signatures_canonical_email', ['canonical_email'], unique=False)
        batch_op.drop_column('email_domain')
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_column('personal_data_removed_at')
    with op.batch_alter_table('count_journal', schema=None) as batch_op:
        batch_op.drop_column('new_signature')
    op.drop_table('petition_hours')
    op.drop_table('figures')
    del postgres
