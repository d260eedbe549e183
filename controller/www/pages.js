// pages - one function per page: it fetches what it shows and returns
// the page's node. Stored values (subjects, addresses, options, map text)
// enter the page only as text (dom.js); write controls are disabled when
// the login may only read, and the server refuses such writes anyway.
import {call, query, ApiError} from "./api.js";
import {el, fill, on, table, time, num} from "./dom.js";
import {stackedBars} from "./chart.js";

const ACTIONS = ["reject", "soft reject", "rewrite subject", "add header", "greylist", "no action"];

function actionBadge(a) {
  return el("span", {class: "badge act-" + String(a || "").replace(/[^a-z]+/g, "-")}, a || "");
}

function button(text, attrs, fn) {
  return on(el("button", Object.assign({type: "button"}, attrs || {}), text), "click", fn);
}

// A control that writes: disabled for a read-only login.
function writeButton(ctx, text, attrs, fn) {
  const a = Object.assign({}, attrs || {});
  a.class = ("write " + (a.class || "").replace(/\bwrite\b/, "")).trim();
  const b = button(text, a, fn);
  if (!ctx.canWrite) {
    b.disabled = true;
    b.title = "needs the enable password";
  }
  return b;
}

function section(title, ...children) {
  return el("section", {class: "card"}, el("h2", null, title), children);
}

// Run a write and report its answer in the notice line.
async function write(ctx, fn, done) {
  try {
    const r = await fn();
    if (done) ctx.notice(typeof done === "function" ? done(r) : done, r.status === 208 ? "warn" : "ok");
    return r;
  } catch (e) {
    ctx.notice(e.message, "error");
    return null;
  }
}

function learnButtons(ctx, id, learnable) {
  const mk = (cls) => writeButton(ctx, "Learn " + cls, {class: "write learn-" + cls, "data-id": id},
    () => write(ctx, () => call("/moat/learn", {body: {id: Number(id), class: cls}}),
      (r) => r.status === 208 ? "Message " + id + " was already learned as " + cls + "."
        : "Message " + id + " learned as " + cls + "."));
  const b = [mk("spam"), mk("ham")];
  if (learnable === false)
    b.forEach((x) => { x.disabled = true; x.title = "its Bayes tokens are no longer kept"; });
  return el("span", {class: "learn"}, b);
}

// --- Dashboard -------------------------------------------------------------

async function dashboard(ctx) {
  const period = ctx.period || "day";
  const d = (await call("/moat/dashboard" + query({period}))).data;
  const today = d.actions_today || {};
  const acts = table("actions-today compact", ["Action", "Messages"],
    ACTIONS.map((a) => [actionBadge(a), String(today[a] || 0)]),
    (i) => ({"data-action": ACTIONS[i]}));
  const total = el("p", {class: "big"}, el("span", {id: "today-total"}, String(today.total || 0)),
    " messages today");

  const sel = el("select", {id: "period", "aria-label": "period"},
    ["day", "week", "month"].map((p) => el("option", {value: p, selected: p === period}, p)));
  on(sel, "change", () => { ctx.period = sel.value; ctx.go("#dashboard"); });

  const sm = d.scan_ms || {};
  const scan = table("scan-ms compact", ["Scans", "p50", "p90", "p99", "max"],
    [[String(sm.count || 0), num(sm.p50, 1), num(sm.p90, 1), num(sm.p99, 1), num(sm.max, 1)]]);
  const top = table("top-symbols compact", ["Symbol", "Messages"],
    (d.top_symbols || []).map((s) => [s.name, String(s.count)]));
  const zones = ((d.dnsbl || {}).zones || []);
  const dns = zones.length ? table("dnsbl compact", ["List", "Kind", "Health"], zones.map((z) => [z.zone, z.kind || "",
    (z.problems || []).length ? el("span", {class: "bad"}, z.problems.map((p) =>
      p.kind + " " + (p.code || "") + " ×" + p.count + " (last " + time(p.last_seen) + ")").join("; "))
      : el("span", {class: "good"}, "ok")]))
    : el("p", null, "No DNS lists in use.");
  const b = d.bayes || {};
  const bayes = table("bayes compact", ["Spam learned", "Ham learned", "Tokens", "Needed of each", "Scoring"],
    [[String(b.spam || 0), String(b.ham || 0), String(b.tokens || 0), String(b.min_learns || 0),
      b.active ? el("span", {class: "good"}, "active") : el("span", {class: "bad"}, "not yet")]]);
  return el("div", {class: "grid"},
    section("Actions today", total, acts),
    section("Messages per " + {day: "hour", week: "6 hours", month: "day"}[period],
      el("label", null, "Period ", sel), stackedBars(d.series || {})),
    section("Top symbols (24 hours)", top),
    section("Scan time, ms (24 hours)", scan),
    section("DNS lists", dns),
    section("Bayes", bayes));
}

// --- History ---------------------------------------------------------------

const FILTERS = [["from", "From", "text", "envelope or header"], ["to", "To", "text"], ["subject", "Subject", "text"],
  ["ip", "Client IP", "text"], ["symbol", "Symbol", "text"], ["since", "Since", "date"],
  ["until", "Until", "date"]];

// The From a reader sees: the header's display name and address; the envelope
// sender when the message has no From header.
function headerFrom(h) {
  if (!h.mime_from && !h.mime_from_name) return h.sender || "";
  return h.mime_from_name ? h.mime_from_name + " <" + h.mime_from + ">" : h.mime_from;
}

// Whether the envelope sender is another address than the header's.
function envelopeDiffers(h) {
  return !!(h.mime_from || h.mime_from_name) &&
    (h.sender || "").toLowerCase() !== (h.mime_from || "").toLowerCase();
}

async function history(ctx) {
  const st = ctx.hist || (ctx.hist = {f: {}, offset: 0, limit: 50});
  const r = (await call("/moat/history" + query(Object.assign({}, st.f,
    {offset: st.offset, limit: st.limit})))).data;

  const form = el("form", {class: "filters", id: "history-filters"});
  for (const [k, label, type, hint] of FILTERS)
    form.appendChild(el("label", null, label,
      el("input", {name: k, type, value: st.f[k] || "", autocomplete: "off", placeholder: hint})));
  form.appendChild(el("label", null, "Action", el("select", {name: "action"},
    el("option", {value: ""}, "any"),
    ACTIONS.concat(["skipped"]).map((a) => el("option", {value: a, selected: st.f.action === a}, a)))));
  form.appendChild(el("span", {class: "buttons"}, el("button", {type: "submit", id: "history-search"}, "Search"),
    button("Clear", null, () => { ctx.hist = null; ctx.go("#history"); })));
  on(form, "submit", (ev) => {
    ev.preventDefault();
    const f = {};
    for (const [k, v] of new FormData(form).entries())
      if (String(v).trim()) f[k] = String(v).trim();
    ctx.hist = {f, offset: 0, limit: st.limit};
    ctx.go("#history");
  });

  const rows = (r.rows || []).map((h) => [
    el("time", null, time(h.time)), actionBadge(h.action), num(h.score),
    el("span", {class: "c-from"}, el("span", {class: "mime-from"}, headerFrom(h)),
      envelopeDiffers(h) ? el("span", {class: "envelope", title: "envelope sender (MAIL FROM)"},
        "envelope " + (h.sender || "<>")) : null),
    el("span", {class: "c-to"}, (h.recipients || []).join(", ")),
    el("a", {href: "#message/" + h.id, class: "c-subject"}, h.subject || "(no subject)"),
    el("span", {class: "c-ip"}, h.client || ""),
    el("span", null, h.learned ? el("span", {class: "badge"}, "learned " + h.learned) : null,
      learnButtons(ctx, h.id, h.learnable))]);
  const tbl = table("history", ["Time", "Action", "Score", "From", "To", "Subject", "Client", "Learn"], rows,
    (i) => ({"data-id": r.rows[i].id}));

  const first = r.rows && r.rows.length ? st.offset + 1 : 0;
  const pager = el("div", {class: "pager"},
    button("‹ Newer", {id: "page-prev", disabled: st.offset === 0},
      () => { st.offset = Math.max(0, st.offset - st.limit); ctx.go("#history"); }),
    el("span", {id: "page-info"}, "rows " + first + "–" + (st.offset + (r.rows || []).length) +
      (r.total !== null && r.total !== undefined ? " of " + r.total : "")),
    button("Older ›", {id: "page-next", disabled: !r.more},
      () => { st.offset += st.limit; ctx.go("#history"); }));
  return el("div", null, section("History", form), section("Messages", pager, tbl));
}

// --- Message view ----------------------------------------------------------

async function message(ctx, id) {
  if (!/^[0-9]+$/.test(id)) throw new Error("No such message.");
  const m = (await call("/moat/message" + query({id}))).data;
  const dl = el("dl", {class: "facts", id: "message-facts"});
  const fact = (k, v) => dl.append(el("dt", null, k), el("dd", {"data-field": k}, v));
  fact("Time", time(m.time));
  fact("Action", actionBadge(m.action));
  fact("Score", num(m.score) + " / " + num(m.required_score));
  fact("From", headerFrom(m));
  fact("Envelope sender", m.sender || "<>");
  fact("To", (m.recipients || []).join(", "));
  fact("Subject", m.subject || "");
  fact("Client", m.client || "");
  fact("Queue id", m.queue_id || "");
  fact("Size", String(m.size || 0));
  fact("Scan time", num(m.scan_ms, 1) + " ms");
  if (m.reason) fact("Reason", m.reason);
  fact("Learned", m.learned || "no");
  const syms = table("symbols", ["Symbol", "Weight", "Options"], (m.symbols || []).map((s) =>
    [s.name, num(s.weight), (s.options || []).map((o) => el("span", {class: "option"}, o))]));
  return el("div", null,
    section("Message " + m.id, dl, el("p", null, learnButtons(ctx, m.id, m.learnable), " ",
      el("a", {href: "#history"}, "Back to the history"))),
    section("Symbols", syms));
}

// --- Symbols and weights -----------------------------------------------------

async function symbols(ctx) {
  const groups = (await call("/symbols")).data || [];
  const all = [];
  for (const g of groups)
    for (const r of g.rules || []) all.push(Object.assign({group: g.group}, r));
  const search = el("input", {type: "search", id: "symbol-search", placeholder: "name, group or description",
    value: ctx.symq || "", "aria-label": "search symbols"});
  const body = el("div");
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    ctx.symq = search.value;
    const shown = all.filter((s) => !q || [s.symbol, s.group, s.description].join(" ").toLowerCase().includes(q));
    fill(body, table("symbols-edit", ["Symbol", "Group", "Description", "Weight", ""], shown.map((s) => {
      const w = el("input", {type: "number", step: "0.01", value: String(s.weight), class: "weight",
        "aria-label": "weight of " + s.symbol, "data-symbol": s.symbol, disabled: !ctx.canWrite});
      return [el("span", {class: s.disabled ? "off" : ""}, s.symbol), s.group, s.description || "", w,
        writeButton(ctx, "Save", {"data-symbol": s.symbol}, () => {
          if (w.value === "" || isNaN(Number(w.value))) return ctx.notice("A weight is a number.", "error");
          write(ctx, () => call("/savesymbols", {body: [{name: s.symbol, value: Number(w.value)}]}),
            () => { s.weight = Number(w.value); return s.symbol + " now weighs " + w.value + "."; });
        })];
    })), el("p", {class: "count"}, shown.length + " of " + all.length + " symbols"));
  };
  on(search, "input", draw);
  draw();
  return section("Symbols and weights", el("label", null, "Search ", search), body);
}

// --- Actions ---------------------------------------------------------------

async function actions(ctx) {
  const list = (await call("/actions")).data || [];
  const cur = {};
  for (const a of list) cur[a.action] = a.value;
  const names = ["reject", "rewrite subject", "add header", "greylist"];
  const inputs = names.map((n) => el("input", {type: "number", step: "0.1", name: n,
    value: cur[n] === undefined || cur[n] === null ? "" : String(cur[n]), disabled: !ctx.canWrite,
    placeholder: "off", "data-action": n}));
  const form = el("form", {class: "thresholds"}, names.map((n, i) => el("label", null, n, inputs[i])),
    el("button", {type: "submit", class: "write", disabled: !ctx.canWrite}, "Save thresholds"));
  on(form, "submit", (ev) => {
    ev.preventDefault();
    const v = inputs.map((i) => (i.value === "" ? null : Number(i.value)));
    write(ctx, () => call("/saveactions", {body: v}), "Thresholds saved.");
  });
  return section("Action thresholds", el("p", {class: "hint"},
    "A message whose score reaches a threshold gets that action; empty means the action is off."), form);
}

// --- Composites ------------------------------------------------------------

async function composites(ctx) {
  const list = (await call("/moat/composites")).data || [];
  const f = {name: el("input", {name: "name", required: true}),
    expression: el("input", {name: "expression", required: true, size: 40}),
    weight: el("input", {name: "weight", type: "number", step: "0.01", value: "0"}),
    policy: el("select", {name: "policy"}, ["remove_all", "remove_symbol", "remove_weight", "leave"]
      .map((p) => el("option", {value: p}, p))),
    description: el("input", {name: "description"}),
    enabled: el("input", {name: "enabled", type: "checkbox", checked: true})};
  const form = el("form", {class: "filters", id: "composite-form"}, Object.entries(f).map(([k, i]) => el("label", null, k, i)),
    el("button", {type: "submit", class: "write", disabled: !ctx.canWrite}, "Save composite"));
  on(form, "submit", (ev) => {
    ev.preventDefault();
    write(ctx, () => call("/moat/savecomposite", {body: {name: f.name.value, expression: f.expression.value,
      weight: Number(f.weight.value || 0), policy: f.policy.value, description: f.description.value,
      enabled: f.enabled.checked}}), "Composite " + f.name.value + " saved.").then((r) => r && ctx.go("#composites"));
  });
  const rows = list.map((c) => [c.name, el("code", null, c.expression), num(c.weight), c.policy,
    c.enabled ? "yes" : "no", c.description || "",
    el("span", null, button("Edit", null, () => {
      for (const k of ["name", "expression", "weight", "description"]) f[k].value = c[k] === null ? "" : String(c[k]);
      f.policy.value = c.policy;
      f.enabled.checked = !!c.enabled;
      f.name.focus();
    }), writeButton(ctx, "Delete", {class: "composite-delete", "data-name": c.name}, () =>
      write(ctx, () => call("/moat/deletecomposite", {body: {name: c.name}}), "Composite " + c.name + " deleted.")
        .then((r) => r && ctx.go("#composites"))))]);
  return el("div", null, section("Composites", table("composites",
    ["Name", "Expression", "Weight", "Policy", "On", "Description", ""], rows)),
  section("Add or replace a composite", form));
}

// --- Greylisting -----------------------------------------------------------

async function greylist(ctx) {
  const st = ctx.grey || (ctx.grey = {q: "", offset: 0, limit: 50});
  const g = (await call("/moat/greylist" + query({q: st.q, offset: st.offset, limit: st.limit}))).data;
  const q = el("input", {type: "search", name: "q", value: st.q, placeholder: "client, sender or recipient"});
  const form = el("form", {class: "filters", id: "grey-search-form"}, el("label", null, "Search ", q),
    el("button", {type: "submit"}, "Search"));
  on(form, "submit", (ev) => { ev.preventDefault(); ctx.grey = {q: q.value.trim(), offset: 0, limit: st.limit}; ctx.go("#greylist"); });
  const act = (what, body, text) => writeButton(ctx, text, {class: "grey-" + what}, () =>
    write(ctx, () => call("/moat/greylist/" + what, {body}), text + ": done.").then((r) => r && ctx.go("#greylist")));
  const trip = g.triplets || {}, cl = g.clients || {}, ms = g.messages || {};
  const rowsOf = (x) => (Array.isArray(x) ? x : x.rows || x.items || []);
  const totalOf = (x, k) => (x && x.total !== undefined ? x.total : g[k + "_total"]);
  const allow = el("input", {name: "client", placeholder: "192.0.2.1", "aria-label": "client to allow"});
  const allowForm = el("form", {class: "filters", id: "grey-allow-form"}, el("label", null, "Client ", allow),
    el("button", {type: "submit", class: "write", disabled: !ctx.canWrite}, "Allow without greylisting"));
  on(allowForm, "submit", (ev) => {
    ev.preventDefault();
    write(ctx, () => call("/moat/greylist/allow", {body: {client: allow.value.trim()}}),
      allow.value.trim() + " is allowed.").then((r) => r && ctx.go("#greylist"));
  });
  const pager = el("div", {class: "pager"},
    button("‹ Previous", {disabled: st.offset === 0}, () => { st.offset = Math.max(0, st.offset - st.limit); ctx.go("#greylist"); }),
    button("Next ›", {}, () => { st.offset += st.limit; ctx.go("#greylist"); }));
  return el("div", null, section("Greylisting", form, allowForm),
    section("Triplets (" + (totalOf(trip, "triplets") ?? "") + ")", table("grey-triplets",
      ["Client", "Sender", "Recipient", "First seen", "Last seen", "Passed", ""], rowsOf(trip).map((t) =>
        [t.client, t.sender, t.recipient, time(t.first_seen), time(t.last_seen), t.passed_at ? time(t.passed_at) : "no",
          el("span", null, act("allow", {triplet: String(t.id)}, "Allow"), act("delete", {triplet: String(t.id)}, "Delete"))]))),
    section("Clients that skip greylisting (" + (totalOf(cl, "clients") ?? "") + ")", table("grey-clients",
      ["Client", "Passes", "Last seen", "By hand", ""], rowsOf(cl).map((c) =>
        [c.client, String(c.count ?? ""), time(c.last_seen), c.manual ? "yes" : "no",
          act("delete", {client: c.client}, "Delete")]))),
    section("Greylisted messages (" + (totalOf(ms, "messages") ?? "") + ")", table("grey-messages",
      ["Id", "First seen", "Last seen", ""], rowsOf(ms).map((m) =>
        [String(m.id), time(m.first_seen), time(m.last_seen),
          el("span", null, act("allow", {message: String(m.id)}, "Allow"), act("delete", {message: String(m.id)}, "Delete"))]))),
    pager);
}

// --- Allow and block lists, maps -------------------------------------------

async function maps(ctx) {
  const list = (await call("/maps")).data || [];
  const view = el("div", {id: "map-view"});
  const show = async (m) => {
    try {
      const text = (await call("/getmap", {headers: {Map: String(m.map)}, raw: true})).data;
      const ta = el("textarea", {rows: 14, spellcheck: "false", readonly: !(m.editable && ctx.canWrite),
        "aria-label": "map " + m.uri});
      ta.value = text;
      fill(view, el("h3", null, m.description + ": " + m.uri), ta,
        m.editable ? writeButton(ctx, "Save map", null, () =>
          write(ctx, () => call("/savemap", {headers: {Map: String(m.map)}, body: ta.value}), "Map saved."))
          : el("p", {class: "hint"}, "Change this list in moat.conf or its source file; moatctl maps reloads it."));
    } catch (e) {
      fill(view, el("p", {class: "error"}, e.message));
    }
  };
  return el("div", null, section("Allow and block lists",
    table("maps", ["List", "Source", "Type", "Loaded", ""], list.map((m) =>
      [m.description, m.uri, m.type, m.loaded ? "yes" : "no", button("Show", null, () => show(m))]))),
  section("Contents", view));
}

// --- Scan or learn an uploaded message ----------------------------------------

async function scan(ctx) {
  const file = el("input", {type: "file", id: "scan-file", accept: ".eml,.txt,message/rfc822"});
  const text = el("textarea", {rows: 10, id: "scan-text", spellcheck: "false", placeholder: "Paste a message here, or pick a file."});
  const out = el("div", {id: "scan-result"});
  on(file, "change", async () => { if (file.files[0]) text.value = await file.files[0].text(); });
  const body = () => {
    if (!text.value.trim()) throw new ApiError(400, "Paste a message or pick a file first.");
    return text.value;
  };
  const doScan = async () => {
    try {
      const r = (await call("/checkv2", {body: body()})).data;
      const syms = Object.values(r.symbols || {}).sort((a, b) => Math.abs(b.score) - Math.abs(a.score));
      fill(out, el("p", {class: "big"}, actionBadge(r.action), " score ", el("span", {id: "scan-score"}, num(r.score)),
        " / ", num(r.required_score)),
      table("symbols", ["Symbol", "Weight", "Options"], syms.map((s) =>
        [s.name, num(s.score), (s.options || []).map((o) => el("span", {class: "option"}, o))])));
    } catch (e) {
      fill(out, el("p", {class: "error"}, e.message));
    }
  };
  const learn = (cls) => writeButton(ctx, "Learn as " + cls, null, () =>
    write(ctx, () => call("/learn" + cls, {body: body()}),
      (r) => (r.status === 208 ? "Already learned as " + cls + "." : "Learned as " + cls + ".")));
  return section("Scan or learn a message", el("label", null, "Message file ", file), text,
    el("p", {class: "buttons"}, button("Scan", {id: "scan-button"}, doScan), learn("spam"), learn("ham")), out);
}

export const pages = {dashboard, history, message, symbols, actions, composites, greylist, maps, scan};
