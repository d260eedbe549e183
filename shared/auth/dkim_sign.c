/*
 * dkim_sign - DKIM signatures for outgoing mail; see dkim_sign.h.
 *
 * The signed-header list and its over-signing are Rspamd's: a name marked
 * (o) is listed once more than it occurs, so a field of that name added in
 * transit breaks the signature even when the message had none; (x) does
 * the same only for names present; the others are listed as often as they
 * occur. Fields are hashed bottom-up per name (RFC 6376 section 5.4.2).
 * Canonicalization is the verifier's own (dkim_canon.c), so the signer and
 * the verifier cannot disagree on it.
 */
#include "config.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/arc.h"
#include "auth/dkim_sign.h"
#include "core/domain.h"
#include "core/mem.h"
#include "core/sbuf.h"

enum over { PLAIN, ALWAYS, PRESENT };

/* Rspamd's default_sign_headers: (o) ALWAYS, (x) PRESENT. */
static const struct {
	const char *name;
	enum over over;
} sign_list[] = {
    {"from", ALWAYS},
    {"sender", PRESENT},
    {"reply-to", ALWAYS},
    {"subject", ALWAYS},
    {"date", PRESENT},
    {"message-id", PRESENT},
    {"to", ALWAYS},
    {"cc", ALWAYS},
    {"mime-version", PRESENT},
    {"content-type", PRESENT},
    {"content-transfer-encoding", PRESENT},
    {"resent-to", PLAIN},
    {"resent-cc", PLAIN},
    {"resent-from", PLAIN},
    {"resent-sender", PLAIN},
    {"resent-message-id", PLAIN},
    {"in-reply-to", PRESENT},
    {"references", PRESENT},
    {"list-id", PLAIN},
    {"list-help", PLAIN},
    {"list-owner", PLAIN},
    {"list-unsubscribe", PLAIN},
    {"list-unsubscribe-post", PLAIN},
    {"list-subscribe", PLAIN},
    {"list-post", PLAIN},
    {"openpgp", PRESENT},
    {"autocrypt", PRESENT},
};

#define NLIST (int)(sizeof(sign_list) / sizeof(sign_list[0]))
#define COLUMNS 78 /* a ';' may follow a line's last word: lines fill to 77 before it */

/* ARC fields are kept too, for the seal, as names past the list: NLIST + ARC_KIND_*. */
static const char *const arc_names[] = {"ARC-Authentication-Results", "ARC-Message-Signature",
                                        "ARC-Seal"};

struct field {
	int name;    /* index in sign_list, or NLIST + ARC_KIND_* */
	char *canon; /* relaxed form, with CRLF */
	char *value; /* as given, for the From domain */
};

struct dkim_sign {
	struct field f[DKIM_SIGN_FIELDS];
	int n;
	size_t bytes;
	int overflow;           /* a limit was passed: not signed */
	int narc, arc_overflow; /* ARC fields, and more than ARC_MAX_FIELDS: not sealed */
	EVP_MD_CTX *bh;
	struct dkim_bcanon bc;
	int body_done;
	unsigned char bhash[32];
};

static int list_index(const char *name, size_t nlen)
{
	for (int i = 0; i < NLIST; i++)
		if (strlen(sign_list[i].name) == nlen &&
		    strncasecmp(sign_list[i].name, name, nlen) == 0)
			return i;
	for (int i = 0; i < 3; i++)
		if (strlen(arc_names[i]) == nlen && strncasecmp(arc_names[i], name, nlen) == 0)
			return NLIST + i;
	return -1;
}

static void emit_body(void *arg, const char *p, size_t len)
{
	EVP_DigestUpdate(arg, p, len);
}

struct dkim_sign *dkim_sign_new(void)
{
	struct dkim_sign *s = xcalloc(1, sizeof(*s));

	s->bh = EVP_MD_CTX_new();
	if (s->bh == NULL || EVP_DigestInit_ex(s->bh, EVP_sha256(), NULL) != 1)
		s->overflow = 1;
	dkim_bcanon_init(&s->bc, DKIM_RELAXED, emit_body, s->bh);
	return s;
}

void dkim_sign_free(struct dkim_sign *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->n; i++) {
		free(s->f[i].canon);
		free(s->f[i].value);
	}
	EVP_MD_CTX_free(s->bh);
	free(s);
}

/* The relaxed form of name: value, NUL-terminated. */
static char *canon_of(const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct sbuf raw, out;
	char *r;

	sbuf_init(&raw);
	sbuf_init(&out);
	sbuf_append(&raw, name, nlen);
	sbuf_putc(&raw, ':');
	sbuf_append(&raw, value, vlen);
	dkim_hcanon(DKIM_RELAXED, raw.data, raw.len, 0, &out);
	r = xstrdup(sbuf_cstr(&out));
	sbuf_free(&raw);
	sbuf_free(&out);
	return r;
}

void dkim_sign_header(struct dkim_sign *s, const char *name, size_t nlen, const char *value,
                      size_t vlen)
{
	int k = list_index(name, nlen);
	struct field *f;

	if (k < 0 || s->overflow)
		return;
	/* More ARC fields than a chain may have: no seal, but the DKIM signature is unharmed. */
	if (k >= NLIST && ++s->narc > ARC_MAX_FIELDS) {
		s->arc_overflow = 1;
		return;
	}
	if (s->n == DKIM_SIGN_FIELDS || vlen > DKIM_SIGN_BYTES - s->bytes) {
		s->overflow = 1;
		return;
	}
	f = &s->f[s->n++];
	f->name = k;
	f->canon = canon_of(name, nlen, value, vlen);
	f->value = xmalloc(vlen + 1);
	memcpy(f->value, value, vlen);
	f->value[vlen] = '\0';
	s->bytes += vlen + nlen;
}

void dkim_sign_change(struct dkim_sign *s, const char *name, int idx, const char *value)
{
	int k = list_index(name, strlen(name)), seen = 0;

	if (k < 0)
		return;
	for (int i = 0; i < s->n; i++) {
		if (s->f[i].name != k || ++seen != idx)
			continue;
		free(s->f[i].canon);
		free(s->f[i].value);
		s->f[i].canon = canon_of(name, strlen(name), value, strlen(value));
		s->f[i].value = xstrdup(value);
		return;
	}
	/* Postfix adds the field when there is no such one. */
	dkim_sign_header(s, name, strlen(name), value, strlen(value));
}

void dkim_sign_body(struct dkim_sign *s, const char *p, size_t len)
{
	if (!s->body_done)
		dkim_bcanon_feed(&s->bc, p, len);
}

void dkim_esld(const char *host, size_t len, char *out, size_t size)
{
	char name[DKIM_DOMAIN_MAX + 1];
	const char *reg;
	const psl_ctx_t *psl = domain_psl();
	size_t i;

	if (len > DKIM_DOMAIN_MAX)
		len = DKIM_DOMAIN_MAX;
	for (i = 0; i < len; i++)
		name[i] = host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i];
	while (i > 0 && name[i - 1] == '.')
		i--;
	name[i] = '\0';
	reg = psl ? psl_registrable_domain(psl, name) : NULL;
	snprintf(out, size, "%s", reg ? reg : name);
}

/*
 * The domain of the address in a From value: within <> when there are any, else the
 * last '@' word. Comments and display names with '@' in quotes are the rare cases this
 * reads wrong; such a message goes out unsigned, never signed for a domain it is not from.
 */
static int from_host(const char *v, const char **host, size_t *len)
{
	const char *lt = strrchr(v, '<'), *at, *end;

	if (lt) {
		end = strchr(lt, '>');
		if (end == NULL)
			return -1;
	} else {
		lt = v;
		end = v + strlen(v);
	}
	at = NULL;
	for (const char *p = lt; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return -1;
	*host = at + 1;
	*len = strcspn(*host, "> \t\r\n(),;\"");
	if ((size_t)(end - *host) < *len)
		*len = (size_t)(end - *host);
	return *len > 0 && *len <= DKIM_DOMAIN_MAX ? 0 : -1;
}

int dkim_sign_domain(const struct dkim_sign *s, char *out, size_t size, char *err, size_t errlen)
{
	const struct field *from = NULL;
	const char *host;
	size_t len;
	int nfrom = 0;

	if (s->overflow) {
		snprintf(err, errlen, "more than %d signed header fields or %d bytes of them",
		         DKIM_SIGN_FIELDS, DKIM_SIGN_BYTES);
		return -1;
	}
	for (int i = 0; i < s->n; i++)
		if (s->f[i].name == 0 && nfrom++ == 0)
			from = &s->f[i];
	if (nfrom != 1) {
		snprintf(err, errlen, nfrom ? "%d From header fields" : "no From header field",
		         nfrom);
		return -1;
	}
	if (from_host(from->value, &host, &len) < 0) {
		snprintf(err, errlen, "no domain in the From header field");
		return -1;
	}
	dkim_esld(host, len, out, size);
	return 0;
}

/*
 * Append sep and a word to out, or a fold instead of sep when the word would pass
 * COLUMNS; col tracks the column (a fold's TAB counts as 8).
 */
static void put_word(struct sbuf *out, int *col, const char *fold, const char *sep, const char *w,
                     size_t len)
{
	if (*col + (int)(strlen(sep) + len) > COLUMNS - 1 && *col > 8) {
		sbuf_puts(out, fold);
		*col = 8;
	} else {
		sbuf_puts(out, sep);
		*col += (int)strlen(sep);
	}
	sbuf_append(out, w, len);
	*col += (int)len;
}

/* Base64 (or any unbroken text) split across lines as it fills them. */
static void put_long(struct sbuf *out, int *col, const char *fold, const char *p, size_t len)
{
	while (len > 0) {
		size_t room = *col < COLUMNS - 1 ? (size_t)(COLUMNS - 1 - *col) : 0;

		if (room == 0) {
			sbuf_puts(out, fold);
			*col = 8;
			continue;
		}
		if (room > len)
			room = len;
		sbuf_append(out, p, room);
		*col += (int)room;
		p += room;
		len -= room;
	}
}

static void b64(const unsigned char *p, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)len);
}

/* The h= names: each present name once per field, plus once more as Rspamd over-signs. */
static void header_names(const struct dkim_sign *s, struct sbuf *h)
{
	for (int k = 0; k < NLIST; k++) {
		int count = 0, times;

		for (int i = 0; i < s->n; i++)
			count += s->f[i].name == k;
		times = count;
		if (sign_list[k].over == ALWAYS || (sign_list[k].over == PRESENT && count > 0))
			times++;
		while (times-- > 0) {
			if (h->len > 0)
				sbuf_putc(h, ':');
			sbuf_puts(h, sign_list[k].name);
		}
	}
}

/* Hash the fields h= names, bottom-up per name; a name listed past its fields adds nothing. */
static void hash_fields(const struct dkim_sign *s, EVP_MD_CTX *md)
{
	for (int k = 0; k < NLIST; k++) {
		for (int i = s->n - 1; i >= 0; i--)
			if (s->f[i].name == k)
				EVP_DigestUpdate(md, s->f[i].canon, strlen(s->f[i].canon));
	}
}

/* Sign the header hash: RSA PKCS#1 v1.5 over SHA-256, or Ed25519 over the hash (RFC 8463). */
static int sign_hash(const struct dkim_signkey *key, const unsigned char *hash, unsigned char *sig,
                     size_t *slen)
{
	int ok = 0;

	if (key->k == DKIM_KEY_RSA) {
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key->pkey, NULL);

		ok = pc && EVP_PKEY_sign_init(pc) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
		     EVP_PKEY_sign(pc, sig, slen, hash, 32) == 1;
		EVP_PKEY_CTX_free(pc);
	} else {
		EVP_MD_CTX *mc = EVP_MD_CTX_new();

		ok = mc && EVP_DigestSignInit(mc, NULL, NULL, NULL, key->pkey) == 1 &&
		     EVP_DigestSign(mc, sig, slen, hash, 32) == 1;
		EVP_MD_CTX_free(mc);
	}
	return ok ? 0 : -1;
}

/*
 * A DKIM-Signature (itag NULL) or an ARC-Message-Signature (itag "i=N;", RFC 8617 4.1.2):
 * the same tags and hash, the AMS without v=.
 */
static int make_sig(struct dkim_sign *s, const struct dkim_signkey *key, const char *fname,
                    const char *itag, int64_t now, int64_t expire, const char *fold,
                    struct sbuf *out, char *err, size_t errlen)
{
	struct sbuf h, tags, pre;
	EVP_MD_CTX *md;
	unsigned char hash[32], sig[DKIM_SIG_BYTES];
	char bh[64], b[DKIM_SIG_BYTES * 2];
	size_t slen = sizeof(sig);
	unsigned n;
	int col = (int)strlen(fname) + 2, rc = -1;
	const char *p, *e;
	size_t start = out->len;

	if (s->overflow || key->pkey == NULL) {
		snprintf(err, errlen, s->overflow ? "too many header fields to sign" : "no key");
		return -1;
	}
	if (!s->body_done) {
		dkim_bcanon_end(&s->bc);
		EVP_DigestFinal_ex(s->bh, s->bhash, &n);
		s->body_done = 1;
	}
	b64(s->bhash, 32, bh);
	sbuf_init(&h);
	sbuf_init(&tags);
	sbuf_init(&pre);
	header_names(s, &h);
	sbuf_printf(&tags, "%s a=%s; c=relaxed/relaxed; d=%s; s=%s; t=%lld;", itag ? itag : "v=1;",
	            key->k == DKIM_KEY_RSA ? "rsa-sha256" : "ed25519-sha256", key->domain,
	            key->selector, (long long)now);
	if (expire > 0)
		sbuf_printf(&tags, " x=%lld;", (long long)(now + expire));
	/* The tags word by word, h= broken after its colons, bh= and b= anywhere. */
	for (p = sbuf_cstr(&tags); *p; p = e + (*e == ' ')) {
		e = p + strcspn(p, " ");
		put_word(out, &col, fold, out->len > start ? " " : "", p, (size_t)(e - p));
	}
	put_word(out, &col, fold, " ", "h=", 2);
	for (p = sbuf_cstr(&h); *p; p = e + (*e == ':')) {
		e = p + strcspn(p, ":");
		put_word(out, &col, fold, "", p, (size_t)(e - p) + (*e == ':'));
	}
	sbuf_putc(out, ';');
	col++;
	put_word(out, &col, fold, " ", "bh=", 3);
	put_long(out, &col, fold, bh, strlen(bh));
	sbuf_putc(out, ';');
	col++;
	put_word(out, &col, fold, " ", "b=", 2);
	/* The signature covers this field with b= empty and no CRLF at its end. */
	sbuf_reset(&pre);
	sbuf_printf(&pre, "%s:", fname);
	sbuf_append(&pre, out->data + start, out->len - start);
	sbuf_reset(&h);
	dkim_hcanon(DKIM_RELAXED, pre.data, pre.len, 1, &h);
	md = EVP_MD_CTX_new();
	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
		hash_fields(s, md);
		EVP_DigestUpdate(md, h.data, h.len);
		EVP_DigestFinal_ex(md, hash, &n);
		if (sign_hash(key, hash, sig, &slen) == 0) {
			b64(sig, slen, b);
			put_long(out, &col, fold, b, strlen(b));
			rc = 0;
		}
	}
	if (rc < 0)
		snprintf(err, errlen, "the %s key of %s would not sign",
		         key->k == DKIM_KEY_RSA ? "RSA" : "Ed25519", key->domain);
	EVP_MD_CTX_free(md);
	sbuf_free(&h);
	sbuf_free(&tags);
	sbuf_free(&pre);
	return rc;
}

int dkim_sign_make(struct dkim_sign *s, const struct dkim_signkey *key, int64_t now, int64_t expire,
                   const char *fold, struct sbuf *out, char *err, size_t errlen)
{
	return make_sig(s, key, "DKIM-Signature", NULL, now, expire, fold, out, err, errlen);
}

/*
 * ARC sealing (RFC 8617 section 5.1). The chain as received must be whole: instances
 * 1..N each with exactly one of the three fields, else nothing is added (a seal over a
 * broken chain would say nothing a verifier could use).
 */
struct arcset {
	int f[3]; /* index in s->f + 1 of the AAR, AMS and seal; 0: missing */
	enum dkim_cv cv;
};

static int arc_chain(const struct dkim_sign *s, struct arcset *sets, char *err, size_t errlen)
{
	int top = 0;

	for (int i = 0; i < s->n; i++) {
		int kind = s->f[i].name - NLIST, inst;
		enum dkim_cv cv = DKIM_CV_FAIL;
		char d[DKIM_DOMAIN_MAX + 1] = "";
		const char *v = s->f[i].value;

		if (kind < 0)
			continue;
		inst = kind == 0 ? arc_aar_instance(v, strlen(v))
		                 : arc_tag_instance(v, strlen(v), &cv, d);
		if (inst < 0 || sets[inst].f[kind]) {
			snprintf(err, errlen, "the ARC chain as received is malformed (%s)",
			         arc_names[kind]);
			return -1;
		}
		sets[inst].f[kind] = i + 1;
		if (kind == 2)
			sets[inst].cv = cv;
		if (inst > top)
			top = inst;
	}
	for (int i = 1; i <= top; i++)
		if (!sets[i].f[0] || !sets[i].f[1] || !sets[i].f[2]) {
			snprintf(err, errlen, "the ARC chain as received has no complete set i=%d",
			         i);
			return -1;
		}
	if (top > 0 && sets[top].cv == DKIM_CV_FAIL) {
		snprintf(err, errlen, "the ARC chain already failed at i=%d (cv=fail)", top);
		return -1;
	}
	if (top >= ARC_MAX_SETS) {
		snprintf(err, errlen, "the ARC chain has %d sets already", top);
		return -1;
	}
	return top;
}

/* The ARC-Seal: its tags, then b= over every set in order, this one's seal last, b= empty. */
static int make_seal(const struct dkim_sign *s, const struct dkim_signkey *key, int n,
                     const struct arcset *sets, const char *cv, const char *aar, const char *ams,
                     int64_t now, const char *fold, struct sbuf *out)
{
	struct sbuf tags, pre, h;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char hash[32], sig[DKIM_SIG_BYTES];
	char b[DKIM_SIG_BYTES * 2], *c;
	size_t slen = sizeof(sig);
	unsigned hn;
	int col = (int)strlen("ARC-Seal: "), rc = -1;
	const char *p, *e;
	size_t start = out->len;

	sbuf_init(&tags);
	sbuf_init(&pre);
	sbuf_init(&h);
	sbuf_printf(&tags, "i=%d; a=%s; t=%lld; cv=%s; d=%s; s=%s; b=", n,
	            key->k == DKIM_KEY_RSA ? "rsa-sha256" : "ed25519-sha256", (long long)now, cv,
	            key->domain, key->selector);
	for (p = sbuf_cstr(&tags); *p; p = e + (*e == ' ')) {
		e = p + strcspn(p, " ");
		put_word(out, &col, fold, out->len > start ? " " : "", p, (size_t)(e - p));
	}
	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
		for (int i = 1; i < n; i++)
			for (int k = 0; k < 3; k++) {
				c = s->f[sets[i].f[k] - 1].canon;
				EVP_DigestUpdate(md, c, strlen(c));
			}
		c = canon_of("ARC-Authentication-Results", 26, aar, strlen(aar));
		EVP_DigestUpdate(md, c, strlen(c));
		free(c);
		c = canon_of("ARC-Message-Signature", 21, ams, strlen(ams));
		EVP_DigestUpdate(md, c, strlen(c));
		free(c);
		sbuf_puts(&pre, "ARC-Seal:");
		sbuf_append(&pre, out->data + start, out->len - start);
		dkim_hcanon(DKIM_RELAXED, pre.data, pre.len, 1, &h);
		EVP_DigestUpdate(md, h.data, h.len);
		EVP_DigestFinal_ex(md, hash, &hn);
		if (sign_hash(key, hash, sig, &slen) == 0) {
			b64(sig, slen, b);
			put_long(out, &col, fold, b, strlen(b));
			rc = 0;
		}
	}
	EVP_MD_CTX_free(md);
	sbuf_free(&tags);
	sbuf_free(&pre);
	sbuf_free(&h);
	return rc;
}

int dkim_sign_arc(struct dkim_sign *s, const struct dkim_signkey *key, const char *results,
                  enum arc_status chain, int64_t now, const char *fold, struct sbuf *out, char *err,
                  size_t errlen)
{
	struct arcset *sets = xcalloc(ARC_MAX_SETS + 1, sizeof(*sets));
	char itag[16];
	int n = -1, top;

	if (s->overflow || s->arc_overflow) {
		snprintf(err, errlen,
		         s->overflow ? "too many header fields to seal"
		                     : "more than %d ARC header fields",
		         ARC_MAX_FIELDS);
	} else if ((top = arc_chain(s, sets, err, errlen)) < 0) {
		/* err says why */
	} else if (top > 0 && chain == ARC_NONE) {
		snprintf(err, errlen, "the ARC chain as received was not verified");
	} else {
		n = top + 1;
		snprintf(itag, sizeof(itag), "i=%d;", n);
		sbuf_printf(&out[0], "%s %s", itag, results);
		if (make_sig(s, key, "ARC-Message-Signature", itag, now, 0, fold, &out[1], err,
		             errlen) < 0 ||
		    make_seal(s, key, n, sets,
		              top == 0            ? "none"
		              : chain == ARC_PASS ? "pass"
		                                  : "fail",
		              sbuf_cstr(&out[0]), sbuf_cstr(&out[1]), now, fold, &out[2]) < 0) {
			snprintf(err, errlen, "the %s key of %s would not seal",
			         key->k == DKIM_KEY_RSA ? "RSA" : "Ed25519", key->domain);
			n = -1;
		}
	}
	free(sets);
	return n;
}
