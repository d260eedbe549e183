/*
 * spf_test - the parts of shared/auth/spf.c that need no DNS: record syntax
 * (RFC 7208 4.6, 5, 6), macro expansion with the examples of section 7.4,
 * and the mapping of outcomes to Rspamd's symbols and options. Evaluation,
 * limits and DNS outcomes are in t/spf.t and t/spf-pyspf.t (real unbound).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "auth/spf.h"
#include "tap.h"

static const struct spf_request v4 = {.ip = "192.0.2.3",
                                      .helo = "mx.example.org",
                                      .sender = "strong-bad@email.example.com",
                                      .receiver = "mx.example.net"};
static const struct spf_request v6 = {
    .ip = "2001:db8::cb01", .helo = "mx.example.org", .sender = "strong-bad@email.example.com"};

static void exp_is(const struct spf_request *req, const char *spec, int exp, const char *want)
{
	char out[1100], err[256] = "";
	int rc =
	    spf_expand(req, "email.example.com", spec, exp, out, sizeof(out), err, sizeof(err));

	if (want == NULL) {
		ok(rc < 0 && err[0], "%s is refused (%s)", spec, err);
		return;
	}
	if (rc < 0)
		snprintf(out, sizeof(out), "error: %s", err);
	is_str(out, want, "%s%s", spec, exp ? " (exp)" : "");
}

static void macros(void)
{
	char big[400], want[400];

	/* RFC 7208 7.4 */
	exp_is(&v4, "%{s}", 1, "strong-bad@email.example.com");
	exp_is(&v4, "%{o}", 0, "email.example.com");
	exp_is(&v4, "%{d}", 0, "email.example.com");
	exp_is(&v4, "%{d4}", 0, "email.example.com");
	exp_is(&v4, "%{d3}", 0, "email.example.com");
	exp_is(&v4, "%{d2}", 0, "example.com");
	exp_is(&v4, "%{d1}", 0, "com");
	exp_is(&v4, "%{dr}", 0, "com.example.email");
	exp_is(&v4, "%{d2r}", 0, "example.email");
	exp_is(&v4, "%{l}", 0, "strong-bad");
	exp_is(&v4, "%{l-}", 0, "strong.bad");
	exp_is(&v4, "%{lr}", 0, "strong-bad");
	exp_is(&v4, "%{lr-}", 0, "bad.strong");
	exp_is(&v4, "%{l1r-}", 0, "strong");
	exp_is(&v4, "%{ir}.%{v}._spf.%{d2}", 0, "3.2.0.192.in-addr._spf.example.com");
	exp_is(&v4, "%{lr-}.lp._spf.%{d2}", 0, "bad.strong.lp._spf.example.com");
	exp_is(&v4, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", 0,
	       "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	exp_is(&v4, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", 0,
	       "3.2.0.192.in-addr.strong.lp._spf.example.com");
	exp_is(&v4, "%{d2}.trusted-domains.example.net", 0,
	       "example.com.trusted-domains.example.net");
	exp_is(
	    &v6, "%{ir}.%{v}._spf.%{d2}", 0,
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
	/* letters, URL escaping of upper-case macros, the escapes, exp-only letters */
	exp_is(&v4, "%{S}", 1, "strong-bad%40email.example.com");
	exp_is(&v4, "%{h}.%{c}.%{r}", 1, "mx.example.org.192.0.2.3.mx.example.net");
	exp_is(&v6, "%{c}", 1, "2001:db8::cb01");
	exp_is(&v4, "a%%b%_c%-d", 1, "a%b c%20d");
	exp_is(&v4, "%{p}.x.example", 0, "unknown.x.example");
	exp_is(&v4, "%{d}.", 0, "email.example.com");
	exp_is(&v4, "%{d}.", 1, "email.example.com.");
	exp_is(&v4, "%{d9r}", 0, "com.example.email");
	exp_is(&v4, "%{l+-}", 0, "strong.bad");
	/* syntax errors */
	exp_is(&v4, "%{c}.example.com", 0, NULL);
	exp_is(&v4, "%{t}", 0, NULL);
	exp_is(&v4, "%{d0}", 0, NULL);
	exp_is(&v4, "%{z}", 0, NULL);
	exp_is(&v4, "%{d", 0, NULL);
	exp_is(&v4, "%x", 0, NULL);
	exp_is(&v4, "abc%", 0, NULL);
	exp_is(&v4, "%{d2x}", 0, NULL);
	/* 7.3: the left side goes, whole labels, until 253 bytes are left */
	memset(big, 0, sizeof(big));
	for (int i = 0; i < 100; i++)
		memcpy(big + i * 3, "ab.", 3);
	strcat(big, "example.com");
	snprintf(want, sizeof(want), "%s", big + 3 * 20);
	exp_is(&v4, big, 0, want);
	ok(strlen(want) <= 253 && strlen(want) > 250, "the truncated name is %zu bytes",
	   strlen(want));
}

static void record_is(const char *rec, int good)
{
	char err[256] = "";
	int rc = spf_record_check(rec, err, sizeof(err));

	if (good)
		ok(rc == 0, "valid: %s%s%s", rec, err[0] ? " -- " : "", err);
	else
		ok(rc < 0 && err[0], "invalid: %s (%s)", rec, err);
}

static void records(void)
{
	record_is("v=spf1", 1);
	record_is("V=SPF1 -ALL", 1);
	record_is("v=spf1 +all -all ~all ?all", 1);
	record_is("v=spf1 ip4:192.0.2.0/24 ip4:192.0.2.1 ip6:2001:db8::/32 ip6:::1", 1);
	record_is("v=spf1 a a:mail.example.com a/24 a:x.example.com/24//64 a//48", 1);
	record_is("v=spf1 mx mx:example.com mx/30 mx:example.com./30//64 ptr ptr:example.com", 1);
	record_is("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} include:_spf.example.net", 1);
	record_is("v=spf1 redirect=_spf.example.com exp=explain.%{d}", 1);
	record_is("v=spf1 -all foo=bar moo= x-y.z=%{d}", 1);
	record_is("v=spf1  a   -all ", 1);
	record_is("v=spf1 a:foo-bar.x1", 1);
	record_is("v=spf1 a:x.1-2", 1);
	record_is("v=spf1 include:%{d}", 1);

	record_is("v=spf10 -all", 0);
	record_is("spf1 -all", 0);
	record_is("v=spf1 moo", 0);
	record_is("v=spf1 =a", 0);
	record_is("v=spf1 a:example.com,", 0);
	record_is("v=spf1 ip4:192.0.2.0/33", 0);
	record_is("v=spf1 ip4:192.0.2.0//24", 0);
	record_is("v=spf1 ip4:192.0.02.1", 0);
	record_is("v=spf1 ip4:192.0.2", 0);
	record_is("v=spf1 ip4", 0);
	record_is("v=spf1 ip6:2001:db8::/129", 0);
	record_is("v=spf1 ip6:2001:db8:zz::", 0);
	record_is("v=spf1 a/33", 0);
	record_is("v=spf1 mx//129", 0);
	record_is("v=spf1 all:example.com", 0);
	record_is("v=spf1 -all/8", 0);
	record_is("v=spf1 include", 0);
	record_is("v=spf1 include:", 0);
	record_is("v=spf1 exists", 0);
	record_is("v=spf1 ptr/24", 0);
	record_is("v=spf1 include:example.com/24", 0);
	record_is("v=spf1 a:localhost", 0);
	record_is("v=spf1 a:example.123", 0);
	record_is("v=spf1 a:example.-com", 0);
	record_is("v=spf1 a:1.2.3.4", 0);
	record_is("v=spf1 redirect=a.example redirect=b.example", 0);
	record_is("v=spf1 exp=a.example exp=b.example", 0);
	record_is("v=spf1 redirect=", 0);
	record_is("v=spf1 exp=", 0);
	record_is("v=spf1 exists:%{q}.example.com", 0);
	record_is("v=spf1 foo=%{", 0);
}

static void symbol_is(enum spf_result r, const char *mech, int plus_all, const char *problem,
                      const char *want_sym, const char *want_opt)
{
	struct spf_outcome o = {.result = r, .plus_all = plus_all};
	char opt[SPF_TEXT_MAX];
	const char *sym;

	snprintf(o.mechanism, sizeof(o.mechanism), "%s", mech);
	snprintf(o.problem, sizeof(o.problem), "%s", problem);
	sym = spf_symbol(&o, opt, sizeof(opt));
	is_str(sym, want_sym, "%s -> %s", spf_result_str(r), want_sym);
	is_str(opt, want_opt, "%s option", want_sym);
}

static void symbols(void)
{
	symbol_is(SPF_PASS, "ip4:192.0.2.0/24", 0, "", "R_SPF_ALLOW", "+ip4:192.0.2.0/24");
	symbol_is(SPF_PASS, "all", 1, "", "R_SPF_PLUSALL", "+all");
	symbol_is(SPF_FAIL, "all", 0, "", "R_SPF_FAIL", "-all");
	symbol_is(SPF_FAIL, "a:mail.example.com", 0, "", "R_SPF_FAIL", "-a:mail.example.com");
	symbol_is(SPF_SOFTFAIL, "all", 0, "", "R_SPF_SOFTFAIL", "~all");
	symbol_is(SPF_NEUTRAL, "", 0, "", "R_SPF_NEUTRAL", "?all");
	symbol_is(SPF_NEUTRAL, "mx", 0, "", "R_SPF_NEUTRAL", "?mx");
	symbol_is(SPF_NONE, "", 0, "no SPF record", "R_SPF_NA", "no SPF record");
	symbol_is(SPF_TEMPERROR, "", 0, "DNS timeout for example.com", "R_SPF_DNSFAIL",
	          "DNS timeout for example.com");
	symbol_is(SPF_PERMERROR, "", 0, "unknown mechanism: moo", "R_SPF_PERMFAIL",
	          "unknown mechanism: moo");
	is_str(spf_result_str(SPF_SOFTFAIL), "softfail", "result names");
	is_str(spf_result_str(SPF_PERMERROR), "permerror", "result names");
}

int main(void)
{
	macros();
	records();
	symbols();
	return done_testing();
}
