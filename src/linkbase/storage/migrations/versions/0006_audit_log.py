"""audit log (Arvados logs)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 06:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """One row per change of a stored object, written in the changing transaction."""
    op.create_table(
        'logs',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True,
                  autoincrement=True),
        sa.Column('object_uuid', sa.String(255), nullable=False),
        sa.Column('object_owner_uuid', sa.String(255), nullable=True),
        sa.Column('event_type', sa.String(16), nullable=False),
        sa.Column('event_at', sa.BigInteger(), nullable=False),
        sa.Column('owner_uuid', sa.String(27), nullable=True),
        sa.Column('request_id', sa.String(1024), nullable=True),
        sa.Column('properties', sa.JSON().with_variant(JSONB(), 'postgresql'), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_logs'),
    )
    op.create_index('ix_logs_object_uuid_id', 'logs', ['object_uuid', 'id'])


def downgrade() -> None:
    op.drop_index('ix_logs_object_uuid_id', table_name='logs')
    op.drop_table('logs')
