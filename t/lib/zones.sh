# shellcheck shell=bash
#
# t/lib/zones.sh -- the test DNS lists: rbldnsd serving t/data/dnsbl behind
# a private unbound, and the matching zones, codes and symbols in the
# test's database. Source after harness.sh and moat.sh, then:
#   z_start_lists        -> H_RBLDNSD_PORT, H_UNBOUND_PORT (resolver for moat)
#   z_start_nx_unbound   -> NX_PORT: a resolver answering NXDOMAIN for everything
#   z_setup_db           zones bl.test (IPv4+IPv6), wl.test, dbl.test, the keyed
#                        SECRETKEY.abusix.test, with their symbols, and
#                        blocked.test (off; answers 127.255.255.254)

z_data=${MOAT_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/t/data/dnsbl

z_start_lists() {
	h_start_rbldnsd "bl.test:ip4set:$z_data/bl.ip4" "bl.test:ip6trie:$z_data/bl.ip6" \
		"wl.test:ip4set:$z_data/wl.ip4" "dbl.test:dnset:$z_data/dbl.dom" \
		"SECRETKEY.abusix.test:ip4set:$z_data/key.ip4" \
		"blocked.test:ip4set:$z_data/blocked.ip4" || return 1
	h_start_unbound "bl.test@$H_RBLDNSD_PORT" "wl.test@$H_RBLDNSD_PORT" \
		"dbl.test@$H_RBLDNSD_PORT" "abusix.test@$H_RBLDNSD_PORT" "blocked.test@$H_RBLDNSD_PORT"
}

# z_start_nx_unbound: a private unbound that answers NXDOMAIN for every
# name ("." is a static local zone without data): a fast "not listed" for
# benchmarks, and no query leaves the machine. -> NX_PORT
z_start_nx_unbound() {
	h_start_local_unbound nx static || return 1
	NX_PORT=$H_LOCAL_UNBOUND_PORT
}

z_setup_db() {
	m_ctl migrate >/dev/null && sqlite3 "$(m_state)/moat.db" <<'SQL'
UPDATE dnsbl_zones SET enabled = 0;
-- The lists' tests see the lists alone: hfilter's symbols (t/hfilter.t) would add to their scores.
UPDATE modules SET enabled = 0 WHERE name = 'hfilter';
INSERT INTO dnsbl_zones (name, kind, checks) VALUES ('bl.test', 'ip', 'client,received');
INSERT INTO dnsbl_zones (name, kind, checks) VALUES ('wl.test', 'ip', 'client');
INSERT INTO dnsbl_zones (name, kind, checks, domain_mode) VALUES ('dbl.test', 'domain', 'helo,sender,client_name,url', 'full');
INSERT INTO dnsbl_zones (name, kind, checks, needs_key) VALUES ('abusix.test', 'ip', 'client', 'abusix');
INSERT INTO dnsbl_zones (name, kind, checks, enabled) VALUES ('blocked.test', 'ip', 'client', 0);
INSERT INTO symbols (name, weight, group_name) VALUES
	('TEST_BL', 12.0, 'test'), ('TEST_BL_XBL', 3.0, 'test'),
	('TEST_WL', -1.5, 'test'), ('TEST_DBL', 2.5, 'test'), ('TEST_KEYED', 6.5, 'test');
INSERT INTO dnsbl_codes (zone, code, kind, symbol) VALUES
	('bl.test', '127.0.0.2', 'listing', 'TEST_BL'),
	('bl.test', '127.0.0.4', 'listing', 'TEST_BL_XBL'),
	('bl.test', '127.255.255.254', 'error', NULL),
	('wl.test', '127.0.*.3', 'listing', 'TEST_WL'),
	('dbl.test', '127.0.1.2', 'listing', 'TEST_DBL'),
	('abusix.test', '127.0.0.4', 'listing', 'TEST_KEYED');
SQL
}
