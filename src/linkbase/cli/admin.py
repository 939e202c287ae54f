"""Local administration: database, users, tokens, repositories and link definitions.

These commands open the database named by ``--database`` / ``LINKBASE_DATABASE_URL`` directly,
for operators on the server machine (the HTTP commands live in ``cli.resources``).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, NoReturn

import typer

from linkbase.cli.commands import Command, Group
from linkbase.cli.serve import DatabaseOption, _settings
from linkbase.domain.errors import LinkbaseError
from linkbase.services.context import Services, system_caller

db_app = typer.Typer(cls=Group, help="Database schema commands.", no_args_is_help=True)
user_app = typer.Typer(cls=Group, help="Manage users locally.", no_args_is_help=True)
token_app = typer.Typer(cls=Group, help="Issue API tokens locally.", no_args_is_help=True)
repository_app = typer.Typer(cls=Group, help="Manage Laserfiche repositories.", no_args_is_help=True)
definition_app = typer.Typer(cls=Group, help="Manage Laserfiche link definitions.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    print(f"linkbase: {message}", file=sys.stderr)
    raise typer.Exit(1)


@db_app.command("upgrade", cls=Command)
def db_upgrade(database: DatabaseOption = None) -> None:
    """Apply pending migrations and seed a new database.

    Example: linkbase db upgrade --database postgresql://localhost/linkbase
    """
    from linkbase.bootstrap import prepare_database
    from linkbase.storage.migrate import current_revision

    db = prepare_database(_settings(database))
    print(current_revision(db.engine))


@db_app.command("current", cls=Command)
def db_current(database: DatabaseOption = None) -> None:
    """Print the schema revision of the database (``None`` if empty).

    Example: linkbase db current
    """
    from linkbase.storage.database import Database
    from linkbase.storage.migrate import current_revision

    print(current_revision(Database(_settings(database).database_url).engine))


def _open(database: str | None) -> Services:
    """The services of the database named on the command line, migrated and seeded."""
    from linkbase.bootstrap import prepare_database

    settings = _settings(database)
    return Services(prepare_database(settings), settings)


def _run(action: Any) -> Any:
    """Run a service call; a domain error becomes a one-line message and exit status 1."""
    try:
        return action()
    except LinkbaseError as exc:
        _fail(str(exc))


@user_app.command("create", cls=Command)
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
    from linkbase.services.users import add_user

    services = _open(database)
    attrs = {"username": username, "email": email, "first_name": first_name,
             "last_name": last_name, "is_admin": admin}
    record = _run(lambda: add_user(services, attrs, password=password))
    print(record["uuid"])


@user_app.command("list", cls=Command)
def user_list(database: DatabaseOption = None) -> None:
    """List users: uuid, username, email, admin and active flags.

    Example: linkbase user list
    """
    from linkbase.services.users import all_users

    for row in all_users(_open(database)):
        print(f"{row['uuid']}\t{row['username'] or ''}\t{row['email'] or ''}\t"
              f"{'admin' if row['is_admin'] else '-'}\t{'active' if row['is_active'] else '-'}")


@user_app.command("set-password", cls=Command)
def user_set_password(
    user: Annotated[str, typer.Argument(help="Username, email or uuid.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          help="The new password.")],
    database: DatabaseOption = None,
) -> None:
    """Store a salted argon2 hash of a password (used by the Laserfiche token endpoint).

    Example: linkbase user set-password alice --password s3cret
    """
    from linkbase.services.users import change_password

    services = _open(database)
    found = _run(lambda: change_password(services, user, password))
    print(found["uuid"])


@token_app.command("create", cls=Command)
def token_create(
    user: Annotated[str, typer.Argument(help="Username, email or uuid of the token's owner.")],
    expires_in: Annotated[int | None, typer.Option(help="Lifetime in seconds.")] = None,
    database: DatabaseOption = None,
) -> None:
    """Issue an API token for a user and print it.

    Example: linkbase token create alice --expires-in 86400
    """
    from linkbase.services.tokens import issue_for

    services = _open(database)
    print(_run(lambda: issue_for(services, user, expires_in)))


@repository_app.command("create", cls=Command)
def repository_create(
    repository_id: Annotated[str, typer.Argument(help="Repository id, e.g. r-legal.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    database: DatabaseOption = None,
) -> None:
    """Create a repository with an empty root folder owned by the system user.

    Example: linkbase repository create r-legal --name "Legal"
    """
    from linkbase.services.repositories import add_repository

    services = _open(database)
    caller = system_caller(services.well_known)
    _run(lambda: add_repository(services, caller, repository_id, name or repository_id))
    print(repository_id)


@definition_app.command("create", cls=Command)
def definition_create(
    source_label: Annotated[str, typer.Argument(help="Label of the source end.")],
    target_label: Annotated[str, typer.Argument(help="Label of the target end.")],
    description: Annotated[str, typer.Argument(help="Unique description (the link name).")],
    database: DatabaseOption = None,
) -> None:
    """Add a link definition and print its id.

    Example: linkbase link-definition create Contract Amendment "Contract Amendment"
    """
    from linkbase.services.link_definitions import add_definition

    services = _open(database)
    caller = system_caller(services.well_known)
    definition = _run(lambda: add_definition(services, caller, source_label, target_label,
                                             description))
    print(definition["id"])


@definition_app.command("list", cls=Command)
def definition_list(database: DatabaseOption = None) -> None:
    """List link definitions: id, source label, target label, description.

    Example: linkbase link-definition list
    """
    from linkbase.services.link_definitions import all_definitions

    services = _open(database)
    for row in all_definitions(services, system_caller(services.well_known)):
        print(f"{row['id']}\t{row['source_label']}\t{row['target_label']}\t"
              f"{row['description']}")


def verify(
    repair: Annotated[bool, typer.Option("--repair", help="Rebuild the derived tables from the "
                                         "stored objects, then check again.")] = False,
    database: DatabaseOption = None,
) -> None:
    """Check the permission closure and edges against a full recompute (exit 1 if they differ).

    Runs in one read snapshot without locks, so the server can keep serving. With --repair the
    derived tables are rebuilt under the permission-graph lock.

    Example: linkbase verify --database postgresql://localhost/linkbase
    """
    from linkbase.services import verification

    services = _open(database)
    report = verification.verify(services)
    _print_report(report)
    if not report.ok and repair:
        report = verification.repair(services)
        print("repaired; checked again:")
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: Any) -> None:
    for difference in report.differences:
        print(difference.describe())
    print(f"permission_edges: {report.edges} rows, {report.edge_differences} differences")
    print(f"group_closure: {report.closure_rows} rows, {report.closure_differences} differences")
    if report.duplicate_grants:
        print(f"duplicate grants (legacy, allowed): {len(report.duplicate_grants)}")
    print("ok" if report.ok else "DIFFERENT")


def register(app: typer.Typer) -> None:
    """Attach the admin command groups."""
    app.command("verify")(verify)
    app.add_typer(db_app, name="db")
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(repository_app, name="repository")
    app.add_typer(definition_app, name="link-definition")
