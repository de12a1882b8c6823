"""The petition page that turns readers into signers: whom it asks, who started it, what
happens at thresholds, a hero picture stored by us, and recent signers who asked to be shown.

On PostgreSQL the new index on `signatures` is built CONCURRENTLY after the quick DDL has
committed, so signing goes on throughout.

Revision ID: 6a1f0c2d9e47
Revises: 82b7b4ca2729
Create Date: 2026-11-30 05:50:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '6a1f0c2d9e47'
down_revision = '82b7b4ca2729'
branch_labels = None
depends_on = None

SHOWN = "show_publicly AND state = 'confirmed'"


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        # In the order signing and confirming take them (see 0014), held for milliseconds.
        op.execute('LOCK TABLE signatures, count_journal, petitions IN ACCESS EXCLUSIVE MODE')
    op.create_table('images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('upload_digest', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_images')),
    sa.UniqueConstraint('upload_digest', name=op.f('uq_images_upload_digest'))
    )
    op.create_table('image_renditions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_image_renditions_image_id_images'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_renditions')),
    sa.UniqueConstraint('digest', name=op.f('uq_image_renditions_digest'))
    )
    with op.batch_alter_table('image_renditions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_renditions_image_id'), ['image_id'], unique=False)

    # Plain ADD COLUMNs (no table rebuild on SQLite, instant on PostgreSQL 11+ whatever the
    # number of rows); the defaults stay, as in 0005 and 0014.
    op.add_column('petitions', sa.Column('addressee', sa.String(length=200), nullable=False, server_default=''))
    op.add_column('petitions', sa.Column('starter', sa.String(length=200), nullable=False, server_default=''))
    op.add_column('petitions', sa.Column('thresholds', sa.JSON(), nullable=False, server_default='[]'))
    if postgres:
        op.add_column('petitions', sa.Column('image_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_petitions_image_id_images'), 'petitions', 'images', ['image_id'], ['id'])
    else:  # SQLite adds a column's reference only in the column's own definition
        op.execute('ALTER TABLE petitions ADD COLUMN image_id INTEGER '
                   'CONSTRAINT fk_petitions_image_id_images REFERENCES images (id)')
    op.add_column('petitions', sa.Column('image_alt', sa.String(length=300), nullable=False, server_default=''))
    op.add_column('petitions', sa.Column('show_recent_signers', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('signatures', sa.Column('show_publicly', sa.Boolean(), nullable=False, server_default=sa.false()))

    if not postgres:
        op.create_index('ix_signatures_shown_confirmed_at', 'signatures', ['petition_id', 'confirmed_at'], sqlite_where=sa.text(SHOWN))
        return
    with op.get_context().autocommit_block():
        op.create_index(
            'ix_signatures_shown_confirmed_at', 'signatures', ['petition_id', 'confirmed_at'],
            postgresql_concurrently=True, if_not_exists=True, postgresql_where=sa.text(SHOWN),
        )


def downgrade():
    op.drop_index('ix_signatures_shown_confirmed_at', table_name='signatures', postgresql_where=sa.text(SHOWN), sqlite_where=sa.text(SHOWN))
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('show_publicly')
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_petitions_image_id_images', type_='foreignkey')
        batch_op.drop_column('show_recent_signers')
        batch_op.drop_column('image_alt')
        batch_op.drop_column('image_id')
        batch_op.drop_column('thresholds')
        batch_op.drop_column('starter')
        batch_op.drop_column('addressee')
    with op.batch_alter_table('image_renditions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_renditions_image_id'))
    op.drop_table('image_renditions')
    op.drop_table('images')
