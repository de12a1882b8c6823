"""Petition news can be emailed once to the signers who asked for updates.

Revision ID: c4d8e2f1a6b7
Revises: 53b95ed24c4f
Create Date: 2026-11-27 02:40:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4d8e2f1a6b7'
down_revision = '53b95ed24c4f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('petition_news', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('emailed_count', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('petition_news', schema=None) as batch_op:
        batch_op.drop_column('emailed_count')
        batch_op.drop_column('emailed_at')
