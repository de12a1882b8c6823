"""Signers can stop campaign updates and keep their signature: when they did is recorded.

Revision ID: 9c2e4d1a7b30
Revises: 5f6dcad14621
Create Date: 2026-11-27 02:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '9c2e4d1a7b30'
down_revision = '5f6dcad14621'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_withdrawn_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('consent_withdrawn_at')
