// Assign Links (Laserfiche): an entry's whole set of links, edited as rows and saved at once
// with the replace-all PUT. Each row: link definition, direction, the other entry, custom
// properties. Links whose other end you cannot read are not shown and are left alone.

import { lf, native } from "./api.js";
import { h, errorSlot, guarded, jsonField, picker } from "./ui.js";

export async function assignLinks(summary, canWrite) {
  const { repository_id: repository, entry_id: entryId } = summary.entry;
  const error = errorSlot();
  const status = h("p", { class: "status", role: "status" });
  const rows = h("tbody", {});
  const section = h("section", { class: "assign", "aria-labelledby": "assign-title" },
    h("h2", { id: "assign-title" }, `Assign links of entry ${entryId}`),
    h("p", { class: "muted" }, "The list below is the complete set: saving replaces every link of this entry with these rows."));
  const definitions = await guarded(error, () => lf.definitions(repository));
  const current = await guarded(error, () => lf.allLinks(repository, entryId));
  if (!definitions || !current) { section.append(error); return section; }
  let serial = 0;

  function row(link) {
    const n = ++serial;
    const isSource = link ? link.sourceId === entryId : true;
    const otherId = link ? (isSource ? link.targetId : link.sourceId) : "";
    const otherPath = link ? (isSource ? link.targetFullPath : link.sourceFullPath) : "";
    const definition = h("select", { id: `assign-def-${n}`, "aria-label": "Link definition" },
      definitions.value.map((d) => h("option", { value: d.id, selected: link && link.linkDefinitionId === d.id },
        `${d.description} (${d.sourceLabel} → ${d.targetLabel})`)));
    const direction = h("select", { id: `assign-dir-${n}`, "aria-label": "Direction" },
      h("option", { value: "source", selected: isSource }, "this entry is the source"),
      h("option", { value: "target", selected: !isSource }, "this entry is the target"));
    const other = h("input", { id: `assign-other-${n}`, type: "number", min: 1, value: otherId, "aria-label": "Other entry id", class: "narrow" });
    const where = h("span", { class: "muted path" }, otherPath);
    const find = picker(`assign-find-${n}`, "…or find it", { kinds: ["groups", "collections"], onpick: async (item) => {
      const found = await guarded(error, () => native.summary(item.uuid));
      if (!found) return;
      if (!found.entry || found.entry.repository_id !== repository) {
        error.show(new Error(`“${item.name}” is not an entry of repository ${repository}`));
        return;
      }
      other.value = found.entry.entry_id;
      where.textContent = found.name;
    } });
    const props = jsonField(`assign-props-${n}`, "Custom properties", link ? link.customProperties : {}, { strings: true });
    const tr = h("tr", {}, h("td", {}, definition), h("td", {}, direction), h("td", {}, other, where, find), h("td", {}, props),
      h("td", {}, h("button", { type: "button", class: "icon danger", "aria-label": "Remove this link", onclick: () => tr.remove() }, "×")));
    tr.value = () => ({ linkDefinitionId: Number(definition.value), otherEntryId: Number(other.value),
      isSource: direction.value === "source", customProperties: props.value() });
    return tr;
  }

  rows.append(...current.map(row));
  const table = h("table", { class: "assign-table" },
    h("thead", {}, h("tr", {}, ["Definition", "Direction", "Other entry", "Custom properties", ""].map((t) => h("th", { scope: "col" }, t)))),
    rows);
  const add = h("button", { type: "button", class: "secondary", id: "assign-add", onclick: () => { const r = row(null); rows.append(r); r.querySelector("select").focus(); } }, "Add a link");
  const save = h("button", { type: "button", id: "assign-save", onclick: async () => {
    status.textContent = "";
    let links;
    try {
      links = [...rows.children].map((tr) => tr.value());
    } catch { return; }
    if (links.some((l) => !l.otherEntryId)) { error.show(new Error("Every row needs the other entry's id")); return; }
    const saved = await guarded(error, () => lf.setLinks(repository, entryId, links));
    if (saved) {
      rows.replaceChildren(...saved.value.map(row));
      status.textContent = `Saved: this entry now has ${saved.value.length} link${saved.value.length === 1 ? "" : "s"}.`;
    }
  } }, "Save all links");
  if (!canWrite) {
    section.append(h("p", { class: "muted" }, "You can read these links; changing them needs write permission on the entry."));
  }
  section.append(h("div", { class: "table-scroll" }, table), canWrite ? h("div", { class: "actions" }, add, save) : null, error, status);
  return section;
}
