#!/usr/bin/python3
# dmarc-gen.py - generated DMARC cases for t/dmarc-authheaders.t, and the
# judges: Debian's python3-authheaders, and a model of RFC 9989 written here
# from the RFC's text.
#
#   dmarc-gen.py gen SEED N DIR   write DIR/zone.conf (unbound local-data),
#                                 DIR/cases (t/dmarc_query -b lines) and
#                                 DIR/zone.json (the same zone, for model)
#   dmarc-gen.py oracle PORT DIR  authheaders' verdict on each case, asking
#                                 unbound on 127.0.0.1:PORT: "ID RESULT POLICY"
#                                 (RFC 7489 with the PSL for psl cases, its
#                                 DMARCbis mode for treewalk cases)
#   dmarc-gen.py model DIR AH     for each case, the RFC's verdict (RFC 7489
#                                 with the PSL, or RFC 9989), and which of
#                                 authheaders' departures from the RFC
#                                 reproduce its verdict (AH: oracle's output):
#                                 "ID RESULT POLICY | DEPARTURES"
#
# Each case lives under its own registrable domain c<N>.<suffix>; suffixes
# are on the Public Suffix List (libpsl and publicsuffix2 read the same
# Debian file), names have no hyphens (authheaders' address regex has none).
# Records have one string each (authheaders does not join strings) and end
# without "; " (its tag splitter fails on a blank tag).
import itertools
import json
import random
import sys

SUFFIXES = ["com", "co.uk", "org", "blogspot.com", "ac.jp"]
LABELS = ["a", "b", "mail", "x", "news", "m1", "dept"]
POLICIES = ["none", "quarantine", "reject"]


def record(rnd, walk):
    tags = [("p", rnd.choice(POLICIES))]
    if rnd.random() < 0.4:
        tags.append(("sp", rnd.choice(POLICIES)))
    if rnd.random() < 0.3:
        tags.append(("np", rnd.choice(POLICIES)))
    if rnd.random() < 0.3:
        tags.append(("adkim", "s"))
    if rnd.random() < 0.3:
        tags.append(("aspf", "s"))
    if rnd.random() < 0.2:
        tags.append(("pct", str(rnd.randint(0, 100))))
    if walk and rnd.random() < 0.1:
        tags.append(("t", "y"))
    if rnd.random() < 0.3:
        tags.append(("rua", "mailto:dmarc@example.com"))
    return tags


def text(tags):
    return "v=DMARC1; " + "; ".join("%s=%s" % t for t in tags)


def gen(seed, n, out):
    rnd = random.Random(seed)
    txt, addr, cases = {}, set(), []
    for i in range(n):
        walk = rnd.random() < 0.5
        suffix = rnd.choice(SUFFIXES)
        reg = "c%d.%s" % (i, suffix)
        base = reg
        if walk and rnd.random() < 0.3:
            # A Public Suffix Domain of the case's own, above the organization.
            base = "o." + reg
            txt["_dmarc." + reg] = [text([("p", rnd.choice(POLICIES)), ("psd", "y")])]
        deep = walk and rnd.random() < 0.15
        nlab = rnd.randint(5, 8) if deep else rnd.randint(0, 3)
        prefix = [rnd.choice(LABELS) for _ in range(nlab)]
        frm = ".".join(prefix + [base])
        chain = [".".join(prefix[k:] + [base]) for k in range(nlab + 1)]
        for k, name in enumerate(chain):
            p = 0.4 if k == 0 else 0.7 if name == base else 0.3
            if rnd.random() < p:
                tags = record(rnd, walk)
                if walk and name != frm and rnd.random() < 0.2:
                    tags.append(("psd", "n"))
                txt["_dmarc." + name] = [text(tags)]
                if rnd.random() < 0.05:
                    txt["_dmarc." + name].append("v=spf1 -all")
        if rnd.random() < 0.6:
            addr.add(frm)
        parent = chain[1] if len(chain) > 1 else base
        other = "c%d.%s" % (rnd.randrange(n), rnd.choice(SUFFIXES))
        ids = [frm, base, reg, parent, "z." + frm, "mail." + base, other]
        spf = rnd.choice(["pass", "pass", "pass", "fail", "softfail", "neutral", "none"])
        spfdom = rnd.choice(ids)
        dkim, dkimdom = "-", "-"
        if rnd.random() < 0.7:
            dkim = rnd.choice(["pass", "pass", "fail"])
            dkimdom = rnd.choice(ids)
        cases.append("%d %s %s %s %s %s %s %d" % (i, "treewalk" if walk else "psl", frm, spf,
                                                  spfdom, dkim, dkimdom, rnd.randint(1, 100)))
    with open(out + "/zone.conf", "w") as z:
        for name in sorted(txt):
            for t in txt[name]:
                z.write("  local-data: '%s. 300 IN TXT \"%s\"'\n" % (name, t))
        for name in sorted(addr):
            z.write("  local-data: '%s. 300 IN A 192.0.2.1'\n" % name)
    with open(out + "/cases", "w") as c:
        c.write("\n".join(cases) + "\n")
    with open(out + "/zone.json", "w") as j:
        json.dump({"txt": txt, "addr": sorted(addr)}, j)


def cases(out):
    with open(out + "/cases") as c:
        for line in c:
            yield line.split()


def psl():
    from authheaders.findpsl import location
    try:
        from publicsuffix2 import PublicSuffixList
    except ImportError:
        from publicsuffix import PublicSuffixList
    with open(location) as f:
        lst = PublicSuffixList(f)
    memo = {}

    def org(domain):
        if domain not in memo:
            memo[domain] = lst.get_public_suffix(domain)
        return memo[domain]
    return org


def oracle(port, out):
    import dns.resolver
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = int(port)
    r.lifetime = 5
    dns.resolver.default_resolver = r
    import authheaders
    import authheaders.dmarc_lookup as lookup
    from authres import DKIMAuthenticationResult, SPFAuthenticationResult
    # authheaders reads the Public Suffix List file again on every call;
    # the same list read once, so that a thousand cases take seconds.
    authheaders.get_org_domain = lookup.get_org_domain = psl()
    for cid, mode, frm, spf, spfdom, dkim, dkimdom, coin in cases(out):
        s = SPFAuthenticationResult(result=spf, smtp_mailfrom="postmaster@" + spfdom)
        d = None if dkim == "-" else DKIMAuthenticationResult(result=dkim, header_d=dkimdom)
        res, _, _, pol = authheaders.dmarc_per_from(frm, s, d, dmarcbis=(mode == "treewalk"))
        print(cid, res, pol or "-", flush=True)


# ---- RFC 7489 and 9989, from their text, with authheaders' departures -----
#
# Each switch makes the model do what authheaders 0.15.2 does
# (authheaders/__init__.py dmarc_per_from, dmarc_lookup.receiver_record_walk)
# instead of what the RFC says; sp-own in both modes, the others in its
# DMARCbis (draft) mode only:
DEPARTURES = {
    "depth4": "walks down to 4 labels, not 7 (an early draft; RFC 9989 4.10 step 4)",
    "select": "applies the shortest record the walk found, not the From domain's own "
              "(RFC 9989 4.10.1: the Author Domain's record applies if it has one)",
    "sp-own": "applies sp=/np= to the From domain's own record (RFC 7489 6.3: sp= is for "
              "subdomains only; RFC 9989 4.10.1: the Author Domain's record gives p=)",
    "psd2": "below a psd=y record takes the From domain's last two labels "
            "(RFC 9989 4.10.2 rule 2: one label below the PSD)",
    "psl-align": "aligns by the Public Suffix List (RFC 9989 4.10.2: by the tree walk)",
    "nodata": "calls a name without A, AAAA and MX non-existent (RFC 9989 3.2.13: NXDOMAIN)",
}


class Model:
    def __init__(self, zone, org):
        self.txt = zone["txt"]
        self.addr = set(zone["addr"])
        self.psl = org

    def rec(self, name):
        recs = [t for t in self.txt.get("_dmarc." + name, []) if t.startswith("v=DMARC1")]
        if len(recs) != 1:
            return None
        tags = dict(kv.strip().split("=", 1) for kv in recs[0].split(";")[1:] if "=" in kv)
        return {k.strip().lower(): v.strip().lower() for k, v in tags.items()}

    def names(self, d, sw):
        lab = d.split(".")
        x = len(lab)
        start = (x - 1 if x < 5 else 4) if "depth4" in sw else (7 if x >= 8 else x - 1)
        return [d] + [".".join(lab[-k:]) for k in range(start, 0, -1)]

    def walk(self, d, sw):
        """The records found (longest name first) and the Organizational Domain."""
        found = []
        for name in self.names(d, sw):
            r = self.rec(name)
            if r is not None:
                found.append((name, r))
                if r.get("psd") in ("y", "n"):
                    break
        for i, (name, r) in enumerate(found):
            if r.get("psd") == "n":
                return found, name
            if r.get("psd") == "y" and name != d:
                keep = 2 if "psd2" in sw else len(name.split(".")) + 1
                return found, ".".join(d.split(".")[-keep:])
        return found, found[-1][0] if found else d

    def exists(self, d, sw):
        if "nodata" in sw:
            return d in self.addr
        names = list(self.addr) + [n for n in self.txt]
        return any(n == d or n.endswith("." + d) for n in names)

    def verdict_psl(self, frm, spf, spfdom, dkim, dkimdom, sw):
        """RFC 7489 6.6.3 with the PSL; np= by RFC 9091 2.7 (no A, AAAA, MX)."""
        org = self.psl(frm)
        dom = frm if self.rec(frm) else org if org != frm and self.rec(org) else None
        if dom is None:
            return "none", "-"
        r = self.rec(dom)
        pol = r["p"]
        if dom != frm or "sp-own" in sw:
            pol = r["np"] if "np" in r and frm not in self.addr else r.get("sp", pol)

        def aligned(ident, strict):
            return ident == frm if strict else self.psl(ident) == org
        ok = (spf == "pass" and aligned(spfdom, r.get("aspf") == "s")) or \
             (dkim == "pass" and aligned(dkimdom, r.get("adkim") == "s"))
        return "pass" if ok else "fail", pol

    def verdict(self, frm, spf, spfdom, dkim, dkimdom, sw):
        found, org = self.walk(frm, sw)
        recs = dict(found)
        if "select" in sw:
            # authheaders: the record at its org domain (the PSD's if none), else the
            # shortest one other than the From domain's, else the From domain's.
            psd = [n for n, r in found if r.get("psd") == "y" and n != frm]
            if any(r.get("psd") in ("y", "n") for n, r in found) and org in recs:
                dom = org
            elif psd:
                dom = psd[0]
            else:
                others = [n for n, _ in found if n != frm]
                dom = others[-1] if others else frm
        elif frm in recs:
            dom = frm
        elif org in recs:
            dom = org
        else:
            psd = [n for n, r in found if r.get("psd") == "y"]
            dom = psd[0] if psd else None
        if dom is None or dom not in recs:
            return "none", "-"
        r = recs[dom]
        pol = r["p"]
        if dom != frm or "sp-own" in sw:
            if "np" in r and not self.exists(frm, sw):
                pol = r["np"]
            else:
                pol = r.get("sp", pol)
        org_from = self.psl(frm) if "psl-align" in sw else org

        def aligned(ident, strict):
            if strict:
                return ident == frm
            if "psl-align" in sw:
                return self.psl(ident) == org_from
            return self.walk(ident, sw)[1] == org_from
        ok = (spf == "pass" and aligned(spfdom, r.get("aspf") == "s")) or \
             (dkim == "pass" and aligned(dkimdom, r.get("adkim") == "s"))
        return "pass" if ok else "fail", pol


def model(out, ah_file):
    with open(out + "/zone.json") as j:
        m = Model(json.load(j), psl())
    ah = {}
    with open(ah_file) as f:
        for line in f:
            cid, res, pol = line.split()
            ah[cid] = (res, pol)
    for cid, mode, frm, spf, spfdom, dkim, dkimdom, coin in cases(out):
        judge = m.verdict if mode == "treewalk" else m.verdict_psl
        keys = list(DEPARTURES) if mode == "treewalk" else ["sp-own"]
        rfc = judge(frm, spf, spfdom, dkim, dkimdom, set())
        why = "-"
        if cid in ah and ah[cid] != rfc:
            why = "unexplained"
            # The fewest departures that make the model give authheaders' verdict.
            for k in range(1, len(keys) + 1):
                hits = [c for c in itertools.combinations(keys, k)
                        if judge(frm, spf, spfdom, dkim, dkimdom, set(c)) == ah[cid]]
                if hits:
                    why = ",".join(hits[0])
                    break
        print(cid, rfc[0], rfc[1], "|", why)


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "oracle":
        oracle(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "model":
        model(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "departures":
        for k, v in DEPARTURES.items():
            print("%s: %s" % (k, v))
