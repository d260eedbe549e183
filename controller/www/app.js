// app - moat's web UI: login, who is logged in, and the pages by the
// address's #fragment. Plain ES modules served by moat-controller; no
// framework, no build step, no inline script (the CSP forbids it).
import {call, password, setPassword, ApiError} from "./api.js";
import {el, fill, on} from "./dom.js";
import {pages} from "./pages.js";

const $ = (id) => document.getElementById(id);
const ctx = {canWrite: false, who: null, notice, go};
let seq = 0;
let lastHash = null;

function notice(text, kind) {
  const n = $("notice");
  fill(n, text);
  n.className = "notice " + (kind || "info");
  n.hidden = !text;
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// Who the request is: moat's /moat/whoami, or Rspamd's /auth where that is missing.
async function whoami(pw) {
  const opt = pw === undefined ? {} : {password: pw};
  try {
    const r = await call("/moat/whoami", opt);
    return {canWrite: r.data.access === "write", via: r.data.via, client: r.data.client};
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 405)) throw e;
  }
  const r = await call("/auth", opt);
  return {canWrite: r.data.read_only === false, via: pw || password() ? "password" : "", client: ""};
}

function showWho(w) {
  const how = {secure_ip: "trusted address", password: "read password",
    enable_password: "enable password"}[w.via] || "password";
  fill($("who-text"), el("strong", null, w.canWrite ? "read and write" : "read only"),
    " · " + how + (w.client ? " from " + w.client : ""));
  $("who").hidden = false;
  $("logout").hidden = w.via === "secure_ip" && !password();
  document.body.classList.toggle("read-only", !w.canWrite);
}

function showLogin(msg) {
  $("page").hidden = true;
  $("nav").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  fill($("login-error"), msg || "");
  $("login-error").hidden = !msg;
  $("password").focus();
}

async function loggedIn(w) {
  ctx.canWrite = w.canWrite;
  ctx.who = w;
  showWho(w);
  $("login").hidden = true;
  $("nav").hidden = false;
  $("page").hidden = false;
  await route();
}

async function start() {
  try {
    await loggedIn(await whoami());
  } catch (e) {
    const had = password() !== null;
    setPassword(null);
    showLogin(e.status === 403 ? (had ? "The stored password no longer works." : "") : e.message);
  }
}

on($("login-form"), "submit", async (ev) => {
  ev.preventDefault();
  const pw = $("password").value;
  $("login-button").disabled = true;
  try {
    const w = await whoami(pw);
    setPassword(pw);
    $("password").value = "";
    await loggedIn(w);
  } catch (e) {
    $("password").value = "";
    showLogin(e.status === 403 ? "Wrong password." : e.message);
  } finally {
    $("login-button").disabled = false;
  }
});

on($("logout"), "click", () => {
  setPassword(null);
  location.hash = "";
  showLogin("");
});

on($("menu-toggle"), "click", () => {
  const open = !document.body.classList.contains("menu-open");
  document.body.classList.toggle("menu-open", open);
  $("menu-toggle").setAttribute("aria-expanded", String(open));
});

async function route() {
  const page = $("page");
  const [name, arg] = (location.hash.replace(/^#/, "") || "dashboard").split("/");
  const render = pages[name] || pages.dashboard;
  const mine = ++seq;
  document.body.classList.remove("menu-open");
  for (const a of document.querySelectorAll("#nav a"))
    a.classList.toggle("active", a.dataset.page === (pages[name] ? name : "dashboard"));
  // A write re-renders its own page: its notice stays; another page starts without one.
  if (location.hash !== lastHash) notice("");
  lastHash = location.hash;
  delete page.dataset.loaded;
  fill(page, el("p", {class: "loading"}, "Loading…"));
  try {
    const node = await render(ctx, arg ? decodeURIComponent(arg) : "");
    if (mine !== seq) return;
    fill(page, node);
  } catch (e) {
    if (mine !== seq) return;
    if (e instanceof ApiError && e.status === 403 && !ctx.who) return showLogin(e.message);
    fill(page, el("p", {class: "error"}, e.message));
  }
  page.dataset.loaded = name || "dashboard";
  page.dataset.render = String(mine); // counts drawings: a test waits for the one after a write
}

window.addEventListener("hashchange", () => {
  if (!$("login").hidden) return;
  route();
});
start();
