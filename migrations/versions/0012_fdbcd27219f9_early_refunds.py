"""Refunds that arrive before their payment are kept until it does (Stripe sends events in any
order).

Revision ID: fdbcd27219f9
Revises: 5542cd5f58a8
Create Date: 2026-11-29 22:14:09.751603

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'fdbcd27219f9'
down_revision = '5542cd5f58a8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('early_refunds',
    sa.Column('payment_intent_id', sa.String(length=255), nullable=False),
    sa.Column('amount_refunded', sa.Integer(), nullable=False),
    sa.Column('fully_refunded', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('payment_intent_id', name=op.f('pk_early_refunds'))
    )


def downgrade():
    op.drop_table('early_refunds')
