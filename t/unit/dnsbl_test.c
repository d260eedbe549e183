/* dnsbl_test - query names (IPv4, IPv6, IDN, registrable domains),
 * answer classification (exact, wildcard, bit mask, error, unknown), the
 * code and check names moatctl zone validates, and a listing's TXT record
 * as it goes into a rejection (dns_txt_parse: joined, printable, bounded). */
#include "config.h"

#include <ares.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "store/db.h"
#include "dns/dns.h"
#include "dns/dnsbl.h"
#include "core/log.h"
#include "tap.h"

static const char *ipq(const char *ip, const char *zone)
{
	static char out[300];
	struct ip_addr a;

	if (ip_parse(ip, strlen(ip), &a) < 0 || dnsbl_ip_qname(&a, zone, out, sizeof(out)) < 0)
		return "(error)";
	return out;
}

static const char *dq(const char *d, int registrable)
{
	static char out[300];

	if (dnsbl_domain_qname(d, "dbl.test", registrable, out, sizeof(out)) < 0)
		return "(skip)";
	return out;
}

static int classify(const struct dnsbl *bl, const char *zone, const char *ans, const char **sym)
{
	struct in_addr a;
	double w;

	inet_pton(AF_INET, ans, &a);
	return dnsbl_classify(dnsbl_zone_find(bl, zone), a, sym, &w);
}

/*
 * A DNS answer to "q.test TXT" holding one TXT record of the given
 * character-strings (each as length byte + bytes), then a second record.
 */
static int txt_packet(unsigned char *p, const char *const *strs, int n, const char *second)
{
	static const unsigned char head[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
					     1, 'q', 4, 't', 'e', 's', 't', 0, 0, 16, 0, 1};
	size_t o = sizeof(head), rd;

	memcpy(p, head, o);
	for (int rec = 0; rec < 2; rec++) {
		/* Name: a pointer to the question's name; TXT, IN, TTL 60. */
		static const unsigned char rr[] = {0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60};

		memcpy(p + o, rr, sizeof(rr));
		o += sizeof(rr);
		rd = o;
		o += 2;
		for (int i = 0; i < (rec ? 1 : n); i++) {
			const char *s = rec ? second : strs[i];
			size_t len = strlen(s);

			p[o++] = (unsigned char)len;
			memcpy(p + o, s, len);
			o += len;
		}
		p[rd] = (unsigned char)((o - rd - 2) >> 8);
		p[rd + 1] = (unsigned char)(o - rd - 2);
	}
	return (int)o;
}

static void test_txt(void)
{
	static const char *const one[] = {"Listed, see https://bl.test/"};
	static const char *const two[] = {"  Listed by ", "policy 5  "};
	static const char *const evil[] = {"bad\r\n250 OK\x01\xc3\xa9"};
	char long_s[256], text[DNS_TXT_MAX + 1];
	const char *const *lng = (const char *const[]){long_s, long_s};
	unsigned char pkt[1024];
	int n;

	n = txt_packet(pkt, one, 1, "second record");
	dns_txt_parse(ARES_SUCCESS, pkt, n, text, sizeof(text));
	is_str(text, "Listed, see https://bl.test/", "TXT: the first record's text");
	n = txt_packet(pkt, two, 2, "second record");
	dns_txt_parse(ARES_SUCCESS, pkt, n, text, sizeof(text));
	is_str(text, "Listed by policy 5", "TXT: a record's strings joined, blanks at the ends trimmed");
	n = txt_packet(pkt, evil, 1, "x");
	dns_txt_parse(ARES_SUCCESS, pkt, n, text, sizeof(text));
	is_str(text, "bad??250 OK???", "TXT: CR, LF, controls and 8-bit bytes become '?'");
	memset(long_s, 'a', 255);
	long_s[255] = '\0';
	n = txt_packet(pkt, lng, 2, "x");
	dns_txt_parse(ARES_SUCCESS, pkt, n, text, sizeof(text));
	is_int((long long)strlen(text), DNS_TXT_MAX, "TXT: 510 bytes cut to DNS_TXT_MAX");
	dns_txt_parse(ARES_ENOTFOUND, pkt, n, text, sizeof(text));
	is_str(text, "", "TXT: none on NXDOMAIN");
	dns_txt_parse(ARES_SUCCESS, pkt, 20, text, sizeof(text));
	is_str(text, "", "TXT: none from a truncated packet");
}

/* What moatctl zone checks before writing a code or a check. */
static void test_names(void)
{
	is_int(dnsbl_code_valid("127.0.0.2"), 0, "code 127.0.0.2");
	is_int(dnsbl_code_valid("127.0.*.3"), 0, "code 127.0.*.3");
	is_int(dnsbl_code_valid("bit:4"), 0, "code bit:4");
	ok(dnsbl_code_valid("127.0.0.256") < 0, "code 127.0.0.256: no");
	ok(dnsbl_code_valid("127.0.0") < 0, "code 127.0.0: no");
	ok(dnsbl_code_valid("127.0.0.2.1") < 0, "code 127.0.0.2.1: no");
	ok(dnsbl_code_valid("bit:0") < 0, "code bit:0: no");
	is_int(dnsbl_check_named("client_name", 11), DNSBL_CLIENT_NAME, "check client_name");
	is_int(dnsbl_check_named("client", 6), DNSBL_CLIENT, "check client");
	is_int(dnsbl_check_named("clients", 7), 0, "check clients: unknown");
}

int main(void)
{
	char dir[] = "/tmp/moat-dnsbl-test.XXXXXX", path[300], err[512], cmd[400];
	const char *sym;
	struct dnsbl *bl;
	sqlite3 *db;

	log_init("dnsbl_test", LOG_TO_STDERR, NULL);
	test_txt();
	test_names();
	is_str(ipq("192.0.2.99", "bl.test"), "99.2.0.192.bl.test", "IPv4: reversed octets");
	is_str(ipq("127.0.0.2", "zen.spamhaus.org"), "2.0.0.127.zen.spamhaus.org", "RFC 5782 test point");
	is_str(ipq("2001:db8::1", "bl.test"),
	       "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test",
	       "IPv6: 32 reversed nibbles (RFC 5782 section 2.4)");
	is_str(ipq("::ffff:192.0.2.1", "bl.test"), "1.2.0.192.bl.test", "IPv4-mapped IPv6 as IPv4");

	is_str(dq("Mail.Spammer.Example", 0), "mail.spammer.example.dbl.test", "full name, lower case");
	is_str(dq("mail.spammer.example.", 0), "mail.spammer.example.dbl.test", "trailing dot dropped");
	is_str(dq("a.b.spammer.example", 1), "spammer.example.dbl.test", "registrable domain");
	is_str(dq("mx.example.co.uk", 1), "example.co.uk.dbl.test", "registrable under a public suffix");
	is_str(dq("co.uk", 1), "(skip)", "a public suffix alone is skipped");
	is_str(dq("bücher.example", 0), "xn--bcher-kva.example.dbl.test", "IDN to punycode");
	is_str(dq("BÜCHER.example", 0), "xn--bcher-kva.example.dbl.test", "IDN in upper case");
	is_str(dq("[192.0.2.1]", 0), "(skip)", "HELO address literal skipped");
	is_str(dq("192.0.2.1", 0), "(skip)", "bare IP skipped");
	is_str(dq("localhost", 0), "(skip)", "single label skipped");
	is_str(dq("bad name.example", 0), "(skip)", "space refused");
	is_str(dq("a..b.example", 0), "(skip)", "empty label refused");
	is_str(dq("x;rm -rf.example", 0), "(skip)", "shell characters refused");
	{
		char longlabel[80];

		memset(longlabel, 'a', 64);
		strcpy(longlabel + 64, ".example");
		is_str(dq(longlabel, 0), "(skip)", "label over 63 bytes refused");
	}

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	db = db_open(path, 1000, err, sizeof(err));
	ok(db != NULL, "database");
	ok(sqlite3_exec(db,
			"UPDATE dnsbl_zones SET enabled = 0;"
			"INSERT INTO dnsbl_zones (name, kind, checks) VALUES ('wl.test', 'ip', 'client');"
			"INSERT INTO dnsbl_codes (zone, code, symbol) VALUES"
			" ('wl.test', '127.0.*.3', 'RCVD_IN_DNSWL_HI'),"
			" ('wl.test', 'bit:8', 'RCVD_IN_DNSWL_LOW');"
			"INSERT INTO dnsbl_codes (zone, code, kind) VALUES ('wl.test', '127.0.0.255', 'error');"
			"INSERT INTO dnsbl_zones (name, kind, checks, needs_key) VALUES"
			" ('abusix.test', 'ip', 'client', 'abusix');",
			NULL, NULL, NULL) == SQLITE_OK,
	   "test zones inserted");
	bl = dnsbl_new(db, "", err, sizeof(err));
	ok(bl != NULL, "zones load");
	is_int(dnsbl_zone_count(bl), 1, "keyed zone skipped without a key; shipped zones off");
	ok(dnsbl_zone_find(bl, "abusix.test") == NULL, "no key: the Abusix-style zone is not used");
	is_int(classify(bl, "wl.test", "127.0.10.3", &sym), DNSBL_LISTED, "wildcard octet matches");
	is_str(sym, "RCVD_IN_DNSWL_HI", "...its symbol");
	is_int(classify(bl, "wl.test", "127.0.0.9", &sym), DNSBL_LISTED, "bit mask 8 matches .9");
	is_str(sym, "RCVD_IN_DNSWL_LOW", "...its symbol");
	is_int(classify(bl, "wl.test", "127.0.0.4", &sym), DNSBL_UNKNOWN_CODE, "unlisted code: unknown");
	is_int(classify(bl, "wl.test", "127.0.0.255", &sym), DNSBL_ERROR_CODE, "zone's error code");
	is_int(classify(bl, "wl.test", "127.255.255.254", &sym), DNSBL_ERROR_CODE,
	       "127.255.255.x is an error even where the zone does not list it");
	is_int(classify(bl, "wl.test", "10.0.0.3", &sym), DNSBL_UNKNOWN_CODE,
	       "an answer outside 127/8 is never a listing");
	is_int(classify(bl, "wl.test", "10.0.0.9", &sym), DNSBL_UNKNOWN_CODE,
	       "...not even by a bit mask (bit:8 would match .9)");
	dnsbl_free(bl);

	bl = dnsbl_new(db, "SECRETKEY", err, sizeof(err));
	is_int(dnsbl_zone_count(bl), 2, "with a key the Abusix-style zone is used");
	dnsbl_free(bl);
	bl = dnsbl_new(db, "", err, sizeof(err));
	{
		/* Shipped zones: Spamhaus' error codes are never listings. */
		sqlite3_exec(db, "UPDATE dnsbl_zones SET enabled = 1 WHERE name LIKE '%spamhaus.org'",
			     NULL, NULL, NULL);
		dnsbl_reload(bl, db, err, sizeof(err));
		is_int(classify(bl, "zen.spamhaus.org", "127.0.0.2", &sym), DNSBL_LISTED, "ZEN SBL");
		is_str(sym, "RBL_SPAMHAUS_SBL", "...as RBL_SPAMHAUS_SBL");
		is_int(classify(bl, "zen.spamhaus.org", "127.0.0.11", &sym), DNSBL_LISTED, "ZEN PBL");
		is_int(classify(bl, "zen.spamhaus.org", "127.255.255.254", &sym), DNSBL_ERROR_CODE,
		       "ZEN: public resolver answer is an error");
		is_int(classify(bl, "zen.spamhaus.org", "127.255.255.255", &sym), DNSBL_ERROR_CODE,
		       "ZEN: over the limit is an error");
		is_int(classify(bl, "zen.spamhaus.org", "127.0.0.1", &sym), DNSBL_UNKNOWN_CODE,
		       "ZEN: 127.0.0.1 is not a listing");
		is_int(classify(bl, "dbl.spamhaus.org", "127.0.1.2", &sym), DNSBL_LISTED, "DBL spam");
		is_int(classify(bl, "dbl.spamhaus.org", "127.0.1.255", &sym), DNSBL_ERROR_CODE,
		       "DBL: IP queried is an error");
	}
	dnsbl_free(bl);
	db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok(0, "cleanup");
	return done_testing();
}
