/*
 * dkim_test - shared/auth/dkim.c: the tag-list, signature and key parsers, both
 * canonicalizations (RFC 6376 section 3.4.5's examples), the signed
 * example of RFC 8463 Appendix A with its two keys (RSA and Ed25519) fed
 * whole and in one-byte chunks, tampering, the verdicts without a key,
 * and Rspamd's symbols with their options. Keys come from a table behind
 * struct dkim_resolver, answered at once (a cache hit) or later.
 */
#include "config.h"

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim.h"
#include "core/sbuf.h"
#include "tap.h"

#define ED_KEY "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_KEY                                                                                    \
	"v=DKIM1; k=rsa; "                                                                         \
	"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR"             \
	"6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/"                                 \
	"8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5"                                                       \
	"QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

/* RFC 8463 Appendix A.3, CRLF line ends. */
static const char *rfc8463 = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
                             " d=football.example.com; i=@football.example.com;\r\n"
                             " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
                             " subject : date : message-id : from : subject : date;\r\n"
                             " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
                             " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
                             " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
                             "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
                             " d=football.example.com; i=@football.example.com;\r\n"
                             " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
                             " date : message-id : from : subject : date;\r\n"
                             " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
                             " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
                             " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
                             " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
                             "From: Joe SixPack <joe@football.example.com>\r\n"
                             "To: Suzie Q <suzie@shopping.example.net>\r\n"
                             "Subject: Is dinner ready?\r\n"
                             "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
                             "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
                             "\r\n"
                             "Hi.\r\n"
                             "\r\n"
                             "We lost the game.  Are you hungry yet?\r\n"
                             "\r\n"
                             "Joe.\r\n";

/* ---- a resolver from a table -------------------------------------------- */

struct key_rr {
	const char *name, *txt; /* txt NULL: NXDOMAIN; "!": SERVFAIL */
};

struct pending {
	dkim_txt_cb *cb;
	void *arg;
	const char *txt;
};

static struct key_rr *zone;
static int defer, hold;
static struct pending later[8];
static int nlater, nlookups;

static void answer(dkim_txt_cb *cb, void *arg, const char *txt)
{
	if (txt == NULL)
		cb(arg, DKIM_DNS_NOTFOUND, "", 0);
	else if (strcmp(txt, "!") == 0)
		cb(arg, DKIM_DNS_TEMPFAIL, "", 0);
	else
		cb(arg, DKIM_DNS_OK, txt, strlen(txt));
}

static void lookup(void *ctx, const char *name, dkim_txt_cb *cb, void *arg)
{
	const char *txt = NULL;

	nlookups++;
	for (struct key_rr *z = zone; z && z->name; z++)
		if (strcmp(z->name, name) == 0)
			txt = z->txt;
	if (!defer) {
		answer(cb, arg, txt);
		return;
	}
	later[nlater++] = (struct pending){cb, arg, txt};
}

static struct key_rr rfc_zone[] = {
    {"brisbane._domainkey.football.example.com", ED_KEY},
    {"test._domainkey.football.example.com", RSA_KEY},
    {NULL, NULL},
};

static void on_done(void *arg, struct dkim *dk)
{
	(*(int *)arg)++;
}

static struct sbuf syms;

static void add_sym(void *arg, const char *sym, const char *opt)
{
	sbuf_printf(&syms, "%s%s", syms.len ? " " : "", sym);
	if (opt)
		sbuf_printf(&syms, "(%s)", opt);
}

/* Verify msg (CRLF), the body in chunks of chunk bytes; results into dk (caller frees). */
static struct dkim *run(const char *msg, size_t chunk, int64_t now, int *ndone)
{
	struct dkim_params p = {.now = now, .jitter = 300, .max_sigs = 5};
	struct dkim_resolver r = {.lookup = lookup};
	struct dkim *dk = dkim_new(&p);
	const char *s = msg, *body;

	*ndone = 0;
	nlater = 0;
	nlookups = 0;
	/* Header fields up to the empty line. */
	while (strncmp(s, "\r\n", 2) != 0) {
		const char *e = s;

		for (;;) {
			e = strstr(e, "\r\n");
			if (e[2] != ' ' && e[2] != '\t')
				break;
			e += 2;
		}
		dkim_header(dk, s, (size_t)(e - s));
		s = e + 2;
	}
	body = s + 2;
	dkim_eoh(dk, &r, on_done, ndone);
	for (size_t i = 0, n = strlen(body); i < n; i += chunk)
		dkim_body(dk, body + i, n - i < chunk ? n - i : chunk);
	dkim_eom(dk);
	for (int i = 0; i < nlater && !hold; i++)
		answer(later[i].cb, later[i].arg, later[i].txt);
	sbuf_reset(&syms);
	dkim_symbols(dk, add_sym, NULL);
	return dk;
}

static const char *verdict(const struct dkim *dk, int i)
{
	const struct dkim_sig_result *r = dkim_result(dk, i);

	return r ? dkim_result_str(r->result) : "none";
}

/* ---- parsers -------------------------------------------------------------- */

static void test_taglist(void)
{
	struct dkim_taglist tl;
	char err[128];

	ok(dkim_taglist_parse("a=1; b = two words ;c=\r\n\tx;", 27, &tl, err, sizeof(err)) == 0 &&
	       tl.n == 3,
	   "tag-list with FWS, an empty-ish value and a trailing ';'");
	is_int(tl.t[1].vlen, 9, "a value keeps its inner space, not the outer");
	ok(dkim_taglist_parse("a=1; a=2", 8, &tl, err, sizeof(err)) < 0, "duplicate tag refused");
	like_str(err, "duplicate", "... and said so");
	ok(dkim_taglist_parse("1a=x", 4, &tl, err, sizeof(err)) < 0,
	   "tag name starting with a digit");
	ok(dkim_taglist_parse("a", 1, &tl, err, sizeof(err)) < 0, "tag without '='");
	ok(dkim_taglist_parse("a=b\x01", 4, &tl, err, sizeof(err)) < 0, "control byte in a value");
	ok(dkim_taglist_parse("a=\r\nb", 5, &tl, err, sizeof(err)) < 0,
	   "CRLF not followed by WSP is not FWS");
	ok(dkim_taglist_parse("", 0, &tl, err, sizeof(err)) == 0 && tl.n == 0, "empty tag-list");
}

#define SIG(extra)                                                                                 \
	"v=1; a=rsa-sha256; d=Example.COM; s=sel; h=from:to; "                                     \
	"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG"                                                 \
	"3hSuFU=; b=dGVzdA==" extra

static enum dkim_result sig(const char *s, struct dkim_sig *out, char *err)
{
	return dkim_sig_parse(s, strlen(s), 1700000000, 300, out, err, 128);
}

static void test_sig(void)
{
	struct dkim_sig s;
	char err[128];

	is_int(sig(SIG(""), &s, err), DKIM_PASS, "minimal signature parses");
	is_str(s.d, "example.com", "d= lower-cased");
	is_int(s.hcanon == DKIM_SIMPLE && s.bcanon == DKIM_SIMPLE, 1,
	       "c= defaults to simple/simple");
	is_int(sig(SIG("; c=relaxed"), &s, err), DKIM_PASS, "c=relaxed");
	ok(s.hcanon == DKIM_RELAXED && s.bcanon == DKIM_SIMPLE, "c=relaxed is relaxed/simple");
	is_int(sig(SIG("; c=relaxed/fuzzy"), &s, err), DKIM_PERMERROR, "unknown body canon");
	is_int(sig("v=1; a=rsa-sha256; d=example.com; s=sel; h=to; bh=AAAA; b=AAAA", &s, err),
	       DKIM_PERMERROR, "From not in h=");
	is_str(err, "From not signed", "... reason");
	is_int(sig("v=1; a=rsa-sha256; d=example.com; s=sel; bh=AAAA; b=AAAA", &s, err),
	       DKIM_PERMERROR, "h= missing");
	is_str(err, "no h= tag", "... reason");
	is_int(sig(SIG("; v=1"), &s, err), DKIM_PERMERROR, "duplicate v=");
	is_int(sig(SIG("; i=joe@mail.example.com"), &s, err), DKIM_PASS, "i= in a subdomain of d=");
	is_int(sig(SIG("; i=joe@badexample.com"), &s, err), DKIM_PERMERROR, "i= outside d=");
	is_int(sig(SIG("; i=@example.com.evil"), &s, err), DKIM_PERMERROR, "i= beyond d=");
	is_int(sig(SIG("; x=1699999000"), &s, err), DKIM_PERMERROR, "expired x=");
	is_str(err, "signature expired", "... reason");
	is_int(sig(SIG("; x=1699999800"), &s, err), DKIM_PASS, "x= just past, within the jitter");
	is_int(sig(SIG("; t=1700001000"), &s, err), DKIM_PERMERROR, "t= beyond the jitter");
	is_int(sig(SIG("; t=1700000100; x=1700000050"), &s, err), DKIM_PERMERROR, "x= before t=");
	is_int(sig(SIG("; l=12"), &s, err), DKIM_PASS, "l= accepted");
	ok(s.has_l && s.l == 12, "... and read");
	is_int(sig(SIG("; l=1x"), &s, err), DKIM_PERMERROR, "l= not a number");
	is_int(sig(SIG("; q=dns/txt"), &s, err), DKIM_PASS, "q=dns/txt");
	is_int(sig(SIG("; q=http/well-known"), &s, err), DKIM_PERMERROR, "q= without dns/txt");
	is_int(
	    sig("v=1; a=rsa-sha1; d=example.com; s=sel; h=from; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAA=; "
	        "b=AAAA",
	        &s, err),
	    DKIM_POLICY, "rsa-sha1 refused by policy (RFC 8301)");
	is_int(sig("v=1; a=rsa-md5; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA", &s, err),
	       DKIM_PERMERROR, "unknown algorithm");
	is_int(sig("v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=A*AA", &s, err),
	       DKIM_PERMERROR, "b= not base64");
	is_int(sig("v=1; a=rsa-sha256; d=exa mple.com; s=sel; h=from; bh=AAAA; b=AAAA", &s, err),
	       DKIM_PERMERROR, "d= with a space");
	is_int(sig("v=2; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA", &s, err),
	       DKIM_PERMERROR, "v=2");
}

/* Spam with a hundred Cc fields gets them all signed (seen in the corpus). */
static void test_many_names(void)
{
	struct sbuf v;
	struct dkim_sig s;
	char err[128];

	sbuf_init(&v);
	sbuf_puts(&v, "v=1; a=rsa-sha256; d=example.com; s=sel; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	              "AAAAAAAAAAAAAA=; b=AAAA; h=from");
	for (int i = 0; i < 200; i++)
		sbuf_puts(&v, " : cc");
	ok(dkim_sig_parse(v.data, v.len, 1700000000, 300, &s, err, sizeof(err)) == DKIM_PASS &&
	       s.nh == 201,
	   "h= with 201 names");
	is_str(dkim_sig_hname(&s, 200), "cc", "... the last one read");
	sbuf_reset(&v);
	sbuf_puts(&v, "v=1; a=rsa-sha256; d=example.com; s=sel; bh=AAAA; b=AAAA; h=from");
	for (int i = 0; i < DKIM_HNAMES_MAX; i++)
		sbuf_puts(&v, ":a");
	is_int(dkim_sig_parse(v.data, v.len, 1700000000, 300, &s, err, sizeof(err)), DKIM_PERMERROR,
	       "h= with more than DKIM_HNAMES_MAX names refused");
	sbuf_free(&v);
}

static int key(const char *k, struct dkim_key *out)
{
	char err[128];

	return dkim_key_parse(k, strlen(k), out, err, sizeof(err));
}

static void test_key(void)
{
	struct dkim_key k;

	ok(key(ED_KEY, &k) == 0 && k.k == DKIM_KEY_ED25519 && k.plen == 32, "Ed25519 key");
	ok(key(RSA_KEY, &k) == 0 && k.k == DKIM_KEY_RSA && k.plen == 162, "RSA key");
	ok(key("v=DKIM1; p=", &k) == 0 && k.revoked, "empty p= is a revoked key");
	ok(key("p=AAAA; v=DKIM1", &k) < 0, "v= not first");
	ok(key("v=DKIM2; p=AAAA", &k) < 0, "v=DKIM2");
	ok(key("k=dsa; p=AAAA", &k) < 0, "unknown k=");
	ok(key("h=sha1; p=AAAA", &k) < 0, "h= without sha256");
	ok(key("h=sha1 : sha256; p=AAAA", &k) == 0, "h= with sha256");
	ok(key("s=tlsrpt; p=AAAA", &k) < 0, "s= not for email");
	ok(key("s=email:tlsrpt; p=AAAA", &k) == 0, "s=email among others");
	ok(key("t=y:s; p=AAAA", &k) == 0 && k.testing && k.strict, "t=y:s flags");
	ok(key("v=DKIM1; k=rsa", &k) < 0, "no p=");
	ok(key("p=AA*A", &k) < 0, "p= not base64");
}

/* ---- canonicalization ----------------------------------------------------- */

static void emit(void *arg, const char *p, size_t len)
{
	sbuf_append(arg, p, len);
}

static const char *body_canon(enum dkim_canon c, const char *in, size_t chunk, struct sbuf *out)
{
	struct dkim_bcanon bc;
	size_t n = strlen(in);

	sbuf_reset(out);
	dkim_bcanon_init(&bc, c, emit, out);
	for (size_t i = 0; i < n; i += chunk)
		dkim_bcanon_feed(&bc, in + i, n - i < chunk ? n - i : chunk);
	dkim_bcanon_end(&bc);
	return sbuf_cstr(out);
}

static void test_canon(void)
{
	static const char *rfc_body = " C \r\nD \t E\r\n\r\n\r\n";
	struct sbuf out;

	sbuf_init(&out);
	/* RFC 6376 section 3.4.5. */
	is_str(body_canon(DKIM_RELAXED, rfc_body, 100, &out), " C\r\nD E\r\n",
	       "relaxed body, RFC 6376 3.4.5");
	is_str(body_canon(DKIM_SIMPLE, rfc_body, 100, &out), " C \r\nD \t E\r\n",
	       "simple body, RFC 6376 3.4.5");
	is_str(body_canon(DKIM_RELAXED, rfc_body, 1, &out), " C\r\nD E\r\n",
	       "relaxed body fed byte by byte");
	is_str(body_canon(DKIM_SIMPLE, "", 1, &out), "\r\n", "empty body, simple: one CRLF");
	is_str(body_canon(DKIM_RELAXED, "", 1, &out), "", "empty body, relaxed: nothing");
	is_str(body_canon(DKIM_RELAXED, " \t\r\n\r\n", 1, &out), "",
	       "relaxed: only blank lines is empty");
	is_str(body_canon(DKIM_SIMPLE, "abc", 1, &out), "abc\r\n", "no final CRLF: one is added");
	is_str(body_canon(DKIM_SIMPLE, "a\rb\r\n", 1, &out), "a\rb\r\n", "a lone CR is content");
	is_str(body_canon(DKIM_SIMPLE, "a\r\n\r\nb\r\n\r\n", 3, &out), "a\r\n\r\nb\r\n",
	       "inner empty lines kept, trailing ones dropped");
	is_str(body_canon(DKIM_RELAXED, "a \r", 1, &out), "a \r\r\n",
	       "a lone CR at the end is content");

	sbuf_reset(&out);
	dkim_hcanon(DKIM_RELAXED, "A: X", 4, 0, &out);
	dkim_hcanon(DKIM_RELAXED, "B : Y\t\r\n\tZ  ", 12, 0, &out);
	is_str(sbuf_cstr(&out), "a:X\r\nb:Y Z\r\n", "relaxed headers, RFC 6376 3.4.5");
	sbuf_reset(&out);
	dkim_hcanon(DKIM_SIMPLE, "B : Y\t\r\n\tZ  ", 12, 0, &out);
	is_str(sbuf_cstr(&out), "B : Y\t\r\n\tZ  \r\n", "simple header is byte for byte");
	sbuf_free(&out);
}

/* ---- whole messages ------------------------------------------------------- */

static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *r = malloc(strlen(s) + strlen(to) + 1);

	memcpy(r, s, (size_t)(at - s));
	strcpy(r + (at - s), to);
	strcat(r, at + strlen(from));
	return r;
}

static void test_rfc8463(void)
{
	struct dkim *dk;
	int ndone;
	char *m;

	zone = rfc_zone;
	for (defer = 0; defer <= 1; defer++) {
		dk = run(rfc8463, 4096, 1528637909, &ndone);
		is_int(ndone, 1, "RFC 8463 A.3 (%s): done once",
		       defer ? "keys later" : "keys at once");
		is_str(verdict(dk, 0), "pass", "... Ed25519-SHA256 signature passes");
		is_str(verdict(dk, 1), "pass", "... RSA-SHA256 signature passes");
		is_str(
		    sbuf_cstr(&syms),
		    "R_DKIM_ALLOW(football.example.com:s=brisbane) "
		    "DKIM_TRACE(football.example.com:+) R_DKIM_ALLOW(football.example.com:s=test) "
		    "DKIM_TRACE(football.example.com:+)",
		    "... symbols and options");
		is_int(nlookups, 2, "... two key lookups");
		dkim_free(dk);
	}
	defer = 0;
	dk = run(rfc8463, 1, 1528637909, &ndone);
	ok(strcmp(verdict(dk, 0), "pass") == 0 && strcmp(verdict(dk, 1), "pass") == 0,
	   "RFC 8463 A.3 with the body in one-byte chunks");
	dkim_free(dk);

	m = replace(rfc8463, "hungry", "hangry");
	dk = run(m, 7, 1528637909, &ndone);
	is_str(verdict(dk, 0), "fail", "body changed: Ed25519 fails");
	is_str(dkim_result(dk, 0)->reason, "body hash mismatch", "... on the body hash");
	is_str(verdict(dk, 1), "fail", "... RSA fails");
	like_str(sbuf_cstr(&syms), "R_DKIM_REJECT(football.example.com:s=brisbane)",
	         "... R_DKIM_REJECT with its option");
	like_str(sbuf_cstr(&syms), "DKIM_TRACE(football.example.com:-)", "... trace ':-'");
	dkim_free(dk);
	free(m);

	m = replace(rfc8463, "Is dinner ready?", "Is dinner ready!");
	dk = run(m, 4096, 1528637909, &ndone);
	is_str(dkim_result(dk, 0)->reason, "signature mismatch", "signed header changed: Ed25519");
	is_str(dkim_result(dk, 1)->reason, "signature mismatch",
	       "... and RSA fail on the signature");
	dkim_free(dk);
	free(m);

	/* A relaxed signature survives refolding and case changes of header names. */
	m = replace(rfc8463, "Subject: Is dinner ready?", "SUBJECT:   Is dinner\r\n\t ready?  ");
	dk = run(m, 4096, 1528637909, &ndone);
	ok(strcmp(verdict(dk, 0), "pass") == 0 && strcmp(verdict(dk, 1), "pass") == 0,
	   "relaxed: refolded Subject still passes");
	dkim_free(dk);
	free(m);

	/* An added From above the signed one is what h= listing from twice guards against. */
	m = replace(rfc8463, "From: Joe", "From: Evil <evil@example.net>\r\nFrom: Joe");
	dk = run(m, 4096, 1528637909, &ndone);
	is_str(verdict(dk, 0), "fail", "over-signed From: a second From breaks the signature");
	dkim_free(dk);
	free(m);
}

static struct key_rr odd_zone[] = {
    {"brisbane._domainkey.football.example.com", "!"},
    {"test._domainkey.football.example.com", "v=DKIM1; p="},
    {NULL, NULL},
};

static struct key_rr swapped_zone[] = {
    {"brisbane._domainkey.football.example.com", RSA_KEY},
    {"test._domainkey.football.example.com", ED_KEY},
    {NULL, NULL},
};

static void test_errors(void)
{
	struct dkim *dk;
	int ndone;
	char *m;

	zone = odd_zone;
	dk = run(rfc8463, 4096, 1528637909, &ndone);
	is_str(verdict(dk, 0), "temperror", "SERVFAIL on the key: temperror");
	is_str(verdict(dk, 1), "permerror", "revoked key: permerror");
	is_str(dkim_result(dk, 1)->reason, "key revoked", "... reason");
	is_str(
	    sbuf_cstr(&syms),
	    "R_DKIM_TEMPFAIL(football.example.com:s=brisbane) DKIM_TRACE(football.example.com:?) "
	    "R_DKIM_PERMFAIL(football.example.com:s=test) DKIM_TRACE(football.example.com:~)",
	    "... TEMPFAIL and PERMFAIL with their traces");
	dkim_free(dk);

	zone = swapped_zone;
	dk = run(rfc8463, 4096, 1528637909, &ndone);
	is_str(dkim_result(dk, 0)->reason,
	       "key type does not match a=", "RSA key for ed25519-sha256");
	is_str(verdict(dk, 1), "permerror", "Ed25519 key for rsa-sha256");
	dkim_free(dk);

	zone = NULL;
	dk = run(rfc8463, 4096, 1528637909, &ndone);
	is_str(dkim_result(dk, 0)->reason, "no key", "NXDOMAIN: no key, permerror");
	dkim_free(dk);

	zone = rfc_zone;
	dk = run(rfc8463, 4096, 1528637909 + 86400 * 365, &ndone);
	is_str(verdict(dk, 0), "pass", "no x=: an old signature still passes");
	dkim_free(dk);
	dk = run(rfc8463, 4096, 1528637000, &ndone);
	is_str(dkim_result(dk, 0)->reason, "signature from the future", "t= beyond the jitter");
	is_int(nlookups, 0, "... no key lookup for a signature already judged");
	dkim_free(dk);

	m = replace(rfc8463, "DKIM-Signature: v=1; a=ed25519", "DKIM-Signature: v=1; a=ed448");
	dk = run(m, 4096, 1528637909, &ndone);
	ok(strcmp(verdict(dk, 0), "permerror") == 0 && strcmp(verdict(dk, 1), "pass") == 0,
	   "a bad signature does not spoil a good one beside it");
	like_str(sbuf_cstr(&syms), "R_DKIM_PERMFAIL(football.example.com:s=brisbane)",
	         "... PERMFAIL for the bad one");
	dkim_free(dk);
	free(m);

	dk = run("From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n", 4096, 1528637909, &ndone);
	is_int(dkim_nresults(dk), 0, "unsigned message: no verdicts");
	is_int(ndone, 1, "... done at end of message");
	is_str(sbuf_cstr(&syms), "R_DKIM_NA", "... R_DKIM_NA");
	dkim_free(dk);
}

/* An answer for sel._domainkey.example.com: one TXT record of two strings. */
static const unsigned char split_txt[] = {
    0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x73, 0x65, 0x6c,
    0x0a, 0x5f, 0x64, 0x6f, 0x6d, 0x61, 0x69, 0x6e, 0x6b, 0x65, 0x79, 0x07, 0x65, 0x78, 0x61, 0x6d,
    0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x10, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x10,
    0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x44, 0x2a, 0x76, 0x3d, 0x44, 0x4b, 0x49, 0x4d, 0x31,
    0x3b, 0x20, 0x6b, 0x3d, 0x65, 0x64, 0x32, 0x35, 0x35, 0x31, 0x39, 0x3b, 0x20, 0x70, 0x3d, 0x31,
    0x31, 0x71, 0x59, 0x41, 0x59, 0x4b, 0x78, 0x43, 0x72, 0x66, 0x56, 0x53, 0x2f, 0x37, 0x54, 0x79,
    0x57, 0x51, 0x48, 0x18, 0x4f, 0x67, 0x37, 0x68, 0x63, 0x76, 0x50, 0x61, 0x70, 0x69, 0x4d, 0x6c,
    0x72, 0x77, 0x49, 0x61, 0x61, 0x50, 0x63, 0x48, 0x55, 0x52, 0x6f, 0x3d};

static void test_dns_parse(void)
{
	char out[DKIM_TAGLIST_MAX + 1];
	size_t len;

	is_int(dkim_dns_parse(ARES_SUCCESS, split_txt, sizeof(split_txt), out, sizeof(out), &len),
	       DKIM_DNS_OK, "a TXT answer");
	is_str(out, ED_KEY, "... its strings joined with nothing between them");
	is_int(len, strlen(ED_KEY), "... and counted");
	is_int(dkim_dns_parse(ARES_ENOTFOUND, NULL, 0, out, sizeof(out), &len), DKIM_DNS_NOTFOUND,
	       "NXDOMAIN: no key");
	is_int(dkim_dns_parse(ARES_ENODATA, NULL, 0, out, sizeof(out), &len), DKIM_DNS_NOTFOUND,
	       "no TXT record: no key");
	is_int(dkim_dns_parse(ARES_ESERVFAIL, NULL, 0, out, sizeof(out), &len), DKIM_DNS_TEMPFAIL,
	       "SERVFAIL: temporary");
	is_int(dkim_dns_parse(ARES_ETIMEOUT, NULL, 0, out, sizeof(out), &len), DKIM_DNS_TEMPFAIL,
	       "timeout: temporary");
	is_int(dkim_dns_parse(ARES_SUCCESS, split_txt, 40, out, sizeof(out), &len),
	       DKIM_DNS_TEMPFAIL, "a damaged answer: temporary, it says nothing about the key");
}

/* The milter may drop a message (client gone) before its keys come: no use after free. */
static void test_free_in_flight(void)
{
	struct dkim *dk;
	int ndone;

	zone = rfc_zone;
	defer = hold = 1;
	dk = run(rfc8463, 4096, 1528637909, &ndone);
	is_int(nlater, 2, "two lookups in flight");
	ok(!dkim_done(dk), "... not done before the answers");
	dkim_free(dk);
	for (int i = 0; i < nlater; i++)
		answer(later[i].cb, later[i].arg, later[i].txt);
	is_int(ndone, 0, "freed with lookups in flight: the answers free it, no callback");
	defer = hold = 0;
}

static void test_max_sigs(void)
{
	struct sbuf m;
	struct dkim *dk;
	int ndone;

	sbuf_init(&m);
	for (int i = 0; i < 7; i++)
		sbuf_printf(&m,
		            "DKIM-Signature: v=1; a=rsa-sha256; d=d%d.example; s=s; h=from; "
		            "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n",
		            i);
	sbuf_puts(&m, "From: a@example.com\r\n\r\n");
	zone = NULL;
	dk = run(sbuf_cstr(&m), 4096, 1528637909, &ndone);
	is_int(dkim_nresults(dk), DKIM_MAX_SIGS, "7 signatures: only 5 verified");
	is_int(nlookups, DKIM_MAX_SIGS, "... 5 key lookups");
	is_str(dkim_result(dk, 4)->domain, "d4.example", "... the topmost five");
	dkim_free(dk);
	sbuf_free(&m);
}

int main(void)
{
	sbuf_init(&syms);
	test_taglist();
	test_sig();
	test_many_names();
	test_key();
	test_canon();
	test_rfc8463();
	test_errors();
	test_max_sigs();
	test_free_in_flight();
	test_dns_parse();
	sbuf_free(&syms);
	return done_testing();
}
