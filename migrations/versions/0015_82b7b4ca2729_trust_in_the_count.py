"""Trust in the count: tallies for the integrity report, signer receipts and the digests
published over them, daily figures by country, reminders to confirm, reconciliation results.

On PostgreSQL the new indexes on `signatures` are built CONCURRENTLY after the quick DDL has
committed, so signing goes on throughout.

Revision ID: 82b7b4ca2729
Revises: 0b982aebc30c
Create Date: 2026-11-30 02:42:44.030400

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '82b7b4ca2729'
down_revision = '0b982aebc30c'
branch_labels = None
depends_on = None

SIGNATURE_INDEXES = [
    ('ix_signatures_created_at_unreminded', ['created_at'], False, "state = 'pending' AND reminded_at IS NULL"),
    ('ix_signatures_receipt_hash', ['receipt_hash'], True, 'receipt_hash IS NOT NULL'),
]


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        # In the order signing and confirming take them (see 0014).
        op.execute('LOCK TABLE signatures, count_journal, petitions IN ACCESS EXCLUSIVE MODE')
    op.create_table('count_digests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('counted', sa.Integer(), nullable=False),
    sa.Column('previous', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_count_digests_petition_id_petitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_count_digests')),
    sa.UniqueConstraint('petition_id', 'number', name=op.f('uq_count_digests_petition_id_number'))
    )
    op.create_table('petition_country_days',
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_petition_country_days_petition_id_petitions')),
    sa.PrimaryKeyConstraint('petition_id', 'day', 'country', name=op.f('pk_petition_country_days'))
    )
    op.create_table('petition_tallies',
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_petition_tallies_petition_id_petitions')),
    sa.PrimaryKeyConstraint('petition_id', 'name', name=op.f('pk_petition_tallies'))
    )
    op.create_table('receipt_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('receipt_hash', sa.String(length=64), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('digest_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['count_digests.id'], name=op.f('fk_receipt_entries_digest_id_count_digests')),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_receipt_entries_petition_id_petitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_entries'))
    )
    with op.batch_alter_table('receipt_entries', schema=None) as batch_op:
        batch_op.create_index('ix_receipt_entries_digest_id', ['digest_id'], unique=False)
        batch_op.create_index('ix_receipt_entries_receipt_hash', ['receipt_hash'], unique=False)
        batch_op.create_index('ix_receipt_entries_unpublished', ['petition_id', 'id'], unique=False, postgresql_where=sa.text('digest_id IS NULL'), sqlite_where=sa.text('digest_id IS NULL'))

    with op.batch_alter_table('count_journal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_hash', sa.String(length=64), nullable=True))
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reconciled_matched', sa.Boolean(), nullable=True))
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invalidation_category', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('receipt_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))

    if not postgres:
        _fill()
        for name, columns, unique, where in SIGNATURE_INDEXES:
            op.create_index(name, 'signatures', columns, unique=unique, sqlite_where=sa.text(where))
        return
    with op.get_context().autocommit_block():
        _fill()
        for name, columns, unique, where in SIGNATURE_INDEXES:
            op.create_index(
                name, 'signatures', columns, unique=unique, postgresql_concurrently=True,
                if_not_exists=True, postgresql_where=sa.text(where),
            )


def _fill():
    """Confirmed signatures so far, by day and country; invalidations so far, as 'other'."""
    bind = op.get_bind()
    day = "(confirmed_at AT TIME ZONE 'UTC')::date" if bind.dialect.name == 'postgresql' else 'date(confirmed_at)'
    bind.execute(sa.text(
        'INSERT INTO petition_country_days (petition_id, day, country, confirmed) '
        f'SELECT petition_id, {day}, country, count(*) FROM signatures '
        "WHERE state = 'confirmed' AND confirmed_at IS NOT NULL GROUP BY 1, 2, 3"
    ))
    bind.execute(sa.text(
        "UPDATE signatures SET invalidation_category = 'other' WHERE state = 'invalidated'"
    ))
    bind.execute(sa.text(
        "INSERT INTO petition_tallies (petition_id, name, value) "
        "SELECT id, 'inv:other', invalidated_count FROM petitions WHERE invalidated_count > 0"
    ))


def downgrade():
    for name, _, _, where in SIGNATURE_INDEXES:
        op.drop_index(name, table_name='signatures', postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('receipt_hash')
        batch_op.drop_column('invalidation_category')
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_column('reconciled_matched')
        batch_op.drop_column('reconciled_at')
    with op.batch_alter_table('count_journal', schema=None) as batch_op:
        batch_op.drop_column('receipt_hash')
    op.drop_table('receipt_entries')
    op.drop_table('petition_tallies')
    op.drop_table('petition_country_days')
    op.drop_table('count_digests')
