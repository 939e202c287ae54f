"""The workbench in a real browser: Playwright driving Debian's chromium against a real
``linkbase serve`` filled by ``linkbase demo``, one server per backend for the module.

One scenario per feature; each leaves a screenshot in ``$LINKBASE_TEST_ARTIFACTS`` (default
``test-artifacts/``) named after the scenario and backend. Every request the page makes to a
host other than the test server is blocked and fails the test (the workbench works offline).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.cli.conftest import linkbase_command
from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.server import ServerHandle, clean_environment, running_server

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("LINKBASE_TEST_ARTIFACTS", "test-artifacts"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    """A demo-filled server and how to reach its people."""

    server: ServerHandle
    backend: str
    tokens: dict[str, str]
    blocked: list[str] = field(default_factory=list)

    def api(self, token: str | None = None) -> httpx.Client:
        return self.server.client(token)

    def uuid_of(self, resource: str, name: str) -> str:
        with self.api() as http:
            found = http.get(f"/arvados/v1/{resource}",
                             params={"filters": f'[["name", "=", "{name}"]]'}).json()["items"]
        assert found, name
        return str(found[0]["uuid"])

    def entry_of(self, name: str) -> int:
        uuid = self.uuid_of("collections", name) if "." in name else self.uuid_of("groups", name)
        with self.api() as http:
            return int(http.get(f"/linkbase/v1/objects/{uuid}").json()["entry"]["entry_id"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium is not installed at {CHROMIUM} (CI=true)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         browser: Any) -> Iterator[Site]:
    backend = str(request.param)
    url = fresh_database_url(backend, tmp_path_factory.mktemp("web"))
    made = subprocess.run([*linkbase_command(), "demo", "--database", url], capture_output=True,
                          text=True, env=clean_environment(), timeout=180)
    assert made.returncode == 0, made.stderr
    tokens = dict(re.findall(r"^\s+(\w+)\s+password \S+\s+token (\w+)", made.stdout, re.M))
    with running_server(url) as server:
        tokens["root"] = server.root_token
        yield Site(server, backend, tokens)


@pytest.fixture
def page(site: Site, browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    own = urlsplit(site.server.url).netloc

    def only_local(route: Any) -> None:
        target = urlsplit(route.request.url)
        if target.scheme in ("http", "https") and target.netloc != own:
            site.blocked.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_local)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.set_default_timeout(10_000)
    # Assertions wait as long as actions: on a CI machine running two test workers a page's
    # first API calls can take longer than Playwright's 5 s default (seen once in a full run).
    playwright_api.expect.set_options(timeout=10_000)
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    assert not errors, errors
    assert not site.blocked, site.blocked


def sign_in(page: Any, site: Site, who: str = "alice", *, password: bool = False) -> None:
    page.goto(f"{site.server.url}/ui/")
    if page.evaluate("sessionStorage.length"):
        page.evaluate("sessionStorage.clear()")
        page.reload()
    page.wait_for_selector("#signin-token")
    if password:
        page.fill("#signin-username", who)
        page.fill("#signin-password", f"{who}-demo")
        page.get_by_role("button", name="Sign in").first.click()
    else:
        page.fill("#signin-token", site.tokens[who])
        page.get_by_role("button", name="Sign in").last.click()
    page.wait_for_selector("#whoami")
    # #whoami shows before the first page is routed: wait until that route has finished, so a
    # test's own navigation is never overtaken by it.
    page.wait_for_function(
        "document.querySelector('main .view') && !document.querySelector('main').hasAttribute('aria-busy')"
    )


def open_object(page: Any, site: Site, uuid: str) -> None:
    page.goto(f"{site.server.url}/ui/#/o/{uuid}")
    page.wait_for_selector(".object-header")


def expect(locator: Any) -> Any:
    return playwright_api.expect(locator)


# -- sign in, who am I, sign out ---------------------------------------------------------------


def test_sign_in_with_password_shows_who_and_signs_out(page: Any, site: Site) -> None:
    sign_in(page, site, "alice", password=True)
    expect(page.locator("#whoami")).to_contain_text("Alice Archer (alice)")
    token = page.evaluate("sessionStorage.getItem('linkbase.token')")
    with site.api(token) as http:
        assert http.get("/arvados/v1/users/current").json()["username"] == "alice"
    page.click("#signout")
    expect(page.locator("#signin-username")).to_be_visible()
    with site.api(token) as http:  # the session's token was revoked
        assert http.get("/arvados/v1/users/current").status_code == 401


def test_a_password_sign_in_sent_before_the_repository_list_arrives_waits_for_it(
        page: Any, site: Site) -> None:
    # The sign-in form is drawn before its repository list arrives; on a loaded machine a click
    # can come first (it failed CI once). The list is held back here until after the click.
    held: list[Any] = []
    page.route(re.compile(r".*/v2/Repositories$"), lambda route: held.append(route))
    page.goto(f"{site.server.url}/ui/")
    page.wait_for_selector("#signin-username")
    while not held:
        page.wait_for_timeout(20)
    page.fill("#signin-username", "alice")
    page.fill("#signin-password", "alice-demo")
    page.get_by_role("button", name="Sign in").first.click()
    page.wait_for_timeout(200)
    expect(page.locator("#whoami")).to_have_count(0)
    held[0].continue_()
    expect(page.locator("#whoami")).to_contain_text("Alice Archer (alice)")
    expect(page.locator("form:has(#signin-username) .error")).to_have_text("")


def test_sign_in_with_a_token_and_a_wrong_one(page: Any, site: Site) -> None:
    page.goto(f"{site.server.url}/ui/")
    page.fill("#signin-token", "not-a-token")
    page.get_by_role("button", name="Sign in").last.click()
    expect(page.locator("form:has(#signin-token) .error")).to_contain_text("Not logged in")
    page.fill("#signin-username", "bob")
    page.fill("#signin-password", "wrong")
    page.get_by_role("button", name="Sign in").first.click()
    expect(page.locator("form:has(#signin-username) .error")).to_contain_text("incorrect")
    page.fill("#signin-token", site.tokens["bob"])
    page.get_by_role("button", name="Sign in").last.click()
    expect(page.locator("#whoami")).to_contain_text("Bob Baker")


# -- browsing ----------------------------------------------------------------------------------


def test_browse_tree_and_breadcrumbs(page: Any, site: Site) -> None:
    sign_in(page, site, "root")  # the repository's root folder is the admin's
    tree = page.locator("#tree")
    tree.get_by_role("button", name="Expand Default repository").click()
    tree.get_by_role("button", name="Expand Board Meetings").click()
    tree.get_by_role("link", name="2024-03 Packet.pdf").click()
    expect(page.locator("h1")).to_contain_text("2024-03 Packet.pdf")
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    expect(crumbs).to_contain_text("Board Meetings")
    sign_in(page, site, "alice")  # Alice reaches the folders her team was given
    tree.get_by_role("button", name="Expand Shared with me").click()
    tree.get_by_role("button", name="Expand Contracts").click()
    tree.get_by_role("link", name="Amendment 1.pdf").click()
    expect(page.locator("h1")).to_contain_text("Amendment 1.pdf")
    expect(crumbs).to_contain_text("Contracts")
    tree.get_by_role("button", name="Expand My projects").click()
    tree.get_by_role("button", name="Expand Genomics 2024").click()
    tree.get_by_role("link", name="QC report.pdf").click()
    expect(page.locator("h1")).to_contain_text("QC report.pdf")
    crumbs.get_by_role("link", name="Genomics 2024").click()
    expect(page.locator("h1")).to_contain_text("Genomics 2024")


def test_every_kind_of_object_has_a_page_with_properties(page: Any, site: Site) -> None:
    sign_in(page, site, "root")
    with site.api() as http:
        user = http.get("/arvados/v1/users", params={"filters": '[["username","=","carol"]]'}
                        ).json()["items"][0]["uuid"]
        link = http.get("/arvados/v1/links",
                        params={"filters": '[["link_class","=","provenance"]]'}).json()["items"][0]
    cases = [(site.uuid_of("groups", "Genomics 2024"), "project", "Grant 42"),
             (site.uuid_of("collections", "sample-001.fastq"), "collection", "E. coli"),
             (site.uuid_of("collections", "Amendment 2.pdf"), "document", "Legal"),
             (site.uuid_of("groups", "Records team"), "role", "Records team"),
             (user, "user", "carol@example.org"), (link["uuid"], "link", "fastqc")]
    for uuid, kind, shown in cases:
        open_object(page, site, uuid)
        expect(page.locator(".object-header .badge").first).to_have_text(kind)
        page.get_by_role("tab", name="Properties").click()
        expect(page.locator("table.props")).to_contain_text(shown)


# -- links -------------------------------------------------------------------------------------


def test_links_are_grouped_by_class_with_named_clickable_ends(page: Any, site: Site) -> None:
    sign_in(page, site, "alice")
    open_object(page, site, site.uuid_of("collections", "Amendment 1.pdf"))
    incoming = page.get_by_role("region", name="Incoming links (this object is the head)")
    expect(incoming.locator(".link-group h4").first).to_contain_text("relation (2)")
    expect(incoming).to_contain_text("Amendment 2.pdf")
    assert "zzzzz-" not in incoming.locator(".link-group").first.inner_text()
    expect(incoming.locator(".ref .badge").first).to_have_text("collection")
    incoming.get_by_role("link", name=re.compile("Master Services")).first.click()
    expect(page.locator("h1")).to_contain_text("Master Services Agreement.pdf")
    outgoing = page.get_by_role("region", name="Outgoing links (this object is the tail)")
    expect(outgoing.locator(".link-group h4")).to_contain_text(["relation (2)"])
    outgoing.get_by_role("link", name=re.compile("Amendment 2.pdf")).click()
    expect(page.locator("h1")).to_contain_text("Amendment 2.pdf")


def test_create_a_link_with_the_picker_by_keyboard(page: Any, site: Site) -> None:
    sign_in(page, site, "alice")
    open_object(page, site, site.uuid_of("collections", "sample-002.fastq"))
    page.fill("#link-class", "provenance")
    page.fill("#link-name", "compared with")
    page.click("#link-other")
    page.keyboard.type("sample-00")
    expect(page.locator("#link-other-list [role=option]").first).to_be_visible()
    expect(page.locator("#link-other-list [role=option]")).to_have_count(2)
    page.keyboard.press("ArrowDown")
    expect(page.locator("#link-other-list [aria-selected=true]")).to_contain_text("sample-002")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(page.locator("#new-link .picked")).to_contain_text("sample-001.fastq")
    page.fill("#link-properties", '{"score": 0.98}')
    page.get_by_role("button", name="Create link").click()
    outgoing = page.get_by_role("region", name="Outgoing links (this object is the tail)")
    expect(outgoing).to_contain_text("compared with")
    expect(outgoing).to_contain_text("sample-001.fastq")


def test_errors_show_next_to_their_cause(page: Any, site: Site) -> None:
    sign_in(page, site, "alice")
    open_object(page, site, site.uuid_of("collections", "sample-001.fastq"))
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#new-link > .error")).to_contain_text("Choose the other end")
    page.fill("#link-other", "no such thing anywhere")
    expect(page.locator("#new-link .picker .error")).to_contain_text("Nothing you can read")
    page.fill("#link-properties", "[1, 2]")
    expect(page.locator("#link-properties-error")).to_contain_text("must be a JSON object")


def alices_new_collection(page: Any, site: Site, name: str) -> str:
    """A new collection in Alice's project, its page open with Alice signed in."""
    with site.api(site.tokens["alice"]) as http:
        uuid = str(http.post("/arvados/v1/collections", json={"collection": {
            "name": name, "owner_uuid": site.uuid_of("groups", "Genomics 2024")}}).json()["uuid"])
    sign_in(page, site, "alice")
    open_object(page, site, uuid)
    return uuid


def test_edit_name_and_properties_with_json_validation(page: Any, site: Site) -> None:
    uuid = alices_new_collection(page, site, "draft.txt")
    page.click("#edit")
    page.fill("#edit-name", "final.txt")
    page.fill("#edit-properties", '{"status": ')
    page.click("#edit-save")
    expect(page.locator("#edit-properties-error")).to_contain_text("not valid JSON")
    page.fill("#edit-properties", '{"status": "final"}')
    page.click("#edit-save")
    expect(page.locator("h1")).to_contain_text("final.txt")
    with site.api() as http:
        stored = http.get(f"/arvados/v1/collections/{uuid}").json()
    assert (stored["name"], stored["properties"]) == ("final.txt", {"status": "final"})


def test_delete_asks_first(page: Any, site: Site) -> None:
    uuid = alices_new_collection(page, site, "scratch.tmp")
    page.click("#delete")
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    page.click("#delete")
    expect(page.get_by_role("dialog")).to_contain_text("scratch.tmp")
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("h1")).to_contain_text("Genomics 2024")
    with site.api() as http:
        assert http.get(f"/arvados/v1/collections/{uuid}").status_code == 404


def test_star_and_tag(page: Any, site: Site) -> None:
    sign_in(page, site, "bob")
    open_object(page, site, site.uuid_of("collections", "Amendment 1.pdf"))
    star = page.locator("#star")
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    page.fill("#new-tag", "checked")
    page.get_by_role("button", name="Tag", exact=True).click()
    tags = page.get_by_role("list", name="Tags")
    expect(tags).to_contain_text("checked")
    page.goto(f"{site.server.url}/ui/#/")
    expect(page.locator(".cards")).to_contain_text("Amendment 1.pdf")
    page.go_back()
    page.get_by_role("button", name="Remove tag checked").click()
    expect(tags).not_to_contain_text("checked")


def test_a_late_page_does_not_replace_the_page_shown_after_it(page: Any, site: Site) -> None:
    """Two routes overlap (sign-in's first route and a hashchange, or two quick clicks): the
    first page's answer is held back until the second page is shown, and must not replace it."""
    agenda = site.entry_of("2024-03 Agenda.pdf")
    minutes = site.entry_of("2024-03 Minutes.pdf")
    minutes_uuid = site.uuid_of("collections", "2024-03 Minutes.pdf")
    sign_in(page, site, "bob")
    held: list[Any] = []
    page.route(f"**/linkbase/v1/entries/r-default/{agenda}", lambda route: held.append(route))
    page.goto(f"{site.server.url}/ui/#/e/r-default/{agenda}")
    page.wait_for_function("document.querySelector('main').getAttribute('aria-busy') === 'true'")
    page.wait_for_timeout(100)
    assert len(held) == 1
    open_object(page, site, minutes_uuid)
    page.get_by_role("tab", name="Assign links").click()
    expect(page.locator("#assign-title")).to_have_text(f"Assign links of entry {minutes}")
    held[0].continue_()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    expect(page.locator("h1")).to_contain_text("2024-03 Minutes.pdf")
    expect(page.locator("#assign-title")).to_have_text(f"Assign links of entry {minutes}")


# -- Laserfiche Assign Links ------------------------------------------------------------------


def test_assign_links_saves_the_whole_set(page: Any, site: Site) -> None:
    minutes = site.entry_of("2024-03 Minutes.pdf")
    agenda = site.entry_of("2024-03 Agenda.pdf")
    sign_in(page, site, "bob")
    page.goto(f"{site.server.url}/ui/#/e/r-default/{agenda}")
    page.get_by_role("tab", name="Assign links").click()
    rows = page.locator(".assign-table tbody tr")
    expect(rows).to_have_count(1)
    page.click("#assign-add")
    new = rows.nth(1)
    new.locator("select").first.select_option(label="Supersedes (Supersedes → Superseded by)")
    new.locator("select").nth(1).select_option("target")
    new.locator("input[type=number]").fill(str(minutes))
    new.locator("textarea").fill('{"note": 1}')
    page.click("#assign-save")
    expect(new.locator(".field:has(textarea) .field-error")).to_contain_text("must be strings")
    new.locator("textarea").fill('{"note": "draft minutes"}')
    page.click("#assign-save")
    expect(page.locator(".assign .status")).to_contain_text("now has 2 links")
    with site.api(site.tokens["bob"]) as http:
        links = http.get(f"/v2/Repositories/r-default/Entries/{agenda}/Links").json()["value"]
    superseding = [link for link in links if link["linkDefinitionDescription"] == "Supersedes"]
    assert superseding and superseding[0]["sourceId"] == minutes
    assert superseding[0]["customProperties"] == {"note": "draft minutes"}
    rows.nth(1).get_by_role("button", name="Remove this link").click()
    page.click("#assign-save")
    expect(page.locator(".assign .status")).to_contain_text("now has 1 link")


# -- sharing -----------------------------------------------------------------------------------


def test_sharing_shows_who_and_why_and_grants_and_revokes(page: Any, site: Site) -> None:
    sign_in(page, site, "root")
    open_object(page, site, site.uuid_of("groups", "Board Meetings"))
    page.get_by_role("tab", name="Sharing").click()
    computed = page.locator("table.computed")
    expect(computed).to_contain_text("Carol Chen")
    computed.locator("tr", has_text="Carol Chen").get_by_role("button", name="Why?").click()
    expect(computed.locator(".explain-path")).to_contain_text("Board Meetings")
    page.click("#grant-to")
    page.keyboard.type("Bob")
    expect(page.locator("#grant-to-list [role=option]").first).to_contain_text("Bob Baker")
    page.keyboard.press("Enter")
    page.select_option("#grant-level", "can_write")
    page.get_by_role("button", name="Grant", exact=True).click()
    grants = page.locator("table.grants")
    expect(grants).to_contain_text("Bob Baker")
    grants.locator("tr", has_text="Bob Baker").get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(grants).not_to_contain_text("Bob Baker")


# -- graph -------------------------------------------------------------------------------------


def test_graph_view_draws_the_neighbourhood(page: Any, site: Site) -> None:
    sign_in(page, site, "alice")
    open_object(page, site, site.uuid_of("collections", "Amendment 1.pdf"))
    page.get_by_role("tab", name="Graph").click()
    svg = page.locator("svg.graph")
    expect(svg.locator("a.node", has_text="Master Services")).to_have_count(1)
    expect(svg.locator("a.node", has_text="Amendment 2.pdf")).to_have_count(1)
    page.select_option("#graph-depth", "1")
    page.fill("#graph-class", "star")
    page.get_by_role("button", name="Draw").click()
    expect(svg.locator("a.node")).to_have_count(1)
    page.fill("#graph-class", "relation")
    page.get_by_role("button", name="Draw").click()
    expect(svg.locator("a.node")).to_have_count(3)
    svg.locator("a.node", has_text="Master Services").click()
    expect(page.locator("h1")).to_contain_text("Master Services Agreement.pdf")


# -- paging, keyboard, layout, docs ------------------------------------------------------------


def test_lists_are_paged(page: Any, site: Site) -> None:
    target = site.uuid_of("collections", "sample-001.fastq")
    with site.api(site.tokens["alice"]) as http:
        for n in range(23):
            assert http.post("/arvados/v1/links", json={"link": {
                "link_class": "tag", "name": f"batch-{n:02}", "tail_uuid": target,
                "head_uuid": target}}).status_code == 200
    sign_in(page, site, "alice")
    open_object(page, site, target)
    outgoing = page.get_by_role("region", name="Outgoing links (this object is the tail)")
    status = outgoing.locator(".pager-status")
    expect(status).to_contain_text(re.compile(r"1–20 of 2[45] links"))
    outgoing.get_by_role("button", name="Next ›").click()
    expect(status).to_contain_text(re.compile(r"21–2[45] of 2[45] links"))
    expect(outgoing.get_by_role("button", name="Next ›")).to_be_disabled()


def test_keyboard_only(page: Any, site: Site) -> None:
    sign_in(page, site, "alice")
    open_object(page, site, site.uuid_of("collections", "Master Services Agreement.pdf"))
    page.focus(".skip")
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.get_by_role("tab", name="Links", exact=True).focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Properties")).to_be_focused()
    expect(page.locator("table.props")).to_be_visible()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Graph")).to_be_focused()
    page.locator("svg.graph a.node").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".object-header")).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "phone"])
def test_layout_fits_the_screen(page: Any, site: Site, viewport: dict[str, int]) -> None:
    page.set_viewport_size(viewport)
    sign_in(page, site, "alice")
    open_object(page, site, site.uuid_of("collections", "Master Services Agreement.pdf"))
    page.get_by_role("tab", name="Assign links").click()
    page.wait_for_selector(".assign-table")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px of horizontal scrolling at {viewport}"
    tree = page.locator("#tree")
    if viewport is PHONE:
        expect(tree).to_be_hidden()
        page.click("#nav-toggle")
    expect(tree).to_be_visible()


def test_api_docs_render_offline(page: Any, site: Site) -> None:
    page.goto(f"{site.server.url}/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("Linkbase")
    expect(page.locator(".swagger-ui")).to_contain_text("Laserfiche Repository API v2")
    expect(page.locator(".swagger-ui")).to_contain_text("/linkbase/v1/graph/neighbors")
    expect(page.get_by_role("link", name="discovery document")).to_have_attribute(
        "href", "/discovery/v1/apis/arvados/v1/rest")
