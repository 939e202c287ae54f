"""Typer command classes with the help conventions people expect from a Unix tool.

Typer 0.2x renders an on/off flag as ``--distinct <bool>`` (as if it took a value) and a required
positional argument as ``{source}``. Every ``linkbase`` command and group is built with these
classes instead, so help reads like other CLIs: ``--distinct`` alone, and ``SOURCE`` (required) or
``[SOURCE]`` (optional) in the usage line and the Arguments panel.

Use ``typer.Typer(cls=Group)`` for groups and ``app.command(..., cls=Command)`` for commands
(:func:`new_app` does the former).
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


def _tidy(params: list[Any]) -> list[Any]:
    """Flags show no value placeholder; arguments are named in capitals."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
        elif isinstance(param, TyperArgument) and param.metavar is None:
            param.metavar = param.name.upper() if param.name else None
    return params


def _usage(param: Any) -> list[str]:
    """One argument in the usage line: ``NAME``, ``[NAME]``, with ``...`` when repeatable."""
    if not isinstance(param, TyperArgument):
        return []  # options are summed up by ``[OPTIONS]``
    name = str(param.metavar or (param.name or "").upper())
    if param.nargs != 1:
        name += "..."
    return [name if param.required else f"[{name}]"]


class Command(TyperCommand):
    """A leaf command (see the module docstring)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            pieces.extend(_usage(param))
        return pieces


class Group(TyperGroup):
    """A command group (see the module docstring)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))


def new_app(**kwargs: Any) -> typer.Typer:
    """A ``typer.Typer`` whose group uses :class:`Group`; rich markup, ``-h`` for help."""
    kwargs.setdefault("rich_markup_mode", "rich")
    return typer.Typer(cls=Group, **kwargs)
