// One object's page: breadcrumbs, properties, star, tags, edit, delete, its links (outgoing and
// incoming, grouped by class, paged, each end by name), creating a link, and the tabs for the
// Laserfiche links editor, sharing and the graph.

import { arv, native, infixOf, RESOURCE_BY_INFIX } from "./api.js";
import { h, errorSlot, guarded, pager, confirmDialog, jsonField, picker, objectRef, kindLabel, displayName } from "./ui.js";
import { state } from "./app.js";
import { assignLinks } from "./assign.js";
import { sharing } from "./sharing.js";
import { graphView } from "./graph.js";

const LINK_PAGE = 20;
const EDITABLE = new Set(["groups", "collections", "links"]);

function breadcrumbs(summary) {
  const crumbs = summary.ancestors.map((a) => h("li", {}, h("a", { href: `#/o/${a.uuid}` }, a.name || a.uuid)));
  return h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumbs" },
    h("ol", {}, h("li", {}, h("a", { href: "#/" }, "Home")), crumbs,
      h("li", { "aria-current": "page" }, summary.name || summary.uuid)));
}

function propertiesTable(record) {
  const rows = Object.entries(record).filter(([key]) => !["kind", "etag"].includes(key)).map(([key, value]) =>
    h("tr", {}, h("th", { scope: "row" }, key),
      h("td", {}, typeof value === "object" && value !== null ? h("pre", {}, JSON.stringify(value, null, 2)) : String(value ?? "—"))));
  return h("div", { class: "table-scroll" },
    h("table", { class: "props" }, h("caption", { class: "sr-only" }, "Attributes"), h("tbody", {}, rows)));
}

async function starButton(uuid) {
  const error = errorSlot();
  const button = h("button", { type: "button", class: "secondary", id: "star", "aria-pressed": "false" }, "☆ Star");
  let star = null;
  const filters = [["link_class", "=", "star"], ["tail_uuid", "=", state.me.uuid], ["head_uuid", "=", uuid]];
  async function refresh() {
    const found = await arv.list("links", { filters, limit: 1 });
    star = found.items[0] || null;
    button.setAttribute("aria-pressed", String(Boolean(star)));
    button.textContent = star ? "★ Starred" : "☆ Star";
  }
  button.addEventListener("click", () => guarded(error, async () => {
    if (star) await arv.remove("links", star.uuid);
    else await arv.create("links", "link", { link_class: "star", owner_uuid: state.me.uuid, tail_uuid: state.me.uuid, head_uuid: uuid });
    await refresh();
  }));
  await guarded(error, refresh);
  return h("span", { class: "inline" }, button, error);
}

function tagsSection(uuid, canTag) {
  const error = errorSlot();
  const list = h("ul", { class: "tags", "aria-label": "Tags" });
  async function refresh() {
    const tags = await arv.list("links", { filters: [["link_class", "=", "tag"], ["head_uuid", "=", uuid]], order: ["name asc"], limit: 100 });
    list.replaceChildren(...tags.items.map((tag) => h("li", { class: "tag" }, tag.name || "(no text)",
      h("button", { type: "button", class: "icon", "aria-label": `Remove tag ${tag.name}`, onclick: () => guarded(error, async () => {
        await arv.remove("links", tag.uuid); await refresh();
      }) }, "×"))));
    if (!tags.items.length) list.append(h("li", { class: "muted" }, "No tags"));
  }
  const form = h("form", { class: "inline", onsubmit: (ev) => {
    ev.preventDefault();
    const text = ev.target.elements.tag.value.trim();
    if (!text) return;
    guarded(error, async () => {
      await arv.create("links", "link", { link_class: "tag", name: text, head_uuid: uuid });
      ev.target.reset();
      await refresh();
    });
  } }, h("label", { for: "new-tag", class: "sr-only" }, "New tag"),
  h("input", { id: "new-tag", name: "tag", placeholder: "Add a tag", maxlength: 255 }), h("button", { type: "submit" }, "Tag"));
  guarded(error, refresh);
  return h("section", { "aria-labelledby": "tags-title" }, h("h2", { id: "tags-title" }, "Tags"), list, canTag ? form : null, error);
}

function editDialog(resource, wrapper, record, onsaved) {
  const error = errorSlot();
  const props = jsonField("edit-properties", "Properties (JSON object)", record.properties || {});
  const dialog = h("dialog", { "aria-labelledby": "edit-title" },
    h("form", { method: "dialog", onsubmit: async (ev) => {
      if (ev.submitter?.value !== "save") return;
      ev.preventDefault();
      let properties;
      try { properties = props.value(); } catch { return; }
      const name = ev.target.elements.name.value;
      const saved = await guarded(error, () => arv.update(resource, wrapper, record.uuid, { name: name === "" ? null : name, properties }));
      if (saved) { dialog.close(); onsaved(saved); }
    } },
    h("h2", { id: "edit-title" }, "Edit name and properties"),
    h("div", { class: "field" }, h("label", { for: "edit-name" }, "Name"), h("input", { id: "edit-name", name: "name", value: record.name ?? "" })),
    props, error,
    h("div", { class: "actions" }, h("button", { value: "cancel", class: "secondary", formnovalidate: true }, "Cancel"),
      h("button", { value: "save", id: "edit-save" }, "Save"))));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

// Outgoing (this object is the tail) or incoming (the head) links, grouped by class.
function linkList(uuid, end, title, refreshAll) {
  const error = errorSlot();
  const body = h("div", { class: "link-groups" });
  const pagerBar = pager(LINK_PAGE, (offset) => guarded(error, async () => {
    const page = await arv.list("links", { filters: [[end, "=", uuid]], order: ["link_class asc", "name asc", "uuid asc"], limit: LINK_PAGE, offset });
    const other = end === "tail_uuid" ? "head_uuid" : "tail_uuid";
    const described = await native.describe(page.items.map((l) => l[other]));
    const groups = new Map();
    for (const link of page.items) {
      const key = link.link_class || "(no class)";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(link);
    }
    body.replaceChildren(...[...groups].map(([cls, links]) => h("section", { class: "link-group" },
      h("h4", {}, cls, h("span", { class: "muted" }, ` (${links.length})`)),
      h("ul", {}, links.map((link) => h("li", { class: "link-row" },
        h("a", { href: `#/o/${link.uuid}`, class: "link-name", title: link.uuid }, link.name || "(unnamed)"),
        h("span", { class: "arrow", "aria-hidden": "true" }, end === "tail_uuid" ? " → " : " ← "),
        link[other] ? objectRef(link[other], described) : h("span", { class: "muted" }, "(none)"),
        Object.keys(link.properties || {}).length ? h("code", { class: "props-inline" }, JSON.stringify(link.properties)) : null,
        h("button", { type: "button", class: "icon danger", "aria-label": `Delete link ${link.name || link.link_class}`, onclick: async () => {
          if (!(await confirmDialog("Delete this link?", `${link.link_class} “${link.name || ""}” will be deleted.`))) return;
          await guarded(error, async () => { await arv.remove("links", link.uuid); await refreshAll(); });
        } }, "Delete")))))));
    if (!page.items.length) body.append(h("p", { class: "muted" }, "None"));
    return { total: page.items_available, shown: page.items.length };
  }), "links");
  const section = h("section", { class: "links", "aria-label": title }, h("h3", {}, title), error, body, pagerBar);
  section.reload = () => pagerBar.reload();
  pagerBar.first();
  return section;
}

function newLinkForm(uuid, onmade) {
  const error = errorSlot();
  const other = picker("link-other", "Other end");
  const props = jsonField("link-properties", "Properties (JSON object)", {});
  const form = h("form", { class: "card", id: "new-link", onsubmit: async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    if (!other.selected) { error.show(new Error("Choose the other end: type a name and pick it from the list")); return; }
    let properties;
    try { properties = props.value(); } catch { return; }
    const outgoing = f.direction.value === "out";
    const link = { link_class: f.link_class.value.trim(), name: f.name.value.trim() || null, properties,
      tail_uuid: outgoing ? uuid : other.selected.uuid, head_uuid: outgoing ? other.selected.uuid : uuid };
    const made = await guarded(error, () => arv.create("links", "link", link));
    if (made) { ev.target.reset(); other.reset(); await onmade(made); }
  } },
  h("h3", {}, "New link"),
  h("div", { class: "row" },
    h("div", { class: "field" }, h("label", { for: "link-class" }, "Class"),
      h("input", { id: "link-class", name: "link_class", list: "link-classes", required: true, value: "relation" }),
      h("datalist", { id: "link-classes" }, ["relation", "provenance", "tag", "star", "permission"].map((c) => h("option", { value: c })))),
    h("div", { class: "field" }, h("label", { for: "link-name" }, "Name"), h("input", { id: "link-name", name: "name" })),
    h("div", { class: "field" }, h("label", { for: "link-direction" }, "Direction"),
      h("select", { id: "link-direction", name: "direction" }, h("option", { value: "out" }, "this → other (this is the tail)"),
        h("option", { value: "in" }, "other → this (this is the head)")))),
  other, props, h("button", { type: "submit" }, "Create link"), error);
  return form;
}

function tabs(definitions) {
  const bar = h("div", { role: "tablist", class: "tabs", "aria-label": "Views of this object" });
  const panels = h("div", {});
  const buttons = definitions.map(([id, label, render], index) => {
    const panel = h("div", { role: "tabpanel", id: `panel-${id}`, "aria-labelledby": `tab-${id}`, hidden: index !== 0, tabindex: "0" });
    let rendered = false;
    const button = h("button", { type: "button", role: "tab", id: `tab-${id}`, "aria-controls": `panel-${id}`,
      "aria-selected": String(index === 0), tabindex: index === 0 ? "0" : "-1", onclick: () => select(index) }, label);
    button.show = async () => { if (!rendered) { rendered = true; panel.append(await render()); } };
    panels.append(panel);
    return button;
  });
  function select(index) {
    buttons.forEach((b, i) => {
      b.setAttribute("aria-selected", String(i === index));
      b.tabIndex = i === index ? 0 : -1;
      document.getElementById(b.getAttribute("aria-controls")).hidden = i !== index;
    });
    buttons[index].focus();
    buttons[index].show();
  }
  bar.addEventListener("keydown", (ev) => {
    const current = buttons.findIndex((b) => b.getAttribute("aria-selected") === "true");
    if (ev.key === "ArrowRight") select((current + 1) % buttons.length);
    else if (ev.key === "ArrowLeft") select((current - 1 + buttons.length) % buttons.length);
  });
  bar.append(...buttons);
  buttons[0]?.show();
  return h("div", {}, bar, panels);
}

export async function objectPage(view, uuid, knownSummary) {
  const error = errorSlot();
  view.replaceChildren(error);
  const infix = infixOf(uuid);
  const summary = knownSummary || await guarded(error, () => native.summary(uuid));
  if (!summary) return;
  const [resource, wrapper] = RESOURCE_BY_INFIX[infix] || [];
  const record = resource ? await guarded(error, () => arv.get(resource, uuid)) : { uuid };
  if (!record) return;
  const level = summary.level;
  const canWrite = level === "can_write" || level === "can_manage";
  const canManage = level === "can_manage";
  const actions = h("div", { class: "actions" }, await starButton(uuid));
  if (canWrite && EDITABLE.has(resource)) {
    actions.append(h("button", { type: "button", class: "secondary", id: "edit", onclick: () =>
      editDialog(resource, wrapper, record, () => objectPage(view, uuid)) }, "Edit"));
  }
  if (canWrite && resource && resource !== "users") {
    actions.append(h("button", { type: "button", class: "danger", id: "delete", onclick: async () => {
      const sure = await confirmDialog(`Delete “${displayName(summary, uuid)}”?`,
        "Links to and from it are deleted too" + (summary.group_class === "project" ? ", and everything the project holds." : "."));
      if (!sure) return;
      const done = await guarded(error, () => arv.remove(resource, uuid));
      if (done) location.hash = summary.ancestors.length ? `#/o/${summary.ancestors.at(-1).uuid}` : "#/";
    } }, "Delete"));
  }
  let outgoing;
  let incoming;
  const refreshLinks = async () => { outgoing.reload(); incoming.reload(); };
  outgoing = linkList(uuid, "tail_uuid", "Outgoing links (this object is the tail)", refreshLinks);
  incoming = linkList(uuid, "head_uuid", "Incoming links (this object is the head)", refreshLinks);
  const views = [
    ["links", "Links", () => h("div", {}, outgoing, incoming, newLinkForm(uuid, refreshLinks))],
    ["properties", "Properties", () => propertiesTable(record)],
  ];
  if (summary.entry) views.push(["assign", "Assign links", () => assignLinks(summary, canWrite)]);
  views.push(["sharing", "Sharing", () => sharing(summary)]);
  views.push(["graph", "Graph", () => graphView(uuid)]);
  view.replaceChildren(
    breadcrumbs(summary),
    h("header", { class: "object-header" },
      h("h1", {}, h("span", { class: `badge kind-${kindLabel(summary)}` }, kindLabel(summary)), " ", displayName(summary, uuid)),
      h("p", { class: "muted uuid" }, uuid, summary.entry ? ` · entry ${summary.entry.entry_id} in ${summary.entry.repository_id}` : "",
        ` · your access: ${level.replace("can_", "")}`),
      actions),
    error,
    tagsSection(uuid, true),
    tabs(views));
}
