"""Signing journey: campaigns, petitions, signatures, their tokens, counts and the outbox.

Revision ID: 78f209aad296
Revises: 
Create Date: 2026-11-26 12:22:12.465159

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '78f209aad296'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('tagline', sa.String(length=200), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.Column('history', sa.Text(), nullable=False),
    sa.Column('gofundme_url', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('slug', name=op.f('uq_campaigns_slug'))
    )
    op.create_table('consent_wordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_wordings')),
    sa.UniqueConstraint('version', name=op.f('uq_consent_wordings_version'))
    )
    op.create_table('petitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('ask', sa.Text(), nullable=False),
    sa.Column('background', sa.Text(), nullable=False),
    sa.Column('goal', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'open', 'closed', name='state', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_count', sa.Integer(), nullable=False),
    sa.Column('pending_count', sa.Integer(), nullable=False),
    sa.Column('withdrawn_count', sa.Integer(), nullable=False),
    sa.Column('invalidated_count', sa.Integer(), nullable=False),
    sa.Column('counted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('confirmed_count >= 0 AND pending_count >= 0 AND withdrawn_count >= 0 AND invalidated_count >= 0', name=op.f('ck_petitions_counts_not_negative')),
    sa.CheckConstraint('goal > 0', name=op.f('ck_petitions_goal_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_petitions_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petitions')),
    sa.UniqueConstraint('slug', name=op.f('uq_petitions_slug'))
    )
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_petitions_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_petitions_state'), ['state'], unique=False)

    op.create_table('count_journal',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_count_journal_petition_id_petitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_count_journal'))
    )
    with op.batch_alter_table('count_journal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_count_journal_petition_id'), ['petition_id'], unique=False)

    op.create_table('petition_country_counts',
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('confirmed_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_petition_country_counts_petition_id_petitions')),
    sa.PrimaryKeyConstraint('petition_id', 'country', name=op.f('pk_petition_country_counts'))
    )
    op.create_table('petition_milestones',
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_petition_milestones_petition_id_petitions')),
    sa.PrimaryKeyConstraint('petition_id', 'threshold', name=op.f('pk_petition_milestones'))
    )
    op.create_table('signatures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'confirmed', 'invalidated', 'withdrawn', name='state', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('canonical_email', sa.String(length=254), nullable=True),
    sa.Column('postcode', sa.String(length=16), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('consent_updates', sa.Boolean(), nullable=False),
    sa.Column('consent_wording_id', sa.Integer(), nullable=True),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('referrer_host', sa.String(length=255), nullable=True),
    sa.Column('utm_source', sa.String(length=100), nullable=True),
    sa.Column('utm_medium', sa.String(length=100), nullable=True),
    sa.Column('utm_campaign', sa.String(length=100), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('duplicate_notices', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('invalidated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('invalidation_reason', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consent_wording_id'], ['consent_wordings.id'], name=op.f('fk_signatures_consent_wording_id_consent_wordings')),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_signatures_petition_id_petitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures')),
    sa.UniqueConstraint('petition_id', 'canonical_email', name=op.f('uq_signatures_petition_id_canonical_email'))
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signatures_canonical_email'), ['canonical_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_signatures_consent_wording_id'), ['consent_wording_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signatures_ip_address'), ['ip_address'], unique=False)
        batch_op.create_index('ix_signatures_petition_id_state_created_at', ['petition_id', 'state', 'created_at'], unique=False)
        batch_op.create_index('ix_signatures_state_created_at', ['state', 'created_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('signature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim', sa.String(length=32), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['signature_id'], ['signatures.id'], name=op.f('fk_outbox_signature_id_signatures'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_outbox_due', ['next_attempt_at'], unique=False, postgresql_where=sa.text('sent_at IS NULL'), sqlite_where=sa.text('sent_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_outbox_signature_id'), ['signature_id'], unique=False)

    op.create_table('signature_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('signature_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('purpose', sa.Enum('confirm', 'withdraw', name='purpose', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['signature_id'], ['signatures.id'], name=op.f('fk_signature_tokens_signature_id_signatures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signature_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_signature_tokens_token_hash'))
    )
    with op.batch_alter_table('signature_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signature_tokens_signature_id'), ['signature_id'], unique=False)



def downgrade():
    with op.batch_alter_table('signature_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signature_tokens_signature_id'))

    op.drop_table('signature_tokens')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_signature_id'))
        batch_op.drop_index('ix_outbox_due', postgresql_where=sa.text('sent_at IS NULL'), sqlite_where=sa.text('sent_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_outbox_created_at'))

    op.drop_table('outbox')
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_signatures_state_created_at')
        batch_op.drop_index('ix_signatures_petition_id_state_created_at')
        batch_op.drop_index(batch_op.f('ix_signatures_ip_address'))
        batch_op.drop_index(batch_op.f('ix_signatures_consent_wording_id'))
        batch_op.drop_index(batch_op.f('ix_signatures_canonical_email'))

    op.drop_table('signatures')
    op.drop_table('petition_milestones')
    op.drop_table('petition_country_counts')
    with op.batch_alter_table('count_journal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_count_journal_petition_id'))

    op.drop_table('count_journal')
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petitions_state'))
        batch_op.drop_index(batch_op.f('ix_petitions_campaign_id'))

    op.drop_table('petitions')
    op.drop_table('consent_wordings')
    op.drop_table('campaigns')
