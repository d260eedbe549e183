// dom - building the page from data without ever parsing data as HTML.
//
// Every value from the server (subjects, addresses, symbol options, map
// text) goes into the page through text nodes or element properties, so a
// Subject of "<script>" is shown as those characters. Nothing here sets
// innerHTML, event handler attributes or style attributes: the CSP
// forbids inline script and style, and this keeps it true by construction.

const SVG_NS = "http://www.w3.org/2000/svg";

// Attributes and properties el() may set; anything else (on*, style, srcdoc) is an error.
const ATTRS = new Set(["id", "class", "type", "name", "value", "href", "title", "for",
  "placeholder", "min", "max", "step", "rows", "cols", "colspan", "disabled", "checked",
  "selected", "required", "hidden", "role", "aria-label", "aria-live", "autocomplete",
  "inputmode", "size", "maxlength", "accept", "scope", "datetime", "spellcheck", "readonly"]);

function setAttr(node, k, v) {
  if (v === null || v === undefined || v === false) return;
  if (k.startsWith("data-")) {
    node.setAttribute(k, String(v));
    return;
  }
  if (!ATTRS.has(k)) throw new Error("el: attribute not allowed: " + k);
  if (k === "href" && !String(v).startsWith("#")) throw new Error("el: only #links");
  if (k === "value" || k === "checked" || k === "selected" || k === "disabled" ||
      k === "hidden" || k === "readOnly") {
    node[k] = v;
    if (k !== "value") return;
  }
  node.setAttribute(k, v === true ? "" : String(v));
}

function add(node, c) {
  if (c === null || c === undefined || c === false) return;
  if (Array.isArray(c)) {
    for (const x of c) add(node, x);
    return;
  }
  node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
}

// el("td", {class: "x"}, "text", child, [more]) -> element; strings become text nodes.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) setAttr(node, k, v);
  add(node, children);
  return node;
}

// An SVG element with numeric or plain attributes (no href, no event handlers).
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (/^on/i.test(k) || /href/i.test(k) || k === "style") throw new Error("svg: " + k);
    node.setAttribute(k, String(v));
  }
  add(node, children);
  return node;
}

// Replace a node's children.
export function fill(node, ...children) {
  node.replaceChildren();
  add(node, children);
  return node;
}

export function on(node, ev, fn) {
  node.addEventListener(ev, fn);
  return node;
}

// A table from column titles and rows of cells (strings or nodes).
export function table(cls, heads, rows, rowAttrs) {
  const thead = el("thead", null, el("tr", null, heads.map((h) => el("th", {scope: "col"}, h))));
  const tbody = el("tbody");
  rows.forEach((r, i) => {
    const tr = el("tr", rowAttrs ? rowAttrs(i) : null);
    r.forEach((c, j) => tr.appendChild(el("td", {"data-label": heads[j]}, c)));
    tbody.appendChild(tr);
  });
  return el("div", {class: "table-wrap"}, el("table", {class: cls}, thead, tbody));
}

export function time(t) {
  if (t === null || t === undefined || t === "") return "";
  const d = new Date(Number(t) * 1000);
  return isNaN(d) ? String(t) : d.toLocaleString();
}

export function num(x, digits) {
  if (x === null || x === undefined || x === "") return "–";
  const n = Number(x);
  return isNaN(n) ? String(x) : n.toFixed(digits === undefined ? 2 : digits);
}
