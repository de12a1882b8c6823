"""Articles, and their page views counted per day.

Revision ID: 0f8abc5c0b5f
Revises: 5b6b39903704
Create Date: 2026-11-26 13:38:28.774242

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0f8abc5c0b5f'
down_revision = '5b6b39903704'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('headline', sa.String(length=200), nullable=False),
    sa.Column('standfirst', sa.String(length=300), nullable=False),
    sa.Column('key_points', sa.JSON(), nullable=False),
    sa.Column('share_description', sa.String(length=200), nullable=True),
    sa.Column('source_url', sa.String(length=500), nullable=False),
    sa.Column('publisher', sa.String(length=120), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=False),
    sa.Column('image_url', sa.String(length=500), nullable=True),
    sa.Column('image_alt', sa.String(length=300), nullable=True),
    sa.Column('petition_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('draft', 'published', name='state', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_articles_petition_id_petitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_articles')),
    sa.UniqueConstraint('slug', name=op.f('uq_articles_slug'))
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_articles_petition_id'), ['petition_id'], unique=False)
        batch_op.create_index('ix_articles_state_published_on', ['state', 'published_on'], unique=False)

    op.create_table('article_daily_views',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_daily_views_article_id_articles')),
    sa.PrimaryKeyConstraint('article_id', 'day', name=op.f('pk_article_daily_views'))
    )


def downgrade():
    op.drop_table('article_daily_views')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ix_articles_state_published_on')
        batch_op.drop_index(batch_op.f('ix_articles_petition_id'))

    op.drop_table('articles')
