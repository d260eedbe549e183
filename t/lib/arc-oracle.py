#!/usr/bin/python3
# arc-oracle.py - dkimpy's side of t/arc-seal-postfix.t:
#   arc-oracle.py seal KEYFILE DOMAIN SELECTOR FILE  ->  FILE with an i=1 ARC set
#                                                        sealed by dkimpy, on stdout
#   arc-oracle.py verify PORT FILE  ->  "pass|fail|none|ended i=N seal=valid|invalid"
#                                       (dkimpy's arc_verify, keys asked of the DNS
#                                       server on 127.0.0.1:PORT; the newest seal's
#                                       verdict), then the reason
import sys

import dkim
import dns.resolver


def crlf(raw):
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def seal(keyfile, domain, selector, path):
    with open(keyfile, "rb") as f:
        priv = f.read()
    with open(path, "rb") as f:
        msg = crlf(f.read())
    srv = domain.encode()
    msg = b"Authentication-Results: " + srv + b"; spf=pass smtp.mailfrom=alice@moat.test\r\n" + msg
    a = dkim.ARC(msg)
    sets = a.sign(selector.encode(), srv, priv, srv, include_headers=a.default_sign_headers())
    if not sets:
        sys.exit("dkimpy made no ARC set")
    sys.stdout.buffer.write(b"".join(sets) + msg)


def verify(port, path):
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = int(port)

    def txt(name, timeout=5):
        try:
            ans = res.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
        except Exception:
            return None
        return b"".join(b"".join(r.strings) for r in ans)

    with open(path, "rb") as f:
        msg = crlf(f.read())
    cv, results, why = dkim.arc_verify(msg, dnsfunc=txt)
    # None: the newest AMS verified and a seal says cv=fail, "the chain is terminated".
    top = max(results, key=lambda r: r.get("instance", 0)) if results else {}
    print("%s i=%d seal=%s" % (cv.decode() if cv else "ended", top.get("instance", 0),
                               "valid" if top.get("as-valid") else "invalid"))
    print(why)


if sys.argv[1] == "seal":
    seal(*sys.argv[2:6])
else:
    verify(*sys.argv[2:4])
