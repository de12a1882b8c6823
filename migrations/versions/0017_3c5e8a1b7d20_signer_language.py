"""Languages: each signature keeps the language its signer signed in, so every later email
speaks it; petitions, the campaign's copy, news and stories keep what staff wrote in other
languages.

Revision ID: 3c5e8a1b7d20
Revises: 6a1f0c2d9e47
Create Date: 2026-11-30 06:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '3c5e8a1b7d20'
down_revision = '6a1f0c2d9e47'
branch_labels = None
depends_on = None


def upgrade():
    # A constant default: instant on PostgreSQL 11+ whatever the number of signatures, and
    # every signature so far was made in English.
    op.add_column('signatures', sa.Column('language', sa.String(length=8), nullable=False, server_default='en'))
    for table in ('petitions', 'campaigns', 'petition_news', 'articles'):
        op.add_column(table, sa.Column('translations', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    for table in ('petitions', 'campaigns', 'petition_news', 'articles'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('translations')
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('language')
