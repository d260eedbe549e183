/*
 * dkim_parse - the DKIM tag-lists: the DKIM-Signature field (RFC 6376
 * sections 3.2, 3.5 and the checks of 6.1.1, with RFC 8301's refusal of
 * rsa-sha1), ARC's two signature fields (RFC 8617 section 4.1) and the
 * key record (section 3.6.1); see dkim.h.
 *
 * Strict, as the ABNF says: a tag-list of at most DKIM_TAGLIST_MAX bytes
 * and DKIM_TAGS_MAX tags, no duplicate tag, base64 with nothing but
 * folding whitespace inside, domains of letters, digits, '-' and '_'.
 * Values point into the caller's text; nothing is allocated.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/dkim.h"

/* ---- tag-lists (RFC 6376 section 3.2) ---------------------------------- */

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* VALCHAR = %x21-3A / %x3C-7E: printable ASCII but ';'. */
static int is_valchar(char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

/* Skip FWS: WSP, and CRLF (or LF) only when WSP follows it. */
static size_t skip_fws(const char *s, size_t len, size_t i)
{
	for (;;) {
		if (i < len && is_wsp(s[i])) {
			i++;
		} else if (i + 2 < len && s[i] == '\r' && s[i + 1] == '\n' && is_wsp(s[i + 2])) {
			i += 3;
		} else if (i + 1 < len && s[i] == '\n' && is_wsp(s[i + 1])) {
			i += 2;
		} else {
			return i;
		}
	}
}

int dkim_taglist_parse(const char *s, size_t len, struct dkim_taglist *tl, char *err, size_t errlen)
{
	size_t i = 0;

	tl->n = 0;
	if (len > DKIM_TAGLIST_MAX) {
		snprintf(err, errlen, "tag-list longer than %d bytes", DKIM_TAGLIST_MAX);
		return -1;
	}
	/* Each round consumes at least one byte or returns: the loop ends at len. */
	while (i < len) {
		struct dkim_tag *t;
		size_t n0, v0, vend;

		i = skip_fws(s, len, i);
		if (i == len)
			break;
		if (!is_alpha(s[i])) {
			snprintf(err, errlen, "bad tag name at byte %zu", i);
			return -1;
		}
		n0 = i;
		while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_'))
			i++;
		if (tl->n == DKIM_TAGS_MAX) {
			snprintf(err, errlen, "more than %d tags", DKIM_TAGS_MAX);
			return -1;
		}
		t = &tl->t[tl->n];
		t->name = s + n0;
		t->nlen = i - n0;
		i = skip_fws(s, len, i);
		if (i == len || s[i] != '=') {
			snprintf(err, errlen, "tag %.*s without '='", (int)t->nlen, t->name);
			return -1;
		}
		t->eq = s + i + 1;
		i = skip_fws(s, len, i + 1);
		v0 = vend = i;
		/* tag-value: VALCHARs, with FWS only between them. */
		while (i < len && s[i] != ';') {
			size_t j = skip_fws(s, len, i);

			if (j > i) {
				i = j;
				continue;
			}
			if (!is_valchar(s[i])) {
				snprintf(err, errlen, "bad byte 0x%02x in tag %.*s",
				         (unsigned char)s[i], (int)t->nlen, t->name);
				return -1;
			}
			vend = ++i;
		}
		t->val = s + v0;
		t->vlen = vend - v0;
		for (int k = 0; k < tl->n; k++)
			if (tl->t[k].nlen == t->nlen &&
			    memcmp(tl->t[k].name, t->name, t->nlen) == 0) {
				snprintf(err, errlen, "duplicate tag %.*s", (int)t->nlen, t->name);
				return -1;
			}
		tl->n++;
		if (i < len)
			i++; /* the ';' */
	}
	return 0;
}

static const struct dkim_tag *tag_get(const struct dkim_taglist *tl, const char *name)
{
	size_t nlen = strlen(name);

	for (int k = 0; k < tl->n; k++)
		if (tl->t[k].nlen == nlen && memcmp(tl->t[k].name, name, nlen) == 0)
			return &tl->t[k];
	return NULL;
}

static int tag_is(const struct dkim_tag *t, const char *v)
{
	return t->vlen == strlen(v) && memcmp(t->val, v, t->vlen) == 0;
}

static int tag_is_nocase(const struct dkim_tag *t, const char *v)
{
	return t->vlen == strlen(v) && strncasecmp(t->val, v, t->vlen) == 0;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict base64 with folding whitespace between characters (RFC 6376's base64string):
 * bytes into out (at most outlen); -1 on a bad character, bad padding or overflow.
 */
static int b64_decode(const char *s, size_t len, unsigned char *out, size_t outlen, size_t *n)
{
	unsigned acc = 0;
	int bits = 0, pad = 0, chars = 0;

	*n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int v;

		if (is_wsp(c) || c == '\r' || c == '\n')
			continue;
		chars++;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64_val(c)) < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (*n == outlen)
				return -1;
			out[(*n)++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (pad > 2 || chars % 4 != 0)
		return -1;
	return 0;
}

/* A decimal number of at most 18 digits (RFC 6376 allows 12 for times, 76 for l=). */
static int num_parse(const struct dkim_tag *t, int64_t *v)
{
	*v = 0;
	if (t->vlen == 0 || t->vlen > 18)
		return -1;
	for (size_t i = 0; i < t->vlen; i++) {
		if (!is_digit(t->val[i]))
			return -1;
		*v = *v * 10 + (t->val[i] - '0');
	}
	return 0;
}

/* A domain name: labels of letters, digits, '-' and '_', dots between; copied lower case. */
static int domain_copy1(const char *p, size_t len, char *out, size_t outlen)
{
	size_t label = 0;

	if (len == 0 || len >= outlen || len > DKIM_DOMAIN_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_') {
			if (++label > 63)
				return -1;
		} else {
			return -1;
		}
		out[i] = c >= 'A' && c <= 'Z' ? c + 32 : c;
	}
	out[len] = '\0';
	return label == 0 ? -1 : 0;
}

static int domain_copy(const char *p, size_t len, char *out, size_t outlen)
{
	if (domain_copy1(p, len, out, outlen) == 0)
		return 0;
	out[0] = '\0';
	return -1;
}

const char *dkim_sig_hname(const struct dkim_sig *sig, int k)
{
	return sig->hbuf + sig->hoff[k];
}

/* ---- DKIM-Signature (RFC 6376 sections 3.5 and 6.1.1) ------------------ */

static enum dkim_result perm(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return DKIM_PERMERROR;
}

static int parse_h(const struct dkim_tag *t, struct dkim_sig *sig)
{
	size_t i = 0, used = 0;
	int from = 0, seal = 0;

	sig->nh = 0;
	while (i <= t->vlen) {
		size_t j = i, n;

		while (j < t->vlen && t->val[j] != ':')
			j++;
		n = j;
		while (i < n && (is_wsp(t->val[i]) || t->val[i] == '\r' || t->val[i] == '\n'))
			i++;
		while (n > i &&
		       (is_wsp(t->val[n - 1]) || t->val[n - 1] == '\r' || t->val[n - 1] == '\n'))
			n--;
		/* hbuf holds the names and their NULs: never more than the value itself. */
		if (n == i || sig->nh == DKIM_HNAMES_MAX || used + (n - i) + 1 > sizeof(sig->hbuf))
			return -1;
		sig->hoff[sig->nh] = (uint16_t)used;
		for (size_t k = 0; k < n - i; k++) {
			char c = t->val[i + k];

			if (c <= 0x20 || c > 0x7e || c == ':')
				return -1;
			sig->hbuf[used++] = c >= 'A' && c <= 'Z' ? c + 32 : c;
		}
		sig->hbuf[used++] = '\0';
		from |= strcmp(dkim_sig_hname(sig, sig->nh), "from") == 0;
		seal |= strcmp(dkim_sig_hname(sig, sig->nh), "arc-seal") == 0;
		sig->nh++;
		i = j + 1;
	}
	/* RFC 8617 4.1.2: an AMS must not sign ARC-Seals (and no DKIM signer does). */
	return seal ? -3 : from ? 0 : -2;
}

static int parse_c(const struct dkim_tag *t, struct dkim_sig *sig)
{
	const char *slash = memchr(t->val, '/', t->vlen);
	size_t hl = slash ? (size_t)(slash - t->val) : t->vlen;
	struct dkim_tag h = {.val = t->val, .vlen = hl}, b;

	sig->hcanon = sig->bcanon = DKIM_SIMPLE;
	if (tag_is(&h, "relaxed"))
		sig->hcanon = DKIM_RELAXED;
	else if (!tag_is(&h, "simple"))
		return -1;
	if (slash == NULL)
		return 0;
	b.val = slash + 1;
	b.vlen = t->vlen - hl - 1;
	if (tag_is(&b, "relaxed"))
		sig->bcanon = DKIM_RELAXED;
	else if (!tag_is(&b, "simple"))
		return -1;
	return 0;
}

/* i= is [local-part] "@" domain; its domain must be d= or below it. */
static int parse_i(const struct dkim_tag *t, struct dkim_sig *sig)
{
	const char *at = NULL;
	size_t dl, sl = strlen(sig->d);

	for (size_t k = t->vlen; k > 0; k--)
		if (t->val[k - 1] == '@') {
			at = t->val + k - 1;
			break;
		}
	if (at == NULL)
		return -1;
	dl = t->vlen - (size_t)(at + 1 - t->val);
	if (domain_copy(at + 1, dl, sig->auid_domain, sizeof(sig->auid_domain)) < 0)
		return -1;
	if (dl < sl || strcmp(sig->auid_domain + dl - sl, sig->d) != 0)
		return -1;
	if (dl > sl && sig->auid_domain[dl - sl - 1] != '.')
		return -1;
	return 0;
}

static enum dkim_result check_times(const struct dkim_taglist *tl, int64_t now, int64_t jitter,
                                    struct dkim_sig *sig, char *err, size_t errlen)
{
	const struct dkim_tag *t;

	sig->t = sig->x = -1;
	if ((t = tag_get(tl, "t")) && num_parse(t, &sig->t) < 0)
		return perm(err, errlen, "bad t= tag");
	if ((t = tag_get(tl, "x")) && num_parse(t, &sig->x) < 0)
		return perm(err, errlen, "bad x= tag");
	if (sig->t >= 0 && sig->x >= 0 && sig->x < sig->t)
		return perm(err, errlen, "x= before t=");
	if (sig->x >= 0 && sig->x < now - jitter)
		return perm(err, errlen, "signature expired");
	if (sig->t >= 0 && sig->t > now + jitter)
		return perm(err, errlen, "signature from the future");
	return DKIM_PASS;
}

/* ARC's i=: the instance, 1 to DKIM_ARC_INSTANCES (RFC 8617 section 4.2.1). */
static int parse_instance(const struct dkim_tag *t, struct dkim_sig *sig)
{
	int64_t v;

	if (num_parse(t, &v) < 0 || v < 1 || v > DKIM_ARC_INSTANCES)
		return -1;
	sig->instance = (int)v;
	return 0;
}

static int parse_cv(const struct dkim_tag *t, struct dkim_sig *sig)
{
	if (tag_is_nocase(t, "none"))
		sig->cv = DKIM_CV_NONE;
	else if (tag_is_nocase(t, "pass"))
		sig->cv = DKIM_CV_PASS;
	else if (tag_is_nocase(t, "fail"))
		sig->cv = DKIM_CV_FAIL;
	else
		return -1;
	return 0;
}

/* The tags a kind must have, NULL-terminated. */
static const char *const *needed(enum dkim_kind kind)
{
	static const char *const sig[] = {"v", "a", "b", "bh", "d", "h", "s", NULL};
	static const char *const ams[] = {"i", "a", "b", "bh", "d", "h", "s", NULL};
	static const char *const seal[] = {"i", "a", "b", "cv", "d", "s", NULL};

	return kind == DKIM_KIND_SIG ? sig : kind == DKIM_KIND_AMS ? ams : seal;
}

/* What ARC adds to DKIM's tags, and takes away. */
static enum dkim_result arc_tags(enum dkim_kind kind, const struct dkim_taglist *tl,
                                 struct dkim_sig *sig, char *err, size_t errlen)
{
	if (parse_instance(tag_get(tl, "i"), sig) < 0)
		return perm(err, errlen, "bad i= tag");
	if (kind == DKIM_KIND_SEAL && parse_cv(tag_get(tl, "cv"), sig) < 0)
		return perm(err, errlen, "bad cv= tag");
	if (kind == DKIM_KIND_SEAL && tag_get(tl, "h"))
		return perm(err, errlen, "h= in ARC-Seal");
	/* A seal is relaxed (RFC 8617 5.1.1); an AMS without c= is too, as dkimpy reads it. */
	sig->hcanon = sig->bcanon = DKIM_RELAXED;
	return DKIM_PASS;
}

static enum dkim_result sig_parse(enum dkim_kind kind, const char *val, size_t len, int64_t now,
                                  int64_t jitter, struct dkim_sig *sig, char *err, size_t errlen)
{
	const char *const *need = needed(kind);
	struct dkim_taglist tl;
	const struct dkim_tag *t;
	int64_t l;
	int r;

	memset(sig, 0, sizeof(*sig));
	sig->t = sig->x = -1;
	if (dkim_taglist_parse(val, len, &tl, err, errlen) < 0)
		return DKIM_PERMERROR;
	for (size_t k = 0; need[k]; k++)
		if (tag_get(&tl, need[k]) == NULL) {
			snprintf(err, errlen, "no %s= tag", need[k]);
			return DKIM_PERMERROR;
		}
	t = tag_get(&tl, "d");
	if (domain_copy(t->val, t->vlen, sig->d, sizeof(sig->d)) < 0)
		return perm(err, errlen, "bad d= tag");
	t = tag_get(&tl, "s");
	if (t->vlen == 0 || t->vlen > DKIM_SELECTOR_MAX ||
	    domain_copy(t->val, t->vlen, sig->s, sizeof(sig->s)) < 0)
		return perm(err, errlen, "bad s= tag");
	if (kind == DKIM_KIND_SIG && !tag_is(tag_get(&tl, "v"), "1"))
		return perm(err, errlen, "v= is not 1");
	if (kind != DKIM_KIND_SIG && (r = arc_tags(kind, &tl, sig, err, errlen)) != DKIM_PASS)
		return (enum dkim_result)r;
	t = tag_get(&tl, "a");
	if (tag_is_nocase(t, "rsa-sha256"))
		sig->alg = DKIM_RSA_SHA256;
	else if (tag_is_nocase(t, "ed25519-sha256"))
		sig->alg = DKIM_ED25519_SHA256;
	else if (tag_is_nocase(t, "rsa-sha1"))
		sig->alg = DKIM_RSA_SHA1;
	else
		return perm(err, errlen, "unknown algorithm");
	if (kind != DKIM_KIND_SEAL && (t = tag_get(&tl, "c")) && parse_c(t, sig) < 0)
		return perm(err, errlen, "bad c= tag");
	if (kind != DKIM_KIND_SEAL && (r = parse_h(tag_get(&tl, "h"), sig)) < 0)
		return perm(err, errlen,
		            r == -2   ? "From not signed"
		            : r == -3 ? "ARC-Seal signed"
		                      : "bad h= tag");
	t = tag_get(&tl, "b");
	/*
	 * RFC 6376 3.7 deletes the value "including all surrounding whitespace": the FWS
	 * before it goes; any after it stays, as dkimpy has it (signers leave none there).
	 */
	sig->b_off = (size_t)(t->eq - val);
	sig->b_end = (size_t)(t->val - val) + t->vlen;
	if (b64_decode(t->val, t->vlen, sig->b, sizeof(sig->b), &sig->blen) < 0 || sig->blen == 0)
		return perm(err, errlen, "bad b= tag");
	t = tag_get(&tl, "bh");
	if (kind != DKIM_KIND_SEAL &&
	    (b64_decode(t->val, t->vlen, sig->bh, sizeof(sig->bh), &sig->bhlen) < 0 ||
	     sig->bhlen == 0))
		return perm(err, errlen, "bad bh= tag");
	if (kind == DKIM_KIND_SIG && (t = tag_get(&tl, "i")) && parse_i(t, sig) < 0)
		return perm(err, errlen, "i= not within d=");
	if ((t = tag_get(&tl, "l"))) {
		/* More than 18 digits is more than any body moat sees: the whole body. */
		if (t->vlen > 76 || t->vlen == 0)
			return perm(err, errlen, "bad l= tag");
		for (size_t k = 0; k < t->vlen; k++)
			if (!is_digit(t->val[k]))
				return perm(err, errlen, "bad l= tag");
		sig->has_l = 1;
		sig->l = num_parse(t, &l) == 0 ? (uint64_t)l : UINT64_MAX;
	}
	if ((t = tag_get(&tl, "q"))) {
		/* Colon-separated methods; dns/txt is the only one defined. */
		int ok = 0;

		for (size_t k = 0; k + 7 <= t->vlen; k++)
			if (memcmp(t->val + k, "dns/txt", 7) == 0 &&
			    (k == 0 || t->val[k - 1] == ':') &&
			    (k + 7 == t->vlen || t->val[k + 7] == ':'))
				ok = 1;
		if (!ok)
			return perm(err, errlen, "no dns/txt in q=");
	}
	if (check_times(&tl, now, jitter, sig, err, errlen) != DKIM_PASS)
		return DKIM_PERMERROR;
	if (sig->alg == DKIM_RSA_SHA1) {
		snprintf(err, errlen, "rsa-sha1 refused (RFC 8301)");
		return DKIM_POLICY;
	}
	if (kind != DKIM_KIND_SEAL && sig->bhlen != 32)
		return perm(err, errlen, "bh= is not a SHA-256 digest");
	return DKIM_PASS;
}

enum dkim_result dkim_sig_parse(const char *val, size_t len, int64_t now, int64_t jitter,
                                struct dkim_sig *sig, char *err, size_t errlen)
{
	return sig_parse(DKIM_KIND_SIG, val, len, now, jitter, sig, err, errlen);
}

enum dkim_result dkim_arc_parse(enum dkim_kind kind, const char *val, size_t len, int64_t now,
                                int64_t jitter, struct dkim_sig *sig, char *err, size_t errlen)
{
	return sig_parse(kind, val, len, now, jitter, sig, err, errlen);
}

/* ---- key records (RFC 6376 section 3.6.1) ------------------------------ */

/* Whether a colon-separated list holds item (FWS around items allowed). */
static int list_has(const struct dkim_tag *t, const char *item)
{
	size_t i = 0, il = strlen(item);

	while (i <= t->vlen) {
		size_t j = i, a, b;

		while (j < t->vlen && t->val[j] != ':')
			j++;
		a = i;
		b = j;
		while (a < b && (is_wsp(t->val[a]) || t->val[a] == '\r' || t->val[a] == '\n'))
			a++;
		while (b > a &&
		       (is_wsp(t->val[b - 1]) || t->val[b - 1] == '\r' || t->val[b - 1] == '\n'))
			b--;
		if (b - a == il && strncasecmp(t->val + a, item, il) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

int dkim_key_parse(const char *txt, size_t len, struct dkim_key *key, char *err, size_t errlen)
{
	struct dkim_taglist tl;
	const struct dkim_tag *t;

	memset(key, 0, sizeof(*key));
	if (dkim_taglist_parse(txt, len, &tl, err, errlen) < 0)
		return -1;
	/* v= is optional, but when present it is the first tag and says DKIM1. */
	if ((t = tag_get(&tl, "v")) && (t != &tl.t[0] || !tag_is(t, "DKIM1"))) {
		snprintf(err, errlen, "key v= is not DKIM1");
		return -1;
	}
	if ((t = tag_get(&tl, "h")) && !list_has(t, "sha256")) {
		snprintf(err, errlen, "key h= does not allow sha256");
		return -1;
	}
	key->k = DKIM_KEY_RSA;
	if ((t = tag_get(&tl, "k"))) {
		if (tag_is(t, "ed25519"))
			key->k = DKIM_KEY_ED25519;
		else if (!tag_is(t, "rsa")) {
			snprintf(err, errlen, "unknown key type k=%.*s",
			         (int)(t->vlen > 20 ? 20 : t->vlen), t->val);
			return -1;
		}
	}
	if ((t = tag_get(&tl, "s")) && !list_has(t, "*") && !list_has(t, "email")) {
		snprintf(err, errlen, "key not for email (s=)");
		return -1;
	}
	if ((t = tag_get(&tl, "t"))) {
		key->testing = list_has(t, "y");
		key->strict = list_has(t, "s");
	}
	if ((t = tag_get(&tl, "p")) == NULL) {
		snprintf(err, errlen, "key without p=");
		return -1;
	}
	if (t->vlen == 0) {
		key->revoked = 1;
		return 0;
	}
	if (b64_decode(t->val, t->vlen, key->p, sizeof(key->p), &key->plen) < 0 || key->plen == 0) {
		snprintf(err, errlen, "bad p= in key");
		return -1;
	}
	return 0;
}
