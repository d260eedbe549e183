/* check_test - the scanner's registry, and one check run alone on one
 * message (STYLE.md: "unit tests ... can run one check on one message"). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/sbuf.h"
#include "mail/mime.h"
#include "scan/check.h"
#include "scan/check_rbl.h"
#include "scan/content.h"
#include "scan/result.h"
#include "scan/rules.h"
#include "scan/scan.h"
#include "store/db.h"
#include "tap.h"

static const struct check *check_named(const char *name)
{
	for (const struct check *const *c = scan_checks; *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}

/* The symbols one check adds to one message, as "A B C" in the result's order. */
static void run_one(const struct scan_rules *r, const struct check *chk, const char *raw,
		    const struct scan_env *env, struct sbuf *out)
{
	struct scan_input in = {.raw = raw, .len = strlen(raw), .client_ip = "192.0.2.1"};
	struct mime_limits lim;
	struct scan_result res;
	struct content c;
	struct scan_ctx ctx;
	struct msg *m;

	mime_limits_default(&lim);
	m = msg_parse(raw, strlen(raw), &lim);
	content_init(&c);
	content_extract(m, &c);
	scan_result_init(&res);
	ctx = (struct scan_ctx){.rules = r, .in = &in, .msg = m, .content = &c, .env = env,
				.res = &res};
	chk->run(&ctx);
	scan_finish(&res, r);
	sbuf_reset(out);
	for (size_t i = 0; i < res.n; i++) {
		if (i)
			sbuf_putc(out, ' ');
		sbuf_puts(out, res.v[i].name);
	}
	scan_result_free(&res);
	content_free(&c);
	msg_free(m);
}

static const char outlook[] = "From: A <a@example.com>\r\n"
			      "To: b@example.net\r\n"
			      "Subject: hello\r\n"
			      "X-MSMail-Priority: High\r\n"
			      "\r\n"
			      "hello\r\n";

static const char html_link[] = "From: a@example.com\r\n"
				"Content-Type: text/html\r\n"
				"\r\n"
				"<a href=\"http://198.51.100.7/x\">"
				"http://bank.example/login</a>\r\n";

/*
 * check_rbl_hop() on one Received value: "-" when it names no public relay,
 * else the address. ip starts as garbage (fill), as a stack variable may,
 * so an answer read from what the parser never wrote shows.
 */
static const char *hop(const char *value, int fill)
{
	static char txt[IP_TEXT_MAX];
	struct ip_addr ip;

	memset(&ip, fill, sizeof(ip));
	if (!check_rbl_hop(value, &ip))
		return "-";
	ip_format(&ip, txt, sizeof(txt));
	return txt;
}

/* The same with ip never written at all: valgrind (MOAT_VALGRIND=1) sees a read of it. */
static int hop_uninit(const char *value)
{
	struct ip_addr ip;

	return check_rbl_hop(value, &ip);
}

/* The test's own directory, gone. */
static void remove_tree(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "its directory removed");
}

int main(void)
{
	static const char *const order[] = {"headers", "mime", "mua",   "regex",   "bayes",
					    "auth",    "arc",  "rbl",   "dmarc",   "hfilter",
					    "clamav"};
	const struct scan_env none = {0};
	char dir[] = "/tmp/moat-check-test.XXXXXX", path[300], err[512];
	const struct check *const *c;
	struct scan_rules *r;
	struct sbuf sb;
	sqlite3 *db;
	size_t n = 0;

	for (c = scan_checks; *c && n < 32; c++, n++)
		ok(n < sizeof(order) / sizeof(order[0]) && strcmp((*c)->name, order[n]) == 0,
		   "check %zu is %s", n, (*c)->name);
	is_int((int)n, (int)(sizeof(order) / sizeof(order[0])), "as many checks as listed, NULL-terminated");
	is_str(check_named("rbl")->module, "rbl", "the DNS lists are gated by the rbl module");
	is_str(check_named("clamav")->module, "clamav", "ClamAV by the clamav module");
	ok(check_named("clamav")->start != NULL, "...which starts before the other checks run");
	is_str(check_named("bayes")->module, "classifier-bayes",
	       "Bayes by the classifier-bayes module");
	is_str(check_named("hfilter")->module, "hfilter",
	       "hfilter's message checks by the hfilter module, as its RCPT checks");
	ok(check_named("mua")->module == NULL, "the header checks by none");

	/* Rspamd's nlines (libmime/message.c), the values rspamd 3.4 gives. */
	is_int(check_hfilter_lines("http://example.com/abc\n", 23, 0), 0, "lines: a lone URL is 0");
	is_int(check_hfilter_lines("http://example.com/abc", 22, 0), 0, "...without its newline too");
	is_int(check_hfilter_lines("see\nhttp://example.com/abc\n", 27, 0), 1, "text and a URL: 1");
	is_int(check_hfilter_lines("\nhttp://example.com/abc\n\n", 25, 0), 2,
	       "a blank line before and after: 2 (\"\\n\\n\" is an empty line)");
	is_int(check_hfilter_lines("\nhttp://example.com/abc\n\n", 25, 1), 1,
	       "...1 where each \\n was \\r\\n (\"\\r\\n\\r\\n\" is none in Rspamd)");
	is_int(check_hfilter_lines("a\r\rb", 4, 0), 2, "\"\\r\\r\" is an empty line");
	ok(check_named("auth")->module == NULL,
	   "SPF and DKIM by none as a whole: by the spf and dkim modules each, inside");

	/* The Received-hop parser (check_rbl). */
	is_str(hop("from mx.example (mx.example [203.0.113.9]) by mx.test", 0), "203.0.113.9",
	       "the relay's bracketed address");
	is_str(hop("from x ([IPv6:2001:db8::1]) by y", 0), "2001:db8::1", "an IPv6 literal");
	is_str(hop("from x ([10.1.2.3]) by y", 0), "-", "a private relay is none");
	is_str(hop("from x ([]) by y", 0x55), "-", "\"[]\" is no address (was: an unwritten one read)");
	is_str(hop("from x ([]) by y", 0), "-", "...whatever the memory held");
	is_str(hop("from x ([not an address]) by y", 0x55), "-", "...nor is a word in brackets");
	is_str(hop("from x ([]) [203.0.113.9] by y", 0x55), "203.0.113.9",
	       "...and the next bracket is looked at");
	is_int(hop_uninit("from x ([]) by y"), 0, "\"[]\" with nothing written before");

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	db = db_open(path, 1000, err, sizeof(err));
	r = db ? scan_rules_load(db, err, sizeof(err)) : NULL;
	ok(r != NULL, "rules load");
	if (r == NULL)
		return done_testing();
	sbuf_init(&sb);

	/* One check, one message: only that check's symbols. */
	run_one(r, check_named("mua"), outlook, &none, &sb);
	is_str(sbuf_cstr(&sb), "MISSING_MIMEOLE",
	       "mua alone: X-MSMail-Priority without X-MimeOLE, and nothing else");
	run_one(r, check_named("headers"), outlook, &none, &sb);
	like_str(sbuf_cstr(&sb), "MISSING_MID", "headers alone: no Message-ID");
	ok(strstr(sbuf_cstr(&sb), "MISSING_MIMEOLE") == NULL &&
	       strstr(sbuf_cstr(&sb), "MIME_TRACE") == NULL,
	   "...and no symbol of another check");
	run_one(r, check_named("mime"), html_link, &none, &sb);
	like_str(sbuf_cstr(&sb), "PHISHING", "mime alone: a link showing another site's URL");
	like_str(sbuf_cstr(&sb), "MOAT_URL_IP", "...to an IP address");
	like_str(sbuf_cstr(&sb), "MIME_HTML_ONLY", "...in HTML only");
	ok(strstr(sbuf_cstr(&sb), "MISSING_MID") == NULL, "...and no header symbol");

	/* hfilter alone: the URL share of a CRLF body, as Rspamd counts it (two bytes a break). */
	run_one(r, check_named("hfilter"),
		"From: a@example.com\r\nMessage-ID: <x@host>\r\n\r\n"
		"http://example.com/a\r\nhttp://example.com/b\r\n",
		&none, &sb);
	is_str(sbuf_cstr(&sb), "HFILTER_URL_ONELINE HFILTER_URL_ONLY",
	       "hfilter alone: URLs only, one line; mid_enabled is off, so no Message-ID check");

	/* A check whose resource the thread lacks does nothing. */
	run_one(r, check_named("bayes"), outlook, &none, &sb);
	is_str(sbuf_cstr(&sb), "", "bayes without a classifier adds nothing");
	run_one(r, check_named("rbl"), outlook, &none, &sb);
	is_str(sbuf_cstr(&sb), "", "rbl without DNS lists adds nothing");
	run_one(r, check_named("dmarc"), outlook, &none, &sb);
	is_str(sbuf_cstr(&sb), "", "dmarc without a resolver adds nothing");
	run_one(r, check_named("regex"), outlook, &none, &sb);
	is_str(sbuf_cstr(&sb), "", "regex with no rules adds nothing");

	/* The Subject for the milter, from the parser: decoded, and as written. */
	{
		static const char enc[] = "From: a@example.com\r\n"
					  "Subject: =?UTF-8?Q?caf=C3=A9?=\r\n"
					  " au lait\r\n"
					  "\r\n"
					  "body\r\n";
		struct scan_input in = {.raw = enc, .len = sizeof(enc) - 1};
		struct scan_result res;

		scan_result_init(&res);
		scan_message(r, NULL, &in, &res);
		is_str(res.subject ? res.subject : "(none)", "caf\xc3\xa9 au lait",
		       "scan_message: the Subject decoded and unfolded");
		like_str(res.subject_raw ? res.subject_raw : "(none)", "=?UTF-8?Q?caf=C3=A9?=",
			 "...and as written, for a rewrite");
		scan_result_free(&res);
	}

	sbuf_free(&sb);
	scan_rules_free(r);
	db_close(db);
	remove_tree(dir);
	return done_testing();
}
