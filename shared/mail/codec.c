/*
 * codec - base64, quoted-printable and charset decoding; see codec.h.
 *
 * Each decoder is one pass over its input: every index only moves forward,
 * so the work is linear in len whatever the bytes are. UTF-8, us-ascii and
 * latin1/windows-1252 (most mail) are converted here without iconv.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/codec.h"
#include "core/mem.h"
#include "core/text.h"
#include "core/sbuf.h"

#define B64_SKIP 64	/* line breaks and blanks: not damage */
#define B64_BAD 65	/* anything else outside the alphabet */
#define B64_PAD 66

static unsigned char b64_val(unsigned char c)
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
	if (c == '=')
		return B64_PAD;
	if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
		return B64_SKIP;
	return B64_BAD;
}

/* Emit the bytes of a partial quantum of n (2 or 3) sextets. */
static size_t b64_flush(const unsigned char *q, int n, char *out)
{
	if (n < 2)
		return 0;
	if (out) {
		out[0] = (char)(q[0] << 2 | q[1] >> 4);
		if (n == 3)
			out[1] = (char)(q[1] << 4 | q[2] >> 2);
	}
	return (size_t)n - 1;
}

size_t codec_b64_decode(const char *in, size_t len, char *out, int *bad)
{
	unsigned char q[4];
	size_t i, o = 0;
	int n = 0, ended = 0;

	for (i = 0; i < len; i++) {
		unsigned char v = b64_val((unsigned char)in[i]);

		if (v == B64_SKIP)
			continue;
		if (v == B64_BAD) {
			*bad = 1;
			continue;
		}
		if (v == B64_PAD) {
			/* "xx=" ends the data; a lone "=" or one after a full quantum is damage. */
			if (!ended && n < 2)
				*bad = 1;
			o += b64_flush(q, n, out ? out + o : NULL);
			n = 0;
			ended = 1;
			continue;
		}
		if (ended) {
			/* Text after the padding: a list footer glued on, most often. */
			*bad = 1;
			continue;
		}
		q[n++] = v;
		if (n < 4)
			continue;
		if (out) {
			out[o] = (char)(q[0] << 2 | q[1] >> 4);
			out[o + 1] = (char)(q[1] << 4 | q[2] >> 2);
			out[o + 2] = (char)(q[2] << 6 | q[3]);
		}
		o += 3;
		n = 0;
	}
	if (n != 0) {
		/* Missing padding (n = 2, 3) or a truncated quantum (n = 1). */
		*bad = 1;
		o += b64_flush(q, n, out ? out + o : NULL);
	}
	return o;
}


/* The byte of "=XY" at in[i], or -1. */
static int qp_escape(const char *in, size_t len, size_t i)
{
	int hi, lo;

	if (len - i < 3)
		return -1;
	hi = text_hexval((unsigned char)in[i + 1]);
	lo = text_hexval((unsigned char)in[i + 2]);
	if (hi < 0 || lo < 0)
		return -1;
	return hi << 4 | lo;
}

/* Index just past the line break at in[i], or 0 when there is none. */
static size_t eol_end(const char *in, size_t len, size_t i)
{
	if (i < len && in[i] == '\n')
		return i + 1;
	if (i + 1 < len && in[i] == '\r' && in[i + 1] == '\n')
		return i + 2;
	return 0;
}

/*
 * "=" not followed by two hex digits: a soft line break when only blanks
 * (transport padding) come before the end of the line or of the input.
 * Returns the index to continue at, or 0 when it is a bad escape.
 */
static size_t qp_soft_break(const char *in, size_t len, size_t i)
{
	size_t j = i + 1;

	while (j < len && (in[j] == ' ' || in[j] == '\t'))
		j++;
	return j == len ? len : eol_end(in, len, j);
}

/*
 * A run of blanks at in[i]: dropped at the end of a line (added in
 * transport, RFC 2045 6.7 rule 3), else copied. Returns the index after it.
 */
static size_t qp_blanks(const char *in, size_t len, size_t i, char *out, size_t *o)
{
	size_t k = i;

	while (k < len && (in[k] == ' ' || in[k] == '\t'))
		k++;
	if (k == len || eol_end(in, len, k))
		return k;
	if (out)
		memcpy(out + *o, in + i, k - i);
	*o += k - i;
	return k;
}

size_t codec_qp_decode(const char *in, size_t len, char *out, int *bad)
{
	size_t i = 0, o = 0, next;
	int b;

	/* Bounded: every round moves i forward. */
	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		if (c == ' ' || c == '\t') {
			i = qp_blanks(in, len, i, out, &o);
			continue;
		}
		if (c == '=' && (b = qp_escape(in, len, i)) >= 0) {
			c = (unsigned char)b;
			i += 2;
		} else if (c == '=' && (next = qp_soft_break(in, len, i)) != 0) {
			i = next;
			continue;
		} else if (c == '=') {
			*bad = 1;	/* kept literally, as readers do */
		}
		if (out)
			out[o] = (char)c;
		o++;
		i++;
	}
	return o;
}

size_t codec_q_decode(const char *in, size_t len, char *out, int *bad)
{
	size_t i = 0, o = 0;

	/* Bounded: every round moves i forward. */
	while (i < len) {
		char c = in[i];
		int b;

		if (c == '=' && (b = qp_escape(in, len, i)) >= 0) {
			c = (char)b;
			i += 3;
		} else {
			if (c == '=')
				*bad = 1;
			else if (c == '_')
				c = ' ';
			i++;
		}
		if (out)
			out[o] = c;
		o++;
	}
	return o;
}

/* --- charsets ------------------------------------------------------------ */

enum cs_kind { CS_UNKNOWN, CS_UTF8, CS_ASCII, CS_1252, CS_ICONV };

#define CS_NAME_MAX 40
#define CS_CACHE_SLOTS 8

struct codec_cache {
	int n;
	char name[CS_CACHE_SLOTS][CS_NAME_MAX];
	iconv_t cd[CS_CACHE_SLOTS];
};

/* Names mail uses, to what iconv calls them; families are in cs_family(). */
static const struct {
	const char *alias;
	enum cs_kind kind;
	const char *iconv;
} cs_aliases[] = {
	{ "utf-8", CS_UTF8, NULL },		{ "utf8", CS_UTF8, NULL },
	{ "us-ascii", CS_ASCII, NULL },		{ "ascii", CS_ASCII, NULL },
	{ "ansi_x3.4-1968", CS_ASCII, NULL },	{ "iso646-us", CS_ASCII, NULL },
	{ "us", CS_ASCII, NULL },		{ "latin1", CS_1252, NULL },
	{ "l1", CS_1252, NULL },		{ "cp819", CS_1252, NULL },
	{ "latin2", CS_ICONV, "ISO-8859-2" },	{ "latin9", CS_ICONV, "ISO-8859-15" },
	{ "koi8-r", CS_ICONV, "KOI8-R" },	{ "koi8-u", CS_ICONV, "KOI8-U" },
	{ "koi8-ru", CS_ICONV, "KOI8-RU" },	{ "big5", CS_ICONV, "BIG5-HKSCS" },
	{ "chinesebig5", CS_ICONV, "BIG5-HKSCS" }, { "x-x-big5", CS_ICONV, "BIG5-HKSCS" },
	{ "big5-hkscs", CS_ICONV, "BIG5-HKSCS" }, { "gb2312", CS_ICONV, "GB18030" },
	{ "csgb2312", CS_ICONV, "GB18030" },	{ "gbk", CS_ICONV, "GB18030" },
	{ "x-gbk", CS_ICONV, "GB18030" },	{ "cp936", CS_ICONV, "GB18030" },
	{ "euc-cn", CS_ICONV, "GB18030" },	{ "gb18030", CS_ICONV, "GB18030" },
	{ "euc-jp", CS_ICONV, "EUC-JP" },	{ "x-euc-jp", CS_ICONV, "EUC-JP" },
	{ "shift_jis", CS_ICONV, "CP932" },	{ "shift-jis", CS_ICONV, "CP932" },
	{ "sjis", CS_ICONV, "CP932" },		{ "x-sjis", CS_ICONV, "CP932" },
	{ "ms_kanji", CS_ICONV, "CP932" },	{ "windows-31j", CS_ICONV, "CP932" },
	{ "cp932", CS_ICONV, "CP932" },		{ "iso-2022-jp", CS_ICONV, "ISO-2022-JP-2" },
	{ "iso-2022-kr", CS_ICONV, "ISO-2022-KR" }, { "euc-kr", CS_ICONV, "CP949" },
	{ "ks_c_5601-1987", CS_ICONV, "CP949" }, { "ks_c_5601", CS_ICONV, "CP949" },
	{ "ksc5601", CS_ICONV, "CP949" },	{ "cp949", CS_ICONV, "CP949" },
	{ "x-windows-949", CS_ICONV, "CP949" },	{ "euc-tw", CS_ICONV, "EUC-TW" },
	{ "tis-620", CS_ICONV, "CP874" },	{ "windows-874", CS_ICONV, "CP874" },
	{ "cp874", CS_ICONV, "CP874" },		{ "utf-16", CS_ICONV, "UTF-16" },
	{ "utf-16le", CS_ICONV, "UTF-16LE" },	{ "utf-16be", CS_ICONV, "UTF-16BE" },
	{ "utf-32", CS_ICONV, "UTF-32" },	{ "utf-32le", CS_ICONV, "UTF-32LE" },
	{ "utf-32be", CS_ICONV, "UTF-32BE" },	{ "utf-7", CS_ICONV, "UTF-7" },
	{ "unicode-1-1-utf-7", CS_ICONV, "UTF-7" }, { "ibm866", CS_ICONV, "CP866" },
	{ "cp866", CS_ICONV, "CP866" },		{ "cp850", CS_ICONV, "CP850" },
	{ "ibm850", CS_ICONV, "CP850" },	{ "cp437", CS_ICONV, "CP437" },
	{ "ibm437", CS_ICONV, "CP437" },	{ "macintosh", CS_ICONV, "MACINTOSH" },
	{ "mac", CS_ICONV, "MACINTOSH" },	{ "x-mac-roman", CS_ICONV, "MACINTOSH" },
	{ "viscii", CS_ICONV, "VISCII" },
};

/* n in [lo, hi] when s is exactly a decimal number. */
static int cs_number(const char *s, int lo, int hi)
{
	int n = 0;

	if (*s == '\0' || strlen(s) > 2)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n >= lo && n <= hi ? n : -1;
}

/* ISO-8859-n and windows-125n under their usual spellings. */
static enum cs_kind cs_family(const char *name, char *ic, size_t icsz)
{
	static const char *const iso[] = { "iso-8859-", "iso8859-", "iso_8859-", "iso8859_" };
	static const char *const win[] = { "windows-", "cp", "x-cp", "win-" };
	size_t i, l;
	int n;

	for (i = 0; i < sizeof(iso) / sizeof(iso[0]); i++) {
		l = strlen(iso[i]);
		if (strncmp(name, iso[i], l) != 0 || (n = cs_number(name + l, 1, 16)) < 0)
			continue;
		if (n == 1)	/* mail labels windows-1252 text latin1; read it as 1252 */
			return CS_1252;
		snprintf(ic, icsz, "ISO-8859-%d", n);
		return n == 12 ? CS_UNKNOWN : CS_ICONV;
	}
	for (i = 0; i < sizeof(win) / sizeof(win[0]); i++) {
		l = strlen(win[i]);
		if (strncmp(name, win[i], l) != 0 || strncmp(name + l, "125", 3) != 0)
			continue;
		if ((n = cs_number(name + l + 3, 0, 8)) < 0)
			continue;
		if (n == 2)
			return CS_1252;
		snprintf(ic, icsz, "CP125%d", n);
		return CS_ICONV;
	}
	return CS_UNKNOWN;
}

/* What to do with a charset name; ic gets the iconv name for CS_ICONV. */
static enum cs_kind cs_lookup(const char *charset, char *ic, size_t icsz)
{
	char name[CS_NAME_MAX];
	size_t i, n = 0;

	while (*charset == ' ' || *charset == '\t')
		charset++;
	for (; charset[n] && charset[n] != ' ' && charset[n] != '\t'; n++) {
		unsigned char c = (unsigned char)charset[n];

		if (n + 1 >= sizeof(name))
			return CS_UNKNOWN;
		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !strchr("-_.:+", c))
			return CS_UNKNOWN;
		name[n] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	name[n] = '\0';
	for (i = 0; i < sizeof(cs_aliases) / sizeof(cs_aliases[0]); i++) {
		if (strcmp(name, cs_aliases[i].alias) != 0)
			continue;
		if (cs_aliases[i].iconv)
			snprintf(ic, icsz, "%s", cs_aliases[i].iconv);
		return cs_aliases[i].kind;
	}
	return cs_family(name, ic, icsz);
}

struct codec_cache *codec_cache_new(void)
{
	return xcalloc(1, sizeof(struct codec_cache));
}

void codec_cache_free(struct codec_cache *cc)
{
	int i;

	if (cc == NULL)
		return;
	for (i = 0; i < cc->n; i++)
		iconv_close(cc->cd[i]);
	free(cc);
}

/* A converter from ic to UTF-8; *transient when the caller must close it. */
static iconv_t cs_open(struct codec_cache *cc, const char *ic, int *transient)
{
	iconv_t cd;
	int i;

	*transient = 0;
	for (i = 0; cc && i < cc->n; i++)
		if (strcmp(cc->name[i], ic) == 0)
			return cc->cd[i];
	cd = iconv_open("UTF-8", ic);
	if (cd == (iconv_t)-1)
		return cd;
	if (cc == NULL || cc->n == CS_CACHE_SLOTS) {
		*transient = 1;
		return cd;
	}
	snprintf(cc->name[cc->n], CS_NAME_MAX, "%s", ic);
	cc->cd[cc->n++] = cd;
	return cd;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;	/* overlong */
	else if (c == 0xed)
		hi = 0x9f;	/* surrogates */
	else if (c == 0xf0)
		lo = 0x90;	/* overlong */
	else if (c == 0xf4)
		hi = 0x8f;	/* over U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int codec_utf8_valid(const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, l;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = utf8_seq(s + i, len - i)) == 0)
			return 0;
		i += l;
	}
	return 1;
}

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

/* Copy UTF-8, each invalid byte becoming U+FFFD. */
static int utf8_copy(const char *p, size_t len, struct sbuf *out)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, start = 0, l;
	int bad = 0;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = utf8_seq(s + i, len - i)) != 0) {
			i += l;
			continue;
		}
		sbuf_append(out, p + start, i - start);
		sbuf_append(out, replacement, 3);
		bad = 1;
		start = ++i;
	}
	sbuf_append(out, p + start, i - start);
	return bad;
}

/* What windows-1252 puts in 0x80-0x9f; its five holes keep their C1 code points. */
static const unsigned short cp1252_c1[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

static void cp1252_copy(const char *p, size_t len, struct sbuf *out)
{
	char *o;
	size_t i;

	sbuf_reserve(out, len * 3);
	o = out->data + out->len;
	for (i = 0; i < len; i++) {
		unsigned c = (unsigned char)p[i];

		if (c >= 0x80 && c < 0xa0)
			c = cp1252_c1[c - 0x80];
		if (c < 0x80) {
			*o++ = (char)c;
		} else if (c < 0x800) {
			*o++ = (char)(0xc0 | c >> 6);
			*o++ = (char)(0x80 | (c & 0x3f));
		} else {
			*o++ = (char)(0xe0 | c >> 12);
			*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
}

/* Convert with iconv; a byte it rejects becomes U+FFFD and is skipped. */
static int iconv_copy(iconv_t cd, const char *p, size_t len, struct sbuf *out)
{
	char *in = (char *)p, *o;
	size_t inleft = len, oleft, guard;
	int bad = 0;

	iconv(cd, NULL, NULL, NULL, NULL);
	/* Each round consumes input or grows the output; len + 64 rounds bound it. */
	for (guard = 0; inleft > 0 && guard < len + 64; guard++) {
		sbuf_reserve(out, inleft * 4 + 16);
		o = out->data + out->len;
		oleft = out->cap - out->len - 1;
		if (iconv(cd, &in, &inleft, &o, &oleft) != (size_t)-1) {
			out->len = (size_t)(o - out->data);
			break;
		}
		out->len = (size_t)(o - out->data);
		if (errno == E2BIG)
			continue;
		bad = 1;
		sbuf_append(out, replacement, 3);
		if (errno != EILSEQ)
			break;	/* EINVAL: a sequence cut off at the end */
		in++;
		inleft--;
	}
	sbuf_reserve(out, 32);
	o = out->data + out->len;
	oleft = out->cap - out->len - 1;
	iconv(cd, NULL, NULL, &o, &oleft);	/* shift back to the initial state */
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return bad;
}

/* Unlabelled bytes: UTF-8 if they are valid UTF-8, else windows-1252. */
static void guess_copy(const char *p, size_t len, struct sbuf *out)
{
	if (codec_utf8_valid(p, len))
		sbuf_append(out, p, len);
	else
		cp1252_copy(p, len, out);
}

static int has_8bit(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

int codec_to_utf8(struct codec_cache *cc, const char *charset, const char *p, size_t len,
		  struct sbuf *out)
{
	char ic[CS_NAME_MAX];
	enum cs_kind kind = charset ? cs_lookup(charset, ic, sizeof(ic)) : CS_ASCII;
	iconv_t cd;
	int transient, bad;

	sbuf_reserve(out, len);
	switch (kind) {
	case CS_UTF8:
		return utf8_copy(p, len, out) ? CODEC_CS_BAD : 0;
	case CS_1252:
		cp1252_copy(p, len, out);
		return 0;
	case CS_ASCII:
		guess_copy(p, len, out);
		return charset && has_8bit(p, len) ? CODEC_CS_BAD : 0;
	case CS_ICONV:
		cd = cs_open(cc, ic, &transient);
		if (cd == (iconv_t)-1)
			break;
		bad = iconv_copy(cd, p, len, out);
		if (transient)
			iconv_close(cd);
		return bad ? CODEC_CS_BAD : 0;
	case CS_UNKNOWN:
		break;
	}
	guess_copy(p, len, out);
	return CODEC_CS_UNKNOWN;
}
