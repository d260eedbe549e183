/*
 * dkim_sign - DKIM signing (RFC 6376, RFC 8463): relaxed/relaxed,
 * rsa-sha256 and ed25519-sha256, with Rspamd's signed-header list and its
 * over-signing rules (src/plugins/dkim_check.c default_sign_headers).
 *
 * One struct dkim_sign per message, fed as the milter sees it: the header
 * fields (only those of the signed list are kept, in relaxed form), then
 * the body, streamed through the verifier's canonicalization into one
 * SHA-256. At the end, one signature per key, so a domain with an RSA and
 * an Ed25519 key is signed twice. Private keys come from text: PEM (PKCS#1
 * or PKCS#8) or Rspamd's base64 of a raw Ed25519 key (32-byte seed or
 * 64-byte seed and public key, as rspamadm dkim_keygen writes it).
 *
 * Limits: DKIM_SIGN_FIELDS kept fields and DKIM_SIGN_BYTES of them; past
 * that the message is not signed. Key files of at most DKIM_KEYFILE_MAX.
 *
 * ARC sealing (RFC 8617 section 5.1) reuses all of it: the ARC fields are
 * kept too (at most ARC_MAX_FIELDS, past that no seal), and the
 * ARC-Message-Signature is this signature with i= for v=.
 */
#ifndef MOAT_DKIM_SIGN_H
#define MOAT_DKIM_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "auth/arc.h"
#include "auth/dkim.h"

#define DKIM_SIGN_FIELDS 512          /* signed-list fields kept per message */
#define DKIM_SIGN_BYTES (1024 * 1024) /* their canonical bytes */
#define DKIM_KEYFILE_MAX 65536        /* bytes of a private key file */

struct sbuf;
struct evp_pkey_st;

/* A private key to sign with. */
struct dkim_signkey {
	enum dkim_keytype k;
	int bits;                 /* RSA modulus bits; 256 for Ed25519 */
	struct evp_pkey_st *pkey; /* NULL: none */
	char domain[DKIM_DOMAIN_MAX + 1];
	char selector[DKIM_SELECTOR_MAX + 1];
};

/*
 * Parse a private key file's text into key->k, bits and pkey: PEM, or base64 of a raw
 * Ed25519 key. 0, or -1 with err (malformed, encrypted, RSA under 1024 or over 8192 bits).
 */
int dkim_signkey_parse(const char *text, size_t len, struct dkim_signkey *key, char *err,
                       size_t errlen);
/* Another reference to the same key (pkey shared). */
void dkim_signkey_copy(struct dkim_signkey *dst, const struct dkim_signkey *src);
/* Release pkey (a zeroed key is fine). */
void dkim_signkey_clear(struct dkim_signkey *key);
/* The key record that publishes key: "v=DKIM1; k=rsa; p=..." into out. 0 or -1. */
int dkim_signkey_record(const struct dkim_signkey *key, struct sbuf *out);
/* Whether a parsed key record holds key's public half. */
int dkim_signkey_matches(const struct dkim_signkey *key, const struct dkim_key *rec);

/* One message to sign. */
struct dkim_sign *dkim_sign_new(void);
/* Free it (NULL is fine). */
void dkim_sign_free(struct dkim_sign *s);
/* One header field, as the milter gives it: name and value (NUL-free, not trusted further). */
void dkim_sign_header(struct dkim_sign *s, const char *name, size_t nlen, const char *value,
                      size_t vlen);
/* The idx-th (from 1) field of name now has value, as smfi_chgheader does. */
void dkim_sign_change(struct dkim_sign *s, const char *name, int idx, const char *value);
/* A chunk of the body (CRLF line ends). */
void dkim_sign_body(struct dkim_sign *s, const char *p, size_t len);
/*
 * The signing domain: the header From's domain reduced to its registrable domain (as
 * Rspamd's use_esld), lower case, into out. 0, or -1 with err: no From or several, no
 * domain, too many fields.
 */
int dkim_sign_domain(const struct dkim_sign *s, char *out, size_t size, char *err, size_t errlen);
/* The registrable domain of a host name, lower case, into out (the name itself if none). */
void dkim_esld(const char *host, size_t len, char *out, size_t size);
/*
 * The DKIM-Signature value for key (the body ends at the first call): t=now, x=now+expire
 * when expire > 0, folded with fold ("\n\t" for libmilter) at 78 columns counting the
 * "DKIM-Signature: " before it. 0, or -1 with err.
 */
int dkim_sign_make(struct dkim_sign *s, const struct dkim_signkey *key, int64_t now, int64_t expire,
                   const char *fold, struct sbuf *out, char *err, size_t errlen);

/*
 * ARC sealing (RFC 8617 section 5.1) with key, of the message as fed (its ARC fields are
 * kept too): the next instance N's ARC-Authentication-Results ("i=N; " and results, the
 * value of an Authentication-Results), ARC-Message-Signature (as the DKIM signature, no
 * v=) and ARC-Seal (cv=none for N=1, else pass or fail as chain says, over sets 1..N) into
 * out[0], out[1], out[2] (an array of three), each appended to. N, or -1 with err: the chain as
 * received is malformed, already failed (cv=fail), has ARC_MAX_SETS sets, or was not verified
 * (chain ARC_NONE).
 */
int dkim_sign_arc(struct dkim_sign *s, const struct dkim_signkey *key, const char *results,
                  enum arc_status chain, int64_t now, const char *fold, struct sbuf *out, char *err,
                  size_t errlen);

#endif
