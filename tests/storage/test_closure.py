"""The incremental group closure equals a from-scratch recompute after every kind of change."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from linkbase.bootstrap import prepare_database
from linkbase.domain.uuids import WellKnown
from linkbase.services import groups, links, users
from linkbase.services.context import Caller
from linkbase.services.permissions import Access
from linkbase.settings import Settings
from linkbase.storage import tables
from linkbase.storage.closure import recompute_all
from linkbase.storage.database import Database


def _snapshot(db: Database) -> set[tuple[str, str, int, bool]]:
    with db.read() as conn:
        return {
            (r.group_uuid, r.target_uuid, int(r.level), bool(r.traverse_owned))
            for r in conn.execute(sa.select(tables.group_closure))
        }


def _full_recompute(db: Database) -> set[tuple[str, str, int, bool]]:
    """Rebuild the whole group closure inside a transaction that is rolled back."""
    conn = db.engine.connect()
    transaction = conn.begin()
    try:
        recompute_all(conn)
        return {
            (r.group_uuid, r.target_uuid, int(r.level), bool(r.traverse_owned))
            for r in conn.execute(sa.select(tables.group_closure))
        }
    finally:
        transaction.rollback()
        conn.close()


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_incremental_closure_matches_full_recompute(database_url: str, seed: int) -> None:
    settings = Settings(database_url=database_url)
    db = prepare_database(settings)
    wk = WellKnown(settings.cluster_id)
    admin = Caller(uuid=wk.system_user, is_admin=True, is_active=True)
    rng = random.Random(seed)
    people: list[str] = []
    roles: list[str] = []
    projects: list[str] = []
    grants: list[str] = []
    with db.write() as conn:
        access = Access(conn, admin, wk)
        for i in range(4):
            people.append(users.create_user(access, {"username": f"u{i}"})["uuid"])
        for i in range(3):
            roles.append(groups.create_group(access, {"name": f"r{i}",
                                                      "group_class": "role"})["uuid"])
        for i in range(4):
            owner = rng.choice(people + projects) if projects else rng.choice(people)
            projects.append(groups.create_group(
                access, {"name": f"p{i}", "group_class": "project", "owner_uuid": owner}
            )["uuid"])
    assert _snapshot(db) == _full_recompute(db)
    for step in range(60):
        with db.write() as conn:
            access = Access(conn, admin, wk)
            action = rng.choice(["grant", "grant", "grant", "revoke", "level", "move", "new",
                                 "delete", "active"])
            if action == "new":
                if rng.random() < 0.5:
                    roles.append(groups.create_group(access, {"name": f"r{step}",
                                                              "group_class": "role"})["uuid"])
                else:
                    projects.append(groups.create_group(access, {
                        "name": f"p{step}", "group_class": "project",
                        "owner_uuid": rng.choice(people + projects)})["uuid"])
            elif action == "delete":
                pool = roles if rng.random() < 0.5 or not projects else projects
                if pool:
                    victim = pool.pop(rng.randrange(len(pool)))
                    groups.delete_group(access, victim)
                    alive = {r[0] for r in conn.execute(sa.select(tables.groups.c.uuid))}
                    projects[:] = [p for p in projects if p in alive]
                    roles[:] = [r for r in roles if r in alive]
            elif action == "active":
                person = rng.choice(people)
                row = conn.execute(sa.select(tables.users.c.is_active).where(
                    tables.users.c.uuid == person)).scalar_one()
                users.update_user(access, person, {"is_active": not row})
            elif action == "grant" or not grants:
                tail = rng.choice(people + roles)
                head = rng.choice(people + roles + projects)
                name = rng.choice(["can_read", "can_write", "can_manage"])
                record = links.create_link(access, {"link_class": "permission", "name": name,
                                                    "tail_uuid": tail, "head_uuid": head})
                grants.append(record["uuid"])
            elif action == "revoke":
                uuid = grants.pop(rng.randrange(len(grants)))
                exists = conn.execute(sa.select(tables.links.c.uuid).where(
                    tables.links.c.uuid == uuid)).first()
                if exists:
                    links.delete_link(access, uuid)
            elif action == "level":
                uuid = rng.choice(grants)
                exists = conn.execute(sa.select(tables.links.c.uuid).where(
                    tables.links.c.uuid == uuid)).first()
                if exists:
                    links.update_link(access, uuid, {"name": rng.choice(
                        ["can_read", "can_write", "can_manage"])})
            else:
                project = rng.choice(projects)
                owner = rng.choice(people + projects)
                try:
                    groups.update_group(access, project, {"owner_uuid": owner})
                except Exception as exc:  # cycles are refused; anything else is a bug
                    assert "cycle" in str(exc), exc
        assert _snapshot(db) == _full_recompute(db), f"diverged at step {step} ({action})"
    db.dispose()
