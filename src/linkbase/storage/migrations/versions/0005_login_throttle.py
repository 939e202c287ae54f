"""login throttle: failed sign-ins per username and per client address

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 06:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Failed sign-ins are counted in the database so that every server process (and every
    server sharing a PostgreSQL database) throttles the same attempts."""
    op.create_table('login_failures',
                    sa.Column('key', sa.String(length=320), nullable=False),
                    sa.Column('failures', sa.Integer(), nullable=False),
                    sa.Column('window_start', sa.BigInteger(), nullable=False),
                    sa.Column('locked_until', sa.BigInteger(), nullable=True),
                    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_failures')))


def downgrade() -> None:
    op.drop_table('login_failures')
