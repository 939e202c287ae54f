"""concurrency: published_port names unique in the database; the reference guard table

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 18:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_WHERE = sa.text("link_class = 'published_port'")


def upgrade() -> None:
    """A partial unique index backs the published_port name rule under concurrency."""
    op.create_index('uq_links_published_port_name', 'links', ['name'], unique=True,
                    sqlite_where=_WHERE, postgresql_where=_WHERE)
    op.create_table('reference_guard',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_guard')))


def downgrade() -> None:
    op.drop_table('reference_guard')
    op.drop_index('uq_links_published_port_name', table_name='links')
