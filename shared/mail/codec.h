/*
 * codec - bytes in a mail encoding to plain bytes: base64 and
 * quoted-printable (RFC 2045 section 6), the "Q" encoding of RFC 2047
 * encoded words, and charsets to UTF-8 (iconv, RFC 2046 charset names).
 *
 * Decoders for damaged mail: they never fail and never read or write out
 * of bounds. Damage is decoded as well as possible and reported through
 * *bad. Transfer decoding output is never longer than the input, so an out
 * buffer of len bytes always suffices; out may be NULL to only count.
 *
 * Charsets: only names on a list of those seen in mail reach iconv; an
 * attacker picks the name, and glibc's rarer converters have had bugs
 * (CVE-2020-27618, CVE-2016-10228). Other names are reported unknown.
 */
#ifndef MOAT_CODEC_H
#define MOAT_CODEC_H

#include <stddef.h>

struct sbuf;

/* What codec_to_utf8() found. */
enum codec_cs_flag {
	CODEC_CS_BAD = 1 << 0,		/* bytes invalid in the charset (U+FFFD put in) */
	CODEC_CS_UNKNOWN = 1 << 1,	/* charset not known: read as below for NULL */
};

/* Base64: bad characters skipped, padding optional, data ends at padding; returns bytes. */
size_t codec_b64_decode(const char *in, size_t len, char *out, int *bad);
/* Quoted-printable body: bad escapes kept literally; returns bytes decoded. */
size_t codec_qp_decode(const char *in, size_t len, char *out, int *bad);
/* RFC 2047 "Q": like quoted-printable, "_" is a space, no line breaks. */
size_t codec_q_decode(const char *in, size_t len, char *out, int *bad);

/* Open converters, kept for reuse within one message. */
struct codec_cache *codec_cache_new(void);
/* Close them all (NULL is fine). */
void codec_cache_free(struct codec_cache *cc);
/*
 * Append len bytes in charset to out as UTF-8; returns enum codec_cs_flag
 * bits. charset NULL (unlabelled): UTF-8 when it is valid UTF-8, else
 * windows-1252 (latin1 with the C1 range as browsers read it). cc may be NULL.
 */
int codec_to_utf8(struct codec_cache *cc, const char *charset, const char *p, size_t len,
		  struct sbuf *out);
/* Whether len bytes are valid UTF-8 (no overlongs, surrogates, or > U+10FFFF). */
int codec_utf8_valid(const char *p, size_t len);

#endif
