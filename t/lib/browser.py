# browser.py - headless Debian Chromium through chromedriver and
# python3-selenium for the web UI tests, and their way of reporting: one
# line per check on stdout, "ok<TAB>description" or "not ok<TAB>description
# <TAB>detail", which the .t wrapper turns into TAP (t/lib/harness.sh).
import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

DESKTOP = (1280, 900)
PHONE = (390, 844)


def report(ok, desc, detail=""):
    desc = desc.replace("\t", " ").replace("\n", " ")
    detail = str(detail).replace("\t", " ").replace("\n", " | ")[:2000]
    print(("ok\t%s" % desc) if ok else ("not ok\t%s\t%s" % (desc, detail)), flush=True)
    return ok


def check(cond, desc, detail=""):
    return report(bool(cond), desc, detail)


def equal(got, want, desc):
    return report(got == want, desc, "got %r, want %r" % (got, want))


def start(tmp, log_path):
    """A headless Chromium that asks nothing of the network but the test's URLs."""
    o = Options()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-default-apps",
              "--disable-extensions", "--metrics-recording-only", "--password-store=basic",
              "--user-data-dir=" + os.path.join(tmp, "chromium-profile"),
              "--window-size=%d,%d" % DESKTOP):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    svc = Service("/usr/bin/chromedriver", log_path=log_path)
    d = webdriver.Chrome(service=svc, options=o)
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    return d


class Console:
    """The browser's console, drained after each step: errors fail, others are kept."""

    def __init__(self, driver, path):
        self.d = driver
        self.path = path
        self.all = []

    def take(self):
        got = self.d.get_log("browser")
        self.all.extend(got)
        with open(self.path, "w") as f:
            json.dump(self.all, f, indent=1)
        return got

    def errors(self, allow=()):
        """SEVERE entries and CSP reports not matched by one of allow's substrings."""
        bad = []
        for e in self.take():
            m = e.get("message", "")
            if e.get("level") != "SEVERE" and "Content Security Policy" not in m:
                continue
            if any(a in m for a in allow):
                continue
            bad.append(m)
        return bad


def wait(d, cond, timeout=15, what="the page"):
    try:
        return WebDriverWait(d, timeout, poll_frequency=0.1).until(cond)
    except TimeoutException:
        return None


def shot(d, artifacts, name):
    os.makedirs(artifacts, exist_ok=True)
    p = os.path.join(artifacts, name + ".png")
    d.save_screenshot(p)
    return p


__all__ = ["report", "check", "equal", "start", "Console", "wait", "shot", "By", "DESKTOP", "PHONE"]
