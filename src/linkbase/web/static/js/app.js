// The workbench shell: sign-in, who am I, the browse tree, and hash routing to the pages.
//   #/               home: your favourites
//   #/o/<uuid>       any object's page
//   #/e/<repo>/<id>  a Laserfiche entry (resolved to its object)

import { arv, lf, native, session, ApiError } from "./api.js";
import { h, errorSlot, guarded, kindLabel } from "./ui.js";
import { objectPage } from "./object.js";

const main = document.getElementById("main");
const nav = document.getElementById("tree");
const who = document.getElementById("who");
export const state = { me: null, repositories: [] };

// -- sign in / out -------------------------------------------------------------------------

function signInPage() {
  who.replaceChildren();
  nav.replaceChildren();
  document.body.classList.add("signed-out");
  const tokenError = errorSlot();
  const passwordError = errorSlot();
  const repositories = h("select", { id: "signin-repository" });
  // The repository list arrives after the form is drawn; a sign-in submitted before it has
  // arrived waits for it rather than asking for a token of no repository.
  const listed = lf.repositories().then((list) => {
    state.repositories = list.value;
    const wanted = new URLSearchParams(location.search).get("repository");
    repositories.replaceChildren(...list.value.map((r) =>
      h("option", { value: r.id, selected: r.id === wanted }, `${r.name} (${r.id})`)));
  });
  listed.catch((error) => passwordError.show(error));
  const tokenForm = h("form", { class: "card", "aria-labelledby": "signin-token-title", onsubmit: async (ev) => {
    ev.preventDefault();
    const token = ev.target.elements.token.value.trim();
    session.set(token, "token");
    const ok = await guarded(tokenError, async () => { await start(); return true; });
    if (!ok) session.clear();
  } },
  h("h2", { id: "signin-token-title" }, "Sign in with an API token"),
  h("div", { class: "field" }, h("label", { for: "signin-token" }, "API token"),
    h("input", { id: "signin-token", name: "token", type: "password", autocomplete: "off", required: true })),
  h("button", { type: "submit" }, "Sign in"), tokenError);
  const passwordForm = h("form", { class: "card", "aria-labelledby": "signin-password-title", onsubmit: async (ev) => {
    ev.preventDefault();
    const form = ev.target.elements;
    await guarded(passwordError, async () => {
      await listed;
      const issued = await lf.token(form.repository.value, form.username.value.trim(), form.password.value);
      session.set(issued.access_token, "password");
      await start();
    });
  } },
  h("h2", { id: "signin-password-title" }, "Sign in with your username and password"),
  h("div", { class: "field" }, h("label", { for: "signin-username" }, "Username"),
    h("input", { id: "signin-username", name: "username", autocomplete: "username", required: true })),
  h("div", { class: "field" }, h("label", { for: "signin-password" }, "Password"),
    h("input", { id: "signin-password", name: "password", type: "password", autocomplete: "current-password", required: true })),
  h("div", { class: "field" }, h("label", { for: "signin-repository" }, "Repository"),
    Object.assign(repositories, { name: "repository" })),
  h("button", { type: "submit" }, "Sign in"), passwordError);
  main.replaceChildren(h("h1", {}, "Linkbase workbench"),
    h("p", { class: "lead" }, "Curate links between projects, collections, Laserfiche folders and documents."),
    h("div", { class: "signin" }, passwordForm, tokenForm));
  document.getElementById("signin-username").focus();
}

async function signOut() {
  if (session.fromPassword) {
    // A token issued for this session is revoked; a token someone pasted is only forgotten.
    try {
      const current = await arv.get("api_client_authorizations", "current");
      await arv.remove("api_client_authorizations", current.uuid);
    } catch { /* already invalid: nothing to revoke */ }
  }
  session.clear();
  state.me = null;
  location.hash = "#/";
  signInPage();
}

function renderWho(me) {
  const name = [me.first_name, me.last_name].filter(Boolean).join(" ") || me.username || me.uuid;
  who.replaceChildren(...[
    h("a", { href: `#/o/${me.uuid}`, id: "whoami", title: me.uuid }, name,
      me.username ? h("span", { class: "muted" }, ` (${me.username})`) : null),
    me.is_admin ? h("span", { class: "badge admin" }, "admin") : null,
    h("button", { type: "button", id: "signout", class: "secondary", onclick: signOut }, "Sign out"),
  ].filter(Boolean));
}

// -- the browse tree -----------------------------------------------------------------------

const CHILD_PAGE = 25;

function treeItem(label, kind, href, loadChildren) {
  const link = h("a", { href }, h("span", { class: `badge kind-${kind}` }, kind), " ", label);
  const children = h("ul", { role: "group", hidden: true });
  const item = h("li", { role: "treeitem", "aria-expanded": loadChildren ? "false" : null });
  if (!loadChildren) {
    item.append(h("span", { class: "twisty-space" }), link);
    return item;
  }
  let loaded = false;
  const toggle = h("button", { type: "button", class: "twisty", "aria-label": `Expand ${label}`, onclick: async () => {
    const open = item.getAttribute("aria-expanded") !== "true";
    item.setAttribute("aria-expanded", String(open));
    toggle.setAttribute("aria-label", `${open ? "Collapse" : "Expand"} ${label}`);
    children.hidden = !open;
    if (open && !loaded) { loaded = true; await loadChildren(children); }
  } });
  item.append(toggle, link, children);
  return item;
}

// Children in pages: a "Show more" item fetches the next page in place.
function paged(container, fetchPage) {
  const error = errorSlot();
  let offset = 0;
  async function more() {
    const page = await guarded(error, () => fetchPage(offset));
    container.querySelector(".more")?.remove();
    if (!page) { container.append(h("li", {}, error)); return; }
    container.append(...page.items);
    offset += page.items.length;
    if (!page.items.length && offset === 0) container.append(h("li", { class: "muted" }, "(empty)"));
    if (offset < page.total) {
      container.append(h("li", { class: "more" }, h("button", { type: "button", class: "link", onclick: more },
        `Show more (${page.total - offset} left)`)));
    }
  }
  return more();
}

function projectChildren(project) {
  return (container) => paged(container, async (offset) => {
    const groups = await arv.list("groups", { filters: [["owner_uuid", "=", project], ["group_class", "=", "project"]],
      order: ["name asc"], limit: CHILD_PAGE, offset });
    const rest = Math.max(0, offset - groups.items_available);
    const room = CHILD_PAGE - groups.items.length;
    const colls = await arv.list("collections", { filters: [["owner_uuid", "=", project]], order: ["name asc"],
      limit: room, offset: rest });
    return {
      total: groups.items_available + colls.items_available,
      items: [...groups.items.map((g) => treeItem(g.name, "project", `#/o/${g.uuid}`, projectChildren(g.uuid))),
        ...colls.items.map((c) => treeItem(c.name || c.uuid, "collection", `#/o/${c.uuid}`, null))],
    };
  });
}

function folderChildren(repository, entry) {
  return (container) => paged(container, async (offset) => {
    const page = await lf.children(repository, entry, CHILD_PAGE, offset);
    return {
      total: page["@odata.count"],
      items: page.value.map((e) => e.entryType === "Folder"
        ? treeItem(e.name, "folder", `#/e/${repository}/${e.id}`, folderChildren(repository, e.id))
        : treeItem(e.name, "document", `#/e/${repository}/${e.id}`, null)),
    };
  });
}

function listChildren(filters) {
  return (container) => paged(container, async (offset) => {
    const page = await arv.list("groups", { filters, order: ["name asc"], limit: CHILD_PAGE, offset });
    return { total: page.items_available,
      items: page.items.map((g) => treeItem(g.name, "project", `#/o/${g.uuid}`, projectChildren(g.uuid))) };
  });
}

async function renderTree() {
  const me = state.me;
  const roots = [
    treeItem("My projects", "home", "#/", listChildren([["owner_uuid", "=", me.uuid], ["group_class", "=", "project"]])),
    treeItem("Shared with me", "shared", "#/", listChildren([["owner_uuid", "!=", me.uuid], ["group_class", "=", "project"]])),
  ];
  try {
    state.repositories = (await lf.repositories()).value;
  } catch { state.repositories = []; }
  for (const repo of state.repositories) {
    roots.push(treeItem(`${repo.name}`, "repository", `#/e/${repo.id}/1`, folderChildren(repo.id, 1)));
  }
  nav.replaceChildren(h("h2", { id: "tree-title" }, "Browse"),
    h("ul", { role: "tree", "aria-labelledby": "tree-title" }, roots));
}

// -- pages ---------------------------------------------------------------------------------

async function home(view) {
  const error = errorSlot();
  const list = h("ul", { class: "cards" });
  view.replaceChildren(h("h1", {}, "Favourites"), error, list);
  await guarded(error, async () => {
    const stars = await arv.list("links", { filters: [["link_class", "=", "star"], ["tail_uuid", "=", state.me.uuid]], limit: 50 });
    const described = await native.describe(stars.items.map((s) => s.head_uuid));
    list.replaceChildren(...stars.items.filter((s) => described.has(s.head_uuid)).map((s) => {
      const item = described.get(s.head_uuid);
      return h("li", {}, h("a", { href: `#/o/${item.uuid}` }, h("span", { class: `badge kind-${kindLabel(item)}` }, kindLabel(item)), " ", item.name || item.uuid));
    }));
    if (!list.children.length) list.append(h("li", { class: "muted" }, "No favourites yet: open an object and press ☆ Star."));
  });
}

async function entryPage(view, repository, entryId) {
  const error = errorSlot();
  view.replaceChildren(error);
  const summary = await guarded(error, () => native.entry(repository, entryId));
  if (summary) await objectPage(view, summary.uuid, summary);
}

// Every route renders into its own view. Routes overlap (sign-in's first route and a
// hashchange, or two quick clicks): a page whose requests answer late then fills a view that
// is no longer shown, instead of replacing the page the user has moved on to.
let shownRoute = 0;

export async function route() {
  if (!state.me) return;
  const mine = ++shownRoute;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const view = h("div", { class: "view" });
  main.replaceChildren(view);
  main.setAttribute("aria-busy", "true");
  try {
    if (parts[0] === "o" && parts[1]) await objectPage(view, parts[1]);
    else if (parts[0] === "e" && parts[1] && parts[2]) await entryPage(view, parts[1], Number(parts[2]));
    else await home(view);
  } finally {
    if (mine === shownRoute) main.removeAttribute("aria-busy");
  }
  if (mine === shownRoute) main.focus({ preventScroll: true });
}

async function start() {
  state.me = await arv.current();
  document.body.classList.remove("signed-out");
  renderWho(state.me);
  await renderTree();
  await route();
}

window.addEventListener("hashchange", route);
// The skip link must not change the hash: the hash is the page being shown.
document.querySelector(".skip").addEventListener("click", (ev) => { ev.preventDefault(); main.focus(); });
document.getElementById("nav-toggle").addEventListener("click", (ev) => {
  const open = document.body.classList.toggle("nav-open");
  ev.currentTarget.setAttribute("aria-expanded", String(open));
});
if (session.token) {
  start().catch((error) => { session.clear(); signInPage(); if (error instanceof ApiError) console.warn(error.message); });
} else {
  signInPage();
}
