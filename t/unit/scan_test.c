/* scan_test - SipHash test vector, X-Moat-Policy signing (and the SPF verdict
 * carried in it), symbol weights, the Rspamd header format (order, decimals,
 * True only on reject, folding). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/check.h"
#include "store/db.h"
#include "auth/spf_item.h"
#include "mail/polhdr.h"
#include "scan/scan.h"
#include "core/siphash.h"
#include "tap.h"

#define R "\xef\xbf\xbd" /* U+FFFD */

/* Sign symbols for 192.0.2.1, verify them back into sym: 0 or -1. */
static int round_trip(const unsigned char key[16], const char *symbols, char *sym, size_t symlen)
{
	char why[200];
	struct sbuf sb;
	int rc;

	sbuf_init(&sb);
	polhdr_sign(key, "192.0.2.1", 1700000000, symbols, &sb);
	rc = polhdr_verify(key, "192.0.2.1", 1700000010, 3600, sbuf_cstr(&sb), sym, symlen, why,
			   sizeof(why));
	sbuf_free(&sb);
	return rc;
}

/* moat-policyd's SPF verdict as an item of X-Moat-Policy (auth/spf_item.h). */
static void spf_item_tests(const unsigned char key[16])
{
	struct spf_outcome o, back;
	static const char pat[] = "; greylist=0\r\n,%\x80\xff][";
	char sym[4096], why[200], hostile[SPF_TEXT_MAX];
	struct sbuf sb, item;
	const char *v;

	memset(&o, 0, sizeof(o));
	o.result = SPF_FAIL;
	snprintf(o.domain, sizeof(o.domain), "example.com");
	snprintf(o.mechanism, sizeof(o.mechanism), "all");
	snprintf(o.explanation, sizeof(o.explanation), "Not allowed, see http://e.x/?a=b&c=100%%");
	sbuf_init(&item);
	spf_item_format(&o, &item);
	is_str(sbuf_cstr(&item),
	       "spf=fail,,example.com,all,Not%20allowed%2C%20see%20http://e.x/?a=b%26c=100%25,",
	       "an SPF fail as an item: blanks, commas and percent signs escaped");

	/* Between the symbols and the greylist wait, as policyd writes them. */
	sbuf_init(&sb);
	sbuf_printf(&sb, "RBL_X(1.00)[192.0.2.1:client]; %s; greylist=7", sbuf_cstr(&item));
	is_int(round_trip(key, sbuf_cstr(&sb), sym, sizeof(sym)), 0, "the item signed and verified");
	is_int(polhdr_take_greylist(sym), 7, "...the wait taken first");
	is_int(spf_item_take(sym, &back), 1, "...then the SPF verdict");
	is_str(sym, "RBL_X(1.00)[192.0.2.1:client]", "...leaving the symbols alone");
	ok(back.result == SPF_FAIL && !back.helo_identity && !back.plus_all, "result and flags back");
	is_str(back.domain, "example.com", "domain back");
	is_str(back.mechanism, "all", "mechanism back");
	is_str(back.explanation, o.explanation, "explanation back, unescaped");
	is_str(back.problem, "", "no problem");
	sbuf_free(&sb);

	/* Tampering with the verdict breaks the signature. */
	sbuf_init(&sb);
	polhdr_sign(key, "192.0.2.1", 1700000000, sbuf_cstr(&item), &sb);
	memcpy(strstr(sb.data, "spf=fail"), "spf=pass", 8);
	ok(polhdr_verify(key, "192.0.2.1", 1700000010, 3600, sbuf_cstr(&sb), sym, sizeof(sym), why,
			 sizeof(why)) < 0, "fail changed to pass does not verify");
	sbuf_free(&sb);
	sbuf_free(&item);

	/* The HELO identity, a +all pass, the item alone. */
	memset(&o, 0, sizeof(o));
	o.result = SPF_PASS;
	o.helo_identity = o.plus_all = 1;
	snprintf(o.domain, sizeof(o.domain), "mx.example.net");
	snprintf(o.mechanism, sizeof(o.mechanism), "all");
	sbuf_init(&item);
	spf_item_format(&o, &item);
	is_str(sbuf_cstr(&item), "spf=pass,ha,mx.example.net,all,,", "HELO identity and +all");
	is_int(round_trip(key, sbuf_cstr(&item), sym, sizeof(sym)), 0, "the item alone verifies");
	is_int(spf_item_take(sym, &back), 1, "...and is taken");
	is_str(sym, "", "...leaving nothing");
	ok(back.result == SPF_PASS && back.helo_identity && back.plus_all, "...flags back");
	sbuf_free(&item);

	/* A temperror's problem text, and the item first with symbols after. */
	memset(&o, 0, sizeof(o));
	o.result = SPF_TEMPERROR;
	snprintf(o.domain, sizeof(o.domain), "example.org");
	snprintf(o.problem, sizeof(o.problem), "DNS timeout for example.org");
	sbuf_init(&item);
	spf_item_format(&o, &item);
	sbuf_puts(&item, "; DBL(2.50)[x.example:sender]");
	is_int(round_trip(key, sbuf_cstr(&item), sym, sizeof(sym)), 0, "item first verifies");
	is_int(spf_item_take(sym, &back), 1, "...is taken");
	is_str(sym, "DBL(2.50)[x.example:sender]", "...the symbols after it kept");
	is_str(back.problem, "DNS timeout for example.org", "...problem text back");
	sbuf_free(&item);

	/* Hostile text from the sender's DNS: every byte that matters, at full length. */
	for (size_t i = 0; i < sizeof(hostile) - 1; i++)
		hostile[i] = pat[i % (sizeof(pat) - 1)];
	hostile[sizeof(hostile) - 1] = '\0';
	memset(&o, 0, sizeof(o));
	o.result = SPF_PERMERROR;
	memcpy(o.domain, hostile, sizeof(hostile));
	memcpy(o.mechanism, hostile, sizeof(hostile));
	memcpy(o.explanation, hostile, sizeof(hostile));
	memcpy(o.problem, hostile, sizeof(hostile));
	sbuf_init(&item);
	spf_item_format(&o, &item);
	v = sbuf_cstr(&item);
	ok(strcspn(v, " ;\r\n\t\x80\xff[]()") == strlen(v), "hostile text: no blank, ';', control,"
	   " 8-bit byte or bracket in the item");
	ok(item.len <= 4 + 10 + 4 * (1 + SPF_ITEM_FIELD_MAX), "...bounded (%zu bytes)", item.len);
	sbuf_printf(&item, "; greylist=3");
	is_int(round_trip(key, sbuf_cstr(&item), sym, sizeof(sym)), 0, "...signed and verified");
	is_int(polhdr_take_greylist(sym), 3, "...the real wait, not one in the text");
	is_int(spf_item_take(sym, &back), 1, "...parsed back");
	ok(back.result == SPF_PERMERROR && strncmp(back.domain, hostile, strlen(back.domain)) == 0 &&
	   strlen(back.domain) > 80, "...a prefix of the text, cut at the bound (%zu bytes)",
	   strlen(back.domain));
	is_str(sym, "", "...nothing else left");
	sbuf_free(&item);

	/* Items that are not ours are refused (and removed all the same). */
	static const char *const bad[] = {
		"spf=pass", "spf=bogus,,a,b,c,d", "spf=pass,x,a,b,c,d", "spf=pass,,a,b,c",
		"spf=pass,,a,b,c,d,e", "spf=pass,,a%00b,b,c,d", "spf=pass,,a%zzb,b,c,d",
		"spf=pass,,a b,b,c,d", "spf=pass,,a%2,b,c,d",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(sym, sizeof(sym), "A(1.00)[]; %s", bad[i]);
		is_int(spf_item_take(sym, &back), -1, "refused: %s", bad[i]);
		is_str(sym, "A(1.00)[]", "...and removed");
	}
	snprintf(sym, sizeof(sym), "A(1.00)[x]; B(2.00)[]");
	is_int(spf_item_take(sym, &back), 0, "no item: 0");
	is_str(sym, "A(1.00)[x]; B(2.00)[]", "...nothing changed");
	snprintf(sym, sizeof(sym), "A(1.00)[]; spfx=1; xspf=2");
	is_int(polhdr_take_item(sym, "spf", why, sizeof(why)), 0, "only the exact name is an item");
	snprintf(sym, sizeof(sym), "A(1.00)[]; spf=%0300d", 0);
	is_int(polhdr_take_item(sym, "spf", why, sizeof(why)), -1, "a value too long: -1");
	is_str(sym, "A(1.00)[]", "...removed all the same");
}

int main(void)
{
	unsigned char key[16], msg[15];
	char dir[] = "/tmp/moat-scan-test.XXXXXX", path[300], err[512], sym[512], why[200];
	struct scan_result res;
	struct scan_rules *r;
	struct sbuf sb;
	sqlite3 *db;
	long long t;

	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (unsigned char)i;
	ok(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL, "SipHash-2-4 reference vector");
	ok(siphash24(key, "", 0) == 0x726fdb47dd0e0e31ULL, "SipHash-2-4 of the empty string");

	sbuf_init(&sb);
	polhdr_sign(key, "192.0.2.1", 1700000000, "RBL_X(1.00)[192.0.2.1:client]", &sb);
	like_str(sbuf_cstr(&sb), "RBL_X(1.00)[192.0.2.1:client]; ts=1700000000; sig=", "signed value");
	is_int(polhdr_verify(key, "192.0.2.1", 1700000010, 3600, sbuf_cstr(&sb), sym, sizeof(sym),
			     why, sizeof(why)),
	       0, "it verifies for the same client");
	is_str(sym, "RBL_X(1.00)[192.0.2.1:client]", "...giving the symbols");
	ok(polhdr_verify(key, "192.0.2.2", 1700000010, 3600, sbuf_cstr(&sb), sym, sizeof(sym), why,
			 sizeof(why)) < 0, "not for another client");
	ok(polhdr_verify(key, "192.0.2.1", 1700009999, 3600, sbuf_cstr(&sb), sym, sizeof(sym), why,
			 sizeof(why)) < 0, "not when too old");
	sb.data[0] = 'X';
	ok(polhdr_verify(key, "192.0.2.1", 1700000010, 3600, sbuf_cstr(&sb), sym, sizeof(sym), why,
			 sizeof(why)) < 0, "not when the symbols were changed");
	ok(polhdr_verify(key, "192.0.2.1", 1700000010, 3600, "RBL_X(-9.00)[]", sym, sizeof(sym), why,
			 sizeof(why)) < 0, "not when unsigned");
	sbuf_free(&sb);
	spf_item_tests(key);

	/* The greylist wait rides in the signed part when the symbols need the one PREPEND. */
	sbuf_init(&sb);
	polhdr_sign(key, "192.0.2.1", 1700000000, "DBL(2.50)[x.example:sender]; greylist=312", &sb);
	is_int(polhdr_verify(key, "192.0.2.1", 1700000010, 3600, sbuf_cstr(&sb), sym, sizeof(sym),
			     why, sizeof(why)),
	       0, "a header with the greylist wait verifies");
	is_int(polhdr_take_greylist(sym), 312, "...the wait taken out");
	is_str(sym, "DBL(2.50)[x.example:sender]", "...the symbols left");
	sb.data[strstr(sb.data, "=312") - sb.data + 1] = '9';
	ok(polhdr_verify(key, "192.0.2.1", 1700000010, 3600, sbuf_cstr(&sb), sym, sizeof(sym), why,
			 sizeof(why)) < 0, "a changed wait does not verify");
	sbuf_free(&sb);
	snprintf(sym, sizeof(sym), "greylist=5");
	is_int(polhdr_take_greylist(sym), 5, "the wait alone");
	is_str(sym, "", "...leaves no symbols");
	snprintf(sym, sizeof(sym), "A(1.00)[]; greylist=5x");
	is_int(polhdr_take_greylist(sym), -1, "a wait that is not a number is none");
	is_str(sym, "A(1.00)[]; greylist=5x", "...and the text is left as it was");
	snprintf(sym, sizeof(sym), "A(1.00)[]");
	is_int(polhdr_take_greylist(sym), -1, "no wait: -1");
	sbuf_init(&sb);
	polhdr_greylist_header("X-Greylist: delayed %t seconds by moat-policyd-%v at %h; 100%%", 42,
			       "mx.test", &sb);
	like_str(sbuf_cstr(&sb), "X-Greylist: delayed 42 seconds by moat-policyd-", "X-Greylist text");
	like_str(sbuf_cstr(&sb), " at mx.test; 100%%", "...host, and an unknown %% sequence kept");
	sbuf_free(&sb);

	is_int(checks_parse_date("Thu, 22 Aug 2002 12:36:23 +0100", &t), 0, "RFC 5322 date");
	is_int(t, 1030016183, "...in UTC");
	is_int(checks_parse_date("22 Aug 2002 12:36 -0000", &t), 0, "no weekday, no seconds");
	is_int(checks_parse_date("Thu, 22 Aug 02 12:36:23 GMT", &t), 0, "two-digit year");
	ok(checks_parse_date("yesterday", &t) < 0, "garbage refused");
	ok(checks_parse_date("Thu, 32 Aug 2002 12:36:23 +0000", &t) < 0, "day 32 refused");
	ok(checks_parse_date("Tue, 3 Jul 2001 13:11:21", &t) < 0, "no zone refused (RFC 5322)");
	ok(checks_parse_date("Tue, 3 Jul 2001 13:11", &t) < 0, "no zone, no seconds refused");
	ok(checks_parse_date("Tue, 3 Jul 2001 13:11:21 2001", &t) < 0, "a year for a zone refused");
	is_int(checks_parse_date("Tue, 3 Jul 2001 13:11:21 EDT", &t), 0, "obsolete zone name");
	is_int(checks_parse_date("Tue, 3 Jul 2001 13:11:21 -0400 (EDT)", &t), 0, "zone and comment");

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	db = db_open(path, 1000, err, sizeof(err));
	sqlite3_exec(db, "UPDATE symbols SET enabled = 0 WHERE name = 'MISSING_TO'", NULL, NULL,
		     NULL);
	r = scan_rules_load(db, err, sizeof(err));
	ok(r != NULL, "rules load");
	ok(fabs(scan_rules_threshold(r, "reject") - 11) < 1e-9, "reject threshold 11");

	scan_result_init(&res);
	scan_add(&res, r, "MIME_GOOD", "text/plain");
	scan_add(&res, r, "MISSING_MID", NULL);
	scan_add(&res, r, "MISSING_TO", NULL);
	scan_add(&res, r, "NO_SUCH_SYMBOL", "x");
	scan_add(&res, r, "MIME_GOOD", "text/html");
	scan_add(&res, r, "MISSING_DATE", "a;b[c]\r\nd");
	scan_finish(&res, r);
	is_int(res.n, 4, "disabled symbol dropped, repeated one merged");
	sbuf_init(&sb);
	scan_spamd_result(&res, &sb, 0);
	is_str(sbuf_cstr(&sb),
	       "default: False [3.40 / 11.00]; MISSING_MID(2.50)[]; MISSING_DATE(1.00)[a" R "b" R
	       "c" R R R "d]; MIME_GOOD(-0.10)[text/plain,text/html]; NO_SUCH_SYMBOL(0.00)[x]",
	       "Rspamd's format: largest weight first, options joined by ',', header-safe");
	sbuf_reset(&sb);
	scan_spamd_result(&res, &sb, 1);
	is_str(sbuf_cstr(&sb),
	       "default: False [3.40 / 11.00];\n\tMISSING_MID(2.50)[];\n\tMISSING_DATE(1.00)[a" R
	       "b" R "c" R R R
	       "d];\n\tMIME_GOOD(-0.10)[text/plain,text/html];\n\tNO_SUCH_SYMBOL(0.00)[x]",
	       "folded as Rspamd folds: one symbol per line, TAB, no ';' after the last");
	is_str(res.action, "no action", "action");
	scan_add_weighted(&res, r, "BAYES_SPAM", 9.0, "99%");
	scan_finish(&res, r);
	sbuf_reset(&sb);
	scan_spamd_result(&res, &sb, 1);
	like_str(sbuf_cstr(&sb), "default: True [12.40 / 11.00];\n\tBAYES_SPAM(9.00)[99%];",
	         "True on reject, folded after ';'");
	is_str(res.action, "reject", "reject at 11");
	scan_result_free(&res);

	/*
	 * X-Spamd-Bar as Rspamd's milter_headers.lua makes it; Rspamd 3.4 behind
	 * Postfix wrote "++" for 2.40 and "/" for 0.40.
	 */
	{
		static const struct {
			double score;
			const char *bar;
		} bars[] = {{0, "/"},	    {0.4, "/"},	   {0.99, "/"},	  {-0.99, "/"},
			    {1, "+"},	    {2.4, "++"},   {6.5, "++++++"}, {-1, "-"},
			    {-3.7, "---"}, {-0.5, "/"}};

		for (size_t i = 0; i < sizeof(bars) / sizeof(bars[0]); i++) {
			sbuf_reset(&sb);
			scan_spamd_bar(bars[i].score, &sb);
			is_str(sbuf_cstr(&sb), bars[i].bar, "X-Spamd-Bar for %.2f", bars[i].score);
		}
		sbuf_reset(&sb);
		scan_spamd_bar(1000, &sb);
		is_int(sb.len, SCAN_BAR_MAX, "a score of 1000: the bar stops at %d", SCAN_BAR_MAX);
	}

	/* The extra headers of the milter_headers setting, by Rspamd's routine names. */
	ok(scan_rules_headers(r) == 0, "milter_headers: none by default");
	scan_rules_free(r);
	sqlite3_exec(db, "UPDATE settings SET value = 'x-spamd-bar, X-Rspamd-Server x-rspamd-bogus'"
			 " WHERE name = 'milter_headers'", NULL, NULL, NULL);
	r = scan_rules_load(db, err, sizeof(err));
	is_int(scan_rules_headers(r), SCAN_HDR_BAR | SCAN_HDR_SERVER,
	       "milter_headers: names in any case, commas or spaces, unknown ones left out");
	scan_rules_free(r);
	sqlite3_exec(db, "UPDATE settings SET value = 'x-rspamd-queue-id' WHERE name = 'milter_headers'",
		     NULL, NULL, NULL);
	r = scan_rules_load(db, err, sizeof(err));
	is_int(scan_rules_headers(r), SCAN_HDR_QUEUE_ID, "milter_headers: x-rspamd-queue-id");

	/* GTUBE forces its action, with the threshold as the score (Rspamd's passthrough). */
	{
		static const char xjs[] = "Subject: test\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*"
					  "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n";
		static const char yjs[] = "Subject: test\n\nYJS*C4JDBQADN1.NSBN3*2IDNEN*"
					  "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n";
		struct scan_input in = {.raw = xjs, .len = sizeof(xjs) - 1};

		scan_result_init(&res);
		scan_message(r, NULL, &in, &res);
		scan_finish(&res, r);
		sbuf_reset(&sb);
		scan_spamd_result(&res, &sb, 0);
		scan_add_policy(&res, r, "RBL_SPAMHAUS_PBL(2.00)[192.0.2.1:client]");
		scan_finish(&res, r);
		sbuf_reset(&sb);
		scan_spamd_result(&res, &sb, 0);
		is_str(sbuf_cstr(&sb), "default: True [11.00 / 11.00]; GTUBE(0.00)[]",
		       "GTUBE: reject, score = the reject threshold, no other symbol, none from RCPT");
		scan_result_free(&res);

		in.raw = yjs;
		in.len = sizeof(yjs) - 1;
		scan_result_init(&res);
		scan_message(r, NULL, &in, &res);
		scan_finish(&res, r);
		ok(res.forced == NULL && res.n > 1, "YJS... with gtube_patterns = reject: a normal scan");
		scan_result_free(&res);

		scan_rules_free(r);
		sqlite3_exec(db, "UPDATE settings SET value = 'all' WHERE name = 'gtube_patterns';"
				 "UPDATE actions SET threshold = NULL WHERE name = 'add header'",
			     NULL, NULL, NULL);
		r = scan_rules_load(db, err, sizeof(err));
		scan_result_init(&res);
		scan_message(r, NULL, &in, &res);
		scan_finish(&res, r);
		sbuf_reset(&sb);
		scan_spamd_result(&res, &sb, 0);
		is_str(sbuf_cstr(&sb), "default: False [0.00 / 11.00]; GTUBE(0.00)[]",
		       "YJS... with add header off: GTUBE noted, nothing forced");
		is_str(res.action, "no action", "...no action");
		scan_result_free(&res);

		scan_rules_free(r);
		sqlite3_exec(db, "UPDATE settings SET value = 'sometimes' WHERE name = 'gtube_patterns'",
			     NULL, NULL, NULL);
		r = scan_rules_load(db, err, sizeof(err));
		in.raw = xjs;
		in.len = sizeof(xjs) - 1;
		scan_result_init(&res);
		scan_message(r, NULL, &in, &res);
		scan_finish(&res, r);
		is_str(res.action, "reject", "a bad gtube_patterns value keeps the default (reject)");
		scan_result_free(&res);
	}

	scan_result_init(&res);
	scan_add_policy(&res, r,
	                "RBL_SPAMHAUS_PBL(9.99)[192.0.2.1:client,192.0.2.1:received]; "
	                "DBL_SPAM(0.00)[x.example:helo]; MOAT_X(0.00)[]");
	scan_finish(&res, r);
	is_int(res.n, 3, "policy symbols parsed");
	ok(fabs(res.score - 8.5) < 1e-9, "...with our weights, not the header's (%.2f)", res.score);
	sbuf_reset(&sb);
	scan_spamd_result(&res, &sb, 0);
	is_str(
	    sbuf_cstr(&sb),
	    "default: False [8.50 / 11.00]; DBL_SPAM(6.50)[x.example:helo]; RBL_SPAMHAUS_PBL(2.00)"
	    "[192.0.2.1:client,192.0.2.1:received]; MOAT_X(0.00)[]",
	    "X-Moat-Policy: a list of options stays a list, each its own option");
	is_int(res.v[1].nopts, 2, "...two options, not one joined");
	/* A DNS list failed (soft_reject_on_timeout): soft reject, unless the score rejects. */
	res.soft_reject = 1;
	scan_finish(&res, r);
	is_str(res.action, "soft reject", "a DNS list failed, 8.50 < 11: soft reject");
	scan_add_weighted(&res, r, "MOAT_TEST_BIG", 5.0, NULL);
	scan_finish(&res, r);
	is_str(res.action, "reject", "...13.50 >= 11: reject, not a soft reject");
	scan_result_free(&res);

	/* Each action from its threshold on: a score equal to it is enough (Rspamd's >=). */
	{
		static const char *const want[] = {"greylist", "add header", "rewrite subject",
						   "reject"};

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			double at =
			    i == 3 ? scan_rules_reject(r) : scan_rules_threshold(r, want[i]);

			if (isinf(at))
				continue; /* turned off above */
			scan_result_init(&res);
			scan_add_weighted(&res, r, "MOAT_TEST_AT", at, NULL);
			scan_finish(&res, r);
			is_str(res.action, want[i], "score %.2f, the %s threshold: %s", at, want[i],
			       want[i]);
			scan_result_free(&res);
			scan_result_init(&res);
			scan_add_weighted(&res, r, "MOAT_TEST_AT", at - 0.01, NULL);
			scan_finish(&res, r);
			ok(strcmp(res.action, want[i]) != 0, "score %.2f, just below: not %s (%s)",
			   at - 0.01, want[i], res.action);
			scan_result_free(&res);
		}
	}

	/* Rspamd's limits on options: 100 a symbol, 4096 bytes, no repeats. */
	scan_result_init(&res);
	for (int i = 0; i < 150; i++) {
		char o[16];

		snprintf(o, sizeof(o), "%d", i % 120);
		scan_add(&res, r, "MANY", o);
	}
	is_int(res.v[0].nopts, SCAN_MAX_OPTS, "at most SCAN_MAX_OPTS options, repeats not counted");
	scan_result_free(&res);
	scan_result_init(&res);
	{
		char big[1500];

		for (int i = 0; i < 5; i++) {
			memset(big, 'a' + i, sizeof(big) - 1);
			big[sizeof(big) - 1] = '\0';
			scan_add(&res, r, "LONG", big);
		}
	}
	is_int(res.v[0].nopts, 3, "the option over 4096 bytes becomes the last");
	is_str(res.v[0].opts[2], "...", "...and reads \"...\", as in Rspamd");
	scan_add(&res, r, "LONG", "x");
	is_int(res.v[0].nopts, 3, "no option after it");
	scan_result_free(&res);
	sbuf_free(&sb);
	scan_rules_free(r);
	db_close(db);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		ok(0, "cleanup");
	return done_testing();
}
