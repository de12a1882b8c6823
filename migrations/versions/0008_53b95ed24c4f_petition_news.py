"""News on a petition's page: what happened next, posted by staff.

Revision ID: 53b95ed24c4f
Revises: 3f71b2c9d4e8
Create Date: 2026-11-27 02:17:31.520246

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '53b95ed24c4f'
down_revision = '3f71b2c9d4e8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'petition_news',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('author', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ['petition_id'], ['petitions.id'], name=op.f('fk_petition_news_petition_id_petitions')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_petition_news')),
    )
    with op.batch_alter_table('petition_news', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_petition_news_petition_id'), ['petition_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('petition_news', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petition_news_petition_id'))
    op.drop_table('petition_news')
