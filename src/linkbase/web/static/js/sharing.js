// Sharing: who can read, write or manage this object (computed permissions), why (the explain
// path), and granting or revoking permission links.

import { arv, native } from "./api.js";
import { h, errorSlot, guarded, pager, picker, confirmDialog, objectRef } from "./ui.js";
import { state } from "./app.js";

const LEVELS = ["can_read", "can_write", "can_manage"];
const PAGE = 20;

function explainPath(explanation, described) {
  if (explanation.admin) return h("p", {}, "An administrator: every permission.");
  if (!explanation.path.length) return h("p", {}, `No access (${explanation.level}).`);
  return h("ol", { class: "explain-path" }, explanation.path.map((step) => h("li", {},
    objectRef(step.tail_uuid, described), ` —${step.kind === "ownership" ? "owns" : step.kind === "self" ? "is" : step.level}→ `,
    objectRef(step.head_uuid, described),
    step.link_uuid ? h("a", { href: `#/o/${step.link_uuid}`, class: "muted" }, " (link)") : null)));
}

async function why(user, target, slot) {
  const explanation = await native.explain(user, target);
  const uuids = explanation.path.flatMap((s) => [s.tail_uuid, s.head_uuid]);
  const described = await native.describe(uuids);
  slot.replaceChildren(h("p", {}, h("strong", {}, explanation.level.replace("can_", "")), " because:"), explainPath(explanation, described));
}

export async function sharing(summary) {
  const uuid = summary.uuid;
  const section = h("section", { class: "sharing", "aria-labelledby": "sharing-title" }, h("h2", { id: "sharing-title" }, "Sharing"));
  const manage = summary.level === "can_manage";

  // 1. Computed permissions: every user whose permission walks reach this object.
  const computedError = errorSlot();
  const computedBody = h("tbody", {});
  const computed = pager(PAGE, (offset) => guarded(computedError, async () => {
    const page = await arv.list("computed_permissions", { filters: [["target_uuid", "=", uuid]], order: ["user_uuid asc"], limit: PAGE, offset });
    const described = await native.describe(page.items.map((r) => r.user_uuid));
    computedBody.replaceChildren(...page.items.map((row) => {
      const slot = h("td", { class: "why" });
      return h("tr", {}, h("td", {}, objectRef(row.user_uuid, described)), h("td", {}, row.perm_level.replace("can_", "")),
        h("td", {}, h("button", { type: "button", class: "link", onclick: () => guarded(computedError, () => why(row.user_uuid, uuid, slot)) }, "Why?")), slot);
    }));
    return { total: page.items_available, shown: page.items.length };
  }), "users");
  section.append(h("h3", {}, "Who has access"),
    h("p", { class: "muted" }, state.me.is_admin ? "Every user with a permission on this object (computed from the grants and groups)."
      : "Your own computed permission (administrators see everyone's)."),
    h("table", { class: "computed" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "User"), h("th", { scope: "col" }, "Level"), h("th", {}), h("th", {}))), computedBody),
    computed, computedError);
  computed.first();

  // 2. Why does someone have the access they have?
  const checkError = errorSlot();
  const checkResult = h("div", { class: "why", "aria-live": "polite" });
  const who = picker("explain-user", "Check a user", { kinds: ["users"], onpick: (item) =>
    guarded(checkError, () => why(item.uuid, uuid, checkResult)) });
  section.append(h("h3", {}, "Why?"), who, checkError, checkResult);

  // 3. The grants themselves (needs manage): change level, revoke, grant.
  if (!manage) {
    section.append(h("p", { class: "muted" }, "Granting and revoking access needs manage permission on this object."));
    return section;
  }
  const grantsError = errorSlot();
  const grants = h("tbody", {});
  async function loadGrants() {
    const page = await arv.permissions(uuid);
    const described = await native.describe(page.items.map((l) => l.tail_uuid));
    grants.replaceChildren(...page.items.map((link) => h("tr", {},
      h("td", {}, objectRef(link.tail_uuid, described)),
      h("td", {}, LEVELS.includes(link.name) ? h("select", { "aria-label": "Level", onchange: (ev) => guarded(grantsError, async () => {
        await arv.update("links", "link", link.uuid, { name: ev.target.value });
        await loadGrants();
        computed.reload();
      }) }, LEVELS.map((l) => h("option", { value: l, selected: l === link.name }, l.replace("can_", "")))) : link.name),
      h("td", {}, h("button", { type: "button", class: "danger", onclick: async () => {
        if (!(await confirmDialog("Revoke this permission?", "The grantee loses this access on their next request.", "Revoke"))) return;
        await guarded(grantsError, async () => { await arv.remove("links", link.uuid); await loadGrants(); computed.reload(); });
      } }, "Revoke")))));
    if (!page.items.length) grants.append(h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No permission links name this object.")));
  }
  const grantee = picker("grant-to", "Grant to (user or role)", { kinds: ["users", "groups"] });
  const grantForm = h("form", { class: "card", id: "grant", onsubmit: async (ev) => {
    ev.preventDefault();
    if (!grantee.selected) { grantsError.show(new Error("Choose who to grant access to")); return; }
    const made = await guarded(grantsError, () => arv.create("links", "link", {
      link_class: "permission", name: ev.target.elements.level.value, tail_uuid: grantee.selected.uuid, head_uuid: uuid }));
    if (made) { grantee.reset(); await loadGrants(); computed.reload(); }
  } }, h("h3", {}, "Grant access"), grantee,
  h("div", { class: "field" }, h("label", { for: "grant-level" }, "Level"),
    h("select", { id: "grant-level", name: "level" }, LEVELS.map((l) => h("option", { value: l }, l.replace("can_", ""))))),
  h("button", { type: "submit" }, "Grant"));
  section.append(h("h3", {}, "Permission links"),
    h("table", { class: "grants" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Grantee"), h("th", { scope: "col" }, "Level"), h("th", {}))), grants),
    grantsError, grantForm);
  await guarded(grantsError, loadGrants);
  return section;
}
