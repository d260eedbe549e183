#!/usr/bin/env python3
"""spamd-result.py - messages for the X-Spamd-Result differential test, and
the judge that compares moat's header with the one rspamd wrote.

  spamd-result.py gen DIR
      write DIR/NAME.eml (the message) and DIR/NAME.from (its envelope
      sender) for each test message
  spamd-result.py syntax FILE
      exit 0 if the X-Spamd-Result value in FILE has Rspamd's syntax: the
      first line "default: True|False [S / R];" (";" only when symbols
      follow), then one symbol a line, each after a TAB, as
      NAME(W)[OPT,OPT] with ";" after all but the last, two decimals
      everywhere, sorted by absolute weight (largest first)
  spamd-result.py options MOAT RSPAMD JSON SYMBOL...
      exit 0 if every symbol both moat and rspamd report has the same
      options in both, and each SYMBOL is among them. JSON is rspamd's own answer for
      the same message (rspamc --json), whose option lists are exact: moat
      must write each of its options through the one encoder (what rspamd
      writes raw but would break the syntax becomes U+FFFD); where no
      option holds such a character rspamd's header must read the same.
  spamd-result.py scan MOAT_TEXT MOAT_JSON RSPAMC_TEXT RSPAMD_JSON SYMBOL...
      the same for `moatctl scan` against rspamc: each symbol both report
      has the same "Symbol: NAME (W)[OPT, OPT]" options part as rspamc
      prints it, and in --json the same list, one element per option
"""
import json
import re
import sys
import unicodedata
from email.message import EmailMessage

FIRST = re.compile(r"^default: (True|False) \[-?\d+\.\d\d / -?\d+\.\d\d\](;?)$")
SYMBOL = re.compile(r"^\t([A-Z0-9_]+)\((-?\d+\.\d\d)\)\[([^\[\]]*)\](;?)$")
SPECIAL = ",;[]()"


def encode(opt):
    """The encoder's contract, written independently of moat's C."""
    return "".join(
        "\ufffd" if ch in SPECIAL or unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") else ch
        for ch in opt)


def parse(path):
    """-> (list of (name, weight, [options]), errors)"""
    with open(path, encoding="utf-8", errors="replace") as f:
        value = f.read()
    lines = value.split("\n")
    errors, syms = [], []
    m = FIRST.match(lines[0])
    if not m:
        return syms, ["first line is not 'default: ... [S / R]': %r" % lines[0]]
    if (m.group(2) == ";") != (len(lines) > 1):
        errors.append("first line: ';' must end it exactly when symbols follow")
    for i, line in enumerate(lines[1:], 1):
        m = SYMBOL.match(line)
        if not m:
            errors.append("line %d is not one symbol after a TAB: %r" % (i + 1, line))
            continue
        if (m.group(4) == ";") != (i < len(lines) - 1):
            errors.append("line %d: ';' after every symbol but the last" % (i + 1))
        syms.append((m.group(1), float(m.group(2)), m.group(3).split(",") if m.group(3) else []))
    for a, b in zip(syms, syms[1:]):
        if abs(a[1]) < abs(b[1]):
            errors.append("not sorted by absolute weight: %s before %s" % (a[0], b[0]))
    return syms, errors


def cmd_syntax(path):
    syms, errors = parse(path)
    for e in errors:
        print("# %s: %s" % (path, e), file=sys.stderr)
    return 1 if errors or not syms else 0


def cmd_options(moat, rspamd, js, required):
    ms, me = parse(moat)
    rs, _ = parse(rspamd)
    with open(js, encoding="utf-8") as f:
        truth = json.load(f)["symbols"]
    mo = {n: o for n, _, o in ms}
    ro = {n: o for n, _, o in rs}
    # rspamd's JSON names the symbols even where its header cannot be read.
    common = sorted(set(mo) & set(truth))
    bad = list(me)
    for name in required:
        if name not in common:
            bad.append("%s is not reported by both" % name)
    for name in common:
        exact = truth[name].get("options") or []
        if mo[name] != [encode(o) for o in exact]:
            bad.append("%s: moat %r, rspamd %r" % (name, mo[name], exact))
        if not any(c in o for o in exact for c in SPECIAL) and mo[name] != ro.get(name):
            bad.append("%s: moat's header %r, rspamd's %r" % (name, mo[name], ro[name]))
    for b in bad:
        print("# %s" % b, file=sys.stderr)
    print("# in common: %s" % " ".join(common), file=sys.stderr)
    return 1 if bad else 0


RSPAMC = re.compile(r"^Symbol: ([A-Z0-9_]+) \((-?\d+\.\d\d)\)(?:\[(.*)\])?$")


def rspamc_text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return {m.group(1): m.group(3) or "" for m in map(RSPAMC.match, f.read().split("\n")) if m}


def cmd_scan(moat_text, moat_json, rspamc, rspamd_json, required):
    with open(moat_json, encoding="utf-8") as f:
        mj = json.load(f)["symbols"]
    with open(rspamd_json, encoding="utf-8") as f:
        rj = json.load(f)["symbols"]
    mt, rt = rspamc_text(moat_text), rspamc_text(rspamc)
    common = sorted(set(mj) & set(rj))
    bad = ["%s is not reported by both" % n for n in required if n not in common]
    for name in common:
        exact = rj[name].get("options") or []
        if mj[name]["options"] != [encode(o) for o in exact]:
            bad.append("%s: JSON options moat %r, rspamd %r" % (name, mj[name]["options"], exact))
        if mt.get(name) != ", ".join(encode(o) for o in exact):
            bad.append("%s: text moat %r, rspamd exact %r" % (name, mt.get(name), exact))
        if not any(c in o for o in exact for c in SPECIAL) and mt.get(name) != rt.get(name):
            bad.append("%s: text moat %r, rspamc %r" % (name, mt.get(name), rt.get(name)))
    for b in bad:
        print("# %s" % b, file=sys.stderr)
    print("# in common: %s" % " ".join(common), file=sys.stderr)
    return 1 if bad else 0


def message(subject):
    m = EmailMessage()
    m["From"] = "Alice Example <alice@example.org>"
    m["To"] = "Bob Example <bob@example.com>"
    m["Subject"] = subject
    m["Message-ID"] = "<%s@example.org>" % re.sub(r"\W", "", subject)
    m["Date"] = "Thu, 03 Dec 2026 10:00:00 +0000"
    return m


TEXT = "Hello Bob,\n\nthe minutes of Tuesday's meeting are below.\n\nAlice\n"
HTML = "<html><body><p>Hello Bob,</p><p>the minutes are below.</p></body></html>\n"


def cmd_gen(d):
    msgs = {}
    m = message("single part")
    m.set_content(TEXT)
    msgs["single"] = (m, "<alice@example.org>")

    m = message("alternative")
    m.set_content(TEXT)
    m.add_alternative(HTML, subtype="html")
    msgs["alternative"] = (m, "<alice@example.org>")

    m = message("nested with attachment")
    m.set_content(TEXT)
    m.add_alternative(HTML, subtype="html")
    m.make_mixed()
    m.add_attachment(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n",
                     maintype="application", subtype="pdf", filename="minutes.pdf")
    msgs["nested"] = (m, "<alice@example.org>")

    inner = message("forwarded")
    inner.set_content(TEXT)
    inner.add_alternative(HTML, subtype="html")
    m = message("forward as attachment")
    m.set_content("See the attached message.\n")
    m.add_attachment(inner)
    msgs["rfc822"] = (m, "<alice@example.org>")

    # Envelope senders whose quoted local part holds what the syntax uses:
    # rspamd names them unquoted in FROM_NEQ_ENVFROM's second option.
    for name, sender in (("comma", '<"a,b"@example.net>'), ("semicolon", '<"a;b"@example.net>'),
                         ("brackets", '<"a(b)[c]"@example.net>')):
        m = message("sender " + name)
        m.set_content(TEXT)
        msgs[name] = (m, sender)

    for name, (m, sender) in msgs.items():
        with open("%s/%s.eml" % (d, name), "wb") as f:
            f.write(m.as_bytes(policy=m.policy.clone(linesep="\n")))
        with open("%s/%s.from" % (d, name), "w") as f:
            f.write(sender + "\n")
    print(" ".join(msgs))
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[:1] == ["gen"] and len(a) == 2:
        sys.exit(cmd_gen(a[1]))
    if a[:1] == ["syntax"] and len(a) == 2:
        sys.exit(cmd_syntax(a[1]))
    if a[:1] == ["options"] and len(a) >= 4:
        sys.exit(cmd_options(a[1], a[2], a[3], a[4:]))
    if a[:1] == ["scan"] and len(a) >= 5:
        sys.exit(cmd_scan(a[1], a[2], a[3], a[4], a[5:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
