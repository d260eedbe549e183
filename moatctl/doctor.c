/*
 * doctor - checks the DNS side of moat the way a careful admin would.
 *
 * For each zone in use, the RFC 5782 (section 5) test points: an IP list
 * must list 127.0.0.2 and must not list 127.0.0.1; a domain list must list
 * "test" and must not list "invalid". An error code in the answer means the
 * list refuses us (Spamhaus: 127.255.255.254 for queries through a public
 * resolver, .255 over the limit). Abusix' zones do not list the IPv4 test
 * point, so a missing 127.0.0.2 is not held against them. All lookups run
 * in parallel through the same code the daemons use. Then the problems
 * the daemons have seen (dnsbl_problems) are listed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/dns.h"
#include "dns/dnsbl.h"
#include "doctor.h"
#include "core/evloop.h"
#include "core/log.h"
#include "core/mem.h"

struct probe {
	struct doctor *doc;
	int zone;
	int must_list;		/* 1: test point, 0: must not be listed */
	char qname[320];
	struct dns_result res;
	int done;
};

struct doctor {
	struct evloop *ev;
	struct probe *p;
	int n, left;
};

static void on_probe(void *arg, const char *name, const struct dns_result *r)
{
	struct probe *p = arg;

	p->res = *r;
	p->done = 1;
	if (--p->doc->left == 0)
		evloop_stop(p->doc->ev);
}

static void answers(const struct dns_result *r, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < r->naddr && off + 20 < len; i++) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &r->addr[i], a, sizeof(a));
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "", a);
	}
}

static int is_error_answer(const struct dns_result *r)
{
	for (int i = 0; r->status == DNS_OK && i < r->naddr; i++) {
		const unsigned char *b = (const unsigned char *)&r->addr[i].s_addr;

		if (b[0] == 127 && b[1] == 255 && b[2] == 255)
			return 1;
	}
	return 0;
}

/* Report one zone from its two probes; 1 if something is wrong. */
static int report_zone(struct dnsbl *bl, int z, struct probe *yes, struct probe *no, FILE *fp)
{
	char qz[300], a[200];
	int is_domain, keyed;
	const char *name = dnsbl_zone_info(bl, z, qz, sizeof(qz), &is_domain, &keyed);
	const char *tp = is_domain ? "test" : "127.0.0.2";

	fprintf(fp, "zone %s (%s list): ", name, is_domain ? "domain" : "IP");
	if (yes->res.status == DNS_TIMEOUT || yes->res.status == DNS_FAIL) {
		fprintf(fp, "FAILED: test point lookup %s (resolver unreachable, or the list is"
			    " down)\n", dns_status_str(yes->res.status));
		return 1;
	}
	if (is_error_answer(&yes->res) || is_error_answer(&no->res)) {
		answers(is_error_answer(&yes->res) ? &yes->res : &no->res, a, sizeof(a));
		fprintf(fp, "BLOCKED: answered %s: %s\n", a,
			strstr(a, "127.255.255.254")
				? "the list refuses queries through public/open resolvers; use your"
				  " own recursive resolver (dns_servers)"
			: strstr(a, "127.255.255.255") ? "over the list's query limit"
						       : "the list's error code");
		return 1;
	}
	if (no->res.status == DNS_OK) {
		answers(&no->res, a, sizeof(a));
		fprintf(fp, "BROKEN: lists %s (answered %s), which no list may: a wildcard or a"
			    " hijacking resolver\n",
			is_domain ? "\"invalid\"" : "127.0.0.1", a);
		return 1;
	}
	if (yes->res.status != DNS_OK) {
		if (keyed && !is_domain) {
			fprintf(fp, "ok (resolves; Abusix does not list the %s test point)\n", tp);
			return 0;
		}
		fprintf(fp, "WARNING: does not list its test point %s (RFC 5782); is the zone name"
			    " right?\n",
			tp);
		return 1;
	}
	answers(&yes->res, a, sizeof(a));
	fprintf(fp, "ok (%s listed as %s, %s not listed)\n", tp, a,
		is_domain ? "invalid" : "127.0.0.1");
	return 0;
}

static int report_problems(sqlite3 *db, FILE *fp)
{
	sqlite3_stmt *st;
	int n = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT zone, code, kind, count, last_seen FROM dnsbl_problems_recent",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n++ == 0)
			fprintf(fp, "answers the daemons did not count as listings:\n");
		fprintf(fp, "  %s answered %s (%s code) %d times, last %s UTC\n",
			sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
			sqlite3_column_text(st, 2), sqlite3_column_int(st, 3),
			sqlite3_column_text(st, 4));
	}
	sqlite3_finalize(st);
	return n > 0;
}

int doctor_run(const struct conf *cf, sqlite3 *db, FILE *fp, int bad_before)
{
	struct dns_params dp;
	struct doctor doc = {0};
	struct dnsbl *bl;
	struct dns *dns;
	char err[512], qz[290];
	int bad = bad_before, nz;

	/* Every answer fresh: the doctor wants to see the lists now. */
	dns_params_from_conf(cf, &dp);
	dp.cache_size = 0;
	fprintf(fp, "resolvers: %s\n", *dp.servers ? dp.servers : "from /etc/resolv.conf");
	if ((bl = dnsbl_new(db, conf_str(cf, "abusix_key"), err, sizeof(err))) == NULL) {
		fprintf(fp, "FAILED: %s\n", err);
		return 1;
	}
	nz = dnsbl_zone_count(bl);
	fprintf(fp, "zones in use: %d%s\n", nz,
		*conf_str(cf, "abusix_key") ? " (Abusix key set)" : " (no Abusix key: Abusix off)");
	doc.ev = evloop_new();
	if (doc.ev == NULL || (dns = dns_new(doc.ev, &dp, err, sizeof(err))) == NULL) {
		fprintf(fp, "FAILED: %s\n", doc.ev ? err : "no event loop");
		evloop_free(doc.ev);
		dnsbl_free(bl);
		return 1;
	}
	doc.n = nz * 2;
	doc.p = xcalloc((size_t)doc.n + 1, sizeof(*doc.p));
	doc.left = doc.n;
	for (int z = 0; z < nz; z++) {
		int is_domain, keyed;

		dnsbl_zone_info(bl, z, qz, sizeof(qz), &is_domain, &keyed);
		for (int k = 0; k < 2; k++) {
			struct probe *p = &doc.p[z * 2 + k];

			p->doc = &doc;
			p->zone = z;
			p->must_list = k == 0;
			snprintf(p->qname, sizeof(p->qname), "%s.%s",
				 is_domain ? (k == 0 ? "test" : "invalid")
					   : (k == 0 ? "2.0.0.127" : "1.0.0.127"),
				 qz);
		}
	}
	for (int i = 0; i < doc.n; i++)
		dns_lookup(dns, doc.p[i].qname, on_probe, &doc.p[i]);
	if (doc.left > 0)
		evloop_run(doc.ev);
	for (int z = 0; z < nz; z++)
		bad |= report_zone(bl, z, &doc.p[z * 2], &doc.p[z * 2 + 1], fp);
	bad |= report_problems(db, fp);
	fprintf(fp, "%s\n", bad ? "doctor: problems found (see above)" : "doctor: all good");
	dns_free(dns);
	evloop_free(doc.ev);
	dnsbl_free(bl);
	free(doc.p);
	return bad;
}
