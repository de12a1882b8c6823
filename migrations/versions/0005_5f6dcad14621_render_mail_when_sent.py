"""Mail is rendered when it is sent: the outbox keeps a template's context, not its output.

Nothing had been deployed with queued mail when this ran; messages still waiting at upgrade
time would lose their bodies, so drain the outbox (flask --app app worker --once) first.

Revision ID: 5f6dcad14621
Revises: 0f8abc5c0b5f
Create Date: 2026-11-26 14:44:17.702206

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5f6dcad14621'
down_revision = '0f8abc5c0b5f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context', sa.JSON(none_as_null=True), nullable=True))
        batch_op.drop_column('body_text')
        batch_op.drop_column('body_html')


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_html', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('body_text', sa.Text(), nullable=False, server_default=''))
        batch_op.drop_column('context')
