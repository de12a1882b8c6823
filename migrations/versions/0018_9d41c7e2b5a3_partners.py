"""Partners: the organisations running the campaign with us, their API keys (stored hashed),
their own opt-in question, webhook endpoints; and on each signature, the partner it came
through and the signer's answer to that partner's question.

Revision ID: 9d41c7e2b5a3
Revises: 3c5e8a1b7d20
Create Date: 2026-11-30 09:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '9d41c7e2b5a3'
down_revision = '3c5e8a1b7d20'
branch_labels = None
depends_on = None

OPTED_IN = 'partner_consented_at IS NOT NULL'
SIGNATURE_COLUMNS = (
    ('partner_id', 'INTEGER', 'fk_signatures_partner_id_partners', 'partners'),
    ('partner_wording_id', 'INTEGER', 'fk_signatures_partner_wording_id_partner_wordings', 'partner_wordings'),
)


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.create_table('partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('website', sa.String(length=300), server_default='', nullable=False),
    sa.Column('asks_opt_in', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('slug', name=op.f('uq_partners_slug'))
    )
    op.create_table('partner_wordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_wordings_partner_id_partners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_wordings'))
    )
    op.create_table('partner_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('can_write', sa.Boolean(), nullable=False),
    sa.Column('trusted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_keys_partner_id_partners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_partner_keys_key_hash'))
    )
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_webhook_endpoints_partner_id_partners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    for table in ('partner_wordings', 'partner_keys', 'webhook_endpoints'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_partner_id'), ['partner_id'], unique=False)

    # Nullable columns with no default: instant on PostgreSQL whatever the number of rows.
    for name, kind, constraint, target in SIGNATURE_COLUMNS:
        if postgres:
            op.add_column('signatures', sa.Column(name, sa.Integer(), nullable=True))
            op.create_foreign_key(constraint, 'signatures', target, [name], ['id'], postgresql_not_valid=True)
        else:  # SQLite adds a column's reference only in the column's own definition
            op.execute(f'ALTER TABLE signatures ADD COLUMN {name} {kind} '
                       f'CONSTRAINT {constraint} REFERENCES {target} (id)')
    op.add_column('signatures', sa.Column('partner_consented_at', sa.DateTime(timezone=True), nullable=True))

    columns = ['partner_id', 'petition_id', 'id']
    if not postgres:
        op.create_index('ix_signatures_partner_opted_in', 'signatures', columns, sqlite_where=sa.text(OPTED_IN))
        return
    with op.get_context().autocommit_block():
        op.create_index(
            'ix_signatures_partner_opted_in', 'signatures', columns,
            postgresql_concurrently=True, if_not_exists=True, postgresql_where=sa.text(OPTED_IN),
        )


def downgrade():
    op.drop_index('ix_signatures_partner_opted_in', table_name='signatures', postgresql_where=sa.text(OPTED_IN), sqlite_where=sa.text(OPTED_IN))
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        for name, _, constraint, _ in SIGNATURE_COLUMNS:
            batch_op.drop_constraint(constraint, type_='foreignkey')
        batch_op.drop_column('partner_consented_at')
        batch_op.drop_column('partner_wording_id')
        batch_op.drop_column('partner_id')
    for table in ('webhook_endpoints', 'partner_keys', 'partner_wordings'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_partner_id'))
        op.drop_table(table)
    op.drop_table('partners')
