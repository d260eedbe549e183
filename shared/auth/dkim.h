/*
 * dkim - DKIM signature verification (RFC 6376, RFC 8301, RFC 8463).
 *
 * One struct dkim per message, fed as the milter sees it: header fields,
 * end of headers, body chunks, end of message. The body is canonicalized
 * and hashed as it streams. Key records are asked for through a small
 * resolver interface (struct dkim_resolver), so that any asynchronous,
 * cached TXT lookup can serve them; dkim_resolver_dns() adapts shared/dns.
 *
 * Accepted: rsa-sha256 (keys of 1024 to 8192 bits) and ed25519-sha256.
 * Refused by policy: rsa-sha1 and RSA keys under 1024 bits (RFC 8301).
 * At most DKIM_MAX_SIGS signatures are verified, the topmost first.
 */
#ifndef MOAT_DKIM_H
#define MOAT_DKIM_H

#include <stddef.h>
#include <stdint.h>

#define DKIM_MAX_SIGS 5       /* signatures verified per message (Rspamd's max_sigs) */
#define DKIM_TAGS_MAX 64      /* tags in one tag-list */
#define DKIM_TAGLIST_MAX 8192 /* bytes of a DKIM-Signature value or key record */
#define DKIM_DOMAIN_MAX 253
#define DKIM_SELECTOR_MAX 128
#define DKIM_HNAMES_MAX 1024 /* names in h=: more than the header fields kept */
#define DKIM_SIG_BYTES 1024  /* b= decoded: an 8192-bit RSA signature */
#define DKIM_KEY_BYTES 1100  /* p= decoded: an 8192-bit RSA SubjectPublicKeyInfo */
#define DKIM_ARC_INSTANCES 50 /* ARC sets a message may carry (RFC 8617 section 4.2.1) */
#define DKIM_FIELDS_MAX (DKIM_ARC_INSTANCES + 1) /* signatures one verification holds */

/* A verdict per signature, as RFC 8601 section 2.7.1 names them. */
enum dkim_result {
	DKIM_PASS,
	DKIM_FAIL,      /* body hash or signature does not verify */
	DKIM_TEMPERROR, /* the key could not be fetched: DNS failure or timeout */
	DKIM_PERMERROR, /* malformed signature or key, no key, revoked key, expired */
	DKIM_POLICY,    /* valid syntax, refused by policy: rsa-sha1, RSA key < 1024 bits */
};

enum dkim_alg { DKIM_RSA_SHA256, DKIM_ED25519_SHA256, DKIM_RSA_SHA1 };
enum dkim_canon { DKIM_SIMPLE, DKIM_RELAXED };
enum dkim_keytype { DKIM_KEY_RSA, DKIM_KEY_ED25519 };
/* What a signature field is: DKIM's, or one of ARC's two (RFC 8617 section 4.1). */
enum dkim_kind { DKIM_KIND_SIG, DKIM_KIND_AMS, DKIM_KIND_SEAL };
/* An ARC-Seal's cv= (RFC 8617 section 4.1.3). */
enum dkim_cv { DKIM_CV_NONE, DKIM_CV_PASS, DKIM_CV_FAIL };

/* One tag of a tag-list: name and value point into the parsed text. */
struct dkim_tag {
	const char *name;
	size_t nlen;
	const char *val; /* first to last VALCHAR; may hold folding whitespace */
	size_t vlen;
	const char *eq; /* just past the '=': the whitespace before val starts here */
};

struct dkim_taglist {
	int n;
	struct dkim_tag t[DKIM_TAGS_MAX];
};

/* A parsed DKIM-Signature (RFC 6376 section 3.5). */
struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	char d[DKIM_DOMAIN_MAX + 1]; /* lower case */
	char s[DKIM_SELECTOR_MAX + 1];
	char auid_domain[DKIM_DOMAIN_MAX + 1]; /* domain of i=, lower case ("" if none) */
	int nh;                                /* signed header names, lower case: */
	uint16_t hoff[DKIM_HNAMES_MAX];        /* where the k-th starts in hbuf */
	char hbuf[DKIM_TAGLIST_MAX];
	unsigned char b[DKIM_SIG_BYTES];
	size_t blen;
	unsigned char bh[64];
	size_t bhlen;
	int has_l;
	uint64_t l;
	int64_t t, x;        /* -1 when absent */
	size_t b_off, b_end; /* b= value within the parsed value, to blank it */
	int instance;        /* ARC i= (1 to DKIM_ARC_INSTANCES); 0 for DKIM */
	enum dkim_cv cv;     /* ARC-Seal cv= */
};

/* A parsed key record (RFC 6376 section 3.6.1). */
struct dkim_key {
	enum dkim_keytype k;
	int revoked; /* p= empty */
	int testing; /* t=y */
	int strict;  /* t=s: i= domain must be d= itself */
	unsigned char p[DKIM_KEY_BYTES];
	size_t plen;
};

/* Parse an RFC 6376 section 3.2 tag-list: 0, or -1 with err (syntax, duplicate, too many). */
int dkim_taglist_parse(const char *s, size_t len, struct dkim_taglist *tl, char *err,
                       size_t errlen);
/*
 * Parse a DKIM-Signature value and check its tags (now and jitter, seconds, judge t= and
 * x=): DKIM_PASS when usable, else the verdict it already earns, with the reason in err.
 */
enum dkim_result dkim_sig_parse(const char *val, size_t len, int64_t now, int64_t jitter,
                                struct dkim_sig *sig, char *err, size_t errlen);
/*
 * The same for an ARC-Message-Signature or ARC-Seal value (RFC 8617 section 4.1): i= is the
 * instance, no v=; a seal has cv= and no h= or bh=, and is always relaxed.
 */
enum dkim_result dkim_arc_parse(enum dkim_kind kind, const char *val, size_t len, int64_t now,
                                int64_t jitter, struct dkim_sig *sig, char *err, size_t errlen);
/* The k-th name in a signature's h=. */
const char *dkim_sig_hname(const struct dkim_sig *sig, int k);
/* Parse a key record: 0, or -1 with err (the signature's verdict is then permerror). */
int dkim_key_parse(const char *txt, size_t len, struct dkim_key *key, char *err, size_t errlen);

/* What a key lookup found. */
enum dkim_dns {
	DKIM_DNS_OK,       /* txt holds the first TXT record, its strings joined */
	DKIM_DNS_NOTFOUND, /* NXDOMAIN or no TXT record */
	DKIM_DNS_TEMPFAIL, /* SERVFAIL, timeout, unreachable */
};

/* Called once per lookup, perhaps before lookup() returns (a cache hit). */
typedef void dkim_txt_cb(void *arg, enum dkim_dns st, const char *txt, size_t len);

/* Where key records come from: any asynchronous TXT lookup. */
struct dkim_resolver {
	void (*lookup)(void *ctx, const char *name, dkim_txt_cb *cb, void *arg);
	void *ctx;
};

struct dns;
/* A resolver over shared/dns's c-ares channel, answers cached by TTL (dns_query). */
void dkim_resolver_dns(struct dkim_resolver *r, struct dns *d);
/* What an answer packet says, for the adapter and its fuzzer: status, text into out. */
enum dkim_dns dkim_dns_parse(int ares_status, const unsigned char *abuf, int alen, char *out,
                             size_t outlen, size_t *len);

/* Verification settings. */
struct dkim_params {
	int64_t now;    /* seconds since the epoch */
	int64_t jitter; /* clock skew allowed on t= and x=, seconds */
	int max_sigs;   /* at most DKIM_MAX_SIGS */
};

/* The verdict on one signature. */
struct dkim_sig_result {
	enum dkim_result result;
	char domain[DKIM_DOMAIN_MAX + 1]; /* d= ("" if the signature did not parse that far) */
	char selector[DKIM_SELECTOR_MAX + 1];
	char reason[96]; /* why, for fail, temperror, permerror, policy */
	int testing;     /* the key has t=y */
};

struct dkim;
/* Called once when every verdict is in. */
typedef void dkim_done_cb(void *arg, struct dkim *dk);

/* A verification of one message. */
struct dkim *dkim_new(const struct dkim_params *p);
/* Free it (NULL is fine); with lookups in flight, the last answer frees it. */
void dkim_free(struct dkim *dk);
/*
 * One header field as on the wire, name to end of value, without the final CRLF; folds
 * may be CRLF or LF. Simple canonicalization needs the exact bytes: a milter builds
 * name ":" value with SMFIP_HDR_LEADSPC negotiated, so the value keeps its leading space.
 */
void dkim_header(struct dkim *dk, const char *field, size_t len);
/* Called per header field by dkim_split(). */
typedef void dkim_field_fn(void *arg, const char *field, size_t len);
/*
 * A raw message's header fields to fn, as dkim_header() takes them: each line with its
 * continuation lines, without the final CRLF or LF, up to the empty line; a leading mbox
 * "From " line skipped. Returns where the body starts (len if it has none).
 */
size_t dkim_split(const char *p, size_t len, dkim_field_fn *fn, void *arg);
/*
 * End of headers: parse signatures, hash the signed headers, ask r for the keys. done
 * runs once, after dkim_eom() and every key answer, maybe inside dkim_eom().
 */
void dkim_eoh(struct dkim *dk, const struct dkim_resolver *r, dkim_done_cb *done, void *arg);
/*
 * For ARC (arc.c), which verifies its fields with this engine: the header fields kept, by
 * index (top first), and whether field i has the name n (lower case).
 */
size_t dkim_nheaders(const struct dkim *dk);
const char *dkim_header_at(const struct dkim *dk, size_t i, size_t *len);
int dkim_header_is(const struct dkim *dk, size_t i, const char *n);
/*
 * Verify field i as a signature of kind: its verdict is dkim_result(dk, k) for the k
 * returned (-1 when DKIM_FIELDS_MAX are held). A seal signs the fields list[0..n) in that
 * order (RFC 8617 section 5.1.1), then itself. Call before dkim_start().
 */
int dkim_add(struct dkim *dk, size_t i, enum dkim_kind kind, const size_t *list, int n);
/* What dkim_eoh() does after it added the DKIM-Signatures: ask r for the keys. */
void dkim_start(struct dkim *dk, const struct dkim_resolver *r, dkim_done_cb *done, void *arg);
/* A chunk of the body (CRLF line ends). */
void dkim_body(struct dkim *dk, const char *p, size_t len);
/* End of message. */
void dkim_eom(struct dkim *dk);
/* Whether the verdicts are in. */
int dkim_done(const struct dkim *dk);
/* Verdicts: how many, and the i-th (topmost signature first). */
int dkim_nresults(const struct dkim *dk);
const struct dkim_sig_result *dkim_result(const struct dkim *dk, int i);
/* "pass", "fail", "temperror", "permerror", "policy". */
const char *dkim_result_str(enum dkim_result r);

/* Called per symbol; option NULL when it has none. */
typedef void dkim_symbol_fn(void *arg, const char *symbol, const char *option);
/*
 * Rspamd's symbols for the verdicts: R_DKIM_ALLOW / REJECT / TEMPFAIL / PERMFAIL with the
 * option "domain:s=selector" per signature, DKIM_TRACE with "domain:+" (allow), ":-"
 * (reject), ":?" (tempfail), ":~" (permfail), and R_DKIM_NA when nothing was signed.
 */
void dkim_symbols(const struct dkim *dk, dkim_symbol_fn *fn, void *arg);

/* Body canonicalization, streaming (exposed for tests). */
struct dkim_bcanon {
	enum dkim_canon c;
	int cr;         /* a CR waits for its LF */
	int wsp;        /* a run of WSP waits (relaxed) */
	int content;    /* this line has content */
	int any;        /* something was emitted */
	uint64_t crlfs; /* line ends not yet emitted: they may be trailing empty lines */
	void (*emit)(void *arg, const char *p, size_t len);
	void *arg;
};
/* Start canonicalizing with c into emit(arg, ...). */
void dkim_bcanon_init(struct dkim_bcanon *bc, enum dkim_canon c,
                      void (*emit)(void *arg, const char *p, size_t len), void *arg);
/* Feed body bytes. */
void dkim_bcanon_feed(struct dkim_bcanon *bc, const char *p, size_t len);
/* End of body: emit what the canonical form ends with. */
void dkim_bcanon_end(struct dkim_bcanon *bc);
/*
 * Canonical form of one header field (name:value without final CRLF) appended to out
 * (an sbuf), with the CRLF unless nocrlf.
 */
struct sbuf;
void dkim_hcanon(enum dkim_canon c, const char *field, size_t len, int nocrlf, struct sbuf *out);

#endif
