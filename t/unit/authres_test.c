/*
 * authres_test - Authentication-Results as Rspamd 3.4 writes it
 * (lua_auth_results.lua), from struct scan_auth; and the authserv-id of
 * incoming ones, hostile ones included.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/sbuf.h"
#include "scan/auth.h"
#include "scan/authres.h"
#include "tap.h"

static const char *fmt(struct sbuf *sb, const char *id, const struct scan_auth *a,
                       const struct authres_tx *tx)
{
	sbuf_reset(sb);
	authres_format(id, a, tx, sb);
	return sbuf_cstr(sb);
}

static int ends(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

static struct dkim_sig_result sig(enum dkim_result r, const char *d, const char *s, const char *why)
{
	struct dkim_sig_result x;

	memset(&x, 0, sizeof(x));
	x.result = r;
	snprintf(x.domain, sizeof(x.domain), "%s", d);
	snprintf(x.selector, sizeof(x.selector), "%s", s);
	snprintf(x.reason, sizeof(x.reason), "%s", why ? why : "");
	return x;
}

static void format(void)
{
	struct authres_tx tx = {
	    .mail_from = "alice@example.org", .helo = "mx.example.org", .client_ip = "192.0.2.1"};
	struct scan_auth a;
	struct sbuf sb;

	sbuf_init(&sb);
	memset(&a, 0, sizeof(a));
	is_str(fmt(&sb, "mx.moat.test", &a, &tx), "mx.moat.test; none",
	       "nothing checked: ID; none");

	a.spf_checked = 1;
	a.spf.result = SPF_PASS;
	is_str(fmt(&sb, "mx.moat.test", &a, &tx),
	       "mx.moat.test; spf=pass (mx.moat.test: domain of alice@example.org designates "
	       "192.0.2.1 as permitted sender) smtp.mailfrom=alice@example.org",
	       "spf=pass with Rspamd's comment");
	a.spf.result = SPF_FAIL;
	like_str(fmt(&sb, "h", &a, &tx),
	         "spf=fail (h: domain of alice@example.org does not designate 192.0.2.1 as "
	         "permitted sender)",
	         "spf=fail");
	a.spf.result = SPF_SOFTFAIL;
	like_str(fmt(&sb, "h", &a, &tx),
	         "spf=softfail (h: 192.0.2.1 is neither permitted nor denied by domain of "
	         "alice@example.org)",
	         "spf=softfail");
	a.spf.result = SPF_NONE;
	like_str(fmt(&sb, "h", &a, &tx),
	         "spf=none (h: domain of alice@example.org has no SPF policy when checking "
	         "192.0.2.1)",
	         "spf=none");
	a.spf.result = SPF_TEMPERROR;
	like_str(fmt(&sb, "h", &a, &tx),
	         "spf=temperror (h: error in processing during lookup of alice@example.org: DNS "
	         "error)",
	         "spf=temperror");
	a.spf.result = SPF_PERMERROR;
	like_str(fmt(&sb, "h", &a, &tx), "spf=permerror (h: domain of alice@example.org uses",
	         "spf=permerror");
	tx.mail_from = "";
	a.spf.result = SPF_PASS;
	like_str(fmt(&sb, "h", &a, &tx),
	         "spf=pass (h: domain of mx.example.org designates 192.0.2.1 as permitted sender) "
	         "smtp.helo=mx.example.org",
	         "null sender: the HELO identity, smtp.helo");
	tx.mail_from = "alice@example.org";

	a.dkim_checked = 1;
	is_str(fmt(&sb, "h", &a, &tx) + strlen("h; "),
	       "dkim=none; spf=pass (h: domain of "
	       "alice@example.org designates 192.0.2.1 as permitted sender) smtp.mailfrom="
	       "alice@example.org",
	       "no signature: dkim=none, first");
	a.ndkim = 2;
	a.dkim[0] = sig(DKIM_PASS, "example.org", "sel", NULL);
	snprintf(a.dkim_b[0], sizeof(a.dkim_b[0]), "AbCdEfGh");
	a.dkim[1] = sig(DKIM_FAIL, "example.net", "s2", "body hash mismatch");
	snprintf(a.dkim_b[1], sizeof(a.dkim_b[1]), "ab/c+d==");
	like_str(fmt(&sb, "h", &a, &tx),
	         "h; dkim=pass header.d=example.org header.s=sel header.b=AbCdEfGh; dkim=fail "
	         "(\"body hash mismatch\") header.d=example.net header.s=s2 header.b=\"ab/c+d==\"; "
	         "spf=pass",
	         "one dkim= per signature; tspecials quoted as maybe_smtp_quote_value");
	a.dkim[1] = sig(DKIM_POLICY, "example.net", "s2", "rsa-sha1 refused");
	like_str(fmt(&sb, "h", &a, &tx), "dkim=policy (\"rsa-sha1 refused\")",
	         "refused by policy: dkim=policy (RFC 8601 2.7.1)");
	a.dkim[1] = sig(DKIM_TEMPERROR, "example.net", "s2", "key lookup failed");
	like_str(fmt(&sb, "h", &a, &tx), "dkim=temperror", "temperror");

	a.dmarc_checked = 1;
	snprintf(a.dmarc_result, sizeof(a.dmarc_result), "pass");
	snprintf(a.dmarc_policy, sizeof(a.dmarc_policy), "none");
	snprintf(a.from_domain, sizeof(a.from_domain), "example.org");
	like_str(fmt(&sb, "h", &a, &tx), "; dmarc=pass (policy=none) header.from=example.org",
	         "dmarc=pass (policy=...) header.from=...");
	snprintf(a.dmarc_result, sizeof(a.dmarc_result), "fail");
	snprintf(a.dmarc_policy, sizeof(a.dmarc_policy), "reject");
	like_str(fmt(&sb, "h", &a, &tx), "; dmarc=fail header.from=example.org (policy=reject)",
	         "dmarc=fail header.from=... (policy=...)");
	a.arc_checked = 1;
	snprintf(a.arc_result, sizeof(a.arc_result), "pass");
	a.arc_instances = 2;
	ok(ends(fmt(&sb, "h", &a, &tx), "; arc=pass (i=2)"), "arc=pass (i=N) last");
	tx.auth_user = "alice";
	ok(ends(fmt(&sb, "h", &a, &tx),
	        "; auth=pass smtp.auth=alice smtp.mailfrom=alice@example.org"),
	   "an authenticated session: auth=pass smtp.auth=... last");
	tx.auth_user = "al;ice\r\nX-Evil: 1";
	ok(strpbrk(fmt(&sb, "h", &a, &tx), "\r\n") == NULL &&
	       strstr(sbuf_cstr(&sb), "smtp.auth=\"al;ice  X-Evil: 1\"") != NULL,
	   "a hostile login is quoted and cannot end the header: %s", sbuf_cstr(&sb));
	sbuf_free(&sb);
}

static void servid(void)
{
	char id[64], big[AUTHRES_SCAN_MAX + 100];
	const char *v;

#define SERVID(val, want, name)                                                                    \
	do {                                                                                       \
		v = (val);                                                                         \
		if ((want) == NULL)                                                                \
			ok(authres_servid(v, strlen(v), id, sizeof(id)) < 0, "%s: none", name);    \
		else                                                                               \
			ok(authres_servid(v, strlen(v), id, sizeof(id)) == 0 &&                    \
			       strcmp(id, (want) ? (want) : "") == 0,                              \
			   "%s: %s", name, id);                                                    \
	} while (0)
	SERVID("mx.example.org; spf=pass", "mx.example.org", "plain");
	SERVID(" mx.example.org 1; none", "mx.example.org", "a version after the id");
	SERVID("(a (nested) comment)\r\n\tmx.example.org;none", "mx.example.org",
	       "comments and folding before it");
	SERVID("\"mx.example.org\"; none", "mx.example.org", "a quoted-string");
	SERVID("\"mx\\\".x\"; none", "mx\".x", "a quoted-pair in it");
	SERVID("\"mx\r\n\t.x\"; none", NULL, "a control byte in a quoted id");
	SERVID("; none", NULL, "no id");
	SERVID("(unterminated mx.example.org; none", NULL, "an unterminated comment");
	SERVID("\"unterminated; none", NULL, "an unterminated quoted-string");
	SERVID("((((((((((deep)))))))))) mx; none", NULL, "comments nested too deep");
	SERVID("(((((((ok))))))) mx; none", "mx", "comments nested 7 deep");
	SERVID("a-very-long-authserv-id-that-does-not-fit-in-64-bytes.example.org.invalid", NULL,
	       "an id longer than the buffer");
	memset(big, ' ', sizeof(big));
	memcpy(big + AUTHRES_SCAN_MAX + 10, "mx", 3);
	ok(authres_servid(big, strlen(big), id, sizeof(id)) < 0,
	   "an id past AUTHRES_SCAN_MAX bytes is not looked for");
	ok(authres_is_ours("MX.Example.ORG; dkim=pass", 25, "mx.example.org"),
	   "ours: case-insensitive, as a host name");
	ok(!authres_is_ours("mx.example.org.evil; dkim=pass", 30, "mx.example.org"),
	   "not ours: a longer name");
	ok(!authres_is_ours("mx.example.org; none", 20, ""), "no id of ours: nothing is ours");
}

int main(void)
{
	format();
	servid();
	return done_testing();
}
