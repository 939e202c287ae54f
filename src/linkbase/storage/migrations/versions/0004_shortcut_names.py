"""shortcut names unique in their folder

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-09 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_WHERE = sa.text("link_class = 'shortcut'")


def upgrade() -> None:
    """A partial unique index backs the rule that a Laserfiche shortcut's name is unique among
    the shortcuts of its folder (the link's owner), under concurrency."""
    op.create_index('uq_links_shortcut_owner_uuid_name', 'links', ['owner_uuid', 'name'],
                    unique=True, sqlite_where=_WHERE, postgresql_where=_WHERE)


def downgrade() -> None:
    op.drop_index('uq_links_shortcut_owner_uuid_name', table_name='links')
