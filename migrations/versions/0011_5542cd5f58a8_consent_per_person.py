"""Consent per person, and a keyed hash that outlives erasure.

Signatures gain `email_hash` (HMAC of the canonical address with EMAIL_HASH_KEY), which now
carries the one-signature-per-person rule, so an erased signer signing again still counts once.
Consent to updates moves from each signature to the person (`update_consents`, with its history
in `consent_events`); confirm links sent to someone who signed again carry the details they typed.

The backfill computes hashes in Python (PostgreSQL cannot know the key), 5,000 rows per batch,
each batch committed on its own; on PostgreSQL the new indexes are built CONCURRENTLY.
Signatures erased before this release have no address left to hash: they cannot be matched.

Revision ID: 5542cd5f58a8
Revises: ea10182fdc15
Create Date: 2026-11-29 21:19:33.776993

"""
import hashlib
import hmac
from collections import defaultdict

import sqlalchemy as sa
from alembic import op
from flask import current_app


# revision identifiers, used by Alembic.
revision = '5542cd5f58a8'
down_revision = 'ea10182fdc15'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    op.create_table('update_consents',
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.Column('wants_updates', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('route', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('email_hash', name=op.f('pk_update_consents'))
    )
    op.create_table('consent_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.Column('given', sa.Boolean(), nullable=False),
    sa.Column('route', sa.String(length=32), nullable=False),
    sa.Column('signature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('wording_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['signature_id'], ['signatures.id'], name=op.f('fk_consent_events_signature_id_signatures'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['wording_id'], ['consent_wordings.id'], name=op.f('fk_consent_events_wording_id_consent_wordings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_events'))
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_events_email_hash'), ['email_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_events_signature_id'), ['signature_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_events_wording_id'), ['wording_id'], unique=False)

    with op.batch_alter_table('signature_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details', sa.JSON(none_as_null=True), nullable=True))

    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_hash', sa.String(length=64), nullable=True))

    if op.get_bind().dialect.name != 'postgresql':
        _backfill()
        with op.batch_alter_table('signatures', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('uq_signatures_petition_id_canonical_email'), type_='unique')
            batch_op.create_index(batch_op.f('ix_signatures_email_hash'), ['email_hash'], unique=False)
            batch_op.create_unique_constraint(batch_op.f('uq_signatures_petition_id_email_hash'), ['petition_id', 'email_hash'])
            batch_op.drop_column('consent_withdrawn_at')
        return

    # PostgreSQL, live: the backfill commits batch by batch, the indexes are built without
    # blocking writes, and the new rule takes over the old one in one short statement.
    with op.get_context().autocommit_block():
        _backfill()
        op.create_index('ix_signatures_email_hash', 'signatures', ['email_hash'], unique=False, postgresql_concurrently=True, if_not_exists=True)
        op.create_index('uq_signatures_petition_id_email_hash', 'signatures', ['petition_id', 'email_hash'], unique=True, postgresql_concurrently=True, if_not_exists=True)
    op.execute(
        'ALTER TABLE signatures DROP CONSTRAINT uq_signatures_petition_id_canonical_email, '
        'ADD CONSTRAINT uq_signatures_petition_id_email_hash UNIQUE USING INDEX uq_signatures_petition_id_email_hash'
    )
    op.drop_column('signatures', 'consent_withdrawn_at')


def _backfill():
    key = current_app.config["EMAIL_HASH_KEY"].encode()
    bind = op.get_bind()
    signatures = sa.table(
        'signatures',
        sa.column('id', sa.BigInteger), sa.column('canonical_email', sa.String),
        sa.column('email_hash', sa.String), sa.column('state', sa.String),
        sa.column('consent_updates', sa.Boolean), sa.column('consented_at', sa.DateTime),
        sa.column('consent_withdrawn_at', sa.DateTime), sa.column('consent_wording_id', sa.Integer),
        sa.column('email', sa.String),
    )
    # Each person's answers: given when a confirmed signature had the box ticked, taken back
    # when they stopped updates. The latest decides.
    answers = defaultdict(list)
    last = 0
    while True:
        rows = bind.execute(
            sa.select(signatures).where(signatures.c.id > last, signatures.c.canonical_email.is_not(None))
            .order_by(signatures.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        hashed = []
        for row in rows:
            digest = hmac.new(key, row.canonical_email.encode(), hashlib.sha256).hexdigest()
            hashed.append({'row_id': row.id, 'digest': digest})
            if row.state == 'confirmed' and row.consent_updates and row.email and row.consented_at:
                answers[digest].append((row.consented_at, True, 'signature confirmed', row.id, row.consent_wording_id))
            if row.consent_withdrawn_at:
                answers[digest].append((row.consent_withdrawn_at, False, 'stop link', row.id, None))
        bind.execute(
            signatures.update().where(signatures.c.id == sa.bindparam('row_id')).values(email_hash=sa.bindparam('digest')),
            hashed,
        )
    events = sa.table(
        'consent_events', sa.column('email_hash', sa.String), sa.column('given', sa.Boolean),
        sa.column('route', sa.String), sa.column('signature_id', sa.BigInteger),
        sa.column('wording_id', sa.Integer), sa.column('at', sa.DateTime(timezone=True)),
    )
    current = sa.table(
        'update_consents', sa.column('email_hash', sa.String), sa.column('wants_updates', sa.Boolean),
        sa.column('changed_at', sa.DateTime(timezone=True)), sa.column('route', sa.String),
    )
    for digest, found in answers.items():
        found.sort(key=lambda a: a[0])
        bind.execute(events.insert(), [
            {'email_hash': digest, 'given': given, 'route': route, 'signature_id': sid, 'wording_id': wid, 'at': at}
            for at, given, route, sid, wid in found
        ])
        at, given, route, _, _ = found[-1]
        bind.execute(current.insert().values(email_hash=digest, wants_updates=given, changed_at=at, route=route))


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_withdrawn_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE signatures SET consent_updates = false, consent_withdrawn_at = "
        "(SELECT changed_at FROM update_consents u WHERE u.email_hash = signatures.email_hash) "
        "WHERE email_hash IN (SELECT email_hash FROM update_consents WHERE NOT wants_updates)"
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_signatures_petition_id_email_hash'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_signatures_email_hash'))
        batch_op.create_unique_constraint(batch_op.f('uq_signatures_petition_id_canonical_email'), ['petition_id', 'canonical_email'])
        batch_op.drop_column('email_hash')

    with op.batch_alter_table('signature_tokens', schema=None) as batch_op:
        batch_op.drop_column('details')

    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_events_wording_id'))
        batch_op.drop_index(batch_op.f('ix_consent_events_signature_id'))
        batch_op.drop_index(batch_op.f('ix_consent_events_email_hash'))

    op.drop_table('consent_events')
    op.drop_table('update_consents')
