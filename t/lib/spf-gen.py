#!/usr/bin/python3
# spf-gen.py - the data of t/spf-pyspf.t, and its oracle.
#
#   spf-gen.py gen SEED N DIR   write DIR/zone.conf (unbound local-data),
#                               DIR/cases ("ID IP HELO SENDER") and DIR/info
#   spf-gen.py pyspf PORT DIR   pyspf's verdict for every case, one line each:
#                               "ID RESULT | EXPLANATION"
#
# Every case has its own names (dK.cID.test, hK.cID.test, ...) and its own
# client address, so cases never see each other's records. Records are
# random trees: ip4/ip6 (matching or not, random prefixes), a, mx, ptr,
# exists with macros, include and redirect to the case's other domains
# (loops included), exp= with macro text, qualifiers, some syntax errors,
# names that do not exist (void lookups), domains whose server refuses
# (temperror), and cases built to cross the limits (11 lookups, 3 void
# lookups, 11 MX names).
import ipaddress
import os
import random
import sys

LOCALS = ["alice", "bob", "john-smith", "x.y", "info+tag", "a-b-c", "postmaster", "strong-bad"]


def rev_nibbles(ip):
    return ".".join(ip.exploded.replace(":", "")) if ip.version == 6 else str(ip)


def expand_simple(tmpl, env):
    """The few macro templates the generator uses in names (RFC 7208 7.3)."""
    out = tmpl
    for key, val in env.items():
        out = out.replace("%{" + key + "}", val)
    return out


class Case:
    def __init__(self, rnd, cid):
        self.r = rnd
        self.id = cid
        self.base = "c%d.test" % cid
        self.rr = []  # (name, type, data)
        self.budget = 8  # DNS terms across the tree, so pyspf's redirect count never matters
        v6 = rnd.random() < 0.3
        if v6:
            self.ip = ipaddress.ip_address("2a00:1:%x:%x::%x" % (cid >> 16, cid & 0xFFFF, rnd.randint(1, 0xFFFF)))
            self.other = ipaddress.ip_address("2a00:2:%x::%x" % (cid & 0xFFFF, rnd.randint(1, 0xFFFF)))
        else:
            self.ip = ipaddress.ip_address("11.%d.%d.%d" % ((cid >> 8) & 255, cid & 255, rnd.randint(1, 254)))
            self.other = ipaddress.ip_address("12.%d.%d.%d" % ((cid >> 8) & 255, cid & 255, rnd.randint(1, 254)))
        self.local = rnd.choice(LOCALS)
        self.helo = "h0.%s" % self.base
        self.null_sender = rnd.random() < 0.1
        self.sender_domain = self.helo if self.null_sender else "d0.%s" % self.base
        self.sender = "-" if self.null_sender else "%s@%s" % (self.local, self.sender_domain)
        self.env = {
            "i": str(self.ip) if self.ip.version == 4 else rev_nibbles(self.ip),
            "ir": ".".join(reversed((str(self.ip) if self.ip.version == 4 else rev_nibbles(self.ip)).split("."))),
            "v": "in-addr" if self.ip.version == 4 else "ip6",
            "l": "postmaster" if self.null_sender else self.local,
            "o": self.sender_domain,
            "h": self.helo,
        }
        self.hosts = ["h%d.%s" % (k, self.base) for k in range(6)]
        self.domains = ["d%d.%s" % (k, self.base) for k in range(6)]
        if self.null_sender:
            self.domains[0] = self.helo

    def add(self, name, rtype, data):
        self.rr.append((name, rtype, data))

    def addr(self, match):
        ip = self.ip if match else self.other
        return ("AAAA" if ip.version == 6 else "A"), str(ip)

    def host_records(self):
        for h in self.hosts:
            x = self.r.random()
            if x < 0.15:
                continue  # NXDOMAIN: a void lookup
            t, a = self.addr(self.r.random() < 0.4)
            self.add(h, t, a)
            if self.r.random() < 0.3:  # the other family too, or a second address
                t2 = "A" if t == "AAAA" else "AAAA"
                self.add(h, t2, "11.200.0.1" if t2 == "A" else "2a00:3::1")
        # PTR: 0-2 names, validated or not
        rev = self.ip.reverse_pointer
        for _ in range(self.r.choice([0, 0, 1, 1, 2])):
            self.add(rev, "PTR", self.r.choice(self.hosts + ["x.%s" % self.base]) + ".")

    def cidr(self, v4):
        x = self.r.random()
        if x < 0.6:
            return ""
        if v4:
            return "/%d" % self.r.choice([8, 16, 24, 28, 31, 32])
        return "//%d" % self.r.choice([32, 48, 64, 96, 127, 128])

    def term(self, depth, k):
        r = self.r
        q = r.choice(["", "", "", "+", "-", "~", "?"])
        kind = r.choice(["ip4", "ip4", "ip6", "a", "a", "mx", "ptr", "exists", "include", "include", "bad"])
        if kind in ("a", "mx", "ptr", "exists", "include"):
            if self.budget <= 0:
                kind = "ip4"
            else:
                self.budget -= 1
        if kind == "ip4":
            match = r.random() < 0.3 and self.ip.version == 4
            ip = self.ip if match else ipaddress.ip_address("11.%d.%d.%d" % (r.randint(0, 255), r.randint(0, 255), r.randint(1, 254)))
            if ip.version == 6:
                ip = ipaddress.ip_address("11.9.9.9")
            return "%sip4:%s%s" % (q, ip, r.choice(["", "", "/%d" % r.choice([8, 16, 24, 30, 32])]))
        if kind == "ip6":
            match = r.random() < 0.3 and self.ip.version == 6
            ip = self.ip if match else ipaddress.ip_address("2a00:1:%x::%x" % (r.randint(0, 0xFFFF), r.randint(1, 0xFFFF)))
            if ip.version == 4:
                ip = ipaddress.ip_address("2a00:9::9")
            return "%sip6:%s%s" % (q, ip.compressed, r.choice(["", "", "/%d" % r.choice([16, 32, 48, 64, 128])]))
        if kind == "a":
            tgt = r.choice(["", ":" + r.choice(self.hosts), ":" + r.choice(self.hosts), ":nx%d.%s" % (k, self.base),
                            ":%{l}.l." + self.base, ":%{d}"])
            if tgt == ":%{l}.l." + self.base and r.random() < 0.6:
                t, a = self.addr(r.random() < 0.7)
                self.add(expand_simple("%{l}.l." + self.base, self.env), t, a)
            return "%sa%s%s" % (q, tgt, self.cidr(self.ip.version == 4))
        if kind == "mx":
            return "%smx%s%s" % (q, r.choice(["", ":" + r.choice(self.domains)]), self.cidr(self.ip.version == 4))
        if kind == "ptr":
            return "%sptr%s" % (q, r.choice(["", ":" + self.base, ":" + r.choice(self.hosts), ":other.test"]))
        if kind == "exists":
            tmpl = r.choice(["%{ir}.%{v}.e." + self.base, "%{i}.i." + self.base, "%{l}.%{o}.x." + self.base,
                             "%{h}.h." + self.base, "%{p}.p." + self.base, "%{l1r-}.lr." + self.base,
                             "%{d2}.d2." + self.base, "%{ir}.%{l}._spf.%{d}"])
            name = expand_simple(tmpl, self.env)
            if "%" not in name and r.random() < 0.5:
                self.add(name, "A", "127.0.0.2")
            if "%{p}" in tmpl and r.random() < 0.5:
                for h in self.hosts[:2]:
                    self.add("%s.p.%s" % (h, self.base), "A", "127.0.0.2")
            if "%{l1r-}" in tmpl:
                parts = self.env["l"].split("-")
                self.add("%s.lr.%s" % (parts[-1] if len(parts) == 1 else list(reversed(parts))[-1], self.base), "A", "127.0.0.2")
            return "%sexists:%s" % (q, tmpl)
        if kind == "include":
            if depth >= 3:
                return "%sip4:11.1.1.1" % q
            j = r.randint(0, 5)
            if self.domains[j] == self.cur:
                j = (j + 1) % 6
            if r.random() < 0.05:
                return "%sinclude:x.refused.test" % q
            self.todo.append((self.domains[j], depth + 1))
            return "%sinclude:%s" % (q, self.domains[j])
        return r.choice(["foo", "ip4:1.2.3.4/33", "a:nodot", "ip4:1.2.3", "all:x", "ptr/24", "exists",
                         "a:%{z}.x.test", "mx:%{d}/40", "include", "ip6:zz::1", "-all,", "a:%x.test"])

    def record(self, dom, depth):
        r = self.r
        self.cur = dom
        n = r.randint(0, 5)
        terms = [self.term(depth, k) for k in range(n)]
        if r.random() < 0.7:
            terms.append(r.choice(["-all", "~all", "?all", "+all", "all", "-all"]))
        if r.random() < 0.15 and self.budget > 0:
            j = r.randint(0, 5)
            if self.domains[j] != dom:
                self.budget -= 1
                terms.append("redirect=%s" % self.domains[j])
                self.todo.append((self.domains[j], depth + 1))
        if r.random() < 0.3:
            terms.append("exp=e.%s" % self.base)
        if r.random() < 0.05:
            terms.append("foo=%{d}.bar")
        r.shuffle(terms) if r.random() < 0.2 else None
        return " ".join(["v=spf1"] + terms)

    def records(self):
        r = self.r
        self.todo = [(self.domains[0], 0)]
        done = set()
        while self.todo:
            dom, depth = self.todo.pop(0)
            if dom in done:
                continue
            done.add(dom)
            x = r.random()
            if x < 0.05 and depth > 0:
                continue  # no such domain
            if x < 0.08:
                self.add(dom, "TXT", "google-site-verification=abc")
                continue
            if x < 0.10:
                self.add(dom, "TXT", self.record(dom, depth))
                self.add(dom, "TXT", "v=spf1 -all")
                continue
            self.add(dom, "TXT", self.record(dom, depth))
            if r.random() < 0.2:
                self.add(dom, "TXT", "some other text")
        # MX for every domain, sometimes none, rarely 11
        for d in self.domains:
            x = r.random()
            if x < 0.25:
                continue
            names = r.sample(self.hosts + ["nxmx.%s" % self.base], r.randint(1, 3))
            if x > 0.97:
                names = ["m%d.%s" % (k, self.base) for k in range(11)]
            for k, nm in enumerate(names):
                self.add(d, "MX", "%d %s." % (r.choice([10, 10, 20]), nm))
        self.add("e.%s" % self.base, "TXT", r.choice([
            "%{i} is not one of the designated mail servers of %{d}.",
            "Mail from %{l} at %{o} via %{h} rejected (%{v}, %{c}, %{L})",
            "See http://www.example.com/why.html?s=%{S}&i=%{I}",
            "Denied %%, %_ and %- for %{d2}",
        ]))

    def limit_case(self):
        r = self.r
        kind = r.choice(["lookups", "voids", "mx", "includes"])
        d0 = self.domains[0]
        if kind == "lookups":
            n = r.choice([9, 10, 11, 12])
            self.add(d0, "TXT", "v=spf1 " + " ".join("a:h%d.%s" % (k % 6, self.base) for k in range(n)) + " " + ("ip4:%s" % self.ip if self.ip.version == 4 else "ip6:%s" % self.ip) + " -all")
        elif kind == "voids":
            n = r.choice([2, 3])
            self.add(d0, "TXT", "v=spf1 " + " ".join("a:nx%d.%s" % (k, self.base) for k in range(n)) + " +all")
        elif kind == "mx":
            n = r.choice([10, 11])
            for k in range(n):
                t, a = self.addr(k == n - 1)
                self.add("m%d.%s" % (k, self.base), t, a)
                self.add(d0, "MX", "10 m%d.%s." % (k, self.base))
            self.add(d0, "TXT", "v=spf1 mx -all")
        else:
            n = r.choice([9, 10, 11])
            for k in range(n):
                self.add("i%d.%s" % (k, self.base), "TXT", "v=spf1 include:i%d.%s" % (k + 1, self.base) if k < n - 1 else "v=spf1 +all")
            self.add(d0, "TXT", "v=spf1 include:i0.%s -all" % self.base)

    def build(self):
        if self.r.random() < 0.08:
            self.host_records()
            self.limit_case()
        else:
            self.host_records()
            self.records()


def zone_line(name, rtype, data):
    if rtype == "TXT":
        chunks = [data[i:i + 250] for i in range(0, len(data), 250)] or [""]
        data = " ".join('"%s"' % c for c in chunks)
    return "  local-data: '%s. 300 IN %s %s'\n" % (name, rtype, data)


def gen(seed, n, out):
    rnd = random.Random(seed)
    cases = []
    with open(os.path.join(out, "zone.conf"), "w") as z:
        z.write('  local-zone: "test." static\n  local-zone: "refused.test." refuse\n')
        z.write('  local-zone: "in-addr.arpa." static\n  local-zone: "ip6.arpa." static\n')
        for cid in range(n):
            c = Case(rnd, cid)
            c.build()
            seen = set()
            for name, rtype, data in c.rr:
                if (name, rtype, data) in seen:
                    continue
                seen.add((name, rtype, data))
                z.write(zone_line(name, rtype, data))
            cases.append("%d %s %s %s\n" % (cid, c.ip, c.helo, c.sender))
    with open(os.path.join(out, "cases"), "w") as f:
        f.writelines(cases)


def oracle(port, out):
    import dns.resolver
    import spf

    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = int(port)
    res.lifetime = 5
    dns.resolver.default_resolver = res
    with open(os.path.join(out, "cases")) as f:
        for line in f:
            cid, ip, helo, sender = line.split()
            if sender == "-":
                sender = ""
            q = spf.query(i=ip, s=sender, h=helo, timeout=5)
            result, _, exp = q.check()
            print("%s %s | %s" % (cid, result, exp if result == "fail" else ""), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        oracle(sys.argv[2], sys.argv[3])
