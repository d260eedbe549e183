/*
 * dkim_sign_test - shared/auth/dkim_sign.c, dkim_signkey.c, dkim_keys.c:
 * key files in every form moat reads (rspamadm's raw Ed25519 key, its
 * 32-byte seed, PEM PKCS#1 and PKCS#8) and the ones it refuses; messages
 * signed with RSA and Ed25519 and judged by moat's own verifier (the
 * end-to-end tests ask dkimpy, OpenDKIM and Rspamd); Rspamd's h= list and
 * over-signing; folding; the From domain; DMS file names; the key store's
 * re-reading and its refusals. ARC sealing: i=1 and i=2 sets judged by
 * moat's ARC verifier, cv=fail, and the chains it refuses to extend.
 */
#include "config.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/arc.h"
#include "auth/dkim.h"
#include "auth/dkim_keys.h"
#include "auth/dkim_sign.h"
#include "core/sbuf.h"
#include "tap.h"

/* Written by `rspamadm dkim_keygen -t ed25519 -d example.com -s mail` (rspamd 3.4). */
#define RSPAMD_ED                                                                                  \
	"oHED/ErsbXxhteRwN61rLsU2zAoPd5G9GUUqYNfWKnHfs9CvNvmy/"                                    \
	"324GOt1tP8XoGBuuNP8EJOUEZe6eOA4cA==\n"
#define RSPAMD_ED_PUB "v=DKIM1; k=ed25519; p=37PQrzb5sv99uBjrdbT/F6BgbrjT/BCTlBGXunjgOHA="

static char zone_name[512], zone_txt[2048], zone2_name[512], zone2_txt[2048];

static void lookup(void *ctx, const char *name, dkim_txt_cb *cb, void *arg)
{
	(void)ctx;
	if (strcmp(name, zone_name) == 0)
		cb(arg, DKIM_DNS_OK, zone_txt, strlen(zone_txt));
	else if (strcmp(name, zone2_name) == 0)
		cb(arg, DKIM_DNS_OK, zone2_txt, strlen(zone2_txt));
	else
		cb(arg, DKIM_DNS_NOTFOUND, "", 0);
}

static void on_done(void *arg, struct dkim *dk)
{
	(void)dk;
	(*(int *)arg)++;
}

/* The verifier's verdict on a message of CRLF lines. */
static const char *verify(const char *msg)
{
	struct dkim_params p = {.now = 1700000000, .jitter = 300, .max_sigs = 5};
	struct dkim_resolver r = {.lookup = lookup};
	struct dkim *dk = dkim_new(&p);
	static char verdict[64];
	const char *s = msg, *body;
	int ndone = 0;

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
	dkim_eoh(dk, &r, on_done, &ndone);
	dkim_body(dk, body, strlen(body));
	dkim_eom(dk);
	snprintf(verdict, sizeof(verdict), "%s",
	         dkim_nresults(dk) ? dkim_result_str(dkim_result(dk, 0)->result) : "none");
	dkim_free(dk);
	return verdict;
}

static const char *hdrs[][2] = {
    {"Received", "from x by y; Tue, 14 Nov 2023 22:13:20 +0000"},
    {"From", "Joe <joe@Mail.Example.CO.UK>"},
    {"To", "a@example.net"},
    {"To", "b@example.net"},
    {"Subject", "a long subject that goes on\n\tand on, folded over lines,\n\t with  odd   spaces"},
    {"Date", "Tue, 14 Nov 2023 22:13:20 +0000"},
    {"MIME-Version", "1.0"},
    {"Content-Type", "text/plain; charset=utf-8"},
};
static const char *body = "Gr\xc3\xbc\xc3\x9f"
                          "e  \t\r\n\r\nline two \r\n\r\n\r\n";

/* The message signed with key: the signature field first, CRLF throughout. */
static void sign(const struct dkim_signkey *key, const char *subject, struct sbuf *msg)
{
	struct dkim_sign *s = dkim_sign_new();
	struct sbuf v;
	char err[200] = "";

	sbuf_init(&v);
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		dkim_sign_header(s, hdrs[i][0], strlen(hdrs[i][0]), hdrs[i][1], strlen(hdrs[i][1]));
	if (subject)
		dkim_sign_change(s, "Subject", 1, subject);
	dkim_sign_body(s, body, 7);
	dkim_sign_body(s, body + 7, strlen(body) - 7);
	ok(dkim_sign_make(s, key, 1700000000, 86400, "\r\n\t", &v, err, sizeof(err)) == 0,
	   "signed: %s", err);
	sbuf_printf(msg, "DKIM-Signature: %s\r\n", sbuf_cstr(&v));
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		const char *val = hdrs[i][1];

		if (subject && strcmp(hdrs[i][0], "Subject") == 0)
			val = subject;
		sbuf_printf(msg, "%s: ", hdrs[i][0]);
		for (const char *p = val; *p; p++) {
			if (*p == '\n')
				sbuf_putc(msg, '\r');
			sbuf_putc(msg, *p);
		}
		sbuf_puts(msg, "\r\n");
	}
	sbuf_puts(msg, "\r\n");
	sbuf_puts(msg, body);
	sbuf_free(&v);
	dkim_sign_free(s);
}

static int longest_line(const char *m)
{
	int most = 0;

	for (const char *p = m; *p;) {
		size_t n = strcspn(p, "\r\n");
		int col = 0;

		for (size_t i = 0; i < n; i++)
			col = p[i] == '\t' ? (col / 8 + 1) * 8 : col + 1;
		if (col > most)
			most = col;
		p += n;
		p += strspn(p, "\r\n");
		if (strncmp(p, "From:", 5) == 0)
			break;
	}
	return most;
}

static void publish(const struct dkim_signkey *k)
{
	struct sbuf r;

	sbuf_init(&r);
	dkim_signkey_record(k, &r);
	snprintf(zone_name, sizeof(zone_name), "%s._domainkey.%s", k->selector, k->domain);
	snprintf(zone_txt, sizeof(zone_txt), "%s", sbuf_cstr(&r));
	sbuf_free(&r);
}

static void round_trip(struct dkim_signkey *k, const char *what)
{
	struct sbuf m;
	char *p;

	sbuf_init(&m);
	snprintf(k->domain, sizeof(k->domain), "example.co.uk");
	snprintf(k->selector, sizeof(k->selector), "mail");
	publish(k);
	sign(k, NULL, &m);
	is_str(verify(sbuf_cstr(&m)), "pass", "%s: moat's verifier passes the signature", what);
	ok(longest_line(sbuf_cstr(&m)) <= 78, "%s: folded to 78 columns (%d)", what,
	   longest_line(sbuf_cstr(&m)));
	for (p = m.data; (p = strstr(p, "\r\n\t")) != NULL;)
		memmove(p, p + 3, strlen(p + 3) + 1);
	like_str(m.data, " t=1700000000; x=1700086400; ", "%s: t= and x= (expire one day)", what);
	like_str(m.data, "h=from:from:reply-to:subject:subject:date:date:to:to:to:cc:mime-version:",
	         "%s: h= over-signs From, Reply-To, Subject, To, Cc always, Date when present",
	         what);
	/* A field of an over-signed name added after signing breaks the signature. */
	sbuf_reset(&m);
	sign(k, NULL, &m);
	{
		struct sbuf t;

		sbuf_init(&t);
		sbuf_puts(&t, "Reply-To: evil@example.org\r\n");
		sbuf_puts(&t, sbuf_cstr(&m));
		is_str(verify(sbuf_cstr(&t)), "fail", "%s: an added Reply-To fails it", what);
		sbuf_free(&t);
	}
	p = strstr(m.data, "line two");
	p[0] = 'L';
	is_str(verify(sbuf_cstr(&m)), "fail", "%s: a changed body fails it", what);
	sbuf_reset(&m);
	sign(k, "[SPAM] rewritten\n\tsubject", &m);
	is_str(verify(sbuf_cstr(&m)), "pass", "%s: signed over a changed Subject", what);
	sbuf_free(&m);
}

static EVP_PKEY *gen_rsa(int bits)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

static int parse_pem(EVP_PKEY *pk, int traditional, struct dkim_signkey *k, char *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc;

	if (traditional)
		PEM_write_bio_PrivateKey_traditional(b, pk, NULL, NULL, 0, NULL, NULL);
	else
		PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &data);
	rc = dkim_signkey_parse(data, (size_t)n, k, err, 200);
	BIO_free(b);
	return rc;
}

static void test_keys(void)
{
	struct dkim_signkey k = {0};
	char err[200] = "";
	EVP_PKEY *rsa = gen_rsa(2048), *small = gen_rsa(512);
	struct sbuf r;
	unsigned char seed[32];

	sbuf_init(&r);
	ok(dkim_signkey_parse(RSPAMD_ED, strlen(RSPAMD_ED), &k, err, sizeof(err)) == 0,
	   "rspamadm's Ed25519 key reads: %s", err);
	dkim_signkey_record(&k, &r);
	is_str(sbuf_cstr(&r), RSPAMD_ED_PUB, "... its record is the one rspamadm printed");
	round_trip(&k, "Ed25519");
	{
		size_t len = sizeof(seed);
		char b64[64];

		EVP_PKEY_get_raw_private_key(k.pkey, seed, &len);
		EVP_EncodeBlock((unsigned char *)b64, seed, 32);
		dkim_signkey_clear(&k);
		ok(dkim_signkey_parse(b64, strlen(b64), &k, err, sizeof(err)) == 0 &&
		       k.k == DKIM_KEY_ED25519,
		   "a 32-byte Ed25519 seed reads");
		dkim_signkey_clear(&k);
	}
	{
		char bad[] = RSPAMD_ED;

		bad[60] = bad[60] == 'A' ? 'B' : 'A';
		ok(dkim_signkey_parse(bad, strlen(bad), &k, err, sizeof(err)) < 0,
		   "a 64-byte key whose public half is not its seed's is refused (%s)", err);
	}
	ok(parse_pem(rsa, 0, &k, err) == 0 && k.k == DKIM_KEY_RSA && k.bits == 2048,
	   "PEM PKCS#8 RSA reads");
	round_trip(&k, "RSA-2048");
	dkim_signkey_clear(&k);
	ok(parse_pem(rsa, 1, &k, err) == 0 && k.k == DKIM_KEY_RSA, "PEM PKCS#1 RSA reads");
	dkim_signkey_clear(&k);
	ok(parse_pem(small, 0, &k, err) < 0, "a 512-bit RSA key is refused (%s)", err);
	ok(dkim_signkey_parse("hello", 5, &k, err, sizeof(err)) < 0, "junk is refused (%s)", err);
	ok(dkim_signkey_parse("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 58,
	                      &k, err, sizeof(err)) < 0,
	   "a broken PEM key is refused (%s)", err);
	{
		BIO *b = BIO_new(BIO_s_mem());
		char *data;
		long n;

		PEM_write_bio_PrivateKey(b, rsa, EVP_aes_128_cbc(), (unsigned char *)"pw", 2, NULL,
		                         NULL);
		n = BIO_get_mem_data(b, &data);
		ok(dkim_signkey_parse(data, (size_t)n, &k, err, sizeof(err)) < 0,
		   "an encrypted key is refused, not prompted for (%s)", err);
		BIO_free(b);
	}
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(small);
	sbuf_free(&r);
}

static void test_domain(void)
{
	static const char *cases[][2] = {
	    {"Joe <joe@Mail.Example.CO.UK>", "example.co.uk"},
	    {"joe@sub.example.com", "example.com"},
	    {"\"a@b\" <x@example.org> (comment)", "example.org"},
	    {"joe@example.com (Joe)", "example.com"},
	    {"undisclosed", NULL},
	};
	char d[300], err[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_sign *s = dkim_sign_new();
		int rc;

		dkim_sign_header(s, "From", 4, cases[i][0], strlen(cases[i][0]));
		rc = dkim_sign_domain(s, d, sizeof(d), err, sizeof(err));
		if (cases[i][1])
			is_str(rc == 0 ? d : err, cases[i][1], "From: %s", cases[i][0]);
		else
			ok(rc < 0, "From: %s has no domain (%s)", cases[i][0], err);
		dkim_sign_free(s);
	}
	{
		struct dkim_sign *s = dkim_sign_new();

		dkim_sign_header(s, "From", 4, "a@example.com", 13);
		dkim_sign_header(s, "from", 4, "b@example.org", 13);
		ok(dkim_sign_domain(s, d, sizeof(d), err, sizeof(err)) < 0,
		   "two From fields: not signed (%s)", err);
		dkim_sign_free(s);
	}
}

static void test_names(void)
{
	char d[300], s[200];

	ok(dkim_keys_dms_name("rsa-2048-mail-example.com.private.txt", d, sizeof(d), s,
	                      sizeof(s)) == 0 &&
	       strcmp(d, "example.com") == 0 && strcmp(s, "mail") == 0,
	   "rsa-2048-mail-example.com.private.txt");
	ok(dkim_keys_dms_name("ed25519-mail-my-domain.example.private.txt", d, sizeof(d), s,
	                      sizeof(s)) == 0 &&
	       strcmp(d, "my-domain.example") == 0 && strcmp(s, "mail") == 0,
	   "ed25519-mail-my-domain.example.private.txt");
	ok(dkim_keys_dms_name("rsa-2048-mail-example.com.public.txt", d, sizeof(d), s, sizeof(s)) <
	       0,
	   "a public key file is not a key");
	ok(dkim_keys_dms_name("rsa-x-mail-example.com.private.txt", d, sizeof(d), s, sizeof(s)) < 0,
	   "rsa- without bits is not a DMS name");
	ok(dkim_keys_dms_name("ed25519-mail.private.txt", d, sizeof(d), s, sizeof(s)) < 0,
	   "no domain: not a DMS name");
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
}

static void test_store(void)
{
	char dir[] = "/tmp/dkim_sign_test.XXXXXX", p1[300], p2[300], p3[300];
	struct dkim_keys *ks = dkim_keys_new();
	struct dkim_signkey got[DKIM_SIGN_KEYS];
	const char *dom[] = {"table.example"}, *sel[] = {"t"}, *path[] = {p3};
	int n;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(p1, sizeof(p1), "%s/ed25519-mail-example.com.private.txt", dir);
	snprintf(p2, sizeof(p2), "%s/ed25519-bad-example.com.private.txt", dir);
	snprintf(p3, sizeof(p3), "%s/elsewhere.key", dir);
	write_file(p1, RSPAMD_ED, 0640);
	write_file(p2, RSPAMD_ED, 0666);
	write_file(p3, RSPAMD_ED, 0600);
	dkim_keys_configure(ks, dir, dom, sel, path, 1);
	n = dkim_keys_get(ks, "example.com", got, DKIM_SIGN_KEYS);
	is_int(n, 1, "the directory's good key is used, the world-writable one is not");
	if (n > 0)
		is_str(got[0].selector, "mail", "... selector from the file name");
	while (n > 0)
		dkim_signkey_clear(&got[--n]);
	is_int(dkim_keys_get(ks, "table.example", got, DKIM_SIGN_KEYS), 1,
	       "an explicit entry maps a file of any name");
	dkim_signkey_clear(&got[0]);
	/* Fixed and renamed without a restart: seen within a second or two. */
	chmod(p2, 0640);
	unlink(p1);
	sleep(2);
	n = dkim_keys_get(ks, "example.com", got, DKIM_SIGN_KEYS);
	is_int(n, 1, "re-read: the removed key is gone, the fixed one in use");
	if (n > 0)
		is_str(got[0].selector, "bad", "... it is the fixed one");
	while (n > 0)
		dkim_signkey_clear(&got[--n]);
	write_file(p2, "garbage\n", 0640);
	sleep(2);
	is_int(dkim_keys_get(ks, "example.com", got, DKIM_SIGN_KEYS), 0,
	       "a key file broken in place is no longer used");
	dkim_keys_free(ks);
	unlink(p2);
	unlink(p3);
	rmdir(dir);
}

/* ---- ARC sealing ---------------------------------------------------- */

static void arc_field(void *arg, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);

	dkim_sign_header(arg, p, (size_t)(colon - p), colon + 1, len - (size_t)(colon + 1 - p));
}

static void arc_hdr(void *arg, const char *p, size_t len)
{
	arc_header(arg, p, len);
}

static void arc_on_done(void *arg, struct arc *a)
{
	(void)a;
	(*(int *)arg)++;
}

static void arc_sym(void *arg, const char *sym, const char *opt)
{
	snprintf(arg, 256, "%s(%s)", sym, opt ? opt : "");
}

/* moat's ARC verdict on m: "ARC_ALLOW(d:s=s:i=N)" or the like. */
static const char *arc_verify(const char *m)
{
	static char out[256];
	struct dkim_params p = {.now = 1700000000, .jitter = 300};
	struct dkim_resolver r = {.lookup = lookup};
	struct arc *a = arc_new(&p);
	size_t len = strlen(m), at;
	int nd = 0;

	at = dkim_split(m, len, arc_hdr, a);
	arc_eoh(a, &r, arc_on_done, &nd);
	arc_body(a, m + at, len - at);
	arc_eom(a);
	snprintf(out, sizeof(out), "none");
	if (arc_done(a))
		arc_symbols(a, arc_sym, out);
	arc_free(a);
	return out;
}

/* Seal m (CRLF) with k, chain as the verifier found it: the new set on top, into out. */
static int arc_seal(const struct dkim_signkey *k, const char *m, enum arc_status chain,
                    struct sbuf *out, char *err)
{
	struct dkim_sign *s = dkim_sign_new();
	struct sbuf v[3];
	size_t len = strlen(m), at = dkim_split(m, len, arc_field, s);
	int n;

	for (int i = 0; i < 3; i++)
		sbuf_init(&v[i]);
	dkim_sign_body(s, m + at, len - at);
	n = dkim_sign_arc(s, k, "mx.forwarder.example; spf=pass smtp.mailfrom=joe@example.co.uk",
	                  chain, 1700000000, "\r\n\t", v, err, 200);
	sbuf_reset(out);
	if (n > 0)
		sbuf_printf(out,
		            "ARC-Seal: %s\r\nARC-Message-Signature: %s\r\n"
		            "ARC-Authentication-Results: %s\r\n",
		            sbuf_cstr(&v[2]), sbuf_cstr(&v[1]), sbuf_cstr(&v[0]));
	sbuf_puts(out, m);
	for (int i = 0; i < 3; i++)
		sbuf_free(&v[i]);
	dkim_sign_free(s);
	return n;
}

static void test_arc(void)
{
	struct dkim_signkey k1 = {0}, k2 = {0};
	EVP_PKEY *pk = gen_rsa(2048);
	struct sbuf m, m1, m2, t;
	char err[200] = "", *p;

	ok(parse_pem(pk, 0, &k1, err) == 0 && parse_pem(pk, 1, &k2, err) == 0, "ARC keys");
	EVP_PKEY_free(pk);
	snprintf(k1.domain, sizeof(k1.domain), "forwarder.example");
	snprintf(k1.selector, sizeof(k1.selector), "arc");
	snprintf(k2.domain, sizeof(k2.domain), "list.example");
	snprintf(k2.selector, sizeof(k2.selector), "seal");
	publish(&k2);
	memcpy(zone2_name, zone_name, sizeof(zone2_name));
	memcpy(zone2_txt, zone_txt, sizeof(zone2_txt));
	publish(&k1);
	sbuf_init(&m);
	sbuf_init(&m1);
	sbuf_init(&m2);
	sbuf_init(&t);
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		sbuf_printf(&m, "%s: ", hdrs[i][0]);
		for (const char *q = hdrs[i][1]; *q; q++) {
			if (*q == '\n')
				sbuf_putc(&m, '\r');
			sbuf_putc(&m, *q);
		}
		sbuf_puts(&m, "\r\n");
	}
	sbuf_printf(&m, "\r\n%s", body);

	is_int(arc_seal(&k1, sbuf_cstr(&m), ARC_NONE, &m1, err), 1, "sealed as i=1 (%s)", err);
	is_str(arc_verify(sbuf_cstr(&m1)), "ARC_ALLOW(forwarder.example:s=arc:i=1)",
	       "moat's ARC verifier passes i=1");
	like_str(m1.data, "ARC-Seal: i=1; a=rsa-sha256; t=1700000000; cv=none;",
	         "i=1 says cv=none");
	like_str(m1.data, "ARC-Authentication-Results: i=1; mx.forwarder.example; spf=pass",
	         "the AAR holds the results");
	like_str(m1.data, "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed;",
	         "the AMS is a DKIM signature with i= and no v=");
	ok(strstr(m1.data, "v=1") == NULL, "no v= in the ARC fields");

	is_int(arc_seal(&k2, sbuf_cstr(&m1), ARC_PASS, &m2, err), 2, "sealed as i=2 (%s)", err);
	is_str(arc_verify(sbuf_cstr(&m2)), "ARC_ALLOW(list.example:s=seal:i=2)",
	       "moat's ARC verifier passes i=2 over i=1");
	like_str(m2.data, "ARC-Seal: i=2; a=rsa-sha256; t=1700000000; cv=pass;",
	         "i=2 says cv=pass");

	/* A seal covers the sets below it: a changed i=1 AAR fails the i=2 chain. */
	sbuf_reset(&t);
	sbuf_puts(&t, m2.data);
	p = strstr(t.data, "i=1; mx.forwarder.example; spf=pass");
	memcpy(strstr(p, "pass"), "fail", 4);
	like_str(arc_verify(sbuf_cstr(&t)), "ARC_REJECT(seal check failed",
	         "an altered i=1 AAR fails the seals");
	/* The body: the newest AMS. */
	sbuf_reset(&t);
	sbuf_puts(&t, m2.data);
	p = strstr(t.data, "line two");
	p[0] = 'L';
	like_str(arc_verify(sbuf_cstr(&t)), "ARC_REJECT(signature check failed",
	         "a changed body fails the AMS");

	/* A chain that failed: sealed once with cv=fail, then never again. */
	is_int(arc_seal(&k2, sbuf_cstr(&t), ARC_FAIL, &m2, err), 3, "a failed chain is sealed (%s)",
	       err);
	like_str(m2.data, "ARC-Seal: i=3; a=rsa-sha256; t=1700000000; cv=fail;", "with cv=fail");
	like_str(arc_verify(sbuf_cstr(&m2)), "ARC_REJECT(cv is fail on i=3)",
	         "which verifies as a failed chain");
	sbuf_reset(&t);
	sbuf_puts(&t, m2.data);
	is_int(arc_seal(&k1, sbuf_cstr(&t), ARC_FAIL, &m2, err), -1, "cv=fail is not extended");
	like_str(err, "already failed at i=3", "and says why");

	/* Not verified, malformed, full. */
	is_int(arc_seal(&k1, sbuf_cstr(&m1), ARC_NONE, &m2, err), -1, "an unverified chain");
	like_str(err, "was not verified", "is not extended");
	sbuf_reset(&t);
	sbuf_printf(&t, "ARC-Authentication-Results: i=1; x; none\r\n%s", m1.data);
	is_int(arc_seal(&k1, sbuf_cstr(&t), ARC_PASS, &m2, err), -1, "two AARs for i=1");
	like_str(err, "malformed (ARC-Authentication-Results)", "are malformed");
	sbuf_reset(&t);
	sbuf_printf(&t, "ARC-Seal: i=2; cv=pass; d=x; s=y; b=\r\n%s", m1.data);
	is_int(arc_seal(&k1, sbuf_cstr(&t), ARC_PASS, &m2, err), -1, "a set without its AAR");
	like_str(err, "no complete set i=2", "is incomplete");
	for (int full = 49; full <= 50; full++) {
		sbuf_reset(&t);
		for (int i = 1; i <= full; i++)
			sbuf_printf(&t,
			            "ARC-Seal: i=%d; cv=%s; d=x; s=y; b=\r\n"
			            "ARC-Message-Signature: i=%d; d=x; s=y; b=\r\n"
			            "ARC-Authentication-Results: i=%d; x; none\r\n",
			            i, i == 1 ? "none" : "pass", i, i);
		sbuf_puts(&t, m.data);
		is_int(arc_seal(&k1, sbuf_cstr(&t), ARC_PASS, &m2, err), full == 49 ? 50 : -1,
		       "%d sets: %s", full, full == 49 ? "the 50th is added" : "no 51st");
	}
	like_str(err, "has 50 sets already", "the limit of RFC 8617 section 5.1.1.1.1");
	/* 151 ARC fields: no seal, and the DKIM signature is made all the same. */
	{
		struct dkim_sign *s = dkim_sign_new();
		struct sbuf v[3];

		for (int i = 0; i < 3; i++)
			sbuf_init(&v[i]);
		for (int i = 0; i <= ARC_MAX_FIELDS; i++)
			dkim_sign_header(s, "ARC-Seal", 8, "i=1; cv=none", 12);
		dkim_sign_header(s, "From", 4, "joe@example.co.uk", 17);
		dkim_sign_body(s, "x\r\n", 3);
		is_int(dkim_sign_arc(s, &k1, "x; none", ARC_PASS, 1700000000, "\r\n\t", v, err,
		                     sizeof(err)),
		       -1, "151 ARC fields: not sealed");
		like_str(err, "more than 150 ARC header fields", "and says why");
		err[0] = '\0';
		ok(dkim_sign_make(s, &k1, 1700000000, 0, "\r\n\t", &v[0], err, sizeof(err)) == 0,
		   "but DKIM-signed (%s)", err);
		for (int i = 0; i < 3; i++)
			sbuf_free(&v[i]);
		dkim_sign_free(s);
	}
	dkim_signkey_clear(&k1);
	dkim_signkey_clear(&k2);
	sbuf_free(&m);
	sbuf_free(&m1);
	sbuf_free(&m2);
	sbuf_free(&t);
}

int main(void)
{
	test_keys();
	test_domain();
	test_names();
	test_store();
	test_arc();
	return done_testing();
}
