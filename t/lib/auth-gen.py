#!/usr/bin/python3
"""auth-gen.py - test data for t/auth-postfix.t, signed by dkimpy.

  auth-gen.py OUTDIR

Writes into OUTDIR an RSA-2048 key, unbound local-data (unbound-data.conf)
for the domain auth.test (SPF: only 198.51.100.20 may send; the DKIM key
at sel._domainkey.auth.test; the HELO name mx.auth.test has the same SPF
record) and these messages:

  good-relaxed.eml   signed relaxed/relaxed by auth.test
  good-simple.eml    signed simple/simple, with "Subject:minutes": no blank
                     after the colon (simple canonicalization needs the bytes;
                     a milter without SMFIP_HDR_LEADSPC gets "Subject: ...")
  forged.eml         good-relaxed.eml with its body changed after signing
  forged-ar.eml      good-relaxed.eml with two incoming Authentication-Results
                     on top: one claiming mx.moat.test, one another host
"""
import base64
import os
import subprocess
import sys

import dkim

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
key = os.path.join(out, "rsa.pem")
subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", key], check=True, stderr=subprocess.DEVNULL)
der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                     capture_output=True).stdout
pem = open(key, "rb").read()
pub = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
parts = " ".join('"%s"' % pub[i:i + 200] for i in range(0, len(pub), 200))
spf = '"v=spf1 ip4:198.51.100.20 -all"'
with open(os.path.join(out, "unbound-data.conf"), "w") as f:
    f.write('  local-zone: "auth.test." static\n')
    f.write("  local-data: 'auth.test. 300 IN TXT %s'\n" % spf)
    f.write("  local-data: 'mx.auth.test. 300 IN TXT %s'\n" % spf)
    f.write("  local-data: 'mx.auth.test. 300 IN A 198.51.100.20'\n")
    f.write("  local-data: 'sel._domainkey.auth.test. 300 IN TXT %s'\n" % parts)
    # a p=reject domain: forged mail fails DMARC, genuine mail passes it
    f.write("  local-data: '_dmarc.auth.test. 300 IN TXT \"v=DMARC1; p=reject\"'\n")
    # the receiving side's own names: no records, answered at once
    f.write('  local-zone: "example.com." static\n')


def msg(subject_line, body):
    return (b"From: Alice <alice@auth.test>\r\n"
            b"To: bob@example.com\r\n"
            + subject_line + b"\r\n"
            b"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <auth-test-1@auth.test>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n"
            b"\r\n" + body)


def sign(m, canon):
    sig = dkim.sign(m, b"sel", b"auth.test", pem, canonicalize=(canon, canon),
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + m


body = b"Hello Bob,\r\n\r\nthe minutes of Tuesday's meeting are below.\r\n\r\nAlice\r\n"
good = sign(msg(b"Subject: minutes", body), b"relaxed")
simple = sign(msg(b"Subject:minutes,  spaced\t out", body), b"simple")
forged = good.replace(b"the minutes", b"the invoice")
ar = (b"Authentication-Results: mx.moat.test; dkim=pass header.d=bank.example;\r\n"
      b"\tspf=pass smtp.mailfrom=bank.example\r\n"
      b"Authentication-Results: relay.other.example; spf=pass smtp.mailfrom=auth.test\r\n")
for name, data in (("good-relaxed.eml", good), ("good-simple.eml", simple),
                   ("forged.eml", forged), ("forged-ar.eml", ar + good)):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data.replace(b"\r\n", b"\n"))
for name in ("good-relaxed.eml", "good-simple.eml", "forged.eml"):
    data = open(os.path.join(out, name), "rb").read().replace(b"\n", b"\r\n")
    print(name, "pass" if dkim.verify(data, dnsfunc=lambda n, timeout=5: pub.encode()) else "fail")
