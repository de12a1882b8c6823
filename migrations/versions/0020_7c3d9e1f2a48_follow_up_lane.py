"""Receipts get a mail lane of their own (2, follow-up): after transactional mail, never held to
the mailings' rate. Receipts still waiting move there.

Revision ID: 7c3d9e1f2a48
Revises: 5b2e8f4a1c67
Create Date: 2026-11-30 13:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7c3d9e1f2a48'
down_revision = '5b2e8f4a1c67'
branch_labels = None
depends_on = None

WAITING = "kind = 'receipt' AND sent_at IS NULL AND failed_at IS NULL"


def upgrade():
    op.execute(f"UPDATE outbox SET lane = 2 WHERE {WAITING}")


def downgrade():
    op.execute(f"UPDATE outbox SET lane = 1 WHERE {WAITING}")
