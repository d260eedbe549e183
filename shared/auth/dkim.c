/*
 * dkim - DKIM verification (RFC 6376), with RFC 8301's algorithm and key
 * size rules and RFC 8463's Ed25519; see dkim.h.
 *
 * The cryptography is OpenSSL 3's EVP: RSA as PKCS#1 v1.5 over the SHA-256
 * digest of the canonical header stream, Ed25519 (PureEdDSA) over that
 * same 32-byte digest, as RFC 8463 section 3 says.
 *
 * The tag-lists are parsed in dkim_parse.c, canonicalized in dkim_canon.c.
 * Limits: DKIM_MAX_SIGS signatures, and the header fields kept for hashing
 * at most HDR_MAX fields, HDR_BYTES.
 *
 * ARC (arc.c) verifies its ARC-Message-Signature and ARC-Seals with this
 * same engine through dkim_add(): a seal is a signature whose header list
 * is given (RFC 8617 section 5.1.1) and that has no body hash.
 */
#include "config.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dkim.h"
#include "core/mem.h"
#include "core/sbuf.h"

#define HDR_MAX 1000
#define HDR_BYTES (1024 * 1024)

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* ---- one message ------------------------------------------------------- */

struct one {
	struct dkim *dk;
	size_t *list; /* a seal's fields, in signing order */
	int nlist;
	struct dkim_sig sig;
	struct dkim_sig_result res;
	int done; /* res is final */
	unsigned char hhash[32];
	EVP_MD_CTX *bh;
	uint64_t hashed; /* canonical body bytes hashed */
	struct dkim_bcanon bc;
	struct dkim_key key;
	int key_ok;
};

struct hdr {
	size_t off, len;
};

struct dkim {
	struct dkim_params p;
	struct sbuf raw; /* the header fields kept, back to back */
	struct hdr *h;
	size_t nh, overflow;
	struct one *sig[DKIM_FIELDS_MAX];
	int nsig;
	int eom, pending, reported;
	int orphan; /* freed by its owner while lookups were in flight */
	dkim_done_cb *done;
	void *arg;
};

struct dkim *dkim_new(const struct dkim_params *p)
{
	struct dkim *dk = xcalloc(1, sizeof(*dk));

	dk->p = *p;
	if (dk->p.max_sigs <= 0 || dk->p.max_sigs > DKIM_MAX_SIGS)
		dk->p.max_sigs = DKIM_MAX_SIGS;
	sbuf_init(&dk->raw);
	dk->h = xcalloc(HDR_MAX, sizeof(*dk->h));
	return dk;
}

static void dkim_release(struct dkim *dk)
{
	for (int i = 0; i < dk->nsig; i++) {
		EVP_MD_CTX_free(dk->sig[i]->bh);
		free(dk->sig[i]->list);
		free(dk->sig[i]);
	}
	sbuf_free(&dk->raw);
	free(dk->h);
	free(dk);
}

void dkim_free(struct dkim *dk)
{
	if (dk == NULL)
		return;
	/*
	 * A message can end (an aborted SMTP session) with key lookups in flight: their
	 * callbacks point into dk, so the last of them frees it.
	 */
	if (dk->pending > 0) {
		dk->orphan = 1;
		dk->done = NULL;
		return;
	}
	dkim_release(dk);
}

void dkim_header(struct dkim *dk, const char *field, size_t len)
{
	if (dk->nh == HDR_MAX || dk->raw.len + len > HDR_BYTES) {
		dk->overflow++;
		return;
	}
	dk->h[dk->nh].off = dk->raw.len;
	dk->h[dk->nh].len = len;
	sbuf_append(&dk->raw, field, len);
	dk->nh++;
}

size_t dkim_split(const char *p, size_t len, dkim_field_fn *fn, void *arg)
{
	size_t i = 0;

	if (len >= 5 && memcmp(p, "From ", 5) == 0) {
		const char *nl = memchr(p, '\n', len);

		i = nl ? (size_t)(nl - p) + 1 : len;
	}
	/* Each turn consumes at least one line. */
	while (i < len && p[i] != '\n' && !(p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')) {
		size_t s = i, e;

		do {
			const char *nl = memchr(p + i, '\n', len - i);

			i = nl ? (size_t)(nl - p) + 1 : len;
		} while (i < len && (p[i] == ' ' || p[i] == '\t'));
		e = i;
		if (e > s && p[e - 1] == '\n')
			e--;
		if (e > s && p[e - 1] == '\r')
			e--;
		fn(arg, p + s, e - s);
	}
	if (i < len && p[i] == '\r')
		i++;
	return i < len ? i + 1 : len;
}

static const char *hdr_ptr(const struct dkim *dk, size_t i)
{
	return dk->raw.data + dk->h[i].off;
}

size_t dkim_nheaders(const struct dkim *dk)
{
	return dk->nh;
}

const char *dkim_header_at(const struct dkim *dk, size_t i, size_t *len)
{
	*len = dk->h[i].len;
	return hdr_ptr(dk, i);
}

int dkim_header_is(const struct dkim *dk, size_t i, const char *n)
{
	const char *f = hdr_ptr(dk, i);
	size_t len = dk->h[i].len, nl = strlen(n), k = nl;

	if (len <= nl || strncasecmp(f, n, nl) != 0)
		return 0;
	while (k < len && is_wsp(f[k]))
		k++;
	return k < len && f[k] == ':';
}

static void finish(struct one *o, enum dkim_result r, const char *why)
{
	o->res.result = r;
	snprintf(o->res.reason, sizeof(o->res.reason), "%s", why ? why : "");
	o->done = 1;
}

static void emit_body(void *arg, const char *p, size_t len)
{
	struct one *o = arg;

	if (o->sig.has_l) {
		uint64_t room = o->sig.l > o->hashed ? o->sig.l - o->hashed : 0;

		if (len > room)
			len = (size_t)room;
	}
	if (len > 0)
		EVP_DigestUpdate(o->bh, p, len);
	o->hashed += len;
}

/*
 * The header hash: the fields h= names, each the lowest not yet used of its name (RFC 6376
 * section 5.4.2), or a seal's list, then the signature field with b= emptied and no final
 * CRLF.
 */
static void hash_headers(struct dkim *dk, struct one *o, size_t self)
{
	size_t last[DKIM_HNAMES_MAX];
	struct sbuf c;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const char *f = hdr_ptr(dk, self);
	size_t colon = (size_t)((const char *)memchr(f, ':', dk->h[self].len) - f);
	unsigned int n = 0;

	sbuf_init(&c);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (int k = 0; k < o->nlist; k++) {
		sbuf_reset(&c);
		dkim_hcanon(DKIM_RELAXED, hdr_ptr(dk, o->list[k]), dk->h[o->list[k]].len, 0, &c);
		EVP_DigestUpdate(md, c.data, c.len);
	}
	for (int k = 0; k < o->sig.nh; k++) {
		size_t i = dk->nh;

		/* The same name again continues upwards from where it stopped. */
		for (int j = 0; j < k; j++)
			if (strcmp(dkim_sig_hname(&o->sig, j), dkim_sig_hname(&o->sig, k)) == 0)
				i = last[j];
		last[k] = 0;
		while (i > 0) {
			i--;
			if (dkim_header_is(dk, i, dkim_sig_hname(&o->sig, k))) {
				sbuf_reset(&c);
				dkim_hcanon(o->sig.hcanon, hdr_ptr(dk, i), dk->h[i].len, 0, &c);
				EVP_DigestUpdate(md, c.data, c.len);
				break;
			}
		}
		last[k] = i;
	}
	/* The signature itself, b= value cut out (offsets are within its value). */
	sbuf_reset(&c);
	{
		struct sbuf cut;
		size_t vb = colon + 1;

		sbuf_init(&cut);
		sbuf_append(&cut, f, vb + o->sig.b_off);
		sbuf_append(&cut, f + vb + o->sig.b_end, dk->h[self].len - vb - o->sig.b_end);
		dkim_hcanon(o->sig.hcanon, cut.data, cut.len, 1, &c);
		sbuf_free(&cut);
	}
	EVP_DigestUpdate(md, c.data, c.len);
	EVP_DigestFinal_ex(md, o->hhash, &n);
	EVP_MD_CTX_free(md);
	sbuf_free(&c);
}

static void report(struct dkim *dk)
{
	if (dk->reported || !dk->eom || dk->pending > 0)
		return;
	dk->reported = 1;
	if (dk->done)
		dk->done(dk->arg, dk);
}

static void verify_one(struct one *o);

static void on_key(void *arg, enum dkim_dns st, const char *txt, size_t len)
{
	struct one *o = arg;
	struct dkim *dk = o->dk;
	char err[96];

	dk->pending--;
	if (dk->orphan) {
		if (dk->pending == 0)
			dkim_release(dk);
		return;
	}
	if (st == DKIM_DNS_TEMPFAIL) {
		finish(o, DKIM_TEMPERROR, "key lookup failed");
	} else if (st == DKIM_DNS_NOTFOUND) {
		finish(o, DKIM_PERMERROR, "no key");
	} else if (dkim_key_parse(txt, len, &o->key, err, sizeof(err)) < 0) {
		finish(o, DKIM_PERMERROR, err);
	} else {
		o->key_ok = 1;
		o->res.testing = o->key.testing;
		if (dk->eom)
			verify_one(o);
	}
	report(dk);
}

int dkim_add(struct dkim *dk, size_t i, enum dkim_kind kind, const size_t *list, int n)
{
	struct one *o;
	const char *f = hdr_ptr(dk, i), *colon = memchr(f, ':', dk->h[i].len);
	char err[96];
	enum dkim_result pr;
	size_t vlen;

	if (dk->nsig == DKIM_FIELDS_MAX || colon == NULL)
		return -1;
	o = dk->sig[dk->nsig] = xcalloc(1, sizeof(*o));
	o->dk = dk;
	if (n > 0) {
		o->list = xcalloc((size_t)n, sizeof(*o->list));
		memcpy(o->list, list, (size_t)n * sizeof(*list));
		o->nlist = n;
	}
	vlen = dk->h[i].len - (size_t)(colon + 1 - f);
	pr = kind == DKIM_KIND_SIG ? dkim_sig_parse(colon + 1, vlen, dk->p.now, dk->p.jitter,
	                                            &o->sig, err, sizeof(err))
	                           : dkim_arc_parse(kind, colon + 1, vlen, dk->p.now, dk->p.jitter,
	                                            &o->sig, err, sizeof(err));
	memcpy(o->res.domain, o->sig.d, sizeof(o->res.domain));
	memcpy(o->res.selector, o->sig.s, sizeof(o->res.selector));
	if (pr != DKIM_PASS) {
		finish(o, pr, err);
	} else if (dk->overflow) {
		finish(o, DKIM_PERMERROR, "too many header fields");
	} else {
		hash_headers(dk, o, i);
		/* A seal has no body hash. */
		if (kind != DKIM_KIND_SEAL) {
			o->bh = EVP_MD_CTX_new();
			EVP_DigestInit_ex(o->bh, EVP_sha256(), NULL);
			dkim_bcanon_init(&o->bc, o->sig.bcanon, emit_body, o);
		}
	}
	return dk->nsig++;
}

void dkim_eoh(struct dkim *dk, const struct dkim_resolver *r, dkim_done_cb *done, void *arg)
{
	int seen = 0;

	for (size_t i = 0; i < dk->nh && seen < dk->p.max_sigs; i++)
		if (dkim_header_is(dk, i, "dkim-signature")) {
			seen++;
			dkim_add(dk, i, DKIM_KIND_SIG, NULL, 0);
		}
	dkim_start(dk, r, done, arg);
}

void dkim_start(struct dkim *dk, const struct dkim_resolver *r, dkim_done_cb *done, void *arg)
{
	dk->done = done;
	dk->arg = arg;
	/* Ask for the keys last: an answer from a cache may come before lookup() returns. */
	for (int k = 0; k < dk->nsig; k++) {
		struct one *o = dk->sig[k];
		char name[DKIM_SELECTOR_MAX + DKIM_DOMAIN_MAX + 16];

		if (o->done)
			continue;
		snprintf(name, sizeof(name), "%s._domainkey.%s", o->sig.s, o->sig.d);
		if (strlen(name) > 253) {
			finish(o, DKIM_PERMERROR, "key name too long");
			continue;
		}
		dk->pending++;
		r->lookup(r->ctx, name, on_key, o);
	}
}

void dkim_body(struct dkim *dk, const char *p, size_t len)
{
	for (int k = 0; k < dk->nsig; k++)
		if (dk->sig[k]->bh)
			dkim_bcanon_feed(&dk->sig[k]->bc, p, len);
}

static int rsa_verify(struct one *o, EVP_PKEY *pk)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);
	int ok = pc && EVP_PKEY_verify_init(pc) == 1 &&
	         EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
	         EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
	         EVP_PKEY_verify(pc, o->sig.b, o->sig.blen, o->hhash, sizeof(o->hhash)) == 1;

	EVP_PKEY_CTX_free(pc);
	return ok;
}

static int ed25519_verify(struct one *o, EVP_PKEY *pk)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
	         EVP_DigestVerify(md, o->sig.b, o->sig.blen, o->hhash, sizeof(o->hhash)) == 1;

	EVP_MD_CTX_free(md);
	return ok;
}

/* An RSA key: SubjectPublicKeyInfo as RFC 6376 says, or a bare PKCS#1 RSAPublicKey. */
static EVP_PKEY *rsa_key(const struct dkim_key *k)
{
	const unsigned char *pp = k->p;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &pp, (long)k->plen);

	if (pk && EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	if (pk == NULL) {
		pp = k->p;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &pp, (long)k->plen);
	}
	return pk;
}

/* The key is in and the body hashed: the verdict. */
static void verify_one(struct one *o)
{
	unsigned char bh[32];
	unsigned int n = 0;
	EVP_PKEY *pk = NULL;
	int ok, bits;

	if (o->done)
		return;
	if (o->key.revoked)
		return finish(o, DKIM_PERMERROR, "key revoked");
	if ((o->sig.alg == DKIM_ED25519_SHA256) != (o->key.k == DKIM_KEY_ED25519))
		return finish(o, DKIM_PERMERROR, "key type does not match a=");
	if (o->key.strict && o->sig.auid_domain[0] && strcmp(o->sig.auid_domain, o->sig.d) != 0)
		return finish(o, DKIM_PERMERROR, "i= not d= with key t=s");
	if (o->key.k == DKIM_KEY_ED25519) {
		if (o->key.plen != 32)
			return finish(o, DKIM_PERMERROR, "bad ed25519 key");
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, o->key.p, o->key.plen);
	} else {
		pk = rsa_key(&o->key);
	}
	if (pk == NULL)
		return finish(o, DKIM_PERMERROR, "bad key");
	bits = EVP_PKEY_get_bits(pk);
	if (o->bh)
		EVP_DigestFinal_ex(o->bh, bh, &n);
	/* An l= longer than the body: dkimpy and Rspamd hash the whole body, so do we. */
	if (o->bh && (n != o->sig.bhlen || memcmp(bh, o->sig.bh, n) != 0)) {
		EVP_PKEY_free(pk);
		return finish(o, DKIM_FAIL, "body hash mismatch");
	}
	ok = o->key.k == DKIM_KEY_ED25519 ? ed25519_verify(o, pk) : rsa_verify(o, pk);
	EVP_PKEY_free(pk);
	if (!ok)
		return finish(o, DKIM_FAIL, "signature mismatch");
	if (o->key.k == DKIM_KEY_RSA && bits < 1024)
		return finish(o, DKIM_POLICY, "RSA key under 1024 bits (RFC 8301)");
	finish(o, DKIM_PASS, NULL);
}

void dkim_eom(struct dkim *dk)
{
	if (dk->eom)
		return;
	dk->eom = 1;
	for (int k = 0; k < dk->nsig; k++) {
		struct one *o = dk->sig[k];

		if (o->bh)
			dkim_bcanon_end(&o->bc);
		if (o->key_ok)
			verify_one(o);
	}
	report(dk);
}

int dkim_done(const struct dkim *dk)
{
	return dk->reported;
}

int dkim_nresults(const struct dkim *dk)
{
	return dk->nsig;
}

const struct dkim_sig_result *dkim_result(const struct dkim *dk, int i)
{
	return i >= 0 && i < dk->nsig ? &dk->sig[i]->res : NULL;
}

const char *dkim_result_str(enum dkim_result r)
{
	switch (r) {
	case DKIM_PASS:
		return "pass";
	case DKIM_FAIL:
		return "fail";
	case DKIM_TEMPERROR:
		return "temperror";
	case DKIM_PERMERROR:
		return "permerror";
	case DKIM_POLICY:
		return "policy";
	}
	return "?";
}

void dkim_symbols(const struct dkim *dk, dkim_symbol_fn *fn, void *arg)
{
	if (dk->nsig == 0) {
		fn(arg, "R_DKIM_NA", NULL);
		return;
	}
	for (int k = 0; k < dk->nsig; k++) {
		const struct dkim_sig_result *r = &dk->sig[k]->res;
		const char *sym = "R_DKIM_PERMFAIL";
		char opt[DKIM_DOMAIN_MAX + DKIM_SELECTOR_MAX + 8], trace[DKIM_DOMAIN_MAX + 4];
		char t = '~';

		if (!dk->sig[k]->done)
			continue;
		if (r->result == DKIM_PASS) {
			sym = "R_DKIM_ALLOW";
			t = '+';
		} else if (r->result == DKIM_FAIL) {
			sym = "R_DKIM_REJECT";
			t = '-';
		} else if (r->result == DKIM_TEMPERROR) {
			sym = "R_DKIM_TEMPFAIL";
			t = '?';
		}
		/* A signature without a usable d= names nobody: the symbol alone. */
		if (r->domain[0] == '\0') {
			fn(arg, sym, NULL);
			continue;
		}
		snprintf(opt, sizeof(opt), "%s:s=%s", r->domain, r->selector);
		snprintf(trace, sizeof(trace), "%s:%c", r->domain, t);
		fn(arg, sym, opt);
		fn(arg, "DKIM_TRACE", trace);
	}
}
