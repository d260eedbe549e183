#!/usr/bin/python3
# dkim-oracle.py - dkimpy's verdict on every DKIM-Signature of a message,
# keys asked of a private DNS server (t/dkim-sign-postfix.t):
#   dkim-oracle.py PORT FILE  ->  "d=DOMAIN s=SELECTOR a=ALG pass|fail" per signature
import sys

import dkim
import dns.resolver


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = port

    def txt(name, timeout=5):
        try:
            ans = res.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
        except Exception:
            return None
        return b"".join(b"".join(r.strings) for r in ans)

    with open(path, "rb") as f:
        raw = f.read()
    msg = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    d = dkim.DKIM(msg)
    sigs = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
    for i, v in enumerate(sigs):
        tags = dkim.util.parse_tag_value(v)
        try:
            ok = d.verify(idx=i, dnsfunc=txt)
        except dkim.DKIMException as e:
            ok = False
            print("error:", e, file=sys.stderr)
        print("d=%s s=%s a=%s %s" % (tags[b"d"].decode(), tags[b"s"].decode(),
                                     tags[b"a"].decode(), "pass" if ok else "fail"))


main()
