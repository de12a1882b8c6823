"""A partner's own question in other languages: each wording says which language it is in, and
the partner keeps which wording it asks in each language other than English now.

Revision ID: 4e8b2d6f9a13
Revises: 7c3d9e1f2a48
Create Date: 2026-12-02 06:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '4e8b2d6f9a13'
down_revision = '7c3d9e1f2a48'
branch_labels = None
depends_on = None


def upgrade():
    # Every wording so far was written in English; no partner asks in another language yet.
    op.add_column('partner_wordings', sa.Column('language', sa.String(length=8), nullable=False, server_default='en'))
    op.add_column('partners', sa.Column('question_translations', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_column('question_translations')
    with op.batch_alter_table('partner_wordings', schema=None) as batch_op:
        batch_op.drop_column('language')
