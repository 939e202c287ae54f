"""Local administration: database, users, tokens, repositories and link definitions.

These commands open the database named by ``--database`` / ``LINKBASE_DATABASE_URL`` directly,
for operators on the server machine (the HTTP commands live in ``cli.resources``).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, NoReturn

import sqlalchemy as sa
import typer

from linkbase.cli.serve import DatabaseOption, _settings
from linkbase.domain.errors import LinkbaseError
from linkbase.domain.timestamps import now_micros
from linkbase.domain.uuids import WellKnown
from linkbase.services.context import Caller

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users locally.", no_args_is_help=True)
token_app = typer.Typer(help="Issue API tokens locally.", no_args_is_help=True)
repository_app = typer.Typer(help="Manage Laserfiche repositories.", no_args_is_help=True)
definition_app = typer.Typer(help="Manage Laserfiche link definitions.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    print(f"linkbase: {message}", file=sys.stderr)
    raise typer.Exit(1)


def _system_caller(wk: WellKnown) -> Caller:
    return Caller(uuid=wk.system_user, is_admin=True, is_active=True, username="root")


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOption = None) -> None:
    """Apply pending migrations and seed a new database.

    Example: linkbase db upgrade --database postgresql://localhost/linkbase
    """
    from linkbase.bootstrap import prepare_database
    from linkbase.storage.migrate import current_revision

    db = prepare_database(_settings(database))
    print(current_revision(db.engine))


@db_app.command("current")
def db_current(database: DatabaseOption = None) -> None:
    """Print the schema revision of the database (``None`` if empty).

    Example: linkbase db current
    """
    from linkbase.storage.database import Database
    from linkbase.storage.migrate import current_revision

    print(current_revision(Database(_settings(database).database_url).engine))


def _find_user(conn: sa.Connection, user: str) -> dict[str, Any]:
    """A user by uuid, username or email; exits with a one-line error when there is none."""
    from linkbase.services.users import find_user_by_login
    from linkbase.storage import tables

    row = conn.execute(sa.select(tables.users).where(tables.users.c.uuid == user)).first()
    found = dict(row._mapping) if row else find_user_by_login(conn, user)
    if found is None:
        _fail(f"no such user '{user}'")
    return found


def _open(database: str | None) -> tuple[object, WellKnown]:
    from linkbase.bootstrap import prepare_database

    settings = _settings(database)
    return prepare_database(settings), WellKnown(settings.cluster_id)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    email: Annotated[str | None, typer.Option(help="Email address.")] = None,
    first_name: Annotated[str | None, typer.Option(help="First name.")] = None,
    last_name: Annotated[str | None, typer.Option(help="Last name.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    password: Annotated[str | None, typer.Option(help="Password for the Laserfiche token.")
                        ] = None,
    database: DatabaseOption = None,
) -> None:
    """Create an active, set-up user and print its uuid.

    Example: linkbase user create alice --email alice@example.com --password s3cret
    """
    from linkbase.services.permissions import Access
    from linkbase.services.users import create_user
    from linkbase.storage.database import Database

    db, wk = _open(database)
    assert isinstance(db, Database)
    try:
        with db.write() as conn:
            record = create_user(
                Access(conn, _system_caller(wk), wk),
                {"username": username, "email": email, "first_name": first_name,
                 "last_name": last_name, "is_admin": admin},
                password=password,
            )
    except LinkbaseError as exc:
        _fail(str(exc))
        return
    print(record["uuid"])


@user_app.command("list")
def user_list(database: DatabaseOption = None) -> None:
    """List users: uuid, username, email, admin and active flags.

    Example: linkbase user list
    """
    from linkbase.storage import tables
    from linkbase.storage.database import Database

    db, _wk = _open(database)
    assert isinstance(db, Database)
    with db.read() as conn:
        rows = conn.execute(sa.select(tables.users).order_by(tables.users.c.created_at))
        for row in rows:
            print(f"{row.uuid}\t{row.username or ''}\t{row.email or ''}\t"
                  f"{'admin' if row.is_admin else '-'}\t{'active' if row.is_active else '-'}")


@user_app.command("set-password")
def user_set_password(
    user: Annotated[str, typer.Argument(help="Username, email or uuid.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          help="The new password.")],
    database: DatabaseOption = None,
) -> None:
    """Store a salted argon2 hash of a password (used by the Laserfiche token endpoint).

    Example: linkbase user set-password alice --password s3cret
    """
    from linkbase.services.users import set_password
    from linkbase.storage.database import Database

    db, _wk = _open(database)
    assert isinstance(db, Database)
    with db.write() as conn:
        found = _find_user(conn, user)
        set_password(conn, found["uuid"], password)
    print(found["uuid"])


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Argument(help="Username, email or uuid of the token's owner.")],
    expires_in: Annotated[int | None, typer.Option(help="Lifetime in seconds.")] = None,
    database: DatabaseOption = None,
) -> None:
    """Issue an API token for a user and print it.

    Example: linkbase token create alice --expires-in 86400
    """
    from linkbase.services.tokens import issue_token
    from linkbase.storage.database import Database

    db, wk = _open(database)
    assert isinstance(db, Database)
    with db.write() as conn:
        found = _find_user(conn, user)
        expires = now_micros() + expires_in * 1_000_000 if expires_in is not None else None
        record = issue_token(conn, wk, found["uuid"], actor_uuid=wk.system_user,
                             expires_at=expires)
    print(record["api_token"])


@repository_app.command("create")
def repository_create(
    repository_id: Annotated[str, typer.Argument(help="Repository id, e.g. r-legal.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    database: DatabaseOption = None,
) -> None:
    """Create a repository with an empty root folder owned by the system user.

    Example: linkbase repository create r-legal --name "Legal"
    """
    from linkbase.services.repositories import create_repository_with_root
    from linkbase.storage.database import Database

    db, wk = _open(database)
    assert isinstance(db, Database)
    try:
        with db.write() as conn:
            create_repository_with_root(conn, wk, repository_id, name or repository_id)
    except LinkbaseError as exc:
        _fail(str(exc))
    print(repository_id)


@definition_app.command("create")
def definition_create(
    source_label: Annotated[str, typer.Argument(help="Label of the source end.")],
    target_label: Annotated[str, typer.Argument(help="Label of the target end.")],
    description: Annotated[str, typer.Argument(help="Unique description (the link name).")],
    database: DatabaseOption = None,
) -> None:
    """Add a link definition and print its id.

    Example: linkbase link-definition create Contract Amendment "Contract Amendment"
    """
    from linkbase.services.link_definitions import create_link_definition
    from linkbase.storage.database import Database

    db, _wk = _open(database)
    assert isinstance(db, Database)
    try:
        with db.write() as conn:
            definition = create_link_definition(conn, source_label, target_label, description)
    except LinkbaseError as exc:
        _fail(str(exc))
        return
    print(definition["id"])


@definition_app.command("list")
def definition_list(database: DatabaseOption = None) -> None:
    """List link definitions: id, source label, target label, description.

    Example: linkbase link-definition list
    """
    from linkbase.storage import tables
    from linkbase.storage.database import Database

    db, _wk = _open(database)
    assert isinstance(db, Database)
    with db.read() as conn:
        for row in conn.execute(
            sa.select(tables.link_definitions).order_by(tables.link_definitions.c.id)
        ):
            print(f"{row.id}\t{row.source_label}\t{row.target_label}\t{row.description}")


def register(app: typer.Typer) -> None:
    """Attach the admin command groups."""
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(repository_app, name="repository")
    app.add_typer(definition_app, name="link-definition")
