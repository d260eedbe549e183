/*
 * fuzz_scan - a whole message scored the way the milter and `moatctl scan`
 * do (shared/scan/), without DNS: MIME parsing, address
 * and date parsing of the headers, HTML and URL extraction, every
 * regular-expression rule of the shipped database, hfilter's URL,
 * Message-ID and bounce checks, the header written.
 * The rules are loaded once from a database with the shipped migrations.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/domain.h"
#include "fuzz.h"
#include "core/sbuf.h"
#include "scan/scan.h"
#include "mail/url.h"

static struct scan_rules *rules;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	sqlite3 *db = fuzz_db_open();

	/* hfilter's Message-ID parsing too (off as shipped); without DNS it stops at NOT_FQDN. */
	sqlite3_exec(db, "UPDATE module_options SET value = 'true' WHERE module = 'hfilter'"
			 " AND option = 'mid_enabled'", NULL, NULL, NULL);
	rules = scan_rules_load(db, err, sizeof(err));
	if (rules == NULL) {
		fprintf(stderr, "fuzz_scan: %s\n", err);
		abort();
	}
	fuzz_db_close(db);
	(void)domain_psl();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rcpts[] = {"user@example.net", "other@example.org"};
	struct scan_input in = {
		.client_ip = "192.0.2.1",
		.client_name = "mail.example.com",
		.helo = "mail.example.com",
		.mail_from = "sender@example.com",
		.rcpts = rcpts,
		.nrcpts = 2,
	};
	struct scan_result res;
	struct sbuf sb;

	/* The null sender now and then: a bounce (hfilter's RCPT_BOUNCEMOREONE). */
	if (size > 0 && (data[size - 1] & 1))
		in.mail_from = "";
	/* Messages are capped here, not by the parser's 20 MB: speed only. */
	in.raw = (const char *)data;
	in.len = size > 262144 ? 262144 : size;
	scan_result_init(&res);
	scan_message(rules, NULL, &in, &res);
	scan_finish(&res, rules);
	if (isnan(res.score) || res.action == NULL)
		abort();
	sbuf_init(&sb);
	scan_spamd_result(&res, &sb, 78);
	sbuf_free(&sb);
	scan_result_free(&res);
	return 0;
}
