/*
 * fuzz_dns - DNS answers as the resolver gets them off the wire: raw
 * packets through c-ares' A-record parser the way shared/dns/dns.c reads them
 * (dns_answer_parse) and its TXT parser (dns_txt_parse: printable and
 * bounded, for an SMTP reply), each address classified against every shipped
 * zone's return codes (shared/dns/dnsbl.c); and names taken from mail (HELO,
 * sender domain) turned into query names.
 *
 * Input: first byte = the c-ares status the answer came with (most often
 * success), then the packet. The zones come from a database with the
 * shipped migrations, loaded once.
 */
#include "config.h"

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/dnsbl.h"
#include "core/domain.h"
#include "fuzz.h"
#include "mail/url.h"

static struct dnsbl *bl;
static const struct dnsbl_zone *zones[64];
static int nzones;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512], qzone[300];
	sqlite3 *db = fuzz_db_open();
	int is_domain, needs_key;

	bl = dnsbl_new(db, "KEY", err, sizeof(err));
	if (bl == NULL) {
		fprintf(stderr, "fuzz_dns: %s\n", err);
		abort();
	}
	fuzz_db_close(db);
	for (int i = 0; i < dnsbl_zone_count(bl) && nzones < 64; i++)
		zones[nzones++] = dnsbl_zone_find(bl, dnsbl_zone_info(bl, i, qzone, sizeof(qzone),
								       &is_domain, &needs_key));
	(void)domain_psl();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = {ARES_SUCCESS, ARES_ENOTFOUND, ARES_ENODATA, ARES_ETIMEOUT,
				       ARES_ESERVFAIL, ARES_EREFUSED, ARES_ECONNREFUSED};
	struct dns_result r;
	char qname[300], *s;
	int status, ttl;

	if (size < 1)
		return 0;
	status = data[0] < 200 ? ARES_SUCCESS : statuses[data[0] % 7];
	ttl = dns_answer_parse(status, data + 1, (int)(size - 1 > 65535 ? 65535 : size - 1), 3600,
			       &r);
	if (r.naddr < 0 || r.naddr > DNS_MAX_ADDRS || (r.status == DNS_OK) != (r.naddr > 0) ||
	    (r.status == DNS_OK && ttl > 3600))
		abort();
	for (int i = 0; i < r.naddr; i++)
		for (int z = 0; z < nzones; z++) {
			const char *sym;
			double w;

			if (zones[z] == NULL)
				abort();
			if (dnsbl_classify(zones[z], r.addr[i], &sym, &w) == DNSBL_LISTED &&
			    sym == NULL)
				abort();
		}

	/* The same packet as a TXT answer: the text goes into an SMTP reply. */
	{
		char txt[DNS_TXT_MAX + 1];

		dns_txt_parse(status, data + 1, (int)(size - 1 > 65535 ? 65535 : size - 1), txt,
			      sizeof(txt));
		if (strlen(txt) > DNS_TXT_MAX)
			abort();
		for (const char *p = txt; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				abort();
	}

	/* The same bytes as a domain from mail. */
	s = fuzz_cstr(data + 1, size - 1);
	for (int reg = 0; reg < 2; reg++)
		if (dnsbl_domain_qname(s, "dbl.example", reg, qname, sizeof(qname)) == 0 &&
		    strlen(qname) >= 256)
			abort();
	free(s);
	return 0;
}
