"""Running the official Laserfiche client's Node scripts from pytest (shared by the tests here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from linkbase.services.users import set_password
from linkbase.storage.database import Database
from tests.support.server import ServerHandle

NODE_DIR = Path(__file__).parent


def ensure_node_modules() -> None:
    """Skip without node/npm (fail under CI); ``npm ci`` the pinned client on first use."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node/npm are required under CI")
        pytest.skip("node and npm are not installed")
    if not (NODE_DIR / "node_modules" / "@laserfiche" / "lf-repository-api-client-v2").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True,
                       capture_output=True, timeout=300)


def check(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a successful response."""
    assert response.status_code < 300, response.text
    return dict(response.json())


def set_user_password(database_url: str, user_uuid: str, password: str) -> None:
    """Give a user a password (what ``linkbase user set-password`` does)."""
    db = Database(database_url)
    try:
        with db.write() as conn:
            set_password(conn, user_uuid, password)
    finally:
        db.dispose()


def run_script(script: str, server: ServerHandle, env: dict[str, str]) -> dict[str, Any]:
    """Run a Node script with the resolve hooks; its last stdout line, parsed as JSON."""
    run = subprocess.run(
        ["node", "--import", "./register-hooks.mjs", script], cwd=NODE_DIR,
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{server.log()}"
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))
