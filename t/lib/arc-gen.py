#!/usr/bin/python3
"""arc-gen.py - test data for t/arc.t, made and judged by dkimpy.

  arc-gen.py gen CORPUS N OUTDIR    keys, ARC-sealed (and broken) messages,
                                    OUTDIR/unbound-data.conf with the keys
  arc-gen.py fixture OUTDIR         t/data/arc: a hand-written message sealed
                                    by two forwarders (RSA-2048, then Ed25519),
                                    chain2.eml, and its keys, keys.txt
                                    ("NAME RECORD" lines), for t/unit/arc_test
  arc-gen.py rspamd JSONFILE        the ARC_* symbols of an rspamc --json
                                    answer, one line: SYMBOL(option)
  arc-gen.py verify PORT OUTDIR     dkimpy's arc_verify on every message, keys
                                    from the unbound on 127.0.0.1:PORT, into
                                    OUTDIR/dkimpy.txt ("FILE pass|fail|none
                                    STOCK reason"; STOCK is what dkimpy says
                                    without the Ed25519 patch below)

A fixed sample of N corpus messages (the same every run) goes through 1, 2
or 3 forwarders, each adding its Authentication-Results and sealing with
dkimpy (RSA-2048 or Ed25519 keys made here); some forwarders change the
message before sealing, as a mailing list does; some chains are then broken
in one of the ways a validator must notice.

dkimpy 1.1 signs and verifies ARC with rsa-sha256 only (its
ARC_HASH_ALGORITHMS, and arc_sign() forces it), though RFC 8617 takes its
algorithms from DKIM, which has ed25519-sha256 (RFC 8463). Here its ARC
class is given the Ed25519 key and its algorithm table the one entry, so
dkimpy's own code signs and judges those chains too.
"""
import hashlib
import importlib.util
import os
import re
import sys
import time

import dkim
import dkim.crypto
import nacl.encoding
import nacl.signing

ZONE = "arc.test"
NOW = int(time.time())

# One variant per message, in turn: (hops, key of each hop, how it is broken).
VARIANTS = [
    (1, ["rsa"], None),
    (2, ["rsa", "rsa"], None),
    (3, ["rsa", "rsa", "rsa"], None),
    (1, ["ed"], None),
    (2, ["ed", "ed"], None),
    (3, ["rsa", "ed", "rsa"], None),
    (3, ["rsa", "rsa", "ed"], "list"),
    (2, ["rsa", "rsa"], "body"),
    (3, ["ed", "ed", "ed"], "body"),
    (2, ["rsa", "rsa"], "header"),
    (2, ["rsa", "ed"], "ams"),
    (3, ["rsa", "rsa", "rsa"], "noseal"),
    (3, ["rsa", "rsa", "rsa"], "gap"),
    (3, ["rsa", "rsa", "rsa"], "cvfail"),
    (2, ["rsa", "revoked"], None),
    (1, ["rsa"], "noaar"),
    (2, ["rsa", "sha1"], None),
    (2, ["rsa", "small"], None),
    (3, ["ed", "rsa", "ed"], "header"),
    (2, ["ed", "ed"], "seal"),
    (3, ["rsa", "ed", "rsa"], "list"),
    (1, ["ed"], "body"),
]


# The keys, the TXT strings, the sample and the line ends are dkim-gen.py's (t/dkim.t).
_spec = importlib.util.spec_from_file_location(
    "dkim_gen", os.path.join(os.path.dirname(os.path.abspath(__file__)), "dkim-gen.py"))
dkim_gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dkim_gen)
rsa_key, ed_key, txt_strings, sample, crlf = (dkim_gen.rsa_key, dkim_gen.ed_key,
                                              dkim_gen.txt_strings, dkim_gen.sample,
                                              dkim_gen.crlf)


def split(msg):
    """Header fields (each with its folds and CRLF) and the body."""
    head, body = msg.split(b"\r\n\r\n", 1) if b"\r\n\r\n" in msg else (msg, b"")
    fields = []
    for line in (head + b"\r\n").split(b"\r\n")[:-1]:
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line + b"\r\n"
        else:
            fields.append(line + b"\r\n")
    return fields, body


def join(fields, body):
    return b"".join(fields) + b"\r\n" + body


def instance_of(field):
    m = re.match(rb"(?i)arc-[a-z-]+:\s*(?:[^;]*;\s*)*?i\s*=\s*(\d+)", field)
    if re.match(rb"(?i)arc-authentication-results:", field):
        m = re.match(rb"(?i)arc-authentication-results:\s*i\s*=\s*(\d+)", field)
    return int(m.group(1)) if m else None


def is_arc(field, name=None):
    n = field.split(b":", 1)[0].strip().lower()
    return n.startswith(b"arc-") if name is None else n == name


KEYS = {}


def seal(msg, hop, key, arc_cv):
    """Hop hop (1-based) adds its Authentication-Results and an ARC set."""
    srv = b"hop%d.%s" % (hop, ZONE.encode())
    res = b"spf=pass smtp.mailfrom=sender@example.org"
    if hop > 1:
        res = b"arc=%s; " % arc_cv + res
    msg = b"Authentication-Results: " + srv + b"; " + res + b"\r\n" + msg
    alg = b"ed25519-sha256" if key == "ed" else b"rsa-sha1" if key == "sha1" else b"rsa-sha256"
    a = dkim.ARC(msg, signature_algorithm=alg)
    priv = KEYS[key]
    saved = dkim.parse_pem_private_key
    if key == "ed":
        dkim.parse_pem_private_key = lambda k: nacl.signing.SigningKey(
            k, encoder=nacl.encoding.Base64Encoder)
    try:
        sets = a.sign(key.encode(), srv, priv, srv, include_headers=a.default_sign_headers())
    finally:
        dkim.parse_pem_private_key = saved
    if not sets:
        raise dkim.DKIMException("dkimpy made no ARC set")
    return b"".join(sets) + b"Received: from hop%d by hop%d.%s\r\n" % (
        hop, hop + 1, ZONE.encode()) + msg


def as_list(msg, footer):
    """What a mailing list does before it seals: a subject tag and a footer."""
    fields, body = split(msg)
    fields = [re.sub(rb"(?i)^(Subject:)", rb"\1 [list]", f, count=1) for f in fields]
    return join(fields, body + footer)


def tamper(msg, how, hops):
    fields, body = split(msg)
    if how == "body":
        i = len(body) // 2
        body = body[:i] + b"tampered" + body[i:]
    elif how == "header":
        # A field the newest AMS signed (Subject, or From) changed after sealing.
        new = [re.sub(rb"(?i)^(Subject:)", rb"\1 [tampered]", f, count=1) for f in fields]
        if new == fields:
            new = [re.sub(rb"(?i)^(From:)", rb"\1 tampered", f, count=1) for f in fields]
        fields = new
    elif how == "ams":
        # The newest ARC-Message-Signature itself changed (its t=).
        for k, f in enumerate(fields):
            if is_arc(f, b"arc-message-signature") and instance_of(f) == hops:
                fields[k] = re.sub(rb"t=(\d+)", lambda m: b"t=%d" % (int(m.group(1)) - 1),
                                   f, count=1)
                break
    elif how == "seal":
        for k, f in enumerate(fields):
            if is_arc(f, b"arc-seal") and instance_of(f) == 1:
                fields[k] = re.sub(rb"t=(\d+)", lambda m: b"t=%d" % (int(m.group(1)) - 1),
                                   f, count=1)
    elif how == "noseal":
        fields = [f for f in fields if not (is_arc(f, b"arc-seal") and instance_of(f) == 2)]
    elif how == "noaar":
        fields = [f for f in fields if not is_arc(f, b"arc-authentication-results")]
    elif how == "gap":
        fields = [f for f in fields if not (is_arc(f) and instance_of(f) == 2)]
    return join(fields, body)


def gen(corpus, n, outdir):
    os.makedirs(outdir, exist_ok=True)
    rsa_pem, rsa_pub = rsa_key(outdir, 2048)
    small_pem, small_pub = rsa_key(outdir, 512)
    ed_priv, ed_pub = ed_key()
    KEYS.update(rsa=rsa_pem, ed=ed_priv, revoked=rsa_pem, sha1=rsa_pem, small=small_pem)
    records = {
        "rsa": "v=DKIM1; k=rsa; p=" + rsa_pub,
        "ed": "v=DKIM1; k=ed25519; p=" + ed_pub,
        "revoked": "v=DKIM1; k=rsa; p=",
        "sha1": "v=DKIM1; k=rsa; p=" + rsa_pub,
        "small": "v=DKIM1; k=rsa; p=" + small_pub,
    }
    with open(os.path.join(outdir, "unbound-data.conf"), "w") as f:
        f.write('  local-zone: "%s." static\n' % ZONE)
        for hop in (1, 2, 3):
            for sel, rec in records.items():
                f.write("  local-data: '%s._domainkey.hop%d.%s. 300 IN TXT %s'\n"
                        % (sel, hop, ZONE, txt_strings(rec)))
    made = skipped = 0
    for i, path in enumerate(sample(corpus, n)):
        hops, keys, how = VARIANTS[i % len(VARIANTS)]
        msg = crlf(open(path, "rb").read())
        try:
            for hop in range(1, hops + 1):
                if how == "list" and hop == 2:
                    msg = as_list(msg, b"-- \r\nlist footer added by hop 2\r\n")
                cv = b"fail" if how == "cvfail" and hop == 3 else b"pass"
                msg = seal(msg, hop, keys[hop - 1], cv)
        except dkim.DKIMException:
            # No From, or a header line dkimpy cannot parse: nothing to seal.
            skipped += 1
            continue
        if how and how != "list":
            msg = tamper(msg, how, hops)
        label = "%dhop-%s-%s%s" % (hops, "-".join(keys), os.path.basename(path),
                                   "-" + how if how else "")
        with open(os.path.join(outdir, "%04d-%s" % (i, label)), "wb") as f:
            f.write(msg)
        made += 1
    print("made %d sealed messages, %d unsealable skipped" % (made, skipped))


FIXTURE = (b"From: Alice <alice@example.org>\r\n"
           b"To: list@lists.example.net\r\n"
           b"Subject: the ARC fixture\r\n"
           b"Date: Thu, 03 Dec 2026 16:00:00 +0000\r\n"
           b"Message-ID: <arc-fixture@example.org>\r\n"
           b"\r\n"
           b"Hello,\r\n"
           b"\r\n"
           b"this message went through two forwarders.\r\n")


def fixture(outdir):
    os.makedirs(outdir, exist_ok=True)
    rsa_pem, rsa_pub = rsa_key(outdir, 2048)
    os.unlink(os.path.join(outdir, "rsa2048.pem"))
    ed_priv, ed_pub = ed_key()
    KEYS.update(rsa=rsa_pem, ed=ed_priv)
    msg = seal(seal(FIXTURE, 1, "rsa", b"pass"), 2, "ed", b"pass")
    with open(os.path.join(outdir, "chain2.eml"), "wb") as f:
        f.write(msg)
    with open(os.path.join(outdir, "keys.txt"), "w") as f:
        f.write("rsa._domainkey.hop1.%s v=DKIM1; k=rsa; p=%s\n" % (ZONE, rsa_pub))
        f.write("ed._domainkey.hop2.%s v=DKIM1; k=ed25519; p=%s\n" % (ZONE, ed_pub))


def verify(port, outdir):
    import dns.resolver

    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = int(port)

    def txt(name, timeout=5):
        try:
            a = res.resolve(name.decode() if isinstance(name, bytes) else name, "TXT",
                            lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(list(a.rrset)[0].strings)

    def judge(msg):
        try:
            cv, _, why = dkim.arc_verify(msg, dnsfunc=txt)
        except Exception as e:
            return "fail", "%s: %s" % (type(e).__name__, e)
        # None: "the chain is terminated" by a cv=fail, a failed chain for RFC 8617.
        return {dkim.CV_Pass: "pass", dkim.CV_None: "none"}.get(cv, "fail"), why

    with open(os.path.join(outdir, "dkimpy.txt"), "w") as f:
        for name in sorted(os.listdir(outdir)):
            if not re.match(r"\d{4}-", name):
                continue
            msg = open(os.path.join(outdir, name), "rb").read()
            stock, _ = judge(msg)
            dkim.ARC_HASH_ALGORITHMS[b"ed25519-sha256"] = hashlib.sha256
            try:
                verdict, why = judge(msg)
            finally:
                del dkim.ARC_HASH_ALGORITHMS[b"ed25519-sha256"]
            f.write("%s %s %s %s\n" % (name, verdict, stock, why))


def rspamd_symbols(path):
    import json

    syms = json.load(open(path)).get("symbols", {})
    out = []
    for name, sym in sorted(syms.items()):
        if name.startswith("ARC_"):
            opts = sym.get("options") or []
            out.append(name + ("(%s)" % ",".join(opts) if opts else ""))
    print(" ".join(out))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "fixture":
        fixture(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "rspamd":
        rspamd_symbols(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: arc-gen.py gen CORPUS N OUTDIR | fixture OUTDIR | rspamd JSON | verify PORT OUTDIR")
