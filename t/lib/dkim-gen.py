#!/usr/bin/python3
"""dkim-gen.py - test data for t/dkim.t, made and judged by dkimpy.

  dkim-gen.py gen CORPUS N OUTDIR     keys, signed (and tampered) messages,
                                      OUTDIR/unbound-data.conf with the keys
  dkim-gen.py verify PORT OUTDIR      dkimpy's verdict on every message, with
                                      keys from the unbound on 127.0.0.1:PORT,
                                      into OUTDIR/dkimpy.txt ("FILE pass|fail")
  dkim-gen.py rspamd JSONFILE         the R_DKIM_* and DKIM_TRACE symbols of an
                                      rspamc --json answer, one line, sorted:
                                      SYMBOL(option,...) ...

A fixed sample of N corpus messages (the same every run) is re-signed with
RSA-2048 and Ed25519 keys made here, in both canonicalizations; one
message in three is then tampered with in one of the ways a verifier must
notice. Each message carries exactly one signature, so dkimpy's verdict
(dkim.verify, first signature) is the whole verdict.
"""
import base64
import hashlib
import os
import random
import re
import subprocess
import sys
import time

import dkim
import dkim.crypto
import nacl.encoding
import nacl.signing

DOMAIN = b"dkim.test"
NOW = int(time.time())


def rsa_key(outdir, bits):
    path = os.path.join(outdir, "rsa%d.pem" % bits)
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:%d" % bits, "-out", path], check=True,
                   stderr=subprocess.DEVNULL)
    # dkimpy reads PKCS#1 PEM and PKCS#8 alike.
    pem = open(path, "rb").read()
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return pem, base64.b64encode(der).decode()


def ed_key():
    sk = nacl.signing.SigningKey.generate()
    priv = sk.encode(encoder=nacl.encoding.Base64Encoder)
    pub = sk.verify_key.encode(encoder=nacl.encoding.Base64Encoder).decode()
    return priv, pub


def txt_strings(record):
    """A TXT record as unbound's local-data takes it: strings of at most 255
    bytes (here 100, so that even the Ed25519 key is split)."""
    parts = [record[i:i + 100] for i in range(0, len(record), 100)] or [""]
    return " ".join('"%s"' % p for p in parts)


def sample(corpus, n):
    files = []
    for sub in ("ham", "spam"):
        d = os.path.join(corpus, sub)
        files += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    return random.Random(20261203).sample(files, min(n, len(files)))


def crlf(raw):
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    return re.sub(rb"\r?\n", b"\r\n", raw)


def sign_x(msg, sel, pem, canon, t, x):
    """dkimpy's DKIM.sign with x= (which it does not offer): the same steps."""
    d = dkim.DKIM(msg)
    d.signature_algorithm = b"rsa-sha256"
    d.hasher = hashlib.sha256
    pk = dkim.crypto.parse_pem_private_key(pem)
    policy = dkim.CanonicalizationPolicy.from_c_value(canon)
    include = tuple(h.lower() for h in d.default_sign_headers())
    body = policy.canonicalize_body(d.body)
    bh = base64.b64encode(hashlib.sha256(body).digest())
    fields = [(b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", policy.to_c_value()),
              (b"d", DOMAIN), (b"i", b"@" + DOMAIN), (b"q", b"dns/txt"), (b"s", sel),
              (b"t", str(t).encode()), (b"x", str(x).encode()),
              (b"h", b" : ".join(include)), (b"bh", bh), (b"b", b"0" * 60)]
    return b"DKIM-Signature: " + d.gen_header(fields, include, policy, b"DKIM-Signature", pk)


# One variant per message, in turn: (name, key, canonicalization, tamper).
VARIANTS = [
    ("rsa-relaxed", "rsa", b"relaxed/relaxed", None),
    ("ed-simple", "ed", b"simple/simple", None),
    ("rsa-simple", "rsa", b"simple/simple", "body"),
    ("ed-relaxed", "ed", b"relaxed/relaxed", None),
    ("rsa-relaxed-simple", "rsa", b"relaxed/simple", "header"),
    ("ed-relaxed", "ed", b"relaxed/relaxed", "body"),
    ("rsa-simple", "rsa", b"simple/simple", "bfold"),
    ("rsa-relaxed", "rsa", b"relaxed/relaxed", "l"),
    ("ed-simple", "ed", b"simple/simple", "header"),
    ("rsa-relaxed", "rsa", b"relaxed/relaxed", "expired"),
    ("rsa-relaxed", "revoked", b"relaxed/relaxed", None),
    ("rsa-relaxed", "wrongtype", b"relaxed/relaxed", None),
    ("rsa-relaxed", "sha1", b"relaxed/relaxed", None),
    ("rsa-relaxed", "small", b"relaxed/relaxed", None),
    ("ed-relaxed", "ed", b"relaxed/relaxed", "relaxed-ok"),
    ("rsa-relaxed", "rsa", b"relaxed/relaxed", "l-ok"),
]


def tamper(msg, how):
    head, body = msg.split(b"\r\n\r\n", 1) if b"\r\n\r\n" in msg else (msg, b"")
    if how == "body":
        # One byte of the body changed (or a line added to an empty body).
        i = len(body) // 2
        if body[i:i + 1].isalnum():
            body = body[:i] + (b"X" if body[i:i + 1] != b"X" else b"Y") + body[i + 1:]
        else:
            body = body[:i] + b"tampered" + body[i:]
    elif how == "header":
        # The signed Subject (or From) rewritten.
        new, n = re.subn(rb"(?mi)^(Subject:)([^\r]*)", rb"\1\2 [tampered]", head, count=1)
        if n == 0:
            new = re.sub(rb"(?mi)^(From:)", rb"\1 tampered", head, count=1)
        head = new
    elif how == "bfold":
        # b= folded right after its '=': RFC 6376 3.7 deletes that FWS with the value,
        # so even simple canonicalization hashes the same bytes.
        head = re.sub(rb"(\sb=)(?=[A-Za-z0-9+/])", rb"\1\r\n\t", head, count=1)
    elif how in ("l", "l-ok"):
        # Text appended past l=: still valid, as RFC 6376 section 8.2 warns.
        body += b"appended by a list\r\n"
    elif how == "relaxed-ok":
        # What relaxed forgives: trailing blanks, doubled spaces, a header refolded.
        body = body.replace(b"\r\n", b" \t\r\n", 3)
        head = re.sub(rb"(?mi)^(Subject:) ?", rb"\1   ", head, count=1)
    return head + b"\r\n\r\n" + body


def gen(corpus, n, outdir):
    os.makedirs(outdir, exist_ok=True)
    rsa_pem, rsa_pub = rsa_key(outdir, 2048)
    small_pem, small_pub = rsa_key(outdir, 512)
    ed_priv, ed_pub = ed_key()
    records = {
        b"rsa": "v=DKIM1; k=rsa; p=" + rsa_pub,
        b"ed": "v=DKIM1; k=ed25519; p=" + ed_pub,
        b"revoked": "v=DKIM1; k=rsa; p=",
        b"wrongtype": "v=DKIM1; k=ed25519; p=" + ed_pub,
        b"sha1": "v=DKIM1; k=rsa; p=" + rsa_pub,
        b"small": "v=DKIM1; k=rsa; p=" + small_pub,
    }
    with open(os.path.join(outdir, "unbound-data.conf"), "w") as f:
        f.write('  local-zone: "%s." static\n' % DOMAIN.decode())
        for sel, rec in records.items():
            f.write("  local-data: '%s._domainkey.%s. 300 IN TXT %s'\n"
                    % (sel.decode(), DOMAIN.decode(), txt_strings(rec)))
    made = skipped = 0
    for i, path in enumerate(sample(corpus, n)):
        name, key, canon, how = VARIANTS[i % len(VARIANTS)]
        msg = crlf(open(path, "rb").read())
        canon_t = tuple(canon.split(b"/"))
        try:
            if how == "expired":
                sig = sign_x(msg, b"rsa", rsa_pem, canon, NOW - 3 * 86400, NOW - 2 * 86400)
            elif key == "ed":
                sig = dkim.sign(msg, b"ed", DOMAIN, ed_priv, canonicalize=canon_t,
                                signature_algorithm=b"ed25519-sha256")
            else:
                pem = small_pem if key == "small" else rsa_pem
                sig = dkim.sign(msg, key.encode(), DOMAIN, pem, canonicalize=canon_t,
                                signature_algorithm=b"rsa-sha1" if key == "sha1" else
                                b"rsa-sha256", length=how in ("l", "l-ok"))
        except dkim.DKIMException:
            # No From, or a header line dkimpy cannot parse: nothing to sign.
            skipped += 1
            continue
        out = sig + msg
        if how:
            out = tamper(out, how)
        label = "%s-%s%s" % (name if key in ("rsa", "ed") else key, os.path.basename(path),
                             "-" + how if how else "")
        with open(os.path.join(outdir, "%04d-%s" % (i, label)), "wb") as f:
            f.write(out)
        made += 1
    print("made %d signed messages, %d unsignable skipped" % (made, skipped))


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

    with open(os.path.join(outdir, "dkimpy.txt"), "w") as f:
        for name in sorted(os.listdir(outdir)):
            if not re.match(r"\d{4}-", name):
                continue
            msg = open(os.path.join(outdir, name), "rb").read()
            try:
                ok = dkim.verify(msg, dnsfunc=txt)
            except Exception as e:
                # dkimpy 1.1 lets PyNaCl's error out for an Ed25519 key given an RSA
                # signature (64 bytes expected): it did not verify, so "fail".
                print("%s: dkimpy raised %s: %s" % (name, type(e).__name__, e), file=sys.stderr)
                ok = False
            f.write("%s %s\n" % (name, "pass" if ok else "fail"))


def rspamd_symbols(path):
    import json

    syms = json.load(open(path)).get("symbols", {})
    out = []
    for name, sym in syms.items():
        if name.startswith("R_DKIM_") or name == "DKIM_TRACE":
            opts = sym.get("options") or []
            out.append(name + ("(%s)" % ",".join(sorted(opts)) if opts else ""))
    print(" ".join(sorted(out)))


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "rspamd":
        rspamd_symbols(sys.argv[2])
    else:
        sys.exit("usage: dkim-gen.py gen CORPUS N OUTDIR | verify PORT OUTDIR")
