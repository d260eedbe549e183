#!/usr/bin/python3
# webui.py - moat's web UI in headless Chromium (run by t/webui.t, which has
# started a private Postfix with moat-contentfilter and moat-controller).
# Mail is sent through that Postfix here, so the history the UI shows is
# the history the test made. Each check prints one line (t/lib/browser.py).
import argparse
import os
import smtplib
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from browser import By, Console, DESKTOP, PHONE, check, equal, report, shot, start, wait  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--db", required=True)
ap.add_argument("--smtp-port", type=int, required=True)
ap.add_argument("--artifacts", required=True)
ap.add_argument("--tmp", required=True)
ap.add_argument("--read-pw", required=True)
ap.add_argument("--write-pw", required=True)
ap.add_argument("--map-file", required=True, help="client_allowlist's file, which the UI may edit")
a = ap.parse_args()

XSS_SUBJECT = '<script>window.__moat_xss = 1</script>"><img src=x onerror="window.__moat_xss=2">'
XSS_NAME = '"><img src=x onerror=window.__moat_xss=3><script>window.__moat_xss=4</script>'
XSS_SENDER = '"<script>window.__moat_xss=5</script>"@evil.example'


def db(sql, *args):
    c = sqlite3.connect(a.db, timeout=10)
    try:
        r = c.execute(sql, args).fetchall()
        c.commit()
        return r
    finally:
        c.close()


def rows():
    return db("SELECT count(*) FROM history")[0][0]


def send(subject, extra=(), sender="alice@sender.example", from_hdr="Alice <alice@sender.example>"):
    """One message through the private Postfix; False if it was refused."""
    msg = ("From: %s\r\nTo: bob@example.com\r\nSubject: %s\r\nMessage-ID: <%s@sender.example>\r\n"
           "Date: %s\r\n%s\r\nA message sent by the web UI test: %s.\r\n" % (
               from_hdr, subject, "%x.%d" % (int(time.time() * 1e6), os.getpid()),
               time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
               "".join(h + "\r\n" for h in extra), subject)).encode("utf-8")
    s = smtplib.SMTP("127.0.0.1", a.smtp_port, local_hostname="client.example", timeout=20)
    try:
        s.sendmail(sender, ["bob@example.com"], msg)
        return True
    except smtplib.SMTPException:
        return False
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def wait_rows(n, timeout=30):
    end = time.time() + timeout
    while time.time() < end and rows() < n:
        time.sleep(0.2)
    return rows()


# --- the mail the UI will show ------------------------------------------------
expect = {}
for i in range(1, 3):
    send("webui hello %d" % i)
# A From header the envelope does not name, as a list or a bulk sender sends.
send("webui hello 3", sender="bounce3@lists.example", from_hdr="Carol Header <carol@brand.example>")
send("webui add header", from_hdr="Dr. Alice <alice@sender.example>")
send("WEBUI SHOUTING SUBJECT FOR REWRITE")
send("webui rejected", extra=["X-Priority: 1"])
accepted = send(XSS_SUBJECT, sender=XSS_SENDER, from_hdr="%s <x@evil.example>" % XSS_NAME)
if not accepted:  # Postfix may refuse the quoted sender: the header still carries it
    send(XSS_SUBJECT, from_hdr="%s <x@evil.example>" % XSS_NAME)
    XSS_SENDER = "alice@sender.example"
n = wait_rows(7)
equal(n, 7, "seven messages through Postfix became seven history rows")
per_action = dict(db("SELECT action, count(*) FROM history GROUP BY action"))
equal(per_action, {"no action": 4, "add header": 1, "rewrite subject": 1, "reject": 1},
      "...landing on the actions the weights give")

d = start(a.tmp, os.path.join(a.artifacts, "chromedriver.log"))
con = Console(d, os.path.join(a.artifacts, "console.json"))
pages = ["dashboard", "history", "symbols", "actions", "composites", "greylist", "maps", "scan"]


def by_id(i):
    return d.find_element(By.ID, i)


def visible(i):
    return wait(d, lambda dr: dr.find_element(By.ID, i).is_displayed() or None)


def loaded(name, timeout=20):
    ok = wait(d, lambda dr: dr.execute_script(
        "var p = document.getElementById('page'); return p && p.dataset.loaded === arguments[0]", name)
        or None, timeout)
    return bool(ok)


def go(name):
    """Show a page, drawn afresh even if it is the one shown (as after a write)."""
    d.execute_script("delete document.getElementById('page').dataset.loaded;"
                     "if (location.hash === arguments[0]) window.dispatchEvent(new HashChangeEvent('hashchange'));"
                     "else location.hash = arguments[0];", "#" + name)
    return loaded(name.split("/")[0])


def render():
    return int(d.execute_script("return document.getElementById('page').dataset.render || 0"))


def redrawn(before):
    """Wait until the page was drawn again after a write (ctx.go)."""
    return wait(d, lambda dr: render() > before or None)


def page_error():
    e = d.find_elements(By.CSS_SELECTOR, "#page .error")
    return e[0].text if e else ""


def no_js_errors(desc, allow=()):
    bad = con.errors(allow)
    return check(not bad, desc, "; ".join(bad))


def xss_flag():
    return d.execute_script("return window.__moat_xss === undefined ? null : window.__moat_xss")


try:
    # --- login -----------------------------------------------------------------
    d.get(a.url + "/")
    check(visible("login"), "the login form is shown to a client that is not trusted")
    shot(d, a.artifacts, "desktop-login")
    by_id("password").send_keys("not the password")
    by_id("login-button").click()
    err = wait(d, lambda dr: dr.find_element(By.ID, "login-error").text or None)
    equal(err, "Wrong password.", "a wrong password: 'Wrong password.'")
    check(by_id("login").is_displayed() and not by_id("page").is_displayed(), "...and no page is shown")
    check(d.execute_script("return sessionStorage.getItem('Password')") is None, "...nor the password kept")
    no_js_errors("...and no JavaScript error (the 403 itself aside)",
                 allow=("status of 403",))

    by_id("password").send_keys(a.read_pw)
    by_id("login-button").click()
    check(loaded("dashboard"), "the read password logs in: the dashboard")
    who = by_id("who-text").text
    check("read only" in who, "...saying read only (%s)" % who)
    learn = d.find_elements(By.CSS_SELECTOR, "button.write")
    go("history")
    learn = d.find_elements(By.CSS_SELECTOR, "#page button.write")
    check(learn and all(not b.is_enabled() for b in learn),
          "...with every write control disabled (%d)" % len(learn))
    equal(d.execute_script("return sessionStorage.getItem('Password')"), a.read_pw,
          "...the password kept in sessionStorage as Rspamd's UI keeps it")
    by_id("logout").click()
    check(visible("login"), "log out: the login form again")

    by_id("password").send_keys(a.write_pw)
    by_id("login-button").click()
    check(loaded("dashboard"), "the enable password logs in")
    who = by_id("who-text").text
    check("read and write" in who, "...saying read and write (%s)" % who)
    no_js_errors("...no JavaScript error")

    # --- dashboard = history ---------------------------------------------------
    shown = {}
    for tr in d.find_elements(By.CSS_SELECTOR, "table.actions-today tbody tr"):
        shown[tr.get_attribute("data-action")] = int(tr.find_elements(By.TAG_NAME, "td")[1].text)
    want = {x: 0 for x in ["reject", "soft reject", "rewrite subject", "add header", "greylist", "no action"]}
    want.update(per_action)
    equal(shown, want, "the dashboard's actions today are the history's rows per action")
    equal(by_id("today-total").text, str(rows()), "...and its total the history's rows")
    bars = d.execute_script("return document.querySelectorAll('svg.chart rect').length")
    check(bars >= 1, "...messages per hour drawn as SVG (%s bars)" % bars)
    tops = [t.text for t in d.find_elements(By.CSS_SELECTOR, "table.top-symbols tbody tr td:first-child")]
    check("SUBJ_ALL_CAPS" in tops and "HAS_X_PRIO_ONE" in tops, "...top symbols name the test's symbols (%s)" % tops[:8])
    for period in ("week", "month"):
        d.execute_script("var s = document.getElementById('period'); s.value = arguments[0];"
                         "s.dispatchEvent(new Event('change'))", period)
        loaded("dashboard")
        check(wait(d, lambda dr: dr.find_element(By.ID, "period").get_attribute("value") == period or None),
              "...the %s's chart" % period)
        shot(d, a.artifacts, "desktop-dashboard-" + period)

    # --- history search --------------------------------------------------------
    go("history")
    trs = d.find_elements(By.CSS_SELECTOR, "table.history tbody tr")
    equal(len(trs), rows(), "history: every row on the first page")
    f = d.find_element(By.CSS_SELECTOR, "#history-filters input[name=subject]")
    f.send_keys("webui hello 2")
    by_id("history-search").click()
    wait(d, lambda dr: len(dr.find_elements(By.CSS_SELECTOR, "table.history tbody tr")) == 1 or None)
    subj = [e.text for e in d.find_elements(By.CSS_SELECTOR, "table.history a.c-subject")]
    equal(subj, ["webui hello 2"], "search by Subject finds the one message")
    shot(d, a.artifacts, "desktop-history-search")

    # --- learn from history ----------------------------------------------------
    before = db("SELECT spam, ham FROM bayes_state")[0]
    hid = d.find_element(By.CSS_SELECTOR, "table.history tbody tr").get_attribute("data-id")
    d.find_element(By.CSS_SELECTOR, "table.history button.learn-spam").click()
    note = wait(d, lambda dr: dr.find_element(By.ID, "notice").text or None)
    check(note and "learned as spam" in note, "learn as spam from a history row: %s" % note)
    after = db("SELECT spam, ham FROM bayes_state")[0]
    equal((after[0] - before[0], after[1] - before[1]), (1, 0), "...Bayes has one more spam message in SQLite")
    d.find_element(By.CSS_SELECTOR, "table.history button.learn-spam").click()
    note = wait(d, lambda dr: "already" in dr.find_element(By.ID, "notice").text or None)
    check(note, "...a second time: already learned (208)")
    go("message/" + hid)
    d.find_element(By.CSS_SELECTOR, "#page button.learn-ham").click()
    wait(d, lambda dr: "learned as ham" in dr.find_element(By.ID, "notice").text or None)
    after2 = db("SELECT spam, ham FROM bayes_state")[0]
    equal((after2[0] - before[0], after2[1] - before[1]), (0, 1), "...learned as ham from the message view: moved")
    no_js_errors("...no JavaScript error")

    # --- a weight changed in the UI moves the next message's score ---------------
    old = db("SELECT weight FROM symbols WHERE name = 'RCPT_COUNT_ONE'")[0][0]
    send("webui before weight")
    wait_rows(rows() + 1)
    s1 = db("SELECT score FROM history WHERE subject = 'webui before weight'")[0][0]
    go("symbols")
    search = by_id("symbol-search")
    search.send_keys("RCPT_COUNT_ONE")
    w = wait(d, lambda dr: dr.find_element(By.CSS_SELECTOR, "input.weight[data-symbol=RCPT_COUNT_ONE]"))
    w.clear()
    w.send_keys("3.25")
    d.find_element(By.CSS_SELECTOR, "button[data-symbol=RCPT_COUNT_ONE]").click()
    note = wait(d, lambda dr: "now weighs" in dr.find_element(By.ID, "notice").text or None)
    check(note, "symbols: RCPT_COUNT_ONE saved with weight 3.25")
    equal(db("SELECT weight FROM symbols WHERE name = 'RCPT_COUNT_ONE'")[0][0], 3.25, "...in the database")
    shot(d, a.artifacts, "desktop-symbols-search")
    time.sleep(3)  # the milter takes new weights within two seconds
    n0 = rows()
    send("webui after weight")
    wait_rows(n0 + 1)
    go("history")
    f = d.find_element(By.CSS_SELECTOR, "#history-filters input[name=subject]")
    f.clear()
    f.send_keys("webui after weight")
    by_id("history-search").click()
    wait(d, lambda dr: len(dr.find_elements(By.CSS_SELECTOR, "table.history a.c-subject")) == 1 and
         dr.find_element(By.CSS_SELECTOR, "table.history a.c-subject").text == "webui after weight" or None)
    cells = d.find_elements(By.CSS_SELECTOR, "table.history tbody tr td")
    s2 = float(cells[2].text) if len(cells) > 2 else None
    equal(round((s2 or 0) - s1, 2), round(3.25 - old, 2),
          "the next message's score in the history moved by the change (%s -> %s)" % (s1, s2))

    # --- the From header: shown, the envelope below it, and searched ---------------
    def search_from(term):
        d.execute_script("document.querySelector('#history-filters button:not([type=submit])').click()")
        loaded("history")
        before = render()
        by_id("history-filters").find_element(By.CSS_SELECTOR, "input[name=from]").send_keys(term)
        by_id("history-search").click()
        redrawn(before)
        loaded("history")
        return [(r.find_element(By.CSS_SELECTOR, "a.c-subject").text,
                 [e.text for e in r.find_elements(By.CSS_SELECTOR, ".c-from > span")])
                for r in d.find_elements(By.CSS_SELECTOR, "table.history tbody tr")]
    want = [("webui hello 3", ["Carol Header <carol@brand.example>", "envelope bounce3@lists.example"])]
    equal(search_from("carol@BRAND"), want,
          "search by the header From finds the message; the table shows it, the envelope below")
    shot(d, a.artifacts, "desktop-history-from")
    equal(search_from("bounce3@"), want, "...and so does the envelope sender")
    equal(search_from("webui@nowhere"), [], "...and a From no message has, nothing")
    same = search_from("alice@sender")
    check(same and all(f == ["Alice <alice@sender.example>"] for s_, f in same if s_.startswith("webui hello")),
          "...an envelope the header names is not shown twice", same)

    # --- issue 19: hostile Subject and From are text ------------------------------
    d.execute_script("document.querySelector('#history-filters button:not([type=submit])').click()")
    loaded("history")
    xs = [e for e in d.find_elements(By.CSS_SELECTOR, "table.history a.c-subject") if "__moat_xss" in e.text]
    equal([e.text for e in xs], [XSS_SUBJECT], "the hostile Subject is shown as its characters in the history")
    # The history keeps the envelope sender as the milter read it (see the report: a quoted
    # local part is cut at its first '>'); the UI must show exactly what is stored.
    XSS_SENDER = db("SELECT sender FROM history WHERE subject = ?", XSS_SUBJECT)[0][0]
    check("<script" in XSS_SENDER, "...the stored sender holds <script too (%s)" % XSS_SENDER)
    froms = [e.text for e in d.find_elements(By.CSS_SELECTOR, "table.history .c-from .envelope")]
    check("envelope " + XSS_SENDER in froms, "...and is shown as its characters", froms)
    name, addr = db("SELECT mime_from_name, mime_from FROM history WHERE subject = ?", XSS_SUBJECT)[0]
    XSS_FROM = "%s <%s>" % (name, addr) if name else addr
    check("<img" in XSS_FROM, "...the stored From header holds <img too (%s)" % XSS_FROM)
    froms = [e.text for e in d.find_elements(By.CSS_SELECTOR, "table.history .c-from .mime-from")]
    check(XSS_FROM in froms, "...and is shown as its characters", froms)
    equal(d.execute_script("return document.querySelectorAll('#page img, #page script').length"), 0,
          "...no <img> or <script> came from the data")
    equal(xss_flag(), None, "...no script of the payload ran")
    shot(d, a.artifacts, "desktop-history")
    xs[0].click()
    loaded("message")
    equal(d.find_element(By.CSS_SELECTOR, "dd[data-field=Subject]").text, XSS_SUBJECT,
          "message view: the hostile Subject as text")
    equal(d.find_element(By.CSS_SELECTOR, "dd[data-field=From]").text, XSS_FROM, "...the From header as text")
    equal(d.find_element(By.CSS_SELECTOR, "dd[data-field='Envelope sender']").text, XSS_SENDER,
          "...the envelope sender as text")
    opts = " ".join(e.text for e in d.find_elements(By.CSS_SELECTOR, "table.symbols .option"))
    equal(d.execute_script("return document.querySelectorAll('#page img, #page script').length"), 0,
          "...no element from the data")
    equal(xss_flag(), None, "...no script ran")
    syms = d.find_elements(By.CSS_SELECTOR, "table.symbols tbody tr")
    check(len(syms) >= 1, "...the symbols with weights and options (%d; options: %s)" % (len(syms), opts[:200]))
    shot(d, a.artifacts, "desktop-message")
    no_js_errors("...and the console has no error and no CSP violation")

    # --- greylisting: search, allow, delete (ids past 2**53, as the hashes are) ----
    now = int(time.time())
    big = 2**53 + 1
    db("INSERT INTO greylist (id, client, sender, recipient, first_seen, last_seen) VALUES "
       "(?, '198.51.100.7', 'grey@sender.example', 'bob@example.com', ?, ?), "
       "(?, '203.0.113.9', 'other@sender.example', 'bob@example.com', ?, ?)", big, now, now, big + 2, now, now)
    go("greylist")
    d.find_element(By.CSS_SELECTOR, "#grey-search-form input[name=q]").send_keys("198.51.100")
    d.find_element(By.CSS_SELECTOR, "#grey-search-form button[type=submit]").click()
    trip = wait(d, lambda dr: [r for r in dr.find_elements(By.CSS_SELECTOR, "table.grey-triplets tbody tr")]
                if len(dr.find_elements(By.CSS_SELECTOR, "table.grey-triplets tbody tr")) == 1 else None)
    check(trip and "198.51.100.7" in trip[0].text, "greylisting: search finds the one triplet")
    shot(d, a.artifacts, "desktop-greylist-search")
    r0 = render()
    trip[0].find_element(By.CSS_SELECTOR, "button.grey-allow").click()
    check(wait(d, lambda dr: db("SELECT passed_at FROM greylist WHERE id = ?", big)[0][0] or None),
          "...Allow marks that triplet passed (id %d kept exact)" % big)
    redrawn(r0)
    r0 = render()
    d.find_element(By.CSS_SELECTOR, "table.grey-triplets button.grey-delete").click()
    check(wait(d, lambda dr: not db("SELECT 1 FROM greylist WHERE id = ?", big) or None),
          "...Delete forgets it")
    equal(db("SELECT count(*) FROM greylist WHERE id = ?", big + 2)[0][0], 1, "...and only it")
    redrawn(r0)
    d.find_element(By.CSS_SELECTOR, "#grey-allow-form input[name=client]").send_keys("192.0.2.55")
    d.find_element(By.CSS_SELECTOR, "#grey-allow-form button[type=submit]").click()
    check(wait(d, lambda dr: db("SELECT manual FROM greylist_clients WHERE client = '192.0.2.55'") or None),
          "...a client allowed by hand")
    no_js_errors("...no JavaScript error")

    # --- composites: add, a bad one refused, delete ------------------------------
    go("composites")

    def composite(name, expr, weight):
        for k, v in (("name", name), ("expression", expr), ("weight", weight)):
            i = d.find_element(By.CSS_SELECTOR, "#composite-form input[name=%s]" % k)
            i.clear()
            i.send_keys(v)
        d.find_element(By.CSS_SELECTOR, "#composite-form button[type=submit]").click()
    r0 = render()
    composite("WEBUI_BOTH", "SUBJ_ALL_CAPS & HAS_X_PRIO_ONE", "2.5")
    check(wait(d, lambda dr: db("SELECT expression, weight FROM composites WHERE name = 'WEBUI_BOTH'") or None),
          "composites: a rule added from the form")
    redrawn(r0)
    composite("WEBUI_BAD", "SUBJ_ALL_CAPS &", "1")
    note = wait(d, lambda dr: "error" in (dr.find_element(By.ID, "notice").get_attribute("class") or "") and
                dr.find_element(By.ID, "notice").text or None)
    check(note and not db("SELECT 1 FROM composites WHERE name = 'WEBUI_BAD'"),
          "...a bad expression is refused with the parser's message (%s)" % note)
    shot(d, a.artifacts, "desktop-composites-error")
    d.find_element(By.CSS_SELECTOR, "button.composite-delete[data-name=WEBUI_BOTH]").click()
    check(wait(d, lambda dr: not db("SELECT 1 FROM composites WHERE name = 'WEBUI_BOTH'") or None),
          "...and deleted")
    no_js_errors("...no JavaScript error", allow=("status of 400",))

    # --- lists and maps: a URL source's stored copy, shown as text ------------------
    body = "spam@example.com\n" + XSS_SUBJECT + "\n"
    db("INSERT INTO map_sources (list, source, body, entries) VALUES "
       "('sender_blocklist', 'https://lists.example/bl', ?, 2)", body)
    go("maps")
    row = [r for r in d.find_elements(By.CSS_SELECTOR, "table.maps tbody tr") if "lists.example" in r.text]
    check(row, "lists and maps: the source of sender_blocklist is listed")
    if row:
        row[0].find_element(By.TAG_NAME, "button").click()
        ta = wait(d, lambda dr: dr.find_elements(By.CSS_SELECTOR, "#map-view textarea") or None)
        equal(ta and ta[0].get_attribute("value"), body, "...Show gives its text as it is stored")
    equal(xss_flag(), None, "...no script ran")
    shot(d, a.artifacts, "desktop-maps-show")
    # A file that client_allowlist names is edited in place; a bad line saves nothing.
    db("INSERT INTO map_sources (list, source, entries) VALUES ('client_allowlist', ?, 1)", a.map_file)
    go("maps")
    row = [r for r in d.find_elements(By.CSS_SELECTOR, "table.maps tbody tr") if a.map_file in r.text]
    check(row, "...client_allowlist's file is listed")
    if row:
        row[0].find_element(By.TAG_NAME, "button").click()
        ta = wait(d, lambda dr: dr.find_elements(By.CSS_SELECTOR, "#map-view textarea") or None)
        equal(ta and ta[0].get_attribute("value"), "192.0.2.0/24\n", "...its text in an editable box")
        ta[0].send_keys("198.51.100.0/24\n")
        d.find_element(By.CSS_SELECTOR, "#map-view button.write").click()
        wait(d, lambda dr: "saved" in dr.find_element(By.ID, "notice").text or None)
        equal(open(a.map_file).read(), "192.0.2.0/24\n198.51.100.0/24\n", "...Save map writes the file")
        ta[0].send_keys("this is no address\n")
        d.find_element(By.CSS_SELECTOR, "#map-view button.write").click()
        note = wait(d, lambda dr: "line 3" in dr.find_element(By.ID, "notice").text and
                    dr.find_element(By.ID, "notice").text or None)
        check(note, "...a bad line is refused with its line number (%s)" % note)
        equal(open(a.map_file).read(), "192.0.2.0/24\n198.51.100.0/24\n", "...and the file is unchanged")
        shot(d, a.artifacts, "desktop-maps-edit")
        con.errors(("status of 400",))

    # --- every page, desktop and phone --------------------------------------------
    for size, tag in ((DESKTOP, "desktop"), (PHONE, "phone")):
        d.set_window_size(*size)
        for p in pages + ["message/" + hid]:
            name = p.split("/")[0]
            ok = go(p)
            err = page_error()
            check(ok and not err, "%s %s renders (%s)" % (tag, name, err or "ok"))
            shot(d, a.artifacts, "%s-%s" % (tag, name))
        no_js_errors("%s pages: no JavaScript error" % tag)
    width = d.execute_script("return document.documentElement.scrollWidth")
    check(width <= PHONE[0] + 1, "on a phone the page is no wider than the screen (%s px)" % width)
    d.set_window_size(*DESKTOP)

    # Paging: every row reachable, 50 a page.
    db("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 55) "
       "INSERT INTO history (time, client, sender, recipients, subject, score, action) "
       "SELECT strftime('%s', 'now') - 86400 - i, '192.0.2.200', 'page@sender.example', "
       "'bob@example.com', 'webui page ' || i, 0, 'no action' FROM n")
    total = rows()
    go("history")
    d.execute_script("document.querySelector('#history-filters button:not([type=submit])').click()")
    loaded("history")
    first = len(d.find_elements(By.CSS_SELECTOR, "table.history tbody tr"))
    equal((first, by_id("page-info").text), (50, "rows 1–50 of %d" % total),
          "history paging: the first 50 of %d rows" % total)
    by_id("page-next").click()
    wait(d, lambda dr: dr.find_element(By.ID, "page-info").text.startswith("rows 51") or None)
    second = [e.text for e in d.find_elements(By.CSS_SELECTOR, "table.history a.c-subject")]
    equal((len(second), by_id("page-info").text), (total - 50, "rows 51–%d of %d" % (total, total)),
          "...Older: the rest")
    oldest = db("SELECT subject FROM history ORDER BY id LIMIT 1")[0][0]
    check(second and second[-1] == oldest, "...down to the first row stored (%s)" % (second[-1:] or ""))
    check(not by_id("page-next").is_enabled(), "...and no page after it")
    by_id("page-prev").click()
    wait(d, lambda dr: dr.find_element(By.ID, "page-info").text.startswith("rows 1–") or None)
    equal(by_id("page-info").text, "rows 1–50 of %d" % total, "...Newer: back to the first page")

    # Scan an uploaded message.
    go("scan")
    by_id("scan-text").send_keys("From: a@example.org\nTo: b@example.net\nSubject: %s\n\nhi\n" % XSS_SUBJECT)
    by_id("scan-button").click()
    check(wait(d, lambda dr: dr.find_element(By.ID, "scan-score").text or None), "scan: a pasted message is scored")
    equal(xss_flag(), None, "...no script ran")
    shot(d, a.artifacts, "desktop-scan-result")
    before = db("SELECT spam, ham FROM bayes_state")[0]
    learn_btn = [b for b in d.find_elements(By.CSS_SELECTOR, "#page button.write") if b.text == "Learn as spam"]
    learn_btn[0].click()
    note = wait(d, lambda dr: "Learned as spam" in dr.find_element(By.ID, "notice").text or None)
    after = db("SELECT spam, ham FROM bayes_state")[0]
    check(note and after[0] == before[0] + 1, "scan or learn: the pasted message learned as spam (%s -> %s)" %
          (before[0], after[0]))
    no_js_errors("the whole run: no JavaScript error, no CSP violation")
finally:
    d.quit()
