"""Arv-style resource commands: ``linkbase <resource> <verb> [options]``.

The syntax mirrors the Arvados ``arv`` tool so existing scripts and muscle memory carry over::

    linkbase --format=uuid link create --link '{"link_class": "star", ...}'
    linkbase link list --filters '[["link_class", "=", "star"]]'
    linkbase link delete --uuid zzzzz-o0j2j-0123456789abcde

Every resource gets the same verbs, built from one table (``RESOURCES``) so they cannot drift
apart. The commands only translate options into client calls; validation of values is left to
the server, whose messages are shown verbatim (``linkbase: <message>``, exit status 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer
from rich.markup import escape

from linkbase.cli.commands import Command, Group
from linkbase.cli.output import (
    CliUsageError,
    CountMode,
    emit,
    parse_json_array,
    parse_json_object,
    parse_name_list,
    state,
)
from linkbase.client import MAX_PAGE, LinksAPI, ResourceAPI, TokensAPI, UsersAPI

# Examples name objects every new database has (spec §2.2), so they work when pasted.
_PUBLIC_FAVORITES = "zzzzz-j7d0g-publicfavorites"
_PROJECT = _PUBLIC_FAVORITES
_USER = "zzzzz-tpzed-000000000000000"


@dataclass(frozen=True)
class ResourceSpec:
    """One Arvados resource as the CLI presents it."""

    #: Command name (``link``), also the Arvados wrapper key of bodies.
    command: str
    #: Client attribute / URL segment (``links``).
    resource: str
    #: Plural shown in help texts.
    plural: str
    #: A realistic body for the create example.
    create_example: str
    #: A realistic body for the update example.
    update_example: str | None
    #: A realistic ``--filters`` value for the list example.
    list_example: str
    #: Sample uuid for get/delete examples.
    sample_uuid: str
    #: Extra verbs beyond create/get/update/delete/list.
    extras: tuple[str, ...] = ()

    @property
    def body_flags(self) -> tuple[str, ...]:
        """``--link``; ``--api-client-authorization`` and ``--api_client_authorization``."""
        dashed = f"--{self.command.replace('_', '-')}"
        underscored = f"--{self.command}"
        return (dashed,) if dashed == underscored else (dashed, underscored)


RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        command="link",
        resource="links",
        plural="links",
        create_example='{"link_class": "tag", "name": "reviewed", '
        '"head_uuid": "zzzzz-j7d0g-fffffffffffffff"}',
        update_example='{"properties": {"note": "reviewed"}}',
        list_example=(
            f'[["link_class", "=", "star"], '
            f'["tail_uuid", "in", ["{_PUBLIC_FAVORITES}", "{_USER}"]]]'
        ),
        sample_uuid="zzzzz-o0j2j-0123456789abcde",
        extras=("get_permissions",),
    ),
    ResourceSpec(
        command="user",
        resource="users",
        plural="users",
        create_example=(
            '{"email": "ada@example.org", "username": "ada", '
            '"first_name": "Ada", "last_name": "Lovelace"}'
        ),
        update_example='{"first_name": "Augusta"}',
        list_example='[["is_active", "=", true], ["username", "like", "a%"]]',
        sample_uuid=_USER,
        extras=("current",),
    ),
    ResourceSpec(
        command="group",
        resource="groups",
        plural="groups (projects, roles, filter groups)",
        create_example='{"group_class": "project", "name": "Reports"}',
        update_example='{"description": "Quarterly reports"}',
        list_example='[["group_class", "=", "project"]]',
        sample_uuid=_PROJECT,
    ),
    ResourceSpec(
        command="collection",
        resource="collections",
        plural="collections",
        create_example=f'{{"name": "scan-0001.pdf", "owner_uuid": "{_PROJECT}"}}',
        update_example='{"properties": {"status": "final"}}',
        list_example=f'[["owner_uuid", "=", "{_PROJECT}"]]',
        sample_uuid="zzzzz-4zz18-0123456789abcde",
    ),
    ResourceSpec(
        command="api_client_authorization",
        resource="api_client_authorizations",
        plural="API tokens",
        create_example=f'{{"owner_uuid": "{_USER}", "scopes": ["all"]}}',
        update_example=None,  # the server serves no update for tokens (spec §10)
        list_example=f'[["owner_uuid", "=", "{_USER}"]]',
        sample_uuid="zzzzz-gj3su-000000000000000",
        extras=("current",),
    ),
)


def _examples(*lines: str) -> str:
    """An "Examples" help paragraph; escaped because JSON brackets look like rich markup."""
    body = "\n".join(f"  $ {escape(line)}" for line in lines)
    return f"[b]Examples[/b]\n\n{body}"


def _api(ctx: typer.Context, spec: ResourceSpec) -> ResourceAPI:
    return state(ctx).client().resource(spec.resource)


def _select(value: str | None) -> list[str] | None:
    return parse_name_list(value, "--select") if value is not None else None


_SELECT_HELP = 'Attributes to return: JSON array (\'["uuid","name"]\') or comma list.'
_UUID_HELP = "The object's uuid (or give it as the first argument)."


def _uuid_argument(help_text: str = "The object's uuid (or use --uuid).") -> Any:
    return typer.Argument(None, metavar="UUID", help=help_text, show_default=False)


def _uuid_option(help_text: str = _UUID_HELP) -> Any:
    return typer.Option(None, "--uuid", help=help_text, show_default=False)


def _one_uuid(positional: str | None, option: str | None) -> str:
    """The uuid given as ``UUID`` or ``--uuid`` (both: they must agree; neither: usage error)."""
    if positional and option and positional != option:
        raise CliUsageError(f"two different uuids given: {positional} and --uuid {option}")
    value = positional or option
    if not value:
        raise CliUsageError("Missing argument 'UUID' (or option '--uuid')")
    return value


def _body_help(spec: ResourceSpec) -> str:
    return (
        f"The {spec.command} attributes: a JSON object, @FILE to read it from a file, "
        "or - to read it from stdin."
    )


def _add_create(app: typer.Typer, spec: ResourceSpec) -> None:
    flag = spec.body_flags[0]

    def create(
        ctx: typer.Context,
        body: str = typer.Option(..., *spec.body_flags, help=_body_help(spec), show_default=False),
        select: str | None = typer.Option(None, "--select", help=_SELECT_HELP),
        ensure_unique_name: bool = typer.Option(
            False,
            "--ensure-unique-name",
            "--ensure_unique_name",
            help="Rename instead of failing when the name is taken.",
        ),
    ) -> None:
        attrs = parse_json_object(body, flag)
        api = _api(ctx, spec)
        emit(
            ctx,
            api.create(
                attrs, select=_select(select), ensure_unique_name=ensure_unique_name or None
            ),
        )

    create.__doc__ = (
        f"Create a {spec.command} and print it.\n\n"
        + _examples(
            f"linkbase {spec.command} create {flag} '{spec.create_example}'",
            f"linkbase --format=uuid {spec.command} create {flag} @{spec.command}.json",
        )
    )
    app.command("create", cls=Command)(create)


def _add_get(app: typer.Typer, spec: ResourceSpec) -> None:
    def get(
        ctx: typer.Context,
        uuid_arg: str | None = _uuid_argument(),
        uuid: str | None = _uuid_option(),
        select: str | None = typer.Option(None, "--select", help=_SELECT_HELP),
    ) -> None:
        emit(ctx, _api(ctx, spec).get(_one_uuid(uuid_arg, uuid), select=_select(select)))

    get.__doc__ = f"Show one {spec.command}.\n\n" + _examples(
        f"linkbase {spec.command} get {spec.sample_uuid}",
        f"linkbase --format=yaml {spec.command} get --uuid {spec.sample_uuid}",
    )
    app.command("get", cls=Command)(get)


def _add_update(app: typer.Typer, spec: ResourceSpec) -> None:
    flag = spec.body_flags[0]

    def update(
        ctx: typer.Context,
        uuid_arg: str | None = _uuid_argument(),
        uuid: str | None = _uuid_option(),
        body: str = typer.Option(
            ..., *spec.body_flags, help=_body_help(spec) + " Only these change.",
            show_default=False,
        ),
        select: str | None = typer.Option(None, "--select", help=_SELECT_HELP),
    ) -> None:
        target = _one_uuid(uuid_arg, uuid)
        attrs = parse_json_object(body, flag)
        emit(ctx, _api(ctx, spec).update(target, attrs, select=_select(select)))

    update.__doc__ = f"Change some attributes of a {spec.command}.\n\n" + _examples(
        f"linkbase {spec.command} update --uuid {spec.sample_uuid} "
        f"{flag} '{spec.update_example}'",
    )
    app.command("update", cls=Command)(update)


def _add_delete(app: typer.Typer, spec: ResourceSpec) -> None:
    def delete(
        ctx: typer.Context,
        uuid_arg: str | None = _uuid_argument(),
        uuid: str | None = _uuid_option(),
    ) -> None:
        emit(ctx, _api(ctx, spec).delete(_one_uuid(uuid_arg, uuid)))

    extra = (
        " Links pointing at it are deleted too." if spec.command != "link" else ""
    )
    delete.__doc__ = (
        f"Delete a {spec.command} and print it as it was.{extra}\n\n"
        + _examples(f"linkbase {spec.command} delete {spec.sample_uuid}")
    )
    app.command("delete", cls=Command)(delete)


def _add_list(app: typer.Typer, spec: ResourceSpec) -> None:
    def list_(
        ctx: typer.Context,
        filters: str | None = typer.Option(
            None,
            "--filters",
            help=escape("JSON array of [attribute, operator, operand] conditions (or @FILE, -)."),
        ),
        where: str | None = typer.Option(
            None, "--where", help='JSON object of attribute: value conditions (legacy).'
        ),
        order: str | None = typer.Option(
            None,
            "--order",
            help='Sort order: JSON array (\'["name asc", "uuid desc"]\') or comma list.',
        ),
        limit: int | None = typer.Option(
            None, "--limit", min=0, max=MAX_PAGE,
            help=f"Maximum number of items (server default 100, at most {MAX_PAGE}; page with "
            "--offset, or use export for everything).",
        ),
        offset: int | None = typer.Option(None, "--offset", min=0, help="Items to skip."),
        select: str | None = typer.Option(None, "--select", help=_SELECT_HELP),
        count: CountMode | None = typer.Option(
            None,
            "--count",
            help="exact: include items_available (default); none: skip counting.",
        ),
        distinct: bool = typer.Option(
            False, "--distinct", help="With --select, collapse identical rows."
        ),
    ) -> None:
        result = _api(ctx, spec).list(
            filters=parse_json_array(filters, "--filters") if filters is not None else None,
            where=parse_json_object(where, "--where") if where is not None else None,
            order=parse_name_list(order, "--order") if order is not None else None,
            limit=limit,
            offset=offset,
            select=_select(select),
            count=count.value if count is not None else None,
            distinct=True if distinct else None,
        )
        emit(ctx, result)

    list_.__doc__ = (
        f"List {spec.plural} you can read (one page; see --limit and --offset).\n\n"
        "With --format=uuid or -s, prints one uuid per line.\n\n"
        + _examples(
            f"linkbase {spec.command} list --filters '{spec.list_example}'",
            f"linkbase -s {spec.command} list --order 'created_at desc' --limit 10",
        )
    )
    app.command("list", cls=Command)(list_)


def _add_get_permissions(app: typer.Typer, spec: ResourceSpec) -> None:
    def get_permissions(
        ctx: typer.Context,
        uuid_arg: str | None = _uuid_argument("Any object's uuid (you need can_manage on it)."),
        uuid: str | None = _uuid_option("Same as UUID."),
    ) -> None:
        api = _api(ctx, spec)
        assert isinstance(api, LinksAPI)
        emit(ctx, api.get_permissions(_one_uuid(uuid_arg, uuid)))

    get_permissions.__doc__ = (
        "List every permission link granting access to an object.\n\n"
        + _examples(f"linkbase link get_permissions {_PROJECT}")
    )
    app.command("get_permissions", cls=Command)(get_permissions)
    app.command("get-permissions", hidden=True, cls=Command)(get_permissions)


def _add_current(app: typer.Typer, spec: ResourceSpec) -> None:
    def current(ctx: typer.Context) -> None:
        api = _api(ctx, spec)
        assert isinstance(api, UsersAPI | TokensAPI)
        emit(ctx, api.current())

    what = "user your token acts as" if spec.command == "user" else "token you are using"
    current.__doc__ = f"Show the {what}.\n\n" + _examples(
        f"linkbase {spec.command} current", f"linkbase -s {spec.command} current"
    )
    app.command("current", cls=Command)(current)


_EXTRA_VERBS: dict[str, Callable[[typer.Typer, ResourceSpec], None]] = {
    "get_permissions": _add_get_permissions,
    "current": _add_current,
}


def resource_app(spec: ResourceSpec) -> typer.Typer:
    """The command group for one resource with all its verbs."""
    sub = typer.Typer(
        cls=Group,
        no_args_is_help=True,
        rich_markup_mode="rich",
        help=f"Create, show, change, delete and list {spec.plural} (Arvados /arvados/v1/"
        f"{spec.resource}).",
    )
    _add_create(sub, spec)
    _add_get(sub, spec)
    if spec.update_example is not None:
        _add_update(sub, spec)
    _add_delete(sub, spec)
    _add_list(sub, spec)
    for verb in spec.extras:
        _EXTRA_VERBS[verb](sub, spec)
    return sub


def register(app: typer.Typer) -> None:
    """Add ``link``, ``user``, ``group``, ``collection`` and ``api_client_authorization``."""
    for spec in RESOURCES:
        sub = resource_app(spec)
        app.add_typer(sub, name=spec.command)
        if "_" in spec.command:
            app.add_typer(resource_app(spec), name=spec.command.replace("_", "-"), hidden=True)
