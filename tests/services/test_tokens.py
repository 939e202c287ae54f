"""The password exchange (the Laserfiche Token endpoint) checks passwords outside any
transaction: a slow or hostile stream of logins never holds up writers (on SQLite a write
transaction is the database's single write lock)."""

from __future__ import annotations

import threading

import pytest

from linkbase import checkpoints
from linkbase.bootstrap import prepare_database
from linkbase.domain.errors import UnauthenticatedError
from linkbase.domain.resources import RESOURCES
from linkbase.services import objects, tokens, users
from linkbase.services.context import Services, system_caller
from linkbase.settings import Settings


def test_writes_go_on_while_a_password_is_being_checked(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    services = Services(prepare_database(settings), settings)
    root = system_caller(services.well_known)
    users.add_user(services, {"username": "alice"}, password="right")
    paused, release = threading.Event(), threading.Event()
    outcome: list[BaseException | None] = []

    def hold(_name: str) -> None:
        paused.set()
        release.wait(30)

    def exchange() -> None:
        try:
            tokens.exchange_password(services, "r-default", "password", "alice", "wrong")
            outcome.append(None)
        except BaseException as exc:  # asserted below
            outcome.append(exc)

    with checkpoints.installed("tokens.checking_password", hold):
        thread = threading.Thread(target=exchange)
        thread.start()
        assert paused.wait(30)
        # The exchange is stopped in the middle of its password check. A write must not wait
        # for it: it completes while the check is still held (had the check held the write
        # lock, the writer would still be waiting when we look).
        created: list[str] = []
        writer = threading.Thread(target=lambda: created.append(objects.create(
            services, root, RESOURCES["collections"], {"name": "c"})["uuid"]))
        writer.start()
        writer.join(10)
        finished_during_check = not writer.is_alive()
        release.set()
        writer.join(30)
        thread.join(30)
    assert finished_during_check and created
    assert len(outcome) == 1 and isinstance(outcome[0], UnauthenticatedError)
    services.db.dispose()


@pytest.mark.parametrize("login", ["alice", "ALICE@example.com"])
def test_a_right_password_yields_a_token_of_the_user(database_url: str, login: str) -> None:
    settings = Settings(database_url=database_url)
    services = Services(prepare_database(settings), settings)
    users.add_user(services, {"username": "alice", "email": "ALICE@example.com"},
                   password="right")
    token = tokens.exchange_password(services, "r-default", "password", login, "right")
    caller = tokens.authenticate_bearer(services, token.api_token)
    assert caller is not None and caller.username == "alice"
    assert 0 < token.expires_in <= tokens.EXCHANGE_LIFETIME_SECONDS
    services.db.dispose()
