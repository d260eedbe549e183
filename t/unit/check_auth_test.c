/*
 * check_auth_test - the parts of check_auth that need no DNS: the
 * RFC 5322.From domain DMARC will judge (one From, one address, or none),
 * the weights migration 012 ships, and that a scan without a resolver
 * checks nothing (no SPF or DKIM symbol, the *_checked flags unset).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/auth.h"
#include "scan/scan.h"
#include "store/db.h"
#include "tap.h"

static const struct scan_rules *rules;

/* The from_domain the scanner finds for a message with these header lines. */
static const char *from_of(const char *headers)
{
	static char out[DKIM_DOMAIN_MAX + 1];
	char msg[2048];
	struct scan_input in = {0};
	struct scan_result res;

	snprintf(msg, sizeof(msg), "%sTo: bob@example.com\nSubject: x\n\nhello\n", headers);
	in.raw = msg;
	in.len = strlen(msg);
	scan_result_init(&res);
	scan_message(rules, NULL, &in, &res);
	snprintf(out, sizeof(out), "%s", res.auth ? res.auth->from_domain : "(no auth)");
	scan_result_free(&res);
	return out;
}

static const struct scan_symbol *find(const struct scan_result *res, const char *name)
{
	for (size_t i = 0; i < res->n; i++)
		if (strcmp(res->v[i].name, name) == 0)
			return &res->v[i];
	return NULL;
}

static double weight(const char *name)
{
	double w = NAN;

	return scan_rules_symbol(rules, name, &w) == 1 ? w : NAN;
}

int main(void)
{
	char dir[] = "/tmp/moat-check-auth-test.XXXXXX", path[300], err[512];
	struct scan_input in = {0};
	struct scan_result res;
	struct scan_rules *r;
	sqlite3 *db;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	db = db_open(path, 1000, err, sizeof(err));
	ok(db && db_migrate(db, err, sizeof(err)) == 0, "database migrated");
	r = scan_rules_load(db, err, sizeof(err));
	ok(r != NULL, "rules loaded");
	rules = r;

	is_str(from_of("From: Alice <alice@Example.ORG>\n"), "example.org",
	       "display name, lower case");
	is_str(from_of("From: alice@example.org (Alice)\n"), "example.org",
	       "a bare address, comment");
	is_str(from_of("From: \"Smith, Alice\" <alice@example.org>\n"), "example.org",
	       "a comma in a quoted display name is not a second address");
	is_str(from_of("From: \"a@evil.example\" <alice@example.org>\n"), "example.org",
	       "an @ in the display name does not count");
	is_str(from_of("From: (x@evil.example) alice@example.org\n"), "example.org",
	       "nor one in a comment");
	is_str(from_of("From: alice@example.org, bob@example.net\n"), "",
	       "two addresses: no domain (RFC 7489 6.6.1)");
	is_str(from_of("From: alice@example.org\nFrom: bob@example.net\n"), "",
	       "two From headers: no domain");
	is_str(from_of(""), "", "no From: no domain");
	is_str(from_of("From: undisclosed\n"), "", "no address: no domain");
	is_str(from_of("From: <alice@example.org.>\n"), "example.org", "a trailing dot goes");

	ok(weight("R_SPF_ALLOW") == -1 && weight("R_SPF_FAIL") == 4.5 &&
	       weight("R_SPF_SOFTFAIL") == 2.5 && weight("R_SPF_NEUTRAL") == 1.5 &&
	       weight("R_SPF_NA") == 1.5 && weight("R_SPF_DNSFAIL") == 2.5 &&
	       weight("R_SPF_PERMFAIL") == 4.5 && weight("R_SPF_PLUSALL") == 4,
	   "R_SPF_*: DMS's weights (R_SPF_PLUSALL Rspamd's)");
	ok(weight("R_DKIM_ALLOW") == -1 && weight("R_DKIM_REJECT") == 4.5 &&
	       weight("R_DKIM_TEMPFAIL") == 1.5 && weight("R_DKIM_PERMFAIL") == 4.5 &&
	       weight("R_DKIM_NA") == 1 && weight("DKIM_TRACE") == 0,
	   "R_DKIM_*: DMS's weights, DKIM_TRACE 0");
	ok(weight("DMARC_POLICY_ALLOW") == -1 && weight("DMARC_POLICY_ALLOW_WITH_FAILURES") == 0 &&
	       weight("DMARC_POLICY_REJECT") == 5.5 && weight("DMARC_POLICY_QUARANTINE") == 3 &&
	       weight("DMARC_POLICY_SOFTFAIL") == 1.5 && weight("DMARC_NA") == 0.5 &&
	       weight("DMARC_BAD_POLICY") == 0 && weight("DMARC_DNSFAIL") == 0,
	   "DMARC_*: DMS's weights");
	ok(weight("ARC_ALLOW") == -1 && weight("ARC_REJECT") == 1 && weight("ARC_INVALID") == 0.5 &&
	       weight("ARC_DNSFAIL") == 0 && weight("ARC_NA") == 0,
	   "ARC_*: Rspamd's weights (DMS sets none)");
	ok(scan_rules_module(r, "spf") && scan_rules_module(r, "dkim"), "spf and dkim modules on");

	in.raw = "From: alice@example.org\nDKIM-Signature: v=1; a=rsa-sha256; d=example.org; "
	         "s=s; h=from; bh=AAAA; b=AAAA\n\nhi\n";
	in.len = strlen(in.raw);
	in.client_ip = "192.0.2.1";
	in.mail_from = "alice@example.org";
	scan_result_init(&res);
	scan_message(r, NULL, &in, &res);
	ok(res.auth && !res.auth->spf_checked && !res.auth->dkim_checked,
	   "no resolver: neither SPF nor DKIM checked");
	ok(res.n == 0 || strncmp(res.v[0].name, "R_", 2) != 0, "... and no symbol of theirs");
	for (size_t i = 0; i < res.n; i++)
		if (strstr(res.v[i].name, "SPF") || strstr(res.v[i].name, "DKIM"))
			ok(0, "unexpected %s", res.v[i].name);
	scan_result_free(&res);

	/* moat-policyd judged SPF at RCPT (X-Moat-Policy): used as it is, no resolver needed. */
	{
		struct spf_outcome given = {.result = SPF_FAIL};
		const struct scan_symbol *sy;

		/* spf.c keeps the mechanism without its qualifier; spf_symbol() adds it */
		snprintf(given.mechanism, sizeof(given.mechanism), "all");
		snprintf(given.domain, sizeof(given.domain), "example.org");
		in.spf_given = &given;
		scan_result_init(&res);
		scan_message(r, NULL, &in, &res);
		ok(res.auth && res.auth->spf_checked && res.auth->spf.result == SPF_FAIL,
		   "spf_given: the policy server's verdict is the message's");
		ok((sy = find(&res, "R_SPF_FAIL")) != NULL && sy->nopts == 1 &&
		       strcmp(sy->opts[0], "-all") == 0 && sy->weight == 4.5,
		   "... R_SPF_FAIL(4.50)[-all]");
		scan_result_free(&res);
		sqlite3_exec(db, "UPDATE modules SET enabled = 0 WHERE name = 'spf'", NULL, NULL,
		             NULL);
		scan_rules_free(r);
		r = scan_rules_load(db, err, sizeof(err));
		scan_result_init(&res);
		scan_message(r, NULL, &in, &res);
		ok(r && res.auth && !res.auth->spf_checked && find(&res, "R_SPF_FAIL") == NULL,
		   "... not with the spf module off");
		scan_result_free(&res);
	}

	scan_rules_free(r);
	sqlite3_close(db);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	ok(system(path) == 0, "its directory removed");
	return done_testing();
}
