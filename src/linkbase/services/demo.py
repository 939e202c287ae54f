"""A small, realistic world for a first look: ``linkbase demo`` and ``linkbase serve --demo``.

Three people curate records: Alice (manages the Records team), Bob (a member) and Carol (who may
only read the board papers). The default Laserfiche repository gets folders of contracts, board
meetings and correspondence with their documents, linked by the Laserfiche link definitions
(an amendment superseding another, an agenda and its packet, an email and its attachment) with
custom properties; Alice also has an Arvados project of sequencing data. Stars, tags and grants
make every page of the workbench show something.

Everything is created through the same use cases the API faces call, acting as the person who
would do it (Alice links her own documents), so the demo also exercises the permission rules.
It only fills an empty database: one with nothing but the seeded objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from linkbase.domain.errors import ConflictError
from linkbase.domain.resources import RESOURCES
from linkbase.services import entries, laserfiche_links, link_definitions, objects, tokens, users
from linkbase.services.context import Caller, Services, system_caller
from linkbase.services.laserfiche_links import LinkSpec
from linkbase.services.permissions import Access
from linkbase.services.seeding import DEFAULT_REPOSITORY
from linkbase.storage import tables

#: (username, first name, last name, what they do here)
PEOPLE = (
    ("alice", "Alice", "Archer", "records manager: manages the Records team"),
    ("bob", "Bob", "Baker", "records clerk: member of the Records team"),
    ("carol", "Carol", "Chen", "board member: reads the board meeting papers only"),
)
#: folder name -> documents in it
FOLDERS = {
    "Contracts": ("Master Services Agreement.pdf", "Amendment 1.pdf", "Amendment 2.pdf"),
    "Board Meetings": ("2024-03 Agenda.pdf", "2024-03 Packet.pdf", "2024-03 Minutes.pdf"),
    "Correspondence": ("Email from Acme Corp.msg", "Signed order form.pdf"),
}
CONTRACT_AMENDMENT = ("Contract", "Amendment", "Contract Amendment")


def password_of(username: str) -> str:
    """The demo password of a demo user (printed by ``linkbase demo``; never use in earnest)."""
    return f"{username}-demo"


@dataclass
class DemoPerson:
    """A demo user and how to sign in as them."""

    username: str
    full_name: str
    role: str
    uuid: str
    password: str
    token: str


@dataclass
class DemoWorld:
    """What :func:`fill` created: people to sign in as and objects worth opening."""

    repository_id: str
    people: list[DemoPerson] = field(default_factory=list)
    #: A few named objects (name -> uuid), e.g. the folders and the contract.
    objects: dict[str, str] = field(default_factory=dict)


def is_empty(access: Access) -> bool:
    """Only the seeded objects: no other user, no collection, no project but repository roots."""
    wk = access.wk
    conn = access.conn
    others = conn.execute(sa.select(sa.func.count()).select_from(tables.users).where(
        tables.users.c.uuid.not_in([wk.system_user, wk.anonymous_user]))).scalar_one()
    collections = conn.execute(
        sa.select(sa.func.count()).select_from(tables.collections)).scalar_one()
    roots = sa.select(tables.repositories.c.root_uuid)
    groups = conn.execute(sa.select(sa.func.count()).select_from(tables.groups).where(
        tables.groups.c.uuid.not_in(sorted(wk.protected)), tables.groups.c.uuid.not_in(roots),
    )).scalar_one()
    return int(others) + int(collections) + int(groups) == 0


def _caller(record: dict[str, Any]) -> Caller:
    return Caller(uuid=record["uuid"], is_admin=False, is_active=True,
                  username=record["username"])


def _create(services: Services, caller: Caller, resource: str, attrs: dict[str, Any]) -> str:
    return str(objects.create(services, caller, RESOURCES[resource], attrs)["uuid"])


def _grant(services: Services, tail: str, head: str, level: str) -> None:
    _create(services, system_caller(services.well_known), "links",
            {"link_class": "permission", "name": level, "tail_uuid": tail, "head_uuid": head})


def fill(services: Services) -> DemoWorld:
    """Create the demo world in an empty database (ConflictError otherwise)."""
    admin = system_caller(services.well_known)
    if not services.uow.read(admin, is_empty):
        raise ConflictError("the database is not empty: the demo only fills a new database")
    world = DemoWorld(DEFAULT_REPOSITORY)
    callers: dict[str, Caller] = {}
    for username, first, last, role in PEOPLE:
        record = users.add_user(services, {
            "username": username, "first_name": first, "last_name": last,
            "email": f"{username}@example.org"}, password=password_of(username))
        callers[username] = _caller(record)
        world.people.append(DemoPerson(username, f"{first} {last}", role, record["uuid"],
                                       password_of(username), tokens.issue_for(services,
                                                                                username)))
    alice, bob, carol = callers["alice"], callers["bob"], callers["carol"]
    team = _create(services, alice, "groups", {
        "group_class": "role", "name": "Records team",
        "description": "Files and links the organisation's records."})
    _grant(services, bob.uuid, team, "can_write")
    world.objects["Records team"] = team

    repo = DEFAULT_REPOSITORY
    docs: dict[str, int] = {}
    for folder_name, documents in FOLDERS.items():
        folder = entries.add_folder(services, admin, repo, 1, folder_name)
        world.objects[folder_name] = folder.uuid
        _grant(services, team, folder.uuid, "can_write")
        for name in documents:
            doc = entries.add_document(services, admin, repo, folder.entry_id, name,
                                       {"department": "Legal" if folder_name == "Contracts"
                                        else "Administration"})
            docs[name] = doc.entry_id
            world.objects[name] = doc.uuid
    _grant(services, carol.uuid, world.objects["Board Meetings"], "can_read")

    definitions = {d["description"]: int(d["id"])
                   for d in link_definitions.all_definitions(services, admin)}
    added = link_definitions.add_definition(services, admin, *CONTRACT_AMENDMENT)
    definitions[CONTRACT_AMENDMENT[2]] = int(added["id"])
    msa = docs["Master Services Agreement.pdf"]
    laserfiche_links.replace_links(services, alice, repo, msa, [
        LinkSpec(definitions["Contract Amendment"], docs["Amendment 1.pdf"], True,
                 {"effective": "2024-02-01", "signed_by": "Acme Corp"}),
        LinkSpec(definitions["Contract Amendment"], docs["Amendment 2.pdf"], True,
                 {"effective": "2024-06-01", "signed_by": "Acme Corp"}),
    ])
    laserfiche_links.replace_links(services, alice, repo, docs["Amendment 2.pdf"], [
        LinkSpec(definitions["Contract Amendment"], msa, False,
                 {"effective": "2024-06-01", "signed_by": "Acme Corp"}),
        LinkSpec(definitions["Supersedes"], docs["Amendment 1.pdf"], True,
                 {"reason": "Price schedule replaced"}),
    ])
    laserfiche_links.replace_links(services, bob, repo, docs["2024-03 Agenda.pdf"], [
        LinkSpec(definitions["Agenda Packet"], docs["2024-03 Packet.pdf"], True,
                 {"meeting": "2024-03-12"}),
    ])
    laserfiche_links.replace_links(services, bob, repo, docs["Email from Acme Corp.msg"], [
        LinkSpec(definitions["Email Attachment"], docs["Signed order form.pdf"], True, {}),
    ])

    genomics = _create(services, alice, "groups", {
        "group_class": "project", "name": "Genomics 2024",
        "description": "Sequencing runs and their quality reports.",
        "properties": {"funding": "Grant 42", "status": "active"}})
    world.objects["Genomics 2024"] = genomics
    samples = [_create(services, alice, "collections", {
        "name": f"sample-00{i}.fastq", "owner_uuid": genomics,
        "properties": {"organism": "E. coli", "run": "2024-05-02"}}) for i in (1, 2)]
    report = _create(services, alice, "collections", {
        "name": "QC report.pdf", "owner_uuid": genomics, "properties": {"tool": "FastQC"}})
    for sample in samples:
        _create(services, alice, "links", {
            "link_class": "provenance", "name": "quality checked in", "tail_uuid": sample,
            "head_uuid": report, "properties": {"step": "fastqc", "version": "0.12"}})
    _grant(services, carol.uuid, genomics, "can_read")

    for who, what in ((alice, "Contracts"), (alice, "Genomics 2024"),
                      (bob, "Master Services Agreement.pdf")):
        _create(services, who, "links", {"link_class": "star", "owner_uuid": who.uuid,
                                         "tail_uuid": who.uuid, "head_uuid": world.objects[what]})
    for who, tag, what in ((alice, "urgent", world.objects["Amendment 2.pdf"]),
                           (bob, "reviewed", world.objects["Master Services Agreement.pdf"]),
                           (alice, "pii", samples[0])):
        _create(services, who, "links", {"link_class": "tag", "name": tag, "head_uuid": what})
    return world
