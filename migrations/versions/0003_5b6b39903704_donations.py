"""Donations through Stripe, the Stripe events acted on, and clicks through to GoFundMe.

Revision ID: 5b6b39903704
Revises: b35090549375
Create Date: 2026-11-26 13:05:51.973972

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5b6b39903704'
down_revision = 'b35090549375'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('donations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('pending', 'failed', 'expired', 'paid', 'refunded', name='status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('refunded_minor', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('stripe_session_id', sa.String(length=255), nullable=True),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_donations_amount_positive')),
    sa.CheckConstraint('refunded_minor >= 0 AND refunded_minor <= amount_minor', name=op.f('ck_donations_refund_in_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donations')),
    sa.UniqueConstraint('stripe_session_id', name=op.f('uq_donations_stripe_session_id'))
    )
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donations_payment_intent_id'), ['payment_intent_id'], unique=False)
        batch_op.create_index('ix_donations_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('outbound_clicks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_clicks'))
    )
    with op.batch_alter_table('outbound_clicks', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_clicks_target_created_at', ['target', 'created_at'], unique=False)

    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('donation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['donation_id'], ['donations.id'], name=op.f('fk_stripe_events_donation_id_donations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_events_donation_id'), ['donation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_events_donation_id'))

    op.drop_table('stripe_events')
    with op.batch_alter_table('outbound_clicks', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_clicks_target_created_at')

    op.drop_table('outbound_clicks')
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.drop_index('ix_donations_status_created_at')
        batch_op.drop_index(batch_op.f('ix_donations_payment_intent_id'))

    op.drop_table('donations')
