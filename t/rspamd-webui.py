#!/usr/bin/python3
# rspamd-webui.py - Rspamd's own web UI (Debian's rspamd package,
# /usr/share/rspamd/www) served by moat-controller through
# controller_www_root, in headless Chromium: it logs in, and its Status,
# History and Symbols tabs show moat's data without a JavaScript error.
# Run by t/rspamd-webui.t; one line per check (t/lib/browser.py).
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from browser import By, Console, check, equal, shot, start, wait  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--artifacts", required=True)
ap.add_argument("--tmp", required=True)
ap.add_argument("--password", required=True)
ap.add_argument("--rows", type=int, required=True)
ap.add_argument("--subject", required=True)
ap.add_argument("--symbols", required=True, help="moat's symbol names, comma-separated")
a = ap.parse_args()

d = start(a.tmp, os.path.join(a.artifacts, "chromedriver.log"))
con = Console(d, os.path.join(a.artifacts, "console.json"))


def errors(desc, allow=()):
    bad = con.errors(allow)
    return check(not bad, desc, "; ".join(bad))


def shown(css):
    return wait(d, lambda dr: any(e.is_displayed() for e in dr.find_elements(By.CSS_SELECTOR, css)) or None, 20)


try:
    d.get(a.url + "/")
    check(shown("#connectPassword"), "Rspamd's UI asks for the password")
    # Its first /auth without a password is the 403 that opens the dialog.
    errors("...no JavaScript error before the login", allow=("Failed to load resource: the server responded "
                                                            "with a status of 403",))
    shot(d, a.artifacts, "rspamd-login")
    d.find_element(By.ID, "connectPassword").send_keys(a.password)
    d.find_element(By.ID, "connectButton").click()
    check(shown("#statWidgets .stat-box"), "it logs in and shows the status widgets")
    scanned = wait(d, lambda dr: dr.execute_script(
        "var e = [...document.querySelectorAll('#statWidgets .stat-box')].find("
        "b => /scanned/i.test(b.textContent)); return e ? e.textContent : null"), 10)
    check(scanned and str(a.rows) in scanned, "...Scanned counts moat's %d history rows (%s)" %
          (a.rows, (scanned or "").strip()))
    shot(d, a.artifacts, "rspamd-status")
    errors("...no JavaScript error")

    d.find_element(By.ID, "history_nav").click()
    check(wait(d, lambda dr: any(a.subject in e.text for e in
                                 dr.find_elements(By.CSS_SELECTOR, "#historyTable_history tbody tr")) or None, 20),
          "History tab: moat's rows, with the test's subject")
    n = len(d.find_elements(By.CSS_SELECTOR, "#historyTable_history tbody tr"))
    check(n >= a.rows, "...every row (%d)" % n)
    shot(d, a.artifacts, "rspamd-history")
    errors("...no JavaScript error")

    d.find_element(By.ID, "symbols_nav").click()
    known = set(a.symbols.split(","))

    def symbol_rows(dr):
        names = [e.text.strip() for e in dr.find_elements(By.CSS_SELECTOR, "#symbolsTable tbody tr td:nth-child(2)")]
        # A row is drawn before its cells are filled: wait for the names.
        return names if len(names) >= 5 and all(names) else None
    names = wait(d, symbol_rows, 20) or [e.text.strip() for e in d.find_elements(
        By.CSS_SELECTOR, "#symbolsTable tbody tr td:nth-child(2)")]
    check(names and all(n in known for n in names),
          "Symbols tab: moat's symbols (%d on its first page: %s...)" % (len(names), ", ".join(names[:4])))
    shot(d, a.artifacts, "rspamd-symbols")
    errors("...no JavaScript error")

    d.find_element(By.ID, "throughput_nav").click()
    check(shown("#graph svg, #graph_main svg, #throughput svg"), "Throughput tab: the graph from /graph")
    shot(d, a.artifacts, "rspamd-throughput")
    errors("...no JavaScript error")

    d.find_element(By.ID, "configuration_nav").click()
    check(shown("#actionsFormField, #actionsForm"), "Configuration tab: the actions form")
    shot(d, a.artifacts, "rspamd-configuration")
    errors("the whole run: no JavaScript error and no CSP violation")
finally:
    d.quit()
