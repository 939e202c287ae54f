// The graph view: an object's neighbourhood (depth 1–3, optionally one link class and one
// direction) from /linkbase/v1/graph/neighbors, drawn as SVG rings around the object. Every
// node is a link to its page; a list below says the same in text.

import { native } from "./api.js";
import { h, errorSlot, guarded, kindLabel } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#2f6fba", "#b8570b", "#2b8a3e", "#9c36b5", "#c92a2a", "#5f6b7a", "#0b7285"];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null) el.setAttribute(key, value);
  el.append(...children);
  return el;
}

// Rings by distance; on each ring, nodes sit near the mean angle of the nodes they hang from.
function layout(result) {
  const angle = new Map([[result.root, 0]]);
  const byDepth = new Map();
  for (const node of result.nodes) {
    if (!byDepth.has(node.depth)) byDepth.set(node.depth, []);
    byDepth.get(node.depth).push(node);
  }
  const neighbours = new Map();
  for (const edge of result.edges) {
    for (const [a, b] of [[edge.tail_uuid, edge.head_uuid], [edge.head_uuid, edge.tail_uuid]]) {
      if (!neighbours.has(a)) neighbours.set(a, []);
      neighbours.get(a).push(b);
    }
  }
  const depths = [...byDepth.keys()].sort((a, b) => a - b);
  for (const depth of depths.filter((d) => d > 0)) {
    const ring = byDepth.get(depth);
    const wish = (node) => {
      const parents = (neighbours.get(node.uuid) || []).filter((p) => angle.has(p));
      return parents.length ? parents.reduce((sum, p) => sum + angle.get(p), 0) / parents.length : 0;
    };
    ring.sort((a, b) => wish(a) - wish(b) || a.uuid.localeCompare(b.uuid));
    ring.forEach((node, index) => angle.set(node.uuid, (2 * Math.PI * index) / ring.length + depth * 0.3));
  }
  const maxDepth = Math.max(1, ...depths);
  const size = 640;
  const step = (size / 2 - 70) / maxDepth;
  const position = new Map();
  for (const node of result.nodes) {
    const radius = node.depth * step;
    const a = angle.get(node.uuid) ?? 0;
    position.set(node.uuid, [size / 2 + radius * Math.cos(a), size / 2 + radius * Math.sin(a)]);
  }
  return { size, position };
}

function draw(result) {
  const { size, position } = layout(result);
  const classes = [...new Set(result.edges.map((e) => e.link_class || "(none)"))].sort();
  const colour = (cls) => COLOURS[classes.indexOf(cls || "(none)") % COLOURS.length];
  const svg = s("svg", { viewBox: `0 0 ${size} ${size}`, role: "img", class: "graph",
    "aria-label": `Graph of ${result.nodes.length} objects and ${result.edges.length} links` });
  for (const edge of result.edges) {
    const [x1, y1] = position.get(edge.tail_uuid) || [];
    const [x2, y2] = position.get(edge.head_uuid) || [];
    if (x1 === undefined || x2 === undefined) continue;
    svg.append(s("line", { x1, y1, x2, y2, stroke: colour(edge.link_class), "stroke-width": 2, "marker-end": "url(#arrow)", class: "edge" },
      s("title", {}, `${edge.link_class || ""} ${edge.name || ""}`.trim())));
  }
  const defs = s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "18", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" },
    s("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#555" })));
  svg.prepend(defs);
  for (const node of result.nodes) {
    const [x, y] = position.get(node.uuid);
    const label = node.name || node.uuid;
    const kind = kindLabel(node);
    const anchor = s("a", { href: `#/o/${node.uuid}`, class: `node kind-${kind}${node.uuid === result.root ? " root" : ""}`,
      "aria-label": `${kind} ${label}, ${node.depth} link${node.depth === 1 ? "" : "s"} away` },
    s("circle", { cx: x, cy: y, r: node.uuid === result.root ? 12 : 9 }),
    s("text", { x, y: y + 24, "text-anchor": "middle" }, label.length > 22 ? `${label.slice(0, 21)}…` : label),
    s("title", {}, `${kind}: ${label}`));
    svg.append(anchor);
  }
  const legend = h("ul", { class: "legend", "aria-label": "Link classes" },
    classes.map((cls) => h("li", {}, h("span", { class: "swatch", style: `background:${colour(cls)}` }), cls)));
  return h("div", { class: "graph-wrap" }, svg, legend);
}

export function graphView(uuid) {
  const error = errorSlot();
  const canvas = h("div", { class: "graph-canvas", "aria-live": "polite" });
  const text = h("ul", { class: "graph-list" });
  const form = h("form", { class: "inline graph-controls", onsubmit: (ev) => { ev.preventDefault(); load(); } },
    h("label", { for: "graph-depth" }, "Depth"),
    h("select", { id: "graph-depth", name: "depth" }, [1, 2, 3].map((d) => h("option", { value: d, selected: d === 2 }, d))),
    h("label", { for: "graph-class" }, "Link class"),
    h("input", { id: "graph-class", name: "link_class", list: "graph-classes", placeholder: "any" }),
    h("datalist", { id: "graph-classes" }, ["relation", "provenance", "permission", "star", "tag"].map((c) => h("option", { value: c }))),
    h("label", { for: "graph-direction" }, "Direction"),
    h("select", { id: "graph-direction", name: "direction" }, ["both", "out", "in"].map((d) => h("option", { value: d }, d))),
    h("button", { type: "submit" }, "Draw"));
  async function load() {
    const f = form.elements;
    await guarded(error, async () => {
      const result = await native.neighbors(uuid, Number(f.depth.value), f.direction.value, f.link_class.value.trim());
      canvas.replaceChildren(draw(result), result.truncated ? h("p", { class: "muted" }, "Only the nearest objects are drawn: narrow the view with a link class.") : "");
      text.replaceChildren(...result.nodes.filter((n) => n.uuid !== uuid).map((n) =>
        h("li", {}, h("a", { href: `#/o/${n.uuid}` }, `${n.name || n.uuid}`), h("span", { class: "muted" }, ` ${kindLabel(n)}, distance ${n.depth}`))));
    });
  }
  load();
  return h("section", { class: "graph-view", "aria-labelledby": "graph-title" },
    h("h2", { id: "graph-title" }, "Neighbourhood"), form, error, canvas,
    h("details", {}, h("summary", {}, "As a list"), text));
}
