// Small DOM helpers shared by the views: element builder, kind labels, error slots, a pager,
// a confirmation dialog, a JSON field with validation and a search-as-you-type picker.

import { arv, infixOf } from "./api.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function kindLabel(item) {
  if (!item) return "object";
  if (item.entry) return item.entry.entry_type === "Folder" ? "folder" : "document";
  if (item.group_class) return item.group_class;
  const kind = item.kind || "";
  return { "arvados#user": "user", "arvados#collection": "collection", "arvados#link": "link" }[kind]
    || kind.replace("arvados#", "") || "object";
}

export function displayName(item, uuid) {
  if (!item) return uuid;
  return item.name || item.username || item.uuid;
}

// A clickable end of a link: name and kind, never a bare uuid when the name is known.
export function objectRef(uuid, described) {
  const item = described?.get(uuid);
  if (!item) {
    return h("span", { class: "ref unknown", title: uuid }, infixOf(uuid) ? "(not visible to you)" : uuid || "—");
  }
  return h("a", { class: "ref", href: `#/o/${uuid}`, title: uuid },
    h("span", { class: `badge kind-${kindLabel(item)}` }, kindLabel(item)), " ", displayName(item, uuid));
}

export function errorSlot() {
  const slot = h("p", { class: "error", role: "alert", "aria-live": "assertive" });
  slot.show = (error) => { slot.textContent = error ? (error.message || String(error)) : ""; };
  return slot;
}

export async function guarded(slot, action) {
  slot.show(null);
  try {
    return await action();
  } catch (error) {
    slot.show(error);
    return undefined;
  }
}

// Prev / next paging for any offset-based list; ``load(offset)`` returns {total, shown}.
export function pager(pageSize, load, label = "items") {
  let offset = 0;
  const status = h("span", { class: "pager-status", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "secondary", onclick: () => go(offset - pageSize) }, "‹ Previous");
  const next = h("button", { type: "button", class: "secondary", onclick: () => go(offset + pageSize) }, "Next ›");
  const bar = h("div", { class: "pager" }, prev, status, next);
  async function go(to) {
    offset = Math.max(0, to);
    const result = await load(offset);
    if (!result) return;
    const { total, shown } = result;
    status.textContent = total ? `${offset + 1}–${offset + shown} of ${total} ${label}` : `No ${label}`;
    prev.disabled = offset === 0;
    next.disabled = offset + shown >= total;
  }
  bar.reload = () => go(offset);
  bar.first = () => go(0);
  return bar;
}

export function confirmDialog(title, text, confirmLabel = "Delete") {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, title), h("p", {}, text),
      h("form", { method: "dialog", class: "actions" },
        h("button", { value: "cancel", class: "secondary", autofocus: true }, "Cancel"),
        h("button", { value: "confirm", class: "danger" }, confirmLabel)));
    dialog.addEventListener("close", () => { dialog.remove(); resolve(dialog.returnValue === "confirm"); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// A textarea holding a JSON object, validated as one types; ``value()`` throws when invalid.
export function jsonField(id, label, initial = {}, { strings = false } = {}) {
  const area = h("textarea", { id, rows: 4, spellcheck: "false", "aria-describedby": `${id}-error` });
  area.value = JSON.stringify(initial ?? {}, null, 2);
  const problem = h("p", { id: `${id}-error`, class: "error field-error", role: "alert" });
  function parse() {
    let value;
    try { value = JSON.parse(area.value || "{}"); } catch (error) {
      throw new Error(`${label} is not valid JSON: ${error.message}`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${label} must be a JSON object`);
    if (strings && Object.values(value).some((v) => typeof v !== "string")) throw new Error(`${label} values must be strings`);
    return value;
  }
  area.addEventListener("input", () => {
    try { parse(); problem.textContent = ""; area.removeAttribute("aria-invalid"); } catch (error) {
      problem.textContent = error.message; area.setAttribute("aria-invalid", "true");
    }
  });
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), area, problem);
  wrap.value = () => {
    try { const v = parse(); problem.textContent = ""; return v; } catch (error) {
      problem.textContent = error.message; area.setAttribute("aria-invalid", "true"); area.focus(); throw error;
    }
  };
  return wrap;
}

// Search-as-you-type over projects, roles, collections and users (Arvados lists, ``ilike``);
// a pasted uuid is taken as is. ``kinds`` limits what is searched.
export function picker(id, label, { kinds = ["groups", "collections", "users"], onpick } = {}) {
  const input = h("input", {
    id, type: "search", autocomplete: "off", role: "combobox", "aria-expanded": "false",
    "aria-controls": `${id}-list`, "aria-autocomplete": "list", placeholder: "Type a name or paste a uuid",
  });
  const list = h("ul", { id: `${id}-list`, role: "listbox", class: "picker-list", hidden: true });
  const chosen = h("p", { class: "picked", "aria-live": "polite" });
  const problem = h("p", { class: "error field-error", role: "alert" });
  const wrap = h("div", { class: "field picker" }, h("label", { for: id }, label), input, list, chosen, problem);
  let items = [];
  let active = -1;
  let timer = null;
  let serial = 0;
  wrap.selected = null;

  function choose(item) {
    wrap.selected = item;
    input.value = item.name || item.uuid;
    chosen.textContent = `Selected: ${item.label} ${item.name || ""} (${item.uuid})`;
    close();
    onpick?.(item);
  }
  function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; }
  function render() {
    list.replaceChildren(...items.map((item, index) => h("li", {
      id: `${id}-opt-${index}`, role: "option", "aria-selected": String(index === active),
      class: index === active ? "active" : null, onmousedown: (ev) => { ev.preventDefault(); choose(item); },
    }, h("span", { class: `badge kind-${item.label}` }, item.label), " ", item.name || item.uuid)));
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", String(!list.hidden));
    if (active >= 0) input.setAttribute("aria-activedescendant", `${id}-opt-${active}`);
    else input.removeAttribute("aria-activedescendant");
  }
  async function search(text) {
    const mine = ++serial;
    problem.textContent = "";
    if (infixOf(text)) { items = [{ uuid: text, name: "", label: "uuid" }]; active = 0; render(); return; }
    if (text.length < 1) { items = []; render(); return; }
    const pattern = `%${text}%`;
    const queries = kinds.map((resource) => arv.list(resource, {
      filters: resource === "users" ? [["any", "ilike", pattern]] : [["name", "ilike", pattern]],
      limit: 8, order: ["name asc"],
    }).then((page) => page.items.map((item) => ({
      uuid: item.uuid,
      name: resource === "users" ? (item.full_name || item.username || item.email) : item.name,
      label: resource === "users" ? "user" : resource === "collections" ? "collection" : item.group_class,
    }))));
    try {
      const found = (await Promise.all(queries)).flat();
      if (mine !== serial) return;
      items = found;
      active = items.length ? 0 : -1;
      render();
      if (!items.length) problem.textContent = `Nothing you can read matches “${text}”.`;
    } catch (error) {
      if (mine === serial) problem.textContent = error.message;
    }
  }
  input.addEventListener("input", () => {
    wrap.selected = null;
    chosen.textContent = "";
    clearTimeout(timer);
    timer = setTimeout(() => search(input.value.trim()), 150);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown" && items.length) { active = (active + 1) % items.length; render(); ev.preventDefault(); }
    else if (ev.key === "ArrowUp" && items.length) { active = (active - 1 + items.length) % items.length; render(); ev.preventDefault(); }
    else if (ev.key === "Enter" && !list.hidden && active >= 0) { choose(items[active]); ev.preventDefault(); }
    else if (ev.key === "Escape") close();
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
  wrap.reset = () => { wrap.selected = null; input.value = ""; chosen.textContent = ""; items = []; render(); };
  return wrap;
}
