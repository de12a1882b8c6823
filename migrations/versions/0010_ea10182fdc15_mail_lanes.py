"""Mail lanes, mailings stored by reference, a suppression list; leases live in next_attempt_at.

Transactional mail and bulk mail get lanes of their own, claimed through a partial index of the
messages still due. A news mailing is stored once (`mailings`), its recipients as small outbox
rows referring to it. Addresses that refused mail for good go on `mail_suppressions`.

Messages held by a worker at upgrade time keep their hold (claimed_until moves into
next_attempt_at). News already emailed becomes a mailing that has finished queueing.

Revision ID: ea10182fdc15
Revises: c4d8e2f1a6b7
Create Date: 2026-11-29 20:44:49.655624

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'ea10182fdc15'
down_revision = 'c4d8e2f1a6b7'
branch_labels = None
depends_on = None

STILL_DUE = sa.text('sent_at IS NULL AND failed_at IS NULL')


def upgrade():
    op.create_table('mail_suppressions',
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('masked_address', sa.String(length=320), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('lane', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('address_hash', name=op.f('pk_mail_suppressions'))
    )
    with op.batch_alter_table('mail_suppressions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_suppressions_created_at'), ['created_at'], unique=False)

    op.create_table('mailings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('news_id', sa.Integer(), nullable=True),
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('state', sa.Enum('queueing', 'queued', 'stopped', name='state', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('cursor', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('queued_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_by', sa.String(length=254), nullable=True),
    sa.ForeignKeyConstraint(['news_id'], ['petition_news.id'], name=op.f('fk_mailings_news_id_petition_news'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_mailings_petition_id_petitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailings')),
    sa.UniqueConstraint('news_id', name=op.f('uq_mailings_news_id'))
    )
    with op.batch_alter_table('mailings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailings_petition_id'), ['petition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mailings_state'), ['state'], unique=False)

    # News emailed before this release: a mailing that has queued everyone.
    op.execute(
        "INSERT INTO mailings (news_id, petition_id, subject, state, cursor, queued_count, "
        "created_at, created_by, queued_at) "
        "SELECT n.id, n.petition_id, substr(n.title || ' – ' || p.title, 1, 200), 'queued', 0, "
        "coalesce(n.emailed_count, 0), n.emailed_at, n.author, n.emailed_at "
        "FROM petition_news n JOIN petitions p ON p.id = n.petition_id "
        "WHERE n.emailed_at IS NOT NULL"
    )

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lane', sa.SmallInteger(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('mailing_id', sa.Integer(), nullable=True))
        batch_op.alter_column('to_address',
               existing_type=sa.VARCHAR(length=320),
               nullable=True)
        batch_op.alter_column('subject',
               existing_type=sa.VARCHAR(length=200),
               nullable=True)
        batch_op.drop_index('ix_outbox_due', postgresql_where=sa.text('sent_at IS NULL'), sqlite_where=sa.text('sent_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_outbox_mailing_id'), ['mailing_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_mailing_id_mailings'), 'mailings', ['mailing_id'], ['id'])

    # A hold is now the message's next attempt; news goes in the bulk lane.
    op.execute(
        "UPDATE outbox SET next_attempt_at = claimed_until "
        "WHERE claimed_until IS NOT NULL AND claimed_until > next_attempt_at"
    )
    op.execute("UPDATE outbox SET lane = 1 WHERE kind = 'news'")

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.create_index('ix_outbox_queue', ['lane', 'next_attempt_at'], unique=False, postgresql_where=STILL_DUE, sqlite_where=STILL_DUE)

    with op.batch_alter_table('petition_news', schema=None) as batch_op:
        batch_op.drop_column('emailed_at')
        batch_op.drop_column('emailed_count')


def downgrade():
    with op.batch_alter_table('petition_news', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emailed_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE petition_news SET emailed_at = (SELECT created_at FROM mailings m WHERE m.news_id = petition_news.id), "
        "emailed_count = (SELECT queued_count FROM mailings m WHERE m.news_id = petition_news.id)"
    )

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f('fk_outbox_mailing_id_mailings'), type_='foreignkey')
        batch_op.drop_index('ix_outbox_queue', postgresql_where=STILL_DUE, sqlite_where=STILL_DUE)
        batch_op.drop_index(batch_op.f('ix_outbox_mailing_id'))
        batch_op.create_index('ix_outbox_due', ['next_attempt_at'], unique=False, postgresql_where=sa.text('sent_at IS NULL'), sqlite_where=sa.text('sent_at IS NULL'))
    # Mailings queued by reference cannot be sent by the old code: they are dropped.
    op.execute("DELETE FROM outbox WHERE mailing_id IS NOT NULL AND sent_at IS NULL")
    op.execute("UPDATE outbox SET to_address = '' WHERE to_address IS NULL")
    op.execute("UPDATE outbox SET subject = '' WHERE subject IS NULL")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('subject',
               existing_type=sa.VARCHAR(length=200),
               nullable=False)
        batch_op.alter_column('to_address',
               existing_type=sa.VARCHAR(length=320),
               nullable=False)
        batch_op.drop_column('mailing_id')
        batch_op.drop_column('lane')

    with op.batch_alter_table('mailings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailings_state'))
        batch_op.drop_index(batch_op.f('ix_mailings_petition_id'))
    op.drop_table('mailings')
    with op.batch_alter_table('mail_suppressions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_suppressions_created_at'))
    op.drop_table('mail_suppressions')
