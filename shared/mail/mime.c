/*
 * mime - a message parsed into headers and a MIME tree; see mime.h.
 *
 * RFC 5322 (header fields, folding), RFC 2045/2046 (Content-Type,
 * multipart, message/rfc822), RFC 2047 (encoded words), RFC 2231
 * (parameter continuations and charsets). Transfer and charset decoding
 * are in codec.c.
 *
 * No recursion: parts wait on an explicit stack and are parsed in document
 * order, so leaves come out in order and hostile nesting costs no C stack.
 * Each multipart level scans its own body once for its boundary, so the
 * whole parse reads each byte at most max_depth + 2 times. Searches use
 * memchr, never memmem in a loop: ASan's memmem checks the whole haystack
 * on every call, which would make hostile input quadratic in the
 * sanitizer builds the test suite runs.
 *
 * Everything a struct msg points to (except its copy of the input) lives in
 * one arena, freed at once by msg_free().
 */
#include "config.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/codec.h"
#include "core/mem.h"
#include "core/text.h"
#include "mail/mime.h"
#include "core/sbuf.h"

#define ARENA_CHUNK 65536
#define BOUNDARY_MAX 256	/* RFC 2046 says 70; leave room for sloppy senders */
#define PARAMS_MAX 32		/* Content-Type parameters looked at */
#define PARAM_NAME_MAX 64
#define CTYPE_MAX 128

/* --- arena --------------------------------------------------------------- */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
};

/* The struct msg callers see, and what only this file needs. */
struct msg_priv {
	struct msg m;
	struct arena arena;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	size_t al = alignof(max_align_t), cap;
	struct chunk *c = a->head;
	void *p;

	/* n is at most a few times the examined message: no overflow here. */
	n = (n + al - 1) / al * al;
	if (c == NULL || c->cap - c->used < n) {
		/* Big blocks get a chunk of their own, behind the current one. */
		cap = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
		c = xmalloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		if (cap == n && a->head) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void *arena_zalloc(struct arena *a, size_t n)
{
	return memset(arena_alloc(a, n), 0, n);
}

/* NUL-terminated copy of len bytes. */
static char *arena_strndup(struct arena *a, const char *p, size_t len)
{
	char *s = arena_alloc(a, len + 1);

	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static void arena_free(struct arena *a)
{
	struct chunk *c, *next;

	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* --- parse state ----------------------------------------------------------- */

/* A part waiting on the stack, with its bytes. */
struct work {
	struct mime_part *part;
	const char *p;
	size_t len;
	int in_digest;	/* default type message/rfc822 (RFC 2046 5.1.5) */
};

struct parse {
	struct msg *m;		/* NULL for the stand-alone decoders */
	struct arena *a;
	struct mime_limits lim;
	unsigned flags;
	struct codec_cache *cc;
	struct sbuf tmp;	/* the header field being unfolded */
	struct sbuf hdrs;	/* struct msg_header, the part being parsed */
	struct sbuf dec;	/* transfer-decoded or unquoted bytes */
	struct sbuf conv;	/* UTF-8 output */
	struct sbuf pend;	/* encoded-word bytes waiting for their charset */
	struct sbuf stack;	/* struct work */
	struct sbuf kids;	/* struct span, the children being split off */
	struct sbuf leaves;	/* struct mime_part * */
};

struct span {
	size_t off, len;
};

static void parse_init(struct parse *ps)
{
	memset(ps, 0, sizeof(*ps));
	sbuf_init(&ps->tmp);
	sbuf_init(&ps->hdrs);
	sbuf_init(&ps->dec);
	sbuf_init(&ps->conv);
	sbuf_init(&ps->pend);
	sbuf_init(&ps->stack);
	sbuf_init(&ps->kids);
	sbuf_init(&ps->leaves);
}

static void parse_done(struct parse *ps)
{
	codec_cache_free(ps->cc);
	sbuf_free(&ps->tmp);
	sbuf_free(&ps->hdrs);
	sbuf_free(&ps->dec);
	sbuf_free(&ps->conv);
	sbuf_free(&ps->pend);
	sbuf_free(&ps->stack);
	sbuf_free(&ps->kids);
	sbuf_free(&ps->leaves);
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
}

/* First "ab" in p[0..len), or NULL. */
static const char *find2(const char *p, size_t len, char a, char b)
{
	const char *q, *end = p + len;

	/* Bounded: p moves past each a it finds. */
	while (len >= 2 && (q = memchr(p, a, len - 1)) != NULL) {
		if (q[1] == b)
			return q;
		p = q + 1;
		len = (size_t)(end - p);
	}
	return NULL;
}

/* Drop NUL bytes (readers would stop at them) and make CRLF "\n". */
static void text_fix(struct sbuf *sb, int crlf)
{
	size_t i, o = 0;

	for (i = 0; i < sb->len; i++) {
		char c = sb->data[i];

		if (c == '\0' || (crlf && c == '\r' && i + 1 < sb->len && sb->data[i + 1] == '\n'))
			continue;
		sb->data[o++] = c;
	}
	sb->len = o;
	if (sb->data)
		sb->data[o] = '\0';
}

static void add_cs_flags(struct parse *ps, int r)
{
	if (r)
		ps->flags |= MSG_BAD_CHARSET;
}

/* --- RFC 2047 encoded words ------------------------------------------------- */

struct eword {
	size_t cs, cslen;	/* charset, without an RFC 2231 "*lang" */
	char enc;		/* 'b' or 'q' */
	size_t text, textlen;
	size_t end;		/* just past "?=" */
};

/*
 * Where the next "?=" and the next blank are, remembered across attempts:
 * a later attempt starts later, so a remembered position still holds
 * unless the attempt starts past it. That keeps hostile "=?a?q?x=?a?q?x..."
 * linear instead of one scan to the end per "=?".
 */
struct ew_scan {
	size_t qe, ws;
	int qe_ok, ws_ok;
};

static int cs_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '?' && c != '=' && !strchr("()<>@,;:\"/[]", c);
}

static size_t next_qe(const char *p, size_t len, size_t from, struct ew_scan *sc)
{
	const char *q;

	if (!sc->qe_ok || sc->qe < from) {
		q = find2(p + from, len - from, '?', '=');
		sc->qe = q ? (size_t)(q - p) : len;
		sc->qe_ok = 1;
	}
	return sc->qe;
}

static size_t next_ws(const char *p, size_t len, size_t from, struct ew_scan *sc)
{
	size_t i;

	if (!sc->ws_ok || sc->ws < from) {
		for (i = from; i < len && !is_wsp(p[i]) && p[i] != '\r' && p[i] != '\n'; i++)
			;
		sc->ws = i;
		sc->ws_ok = 1;
	}
	return sc->ws;
}

/* Is there a valid encoded word "=?cs?e?text?=" at p[k]? */
static int ew_parse(const char *p, size_t len, size_t k, struct ew_scan *sc, struct eword *w)
{
	size_t i = k + 2, qe;

	w->cs = i;
	while (i < len && i - w->cs < 64 && cs_char((unsigned char)p[i]))
		i++;
	w->cslen = i - w->cs;
	if (w->cslen == 0 || len - i < 4 || p[i] != '?' || p[i + 2] != '?')
		return 0;
	w->enc = p[i + 1] | 0x20;
	if (w->enc != 'b' && w->enc != 'q')
		return 0;
	w->text = i + 3;
	qe = next_qe(p, len, w->text, sc);
	if (qe == len || next_ws(p, len, w->text, sc) < qe)
		return 0;
	w->textlen = qe - w->text;
	w->end = qe + 2;
	/* "utf-8*en" (RFC 2231 language tag): the tag is not part of the name. */
	for (i = w->cs; i < w->cs + w->cslen; i++)
		if (p[i] == '*')
			w->cslen = i - w->cs;
	return w->cslen > 0;
}

/* Convert the bytes of the pending encoded words. */
static void ew_flush(struct parse *ps, const char *cs, struct sbuf *out)
{
	if (ps->pend.len)
		add_cs_flags(ps, codec_to_utf8(ps->cc, cs, ps->pend.data, ps->pend.len, out));
	sbuf_reset(&ps->pend);
}

static int all_wsp(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_wsp(p[i]))
			return 0;
	return 1;
}

/* Decode one encoded word into ps->pend, after what is there in the same charset. */
static void ew_add(struct parse *ps, const char *p, const struct eword *w, char *cs,
		   struct sbuf *out)
{
	int bad = 0;
	size_t n;

	if (strlen(cs) != w->cslen || strncasecmp(cs, p + w->cs, w->cslen) != 0) {
		/* Charsets differ: the bytes so far are a string of their own. */
		ew_flush(ps, cs, out);
		memcpy(cs, p + w->cs, w->cslen);
		cs[w->cslen] = '\0';
	}
	sbuf_reserve(&ps->pend, w->textlen);
	if (w->enc == 'b')
		n = codec_b64_decode(p + w->text, w->textlen, ps->pend.data + ps->pend.len, &bad);
	else
		n = codec_q_decode(p + w->text, w->textlen, ps->pend.data + ps->pend.len, &bad);
	ps->pend.len += n;
	ps->pend.data[ps->pend.len] = '\0';
	if (bad)
		ps->flags |= w->enc == 'b' ? MSG_BAD_BASE64 : MSG_BAD_QP;
}

/*
 * Append the decoded value to out. Bytes of adjacent words in one charset
 * are converted together: mailers split multibyte characters across words.
 * Text outside words is unlabelled (UTF-8 if valid, else windows-1252).
 */
static void ew_decode(struct parse *ps, const char *p, size_t len, struct sbuf *out)
{
	struct ew_scan sc = { 0, 0, 0, 0 };
	struct eword w;
	char cs[72] = "";
	size_t i = 0, lit = 0, k;
	int after_word = 0;
	const char *q;

	sbuf_reset(&ps->pend);
	if (len == 0)
		return;
	/* Bounded by len: i only grows, and each search starts at i. */
	while (i + 1 < len && (q = find2(p + i, len - i, '=', '?')) != NULL) {
		k = (size_t)(q - p);
		if (!ew_parse(p, len, k, &sc, &w)) {
			i = k + 1;
			continue;
		}
		/* Blanks between two encoded words are not part of the text. */
		if (!after_word || !all_wsp(p + lit, k - lit)) {
			ew_flush(ps, cs, out);
			codec_to_utf8(NULL, NULL, p + lit, k - lit, out);
		}
		ew_add(ps, p, &w, cs, out);
		after_word = 1;
		i = lit = w.end;
	}
	ew_flush(ps, cs, out);
	codec_to_utf8(NULL, NULL, p + lit, len - lit, out);
}

char *rfc2047_decode(const char *p, size_t len)
{
	struct parse ps;
	char *s;

	parse_init(&ps);
	ew_decode(&ps, p, len, &ps.conv);
	text_fix(&ps.conv, 0);
	s = ps.conv.data ? ps.conv.data : xstrdup("");
	sbuf_init(&ps.conv);	/* the caller owns the string now */
	parse_done(&ps);
	return s;
}

char *charset_to_utf8(const char *charset, const char *p, size_t len, size_t *outlen, int *bad)
{
	struct sbuf out;
	int r;

	sbuf_init(&out);
	r = codec_to_utf8(NULL, charset, p, len, &out);
	if (bad)
		*bad = r != 0;
	if (outlen)
		*outlen = out.len;
	return out.data ? out.data : xstrdup("");
}

/* --- header fields ---------------------------------------------------------- */

struct line {
	size_t start, end, next;	/* end excludes the CR LF; next is past it */
};

static void line_at(const char *p, size_t len, size_t i, struct line *l)
{
	const char *nl = memchr(p + i, '\n', len - i);

	l->start = i;
	l->end = nl ? (size_t)(nl - p) : len;
	l->next = nl ? l->end + 1 : len;
	if (l->end > i && p[l->end - 1] == '\r')
		l->end--;
}

/*
 * Length of the field name of a header line ("Name:" or obsolete
 * "Name :"), 0 when it is not one; *colon gets the colon's index.
 */
static size_t field_name(const char *p, size_t len, size_t *colon)
{
	size_t i = 0, n;

	while (i < len && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
		i++;
	n = i;
	while (i < len && is_wsp(p[i]))
		i++;
	if (n == 0 || i == len || p[i] != ':')
		return 0;
	*colon = i;
	return n;
}

/* Append to the field being unfolded, up to max_header_len bytes. */
static void unfold_add(struct parse *ps, const char *p, size_t n, int *over)
{
	size_t max = ps->lim.max_header_len;
	size_t room = max > ps->tmp.len ? max - ps->tmp.len : 0;

	if (n > room) {
		n = room;
		*over = 1;
	}
	sbuf_append(&ps->tmp, p, n);
}

/* The decoded value of a raw header value (which is NUL-free). */
static char *header_value(struct parse *ps, char *raw, size_t len, int eightbit)
{
	if (!eightbit && !find2(raw, len, '=', '?'))
		return raw;	/* nothing to decode: share the string */
	sbuf_reset(&ps->conv);
	ew_decode(ps, raw, len, &ps->conv);
	text_fix(&ps->conv, 0);
	return arena_strndup(ps->a, ps->conv.data, ps->conv.len);
}

/* Keep the field unfolded in ps->tmp: trimmed, NULs dropped, decoded. */
static void store_field(struct parse *ps, const char *name, size_t nlen, int over)
{
	struct msg_header h;
	char *v = ps->tmp.data;
	size_t i, n = 0, s = 0, e = ps->tmp.len;
	int eightbit = 0;

	while (s < e && is_wsp(v[s]))
		s++;
	while (e > s && is_wsp(v[e - 1]))
		e--;
	for (i = s; i < e; i++) {
		if (v[i] == '\0')
			continue;
		if ((unsigned char)v[i] >= 0x80)
			eightbit = 1;
		v[s + n++] = v[i];
	}
	if (nlen > ps->lim.max_header_len) {
		nlen = ps->lim.max_header_len;
		over = 1;
	}
	if (over)
		ps->flags |= MSG_HEADER_TOO_LONG;
	if (eightbit)
		ps->flags |= MSG_8BIT_HEADER;
	h.name = arena_strndup(ps->a, name, nlen);
	h.raw = arena_strndup(ps->a, v + s, n);
	h.value = header_value(ps, h.raw, n, eightbit);
	sbuf_append(&ps->hdrs, &h, sizeof(h));
}

/*
 * One field: its first line and the continuation lines after it. Returns
 * the index of the line after the field. Fields over max_headers are
 * skipped over, not kept.
 */
static size_t add_field(struct parse *ps, const char *p, size_t len, const struct line *first,
			size_t nlen, size_t colon, int *kept)
{
	struct line l = *first;
	int over = 0, keep = *kept < ps->lim.max_headers;
	size_t i;

	sbuf_reset(&ps->tmp);
	/* Blanks after the colon are not part of the value, nor of its length. */
	for (colon++; colon < l.end && is_wsp(p[colon]); colon++)
		;
	if (keep)
		unfold_add(ps, p + colon, l.end - colon, &over);
	/* Bounded: each round moves i to the next line. */
	for (i = l.next; i < len && is_wsp(p[i]); i = l.next) {
		line_at(p, len, i, &l);
		if (keep)
			unfold_add(ps, p + l.start, l.end - l.start, &over);
	}
	if (!keep) {
		ps->flags |= MSG_TOO_MANY_HEADERS;
		return i;
	}
	store_field(ps, p + first->start, nlen, over);
	(*kept)++;
	return i;
}

/*
 * Parse the header block at the start of p into part->headers. Returns
 * where the body starts: after the empty line, or at the first line that
 * is not a header field (no empty line: MSG_NO_HEADER_END).
 */
static size_t parse_headers(struct parse *ps, struct mime_part *part, const char *p, size_t len)
{
	struct line l;
	size_t i = 0, nlen, colon = 0;
	int kept = 0;

	sbuf_reset(&ps->hdrs);
	/* Bounded: every round moves i forward by at least one line. */
	while (i < len) {
		line_at(p, len, i, &l);
		if (l.end == l.start) {
			i = l.next;
			goto done;
		}
		if (is_wsp(p[i])) {
			i = l.next;	/* continuation of no field: dropped */
			continue;
		}
		nlen = field_name(p + i, l.end - i, &colon);
		if (nlen == 0)
			break;
		i = add_field(ps, p, len, &l, nlen, i + colon, &kept);
	}
	if (len > 0)
		ps->flags |= MSG_NO_HEADER_END;
done:
	part->nheaders = kept;
	part->headers = arena_alloc(ps->a, ps->hdrs.len);
	if (ps->hdrs.len)
		memcpy(part->headers, ps->hdrs.data, ps->hdrs.len);
	return i;
}

const struct msg_header *msg_header(const struct mime_part *part, const char *name)
{
	int i;

	if (part == NULL)
		return NULL;
	for (i = 0; i < part->nheaders; i++)
		if (strcasecmp(part->headers[i].name, name) == 0)
			return &part->headers[i];
	return NULL;
}

int msg_header_count(const struct mime_part *part, const char *name)
{
	int i, n = 0;

	if (part == NULL)
		return 0;
	for (i = 0; i < part->nheaders; i++)
		if (strcasecmp(part->headers[i].name, name) == 0)
			n++;
	return n;
}

/* --- Content-Type and Content-Disposition parameters ------------------------ */

struct param {
	size_t name, nlen, val, vlen;
	int quoted;
};

struct ctval {
	const char *s;
	size_t len;
	size_t type, tlen;	/* "type/subtype" or the disposition type */
	int n;
	struct param pv[PARAMS_MAX];
};

/* Skip blanks and (nested) comments. */
static size_t skip_cfws(const char *s, size_t len, size_t i)
{
	size_t depth = 0;

	for (; i < len; i++) {
		char c = s[i];

		if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (c == '(')
			depth = 1;
		else if (!is_wsp(c) && c != '\r' && c != '\n')
			break;
	}
	return i;
}

/* One value after "name=": a quoted string, or up to ";" or a blank. */
static size_t param_value(const char *s, size_t len, size_t i, struct param *pv)
{
	pv->quoted = i < len && s[i] == '"';
	if (pv->quoted) {
		pv->val = ++i;
		while (i < len && s[i] != '"')
			i += s[i] == '\\' && i + 1 < len ? 2 : 1;
		pv->vlen = i - pv->val;
		return i < len ? i + 1 : i;
	}
	/* Unquoted values break the token rules all the time ("=_NextPart"). */
	pv->val = i;
	while (i < len && s[i] != ';' && !is_wsp(s[i]))
		i++;
	pv->vlen = i - pv->val;
	return i;
}

/*
 * Split "type/subtype; a=b; c="d"" into pieces. Lenient like mail
 * readers: blanks around "=", missing ";", junk between parameters.
 */
static void ctval_parse(const char *s, size_t len, struct ctval *ct)
{
	struct param *pv;
	size_t i;

	ct->s = s;
	ct->len = len;
	ct->n = 0;
	i = ct->type = skip_cfws(s, len, 0);
	while (i < len && s[i] != ';' && s[i] != '(' && !is_wsp(s[i]))
		i++;
	ct->tlen = i - ct->type;
	/* Bounded: i never moves back, and each round takes a ";" or a parameter. */
	while (i < len && ct->n < PARAMS_MAX) {
		i = skip_cfws(s, len, i);
		if (i < len && s[i] == ';') {
			i++;
			continue;
		}
		pv = &ct->pv[ct->n];
		pv->name = i;
		while (i < len && s[i] != '=' && s[i] != ';' && s[i] != '(' && !is_wsp(s[i]))
			i++;
		pv->nlen = i - pv->name;
		i = skip_cfws(s, len, i);
		if (i == len || s[i] != '=' || pv->nlen == 0 || pv->nlen > PARAM_NAME_MAX) {
			while (i < len && s[i] != ';')
				i++;
			continue;
		}
		i = param_value(s, len, skip_cfws(s, len, i + 1), pv);
		ct->n++;
	}
}

static const struct param *param_find(const struct ctval *ct, const char *name)
{
	size_t l = strlen(name);
	int i;

	for (i = 0; i < ct->n; i++)
		if (ct->pv[i].nlen == l && strncasecmp(ct->s + ct->pv[i].name, name, l) == 0)
			return &ct->pv[i];
	return NULL;
}

/* Append the value, backslash escapes of a quoted string removed. */
static void param_copy(const struct ctval *ct, const struct param *pv, struct sbuf *out)
{
	const char *v = ct->s + pv->val;
	size_t i;

	if (!pv->quoted) {
		sbuf_append(out, v, pv->vlen);
		return;
	}
	for (i = 0; i < pv->vlen; i++) {
		if (v[i] == '\\' && i + 1 < pv->vlen)
			i++;
		sbuf_putc(out, v[i]);
	}
}


/* RFC 2231 extended value: "charset'lang'%XX..." (first section) or "%XX...". */
static void param_ext(const struct ctval *ct, const struct param *pv, int first, char *cs,
		      size_t cssz, struct sbuf *out)
{
	const char *v = ct->s + pv->val, *q1, *q2;
	size_t len = pv->vlen, i;
	int hi, lo;

	q1 = first ? memchr(v, '\'', len) : NULL;
	q2 = q1 ? memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v)) : NULL;
	if (q2) {
		if ((size_t)(q1 - v) < cssz) {
			memcpy(cs, v, (size_t)(q1 - v));
			cs[q1 - v] = '\0';
		}
		len -= (size_t)(q2 + 1 - v);
		v = q2 + 1;
	}
	for (i = 0; i < len; i++) {
		if (v[i] == '%' && i + 2 < len && (hi = text_hexval(v[i + 1])) >= 0 &&
		    (lo = text_hexval(v[i + 2])) >= 0) {
			sbuf_putc(out, hi << 4 | lo);
			i += 2;
			continue;
		}
		sbuf_putc(out, v[i]);
	}
}

/*
 * The bytes of parameter key into out: "key*" (RFC 2231 extended), else
 * the sections "key*0", "key*1*"... in order, else plain "key". Returns 0
 * when absent, 1 for a plain value, 2 for an extended one (cs gets its
 * charset, "" when it names none).
 */
static int param_get(const struct ctval *ct, const char *key, char *cs, size_t cssz,
		     struct sbuf *out)
{
	char name[PARAM_NAME_MAX + 16];
	const struct param *pv;
	int i, ext = 0;

	cs[0] = '\0';
	snprintf(name, sizeof(name), "%s*", key);
	if ((pv = param_find(ct, name))) {
		param_ext(ct, pv, 1, cs, cssz, out);
		return 2;
	}
	for (i = 0; i < PARAMS_MAX; i++) {
		snprintf(name, sizeof(name), "%s*%d", key, i);
		if ((pv = param_find(ct, name))) {
			param_copy(ct, pv, out);
			continue;
		}
		snprintf(name, sizeof(name), "%s*%d*", key, i);
		if (!(pv = param_find(ct, name)))
			break;
		param_ext(ct, pv, i == 0, cs, cssz, out);
		ext = 1;
	}
	if (i > 0)
		return ext ? 2 : 1;
	if (!(pv = param_find(ct, key)))
		return 0;
	param_copy(ct, pv, out);
	return 1;
}

/* A parameter as UTF-8 text (file names), or NULL when absent or empty. */
static char *param_text(struct parse *ps, const struct ctval *ct, const char *key)
{
	char cs[PARAM_NAME_MAX];
	const char *v;
	size_t n;
	int kind;

	sbuf_reset(&ps->dec);
	kind = param_get(ct, key, cs, sizeof(cs), &ps->dec);
	if (kind == 0 || ps->dec.len == 0)
		return NULL;
	v = sbuf_cstr(&ps->dec);
	n = ps->dec.len;
	sbuf_reset(&ps->conv);
	if (kind == 2)
		add_cs_flags(ps, codec_to_utf8(ps->cc, cs[0] ? cs : NULL, v, n, &ps->conv));
	else	/* name="=?UTF-8?B?...?=": not allowed, but what most mailers send */
		ew_decode(ps, v, n, &ps->conv);
	text_fix(&ps->conv, 0);
	return arena_strndup(ps->a, ps->conv.data, ps->conv.len);
}

/* A parameter's bytes as they are (lower case when lc), or NULL when absent or empty. */
static char *param_bytes(struct parse *ps, const struct ctval *ct, const char *key, int lc)
{
	char cs[PARAM_NAME_MAX], *s;

	sbuf_reset(&ps->dec);
	if (!param_get(ct, key, cs, sizeof(cs), &ps->dec) || ps->dec.len == 0)
		return NULL;
	s = arena_strndup(ps->a, ps->dec.data, ps->dec.len);
	if (lc)
		lower(s);
	return s;
}

static int token_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

/* "type/subtype" in lower case, or NULL when it is not one. */
static char *media_type(struct parse *ps, const struct ctval *ct)
{
	const char *t = ct->s + ct->type;
	size_t i, slash = 0;
	char *s;

	if (ct->tlen > CTYPE_MAX)
		return NULL;
	for (i = 0; i < ct->tlen; i++) {
		if (t[i] == '/' && slash == 0 && i > 0)
			slash = i;
		else if (!token_char((unsigned char)t[i]))
			return NULL;
	}
	if (slash == 0 || slash + 1 == ct->tlen)
		return NULL;
	s = arena_strndup(ps->a, t, ct->tlen);
	lower(s);
	return s;
}

/* The first token of a header's value, lower case, or NULL. */
static char *header_token(struct parse *ps, const struct mime_part *part, const char *name)
{
	const struct msg_header *h = msg_header(part, name);
	struct ctval ct;
	char *s;

	if (h == NULL)
		return NULL;
	ctval_parse(h->raw, strlen(h->raw), &ct);
	if (ct.tlen == 0 || ct.tlen > CTYPE_MAX)
		return NULL;
	s = arena_strndup(ps->a, ct.s + ct.type, ct.tlen);
	lower(s);
	return s;
}

/* Fill in ctype, charset, filename, cte, is_attachment; returns the boundary or NULL. */
static char *content_headers(struct parse *ps, struct mime_part *part, int in_digest)
{
	const struct msg_header *h;
	struct ctval ct;
	char *boundary = NULL, *fn;
	int attachment = 0;

	part->ctype = NULL;
	if ((h = msg_header(part, "Content-Type"))) {
		ctval_parse(h->raw, strlen(h->raw), &ct);
		part->ctype = media_type(ps, &ct);
		part->charset = param_bytes(ps, &ct, "charset", 1);
		boundary = param_bytes(ps, &ct, "boundary", 0);
		part->filename = param_text(ps, &ct, "name");
	}
	if (part->ctype == NULL) {
		const char *def = in_digest ? "message/rfc822" : "text/plain";

		part->ctype = arena_strndup(ps->a, def, strlen(def));
	}
	if ((h = msg_header(part, "Content-Disposition"))) {
		ctval_parse(h->raw, strlen(h->raw), &ct);
		attachment = ct.tlen == 10 && strncasecmp(ct.s + ct.type, "attachment", 10) == 0;
		if ((fn = param_text(ps, &ct, "filename")))
			part->filename = fn;
	}
	part->is_attachment = attachment || part->filename;
	part->cte = header_token(ps, part, "Content-Transfer-Encoding");
	if (boundary && strlen(boundary) > BOUNDARY_MAX)
		boundary = NULL;
	return boundary;
}

/* --- the tree --------------------------------------------------------------- */

/*
 * Is there a delimiter line "--boundary" at body[d]? Returns 0 (no), 1
 * (a delimiter), 2 (the close delimiter "--boundary--"); *next gets the
 * start of the line after it. After the boundary only blanks may follow,
 * or "abc" would match the line "--abc_1" of a nested part.
 */
static int delimiter_at(const char *body, size_t blen, size_t d, const char *b, size_t bl,
			size_t *next)
{
	struct line l;
	size_t i = d + 2 + bl;
	int close = 0;

	if (blen - d < 2 + bl || memcmp(body + d, "--", 2) != 0 || memcmp(body + d + 2, b, bl) != 0)
		return 0;
	line_at(body, blen, d, &l);
	if (l.end < i)
		return 0;	/* a boundary ending in CR */
	if (l.end - i >= 2 && body[i] == '-' && body[i + 1] == '-') {
		close = 1;
		i = l.end;	/* anything may follow a close delimiter */
	}
	while (i < l.end && is_wsp(body[i]))
		i++;
	if (i != l.end)
		return 0;
	*next = l.next;
	return close ? 2 : 1;
}

/* Record a part found between delimiters (its last line break is the delimiter's). */
static int add_span(struct parse *ps, size_t start, size_t end, const char *body)
{
	struct span s;

	if (ps->m->nparts >= ps->lim.max_parts) {
		ps->flags |= MSG_TOO_MANY_PARTS;
		return -1;
	}
	if (end > start && body[end - 1] == '\r')
		end--;
	s.off = start;
	s.len = end > start ? end - start : 0;
	sbuf_append(&ps->kids, &s, sizeof(s));
	ps->m->nparts++;
	return 0;
}

/*
 * Find the parts of a multipart body in one pass over its lines.
 * Preamble and epilogue are dropped; a missing close delimiter ends the
 * last part at the end of the body. Returns -1 when no delimiter is found.
 */
static int split_multipart(struct parse *ps, const char *body, size_t blen, const char *b)
{
	size_t bl = strlen(b), d, next = 0, start = 0;
	int found = 0, in_part = 0, kind;
	const char *nl;

	sbuf_reset(&ps->kids);
	/* Bounded: d moves to the next line every round. */
	for (d = 0; d < blen; d = nl ? (size_t)(nl - body) + 1 : blen) {
		kind = body[d] == '-' ? delimiter_at(body, blen, d, b, bl, &next) : 0;
		if (kind) {
			found = 1;
			if (in_part && add_span(ps, start, d > 0 ? d - 1 : 0, body) < 0)
				return 0;
			if (kind == 2)
				return 0;
			in_part = 1;
			start = next;
		}
		nl = memchr(body + d, '\n', blen - d);
	}
	if (in_part)
		add_span(ps, start, blen, body);
	return found ? 0 : -1;
}

static struct mime_part *new_part(struct parse *ps, struct mime_part *parent)
{
	struct mime_part *part = arena_zalloc(ps->a, sizeof(*part));

	part->parent = parent;
	part->depth = parent ? parent->depth + 1 : 0;
	return part;
}

static void push(struct parse *ps, struct mime_part *part, const char *p, size_t len, int digest)
{
	struct work w = { part, p, len, digest };

	sbuf_append(&ps->stack, &w, sizeof(w));
}

/* Children from ps->kids, pushed last first so they are parsed in order. */
static void add_children(struct parse *ps, struct mime_part *part, const char *body, int digest)
{
	const struct span *s = (const struct span *)ps->kids.data;
	int i, n = (int)(ps->kids.len / sizeof(*s));

	part->nchildren = n;
	part->children = arena_alloc(ps->a, (size_t)n * sizeof(*part->children));
	for (i = 0; i < n; i++)
		part->children[i] = new_part(ps, part);
	for (i = n - 1; i >= 0; i--)
		push(ps, part->children[i], body + s[i].off, s[i].len, digest);
}

enum cte_kind { CTE_IDENTITY, CTE_BASE64, CTE_QP };

static enum cte_kind cte_kind(const char *cte)
{
	if (cte && strcmp(cte, "base64") == 0)
		return CTE_BASE64;
	if (cte && strcmp(cte, "quoted-printable") == 0)
		return CTE_QP;
	return CTE_IDENTITY;
}

/* Transfer-decode into ps->dec, or only count when out is 0. Returns the length. */
static size_t transfer_decode(struct parse *ps, const struct mime_part *part, int out)
{
	enum cte_kind k = cte_kind(part->cte);
	char *o = NULL;
	size_t n;
	int bad = 0;

	if (k == CTE_IDENTITY)
		return part->raw_len;
	if (out) {
		sbuf_reset(&ps->dec);
		sbuf_reserve(&ps->dec, part->raw_len);
		o = ps->dec.data;
	}
	if (k == CTE_BASE64)
		n = codec_b64_decode(part->raw_body, part->raw_len, o, &bad);
	else
		n = codec_qp_decode(part->raw_body, part->raw_len, o, &bad);
	if (bad)
		ps->flags |= k == CTE_BASE64 ? MSG_BAD_BASE64 : MSG_BAD_QP;
	if (out)
		ps->dec.len = n;
	return n;
}

/* A part with no children: decode it; keep text only for text/ parts. */
static void leaf(struct parse *ps, struct mime_part *part)
{
	const char *p = part->raw_body;
	size_t len;

	sbuf_append(&ps->leaves, &part, sizeof(part));
	if (strncmp(part->ctype, "text/", 5) != 0) {
		part->decoded_len = transfer_decode(ps, part, 0);
		return;
	}
	len = part->decoded_len = transfer_decode(ps, part, 1);
	if (cte_kind(part->cte) != CTE_IDENTITY)
		p = ps->dec.data;
	sbuf_reset(&ps->conv);
	add_cs_flags(ps, codec_to_utf8(ps->cc, part->charset, p, len, &ps->conv));
	text_fix(&ps->conv, 1);
	part->text = arena_strndup(ps->a, ps->conv.data, ps->conv.len);
	part->text_len = ps->conv.len;
}

/* A multipart body without a usable boundary is read as one text part. */
static void as_text(struct parse *ps, struct mime_part *part)
{
	ps->flags |= MSG_MISSING_BOUNDARY;
	part->ctype = arena_strndup(ps->a, "text/plain", 10);
	leaf(ps, part);
}

static void multipart(struct parse *ps, struct mime_part *part, const char *boundary)
{
	if (part->depth >= ps->lim.max_depth) {
		ps->flags |= MSG_TOO_DEEP;
		leaf(ps, part);
		return;
	}
	if (boundary == NULL || split_multipart(ps, part->raw_body, part->raw_len, boundary) < 0) {
		as_text(ps, part);
		return;
	}
	if (ps->kids.len == 0) {
		leaf(ps, part);	/* only a close delimiter, or no room for parts */
		return;
	}
	add_children(ps, part, part->raw_body, strcmp(part->ctype, "multipart/digest") == 0);
}

/* message/rfc822: the body is a message of its own, one level down. */
static void message(struct parse *ps, struct mime_part *part)
{
	if (part->depth >= ps->lim.max_depth) {
		ps->flags |= MSG_TOO_DEEP;
		leaf(ps, part);
		return;
	}
	sbuf_reset(&ps->kids);
	if (add_span(ps, 0, part->raw_len, part->raw_body) < 0) {
		leaf(ps, part);
		return;
	}
	add_children(ps, part, part->raw_body, 0);
}

static int is_message(const struct mime_part *part)
{
	/* An encoded message/rfc822 is not allowed (RFC 2046 5.2.1): left a leaf. */
	if (cte_kind(part->cte) != CTE_IDENTITY)
		return 0;
	return strcmp(part->ctype, "message/rfc822") == 0 ||
	       strcmp(part->ctype, "message/global") == 0;
}

static void process(struct parse *ps, const struct work *w)
{
	struct mime_part *part = w->part;
	size_t body = parse_headers(ps, part, w->p, w->len);
	char *boundary;

	part->raw_body = w->p + body;
	part->raw_len = w->len - body;
	boundary = content_headers(ps, part, w->in_digest);
	if (strncmp(part->ctype, "multipart/", 10) == 0)
		multipart(ps, part, boundary);
	else if (is_message(part))
		message(ps, part);
	else
		leaf(ps, part);
}

void mime_limits_default(struct mime_limits *lim)
{
	lim->max_size = 20 * 1024 * 1024;
	lim->max_headers = 1000;
	lim->max_header_len = 64 * 1024;
	lim->max_depth = 20;
	lim->max_parts = 1000;
}

/* Skip an mbox "From " separator line: it is not a header field. */
static size_t skip_mbox_from(const char *p, size_t len)
{
	const char *nl;

	if (len < 5 || memcmp(p, "From ", 5) != 0)
		return 0;
	nl = memchr(p, '\n', len);
	return nl ? (size_t)(nl - p) + 1 : len;
}

/* Parse the work stack down: each round takes one part off it. */
static void parse_tree(struct parse *ps)
{
	struct work w;

	/* Bounded: at most max_parts parts are ever pushed. */
	while (ps->stack.len >= sizeof(w)) {
		ps->stack.len -= sizeof(w);
		memcpy(&w, ps->stack.data + ps->stack.len, sizeof(w));
		process(ps, &w);
	}
}

struct msg *msg_parse(const char *p, size_t len, const struct mime_limits *lim)
{
	struct msg_priv *mp = xcalloc(1, sizeof(*mp));
	struct msg *m = &mp->m;
	struct parse ps;
	size_t start;

	parse_init(&ps);
	if (lim)
		ps.lim = *lim;
	else
		mime_limits_default(&ps.lim);
	ps.m = m;
	ps.a = &mp->arena;
	ps.cc = codec_cache_new();
	m->size = len;
	m->len = len < ps.lim.max_size ? len : ps.lim.max_size;
	if (m->len < len)
		ps.flags |= MSG_TRUNCATED;
	m->buf = xmalloc(m->len + 1);
	if (m->len)
		memcpy(m->buf, p, m->len);
	m->buf[m->len] = '\0';
	if (memchr(m->buf, '\0', m->len))
		ps.flags |= MSG_NUL;
	start = skip_mbox_from(m->buf, m->len);
	m->root = new_part(&ps, NULL);
	m->nparts = 1;
	push(&ps, m->root, m->buf + start, m->len - start, 0);
	parse_tree(&ps);
	m->nleaves = (int)(ps.leaves.len / sizeof(struct mime_part *));
	m->leaves = arena_alloc(ps.a, ps.leaves.len);
	if (ps.leaves.len)
		memcpy(m->leaves, ps.leaves.data, ps.leaves.len);
	m->flags = ps.flags;
	parse_done(&ps);
	return m;
}

void msg_free(struct msg *m)
{
	struct msg_priv *mp = (struct msg_priv *)m;

	if (m == NULL)
		return;
	arena_free(&mp->arena);
	free(m->buf);
	free(mp);
}
