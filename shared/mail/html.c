/*
 * html - HTML reduced to the text a reader sees; see html.h.
 *
 * One pass over the input after the WHATWG HTML tokenizer: a '<' starts
 * a tag only before a letter ("a < b" is text), attribute values may be
 * quoted with either quote or not at all, a tag or comment cut off by the
 * end of the input is dropped, and the content of <script>, <style> and
 * <title> runs to their end tag. Character references follow the standard
 * too (numeric ones in 0x80..0x9f are windows-1252, a few legacy names
 * work without ';'), and characters Unicode draws as nothing (soft hyphen,
 * zero-width space) are left out, so "V&shy;iagra" reads as a reader sees it.
 *
 * Bound: every step of the main loop consumes at least one byte and no
 * byte is looked at more than a few times; memchr()/memmem() find the
 * ends of quoted values, comments and raw text.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/html.h"
#include "core/mem.h"
#include "core/text.h"
#include "core/sbuf.h"
#include "mail/url.h"

#define TAG_NAME_MAX 15		/* longer than any name in tag_kinds[] */
#define ENTITY_NAME_MAX 31	/* longer than any name in entities[] */

enum { WS_NONE, WS_SPACE, WS_BREAK };

struct html {
	const char *p;
	size_t len, i;		/* input, and where the scan is */
	struct sbuf out;	/* the text */
	int ws;			/* white space owed before the next character (WS_) */
	struct url_list *links;	/* may be NULL: then none are collected */
	size_t max_links;
	long open_a;		/* index in links of the <a> whose text is being read, or -1 */
	size_t a_start;		/* out.len when it opened */
	struct sbuf attr;	/* the link attribute of the current tag, decoded */
};

enum { T_BLOCK = 1, T_CELL = 2, T_RAW = 4, T_ANCHOR = 8 };

struct tag_kind {
	const char *name;
	int flags;
	const char *link;	/* attribute holding a link, or NULL */
};

/* Sorted by name (bsearch, strcmp order). */
static const struct tag_kind tag_kinds[] = {
	{"a", T_ANCHOR, "href"}, {"address", T_BLOCK, NULL}, {"area", 0, "href"},
	{"article", T_BLOCK, NULL}, {"aside", T_BLOCK, NULL},	{"blockquote", T_BLOCK, NULL},
	{"br", T_BLOCK, NULL},	  {"caption", T_BLOCK, NULL}, {"center", T_BLOCK, NULL},
	{"dd", T_BLOCK, NULL},	  {"div", T_BLOCK, NULL},	{"dl", T_BLOCK, NULL},
	{"dt", T_BLOCK, NULL},	  {"fieldset", T_BLOCK, NULL}, {"figcaption", T_BLOCK, NULL},
	{"figure", T_BLOCK, NULL}, {"footer", T_BLOCK, NULL},	{"form", T_BLOCK, "action"},
	{"h1", T_BLOCK, NULL},	  {"h2", T_BLOCK, NULL},	{"h3", T_BLOCK, NULL},
	{"h4", T_BLOCK, NULL},	  {"h5", T_BLOCK, NULL},	{"h6", T_BLOCK, NULL},
	{"header", T_BLOCK, NULL}, {"hr", T_BLOCK, NULL},	{"iframe", T_RAW, NULL},
	{"img", 0, "src"},	  {"li", T_BLOCK, NULL},	{"main", T_BLOCK, NULL},
	{"nav", T_BLOCK, NULL},	  {"noembed", T_RAW, NULL},	{"noframes", T_RAW, NULL},
	{"ol", T_BLOCK, NULL},	  {"p", T_BLOCK, NULL},		{"pre", T_BLOCK, NULL},
	{"script", T_RAW, NULL},  {"section", T_BLOCK, NULL}, {"style", T_RAW, NULL},
	{"table", T_BLOCK, NULL}, {"td", T_CELL, NULL},	{"th", T_CELL, NULL},
	{"title", T_RAW, NULL},	  {"tr", T_BLOCK, NULL},	{"ul", T_BLOCK, NULL},
};

struct entity {
	const char *name;
	uint32_t cp;
};

/* The references mail really uses, sorted by name (bsearch, strcmp order). */
static const struct entity entities[] = {
	{"AElig", 0xc6}, {"Aacute", 0xc1}, {"Acirc", 0xc2}, {"Agrave", 0xc0}, {"Aring", 0xc5},
	{"Atilde", 0xc3}, {"Auml", 0xc4}, {"Ccedil", 0xc7}, {"Dagger", 0x2021}, {"ETH", 0xd0},
	{"Eacute", 0xc9}, {"Ecirc", 0xca}, {"Egrave", 0xc8}, {"Iacute", 0xcd}, {"Ntilde", 0xd1},
	{"Oacute", 0xd3}, {"Ocirc", 0xd4}, {"Omega", 0x3a9}, {"Oslash", 0xd8}, {"Ouml", 0xd6},
	{"Prime", 0x2033}, {"THORN", 0xde}, {"Uacute", 0xda}, {"Uuml", 0xdc}, {"aacute", 0xe1},
	{"acirc", 0xe2}, {"acute", 0xb4}, {"aelig", 0xe6}, {"agrave", 0xe0}, {"alpha", 0x3b1},
	{"amp", 0x26}, {"apos", 0x27}, {"aring", 0xe5}, {"atilde", 0xe3}, {"auml", 0xe4},
	{"bdquo", 0x201e}, {"beta", 0x3b2}, {"brvbar", 0xa6}, {"bull", 0x2022}, {"ccedil", 0xe7},
	{"cedil", 0xb8}, {"cent", 0xa2}, {"check", 0x2713}, {"clubs", 0x2663}, {"copy", 0xa9},
	{"cross", 0x2717}, {"curren", 0xa4}, {"dagger", 0x2020}, {"darr", 0x2193}, {"deg", 0xb0},
	{"delta", 0x3b4}, {"diams", 0x2666}, {"divide", 0xf7}, {"eacute", 0xe9}, {"ecirc", 0xea},
	{"egrave", 0xe8}, {"emsp", 0x2003}, {"ensp", 0x2002}, {"eth", 0xf0}, {"euml", 0xeb},
	{"euro", 0x20ac}, {"frac12", 0xbd}, {"frac14", 0xbc}, {"frac34", 0xbe}, {"frasl", 0x2044},
	{"gamma", 0x3b3}, {"ge", 0x2265}, {"gt", 0x3e}, {"harr", 0x2194}, {"hearts", 0x2665},
	{"hellip", 0x2026}, {"iacute", 0xed}, {"icirc", 0xee}, {"iexcl", 0xa1}, {"igrave", 0xec},
	{"infin", 0x221e}, {"iquest", 0xbf}, {"iuml", 0xef}, {"laquo", 0xab}, {"larr", 0x2190},
	{"ldquo", 0x201c}, {"le", 0x2264}, {"lowast", 0x2217}, {"lrm", 0x200e},
	{"lsaquo", 0x2039}, {"lsquo", 0x2018}, {"lt", 0x3c}, {"macr", 0xaf}, {"mdash", 0x2014},
	{"micro", 0xb5}, {"middot", 0xb7}, {"minus", 0x2212}, {"mu", 0x3bc}, {"nbsp", 0xa0},
	{"ndash", 0x2013}, {"ne", 0x2260}, {"not", 0xac}, {"ntilde", 0xf1}, {"oacute", 0xf3},
	{"ocirc", 0xf4}, {"ograve", 0xf2}, {"oline", 0x203e}, {"ordf", 0xaa}, {"ordm", 0xba},
	{"oslash", 0xf8}, {"otilde", 0xf5}, {"ouml", 0xf6}, {"para", 0xb6}, {"permil", 0x2030},
	{"phone", 0x260e}, {"pi", 0x3c0}, {"plusmn", 0xb1}, {"pound", 0xa3}, {"prime", 0x2032},
	{"prod", 0x220f}, {"quot", 0x22}, {"radic", 0x221a}, {"raquo", 0xbb}, {"rarr", 0x2192},
	{"rdquo", 0x201d}, {"reg", 0xae}, {"rlm", 0x200f}, {"rsaquo", 0x203a}, {"rsquo", 0x2019},
	{"sbquo", 0x201a}, {"sect", 0xa7}, {"shy", 0xad}, {"sigma", 0x3c3}, {"spades", 0x2660},
	{"star", 0x2606}, {"starf", 0x2605}, {"sum", 0x2211}, {"sup1", 0xb9}, {"sup2", 0xb2},
	{"sup3", 0xb3}, {"szlig", 0xdf}, {"thinsp", 0x2009}, {"thorn", 0xfe}, {"times", 0xd7},
	{"trade", 0x2122}, {"uacute", 0xfa}, {"uarr", 0x2191}, {"ucirc", 0xfb}, {"ugrave", 0xf9},
	{"uml", 0xa8}, {"uuml", 0xfc}, {"yacute", 0xfd}, {"yen", 0xa5}, {"yuml", 0xff},
	{"zwj", 0x200d}, {"zwnj", 0x200c},
};

/* Legacy references browsers decode without ';' (the common part of the list). */
static const struct entity legacy[] = {
	{"amp", 0x26}, {"lt", 0x3c}, {"gt", 0x3e}, {"quot", 0x22},
	{"nbsp", 0xa0}, {"copy", 0xa9}, {"reg", 0xae},
};

/* &#128; to &#159; mean windows-1252, as in every browser. */
static const uint16_t cp1252[32] = {
	0x20ac, 0x81,	0x201a, 0x192,	0x201e, 0x2026, 0x2020, 0x2021, 0x2c6,	0x2030, 0x160,
	0x2039, 0x152,	0x8d,	0x17d,	0x8f,	0x90,	0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
	0x2013, 0x2014, 0x2dc,	0x2122, 0x161,	0x203a, 0x153,	0x9d,	0x17e,	0x178,
};

/* HTML white space (the standard's "ASCII whitespace"). */
static int is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* p[0..n) is name, ignoring ASCII case. */
static int name_is(const char *p, size_t n, const char *name)
{
	if (strlen(name) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (text_lower((unsigned char)p[i]) != name[i])
			return 0;
	return 1;
}

/* One UTF-8 character: its code point, U+FFFD for a bad byte (then *n is 1). */
static uint32_t utf8_next(const unsigned char *p, size_t len, size_t *n)
{
	uint32_t cp, min;
	size_t need;

	*n = 1;
	if (p[0] < 0x80)
		return p[0];
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 1, cp = p[0] & 0x1f, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 2, cp = p[0] & 0x0f, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 3, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return 0xfffd;
	}
	if (len <= need)
		return 0xfffd;
	for (size_t k = 1; k <= need; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0xfffd;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0xfffd;
	*n = need + 1;
	return cp;
}

static void put_utf8(struct sbuf *sb, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12), n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18), n = 4;
	}
	for (size_t k = 1; k < n; k++)
		b[k] = (unsigned char)(0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3f));
	sbuf_append(sb, b, n);
}

/* Unicode's Default_Ignorable_Code_Point, less rare scripts: drawn as nothing. */
static int invisible(uint32_t cp)
{
	return cp == 0xad || cp == 0x34f || cp == 0x61c || cp == 0x180e || cp == 0x3164 ||
	       cp == 0xfeff || cp == 0xffa0 || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) ||
	       (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0000 && cp <= 0xe0fff);
}

static void emit_ws(struct html *h, int level)
{
	if (h->ws < level)
		h->ws = level;
}

/* White space owed is written only before a character: none leads or trails. */
static void flush_ws(struct html *h)
{
	if (h->ws != WS_NONE && h->out.len > 0)
		sbuf_putc(&h->out, h->ws == WS_BREAK ? '\n' : ' ');
	h->ws = WS_NONE;
}

static void emit_cp(struct html *h, uint32_t cp)
{
	if (cp == 0xa0 || (cp < 0x80 && is_ws((int)cp))) {
		emit_ws(h, WS_SPACE);
		return;
	}
	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || invisible(cp))
		return;
	flush_ws(h);
	put_utf8(&h->out, cp);
}

static int entity_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct entity *)elem)->name);
}

/* &#65; or &#x41; at p (';' optional, as browsers take it). */
static size_t numeric_ref(const char *p, size_t len, uint32_t *cp)
{
	size_t i = 2, digits = 0;
	unsigned base = 10;
	uint32_t v = 0;
	int d;

	if (i < len && text_lower(p[i]) == 'x') {
		base = 16;
		i++;
	}
	for (; i < len && (d = text_hexval((unsigned char)p[i])) >= 0 && (unsigned)d < base; i++) {
		if (v <= 0x10ffff)	/* larger stays larger, without overflow */
			v = v * base + (unsigned)d;
		digits++;
	}
	if (digits == 0)
		return 0;
	if (i < len && p[i] == ';')
		i++;
	if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		v = 0xfffd;
	else if (v >= 0x80 && v <= 0x9f)
		v = cp1252[v - 0x80];
	*cp = v;
	return i;
}

/*
 * A character reference at p[0] == '&': the bytes it takes and its code
 * point, or 0 if it is none (the '&' is then text, "&foo;" stays as is).
 * Legacy names work without ';' (longest match, "&ampx" is "&x") except in
 * attributes before a letter, digit or '=', so "?a=1&copy=2" stays a query.
 */
static size_t char_ref(const char *p, size_t len, int in_attr, uint32_t *cp)
{
	char name[ENTITY_NAME_MAX + 1];
	const struct entity *e;
	size_t n = 0;

	if (len >= 2 && p[1] == '#')
		return numeric_ref(p, len, cp);
	while (1 + n < len && n < ENTITY_NAME_MAX && text_is_alnum(p[1 + n])) {
		name[n] = p[1 + n];
		n++;
	}
	name[n] = '\0';
	e = bsearch(name, entities, sizeof(entities) / sizeof(entities[0]), sizeof(entities[0]),
		    entity_cmp);
	if (e && 1 + n < len && p[1 + n] == ';') {
		*cp = e->cp;
		return n + 2;
	}
	for (size_t k = 0; k < sizeof(legacy) / sizeof(legacy[0]); k++) {
		size_t ln = strlen(legacy[k].name);
		int next = 1 + ln < len ? (unsigned char)p[1 + ln] : 0;

		if (n < ln || memcmp(name, legacy[k].name, ln) != 0)
			continue;
		if (in_attr && (text_is_alnum(next) || next == '='))
			return 0;
		*cp = legacy[k].cp;
		return 1 + ln;
	}
	return 0;
}

/* An attribute value, references decoded, into h->attr. */
static void decode_attr(struct html *h, const char *p, size_t len)
{
	uint32_t cp;
	size_t n;

	sbuf_reset(&h->attr);
	for (size_t i = 0; i < len; i += n) {
		for (n = 0; i + n < len && p[i + n] != '&' && p[i + n] != '\0';)
			n++;
		if (n > 0) {
			sbuf_append(&h->attr, p + i, n);
			continue;
		}
		n = p[i] == '&' ? char_ref(p + i, len - i, 1, &cp) : 0;
		if (n > 0) {
			put_utf8(&h->attr, cp);
			continue;
		}
		n = 1;
		if (p[i] == '\0')
			put_utf8(&h->attr, 0xfffd);
		else
			sbuf_putc(&h->attr, '&');
	}
}

/* The name of the tag at h->i, lower case; "" if longer than any we know. */
static void tag_name(struct html *h, char *name, size_t size)
{
	const char *p = h->p;
	size_t n = 0;

	for (; h->i < h->len && !is_ws(p[h->i]) && p[h->i] != '/' && p[h->i] != '>'; h->i++) {
		if (n < size)
			name[n] = (char)text_lower((unsigned char)p[h->i]);
		n++;
	}
	name[n < size ? n : 0] = '\0';
}

/*
 * Attributes up to and past '>'; the value of the first one called want
 * goes to h->attr. 1 if it was there, 0 if not, -1 if the input ended
 * inside the tag (browsers then drop the tag).
 */
static int tag_attrs(struct html *h, const char *want)
{
	const char *p = h->p, *q;
	size_t len = h->len, i = h->i, ns, ne, vs, ve;
	int found = 0;

	/* Bound: every turn takes at least the first character of a name. */
	while (i < len) {
		while (i < len && (is_ws(p[i]) || p[i] == '/'))
			i++;
		if (i >= len)
			break;
		if (p[i] == '>') {
			h->i = i + 1;
			return found;
		}
		ns = i++;	/* even '=' may start a name */
		while (i < len && !is_ws(p[i]) && p[i] != '/' && p[i] != '>' && p[i] != '=')
			i++;
		ne = i;
		while (i < len && is_ws(p[i]))
			i++;
		if (i >= len || p[i] != '=')
			continue;
		i++;
		while (i < len && is_ws(p[i]))
			i++;
		if (i < len && (p[i] == '"' || p[i] == '\'')) {
			if ((q = memchr(p + i + 1, p[i], len - i - 1)) == NULL)
				break;
			vs = i + 1;
			ve = (size_t)(q - p);
			i = ve + 1;
		} else {
			for (vs = i; i < len && !is_ws(p[i]) && p[i] != '>';)
				i++;
			ve = i;
		}
		if (want && !found && name_is(p + ns, ne - ns, want)) {
			decode_attr(h, p + vs, ve - vs);
			found = 1;
		}
	}
	h->i = len;
	return -1;
}

/* Skip the content of a raw-text element to its end tag (or the end of input). */
static void skip_raw(struct html *h, const char *name)
{
	size_t n = strlen(name), i = h->i;
	const char *lt;

	/* Bound: each turn moves past one '<'. */
	while (i < h->len && (lt = memchr(h->p + i, '<', h->len - i)) != NULL) {
		i = (size_t)(lt - h->p);
		if (h->len - i >= n + 2 && lt[1] == '/' && name_is(lt + 2, n, name) &&
		    (h->len - i == n + 2 || is_ws(lt[n + 2]) || lt[n + 2] == '/' ||
		     lt[n + 2] == '>')) {
			h->i = i;	/* the end tag is read like any other */
			return;
		}
		i++;
	}
	h->i = h->len;
}

/* Copy of at most max bytes, not cutting a UTF-8 character in two. */
static char *dup_cut(const char *p, size_t len, size_t max)
{
	return xstrndup(p, text_utf8_cut(p, len, max));
}

static void link_close(struct html *h)
{
	const char *s;
	size_t n;

	if (h->open_a < 0)
		return;
	s = h->out.data ? h->out.data + h->a_start : "";
	n = h->out.len - h->a_start;
	while (n > 0 && (*s == ' ' || *s == '\n')) {
		s++;
		n--;
	}
	if (n > 0)
		h->links->v[h->open_a].display = dup_cut(s, n, URL_TEXT_MAX);
	h->open_a = -1;
}

static int kind_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct tag_kind *)elem)->name);
}

/* A start or end tag: h->i is at its '<'. */
static void tag(struct html *h, int end)
{
	char name[TAG_NAME_MAX + 1];
	const struct tag_kind *k;
	long idx;
	int found;

	h->i += end ? 2 : 1;
	tag_name(h, name, sizeof(name));
	k = bsearch(name, tag_kinds, sizeof(tag_kinds) / sizeof(tag_kinds[0]), sizeof(tag_kinds[0]),
		    kind_cmp);
	found = tag_attrs(h, k && !end && h->links ? k->link : NULL);
	if (found < 0 || k == NULL)
		return;
	emit_ws(h, k->flags & T_BLOCK ? WS_BREAK : k->flags & T_CELL ? WS_SPACE : WS_NONE);
	if (k->flags & T_ANCHOR)
		link_close(h);	/* an <a> inside an <a> closes it, as in browsers */
	if (found) {
		idx = url_list_add_link(h->links, h->attr.data, h->attr.len, h->max_links);
		if (k->flags & T_ANCHOR) {
			h->open_a = idx;
			h->a_start = h->out.len;
		}
	}
	if (!end && (k->flags & T_RAW))
		skip_raw(h, k->name);
}

/* Comments, <!DOCTYPE>, <?xml?>, </ junk>: up to their end, which may be the input's. */
static void markup_decl(struct html *h)
{
	const char *p = h->p + h->i, *end;
	size_t left = h->len - h->i;

	if (left >= 4 && memcmp(p, "<!--", 4) == 0) {
		if (left >= 5 && p[4] == '>')
			end = p + 2;	/* "<!-->" */
		else if (left >= 6 && p[4] == '-' && p[5] == '>')
			end = p + 3;	/* "<!--->" */
		else
			end = memmem(p + 4, left - 4, "-->", 3);
		h->i = end ? (size_t)(end - h->p) + 3 : h->len;
		return;
	}
	end = memchr(p, '>', left);
	h->i = end ? (size_t)(end - h->p) + 1 : h->len;
}

/* At '<': a tag, a comment or the like, or just a '<' in the text. */
static void markup(struct html *h)
{
	const char *p = h->p + h->i;
	size_t left = h->len - h->i;

	if (left >= 2 && text_is_alpha(p[1])) {
		tag(h, 0);
	} else if (left >= 3 && p[1] == '/' && text_is_alpha(p[2])) {
		tag(h, 1);
	} else if (left >= 2 && (p[1] == '!' || p[1] == '?' || p[1] == '/')) {
		markup_decl(h);
	} else {
		emit_cp(h, '<');
		h->i++;
	}
}

/* Text up to the next '<' or '&'; plain ASCII copied in runs. */
static void text(struct html *h)
{
	const unsigned char *p = (const unsigned char *)h->p;
	size_t i = h->i, n;

	if (p[i] > 0x20 && p[i] < 0x7f) {
		while (i < h->len && p[i] > 0x20 && p[i] < 0x7f && p[i] != '<' && p[i] != '&')
			i++;
		flush_ws(h);
		sbuf_append(&h->out, p + h->i, i - h->i);
		h->i = i;
		return;
	}
	emit_cp(h, utf8_next(p + i, h->len - i, &n));
	h->i += n;
}

char *html_to_text(const char *p, size_t len, size_t *outlen, struct url_list *links,
		   size_t max_links)
{
	struct html h = {.p = p, .len = len, .links = links, .max_links = max_links, .open_a = -1};
	uint32_t cp;
	size_t n;

	sbuf_init(&h.out);
	sbuf_init(&h.attr);
	/* Bound: every turn consumes at least one byte. */
	while (h.i < h.len) {
		if (p[h.i] == '<') {
			markup(&h);
		} else if (p[h.i] != '&') {
			text(&h);
		} else if ((n = char_ref(p + h.i, len - h.i, 0, &cp)) > 0) {
			emit_cp(&h, cp);
			h.i += n;
		} else {
			emit_cp(&h, '&');
			h.i++;
		}
	}
	link_close(&h);
	sbuf_free(&h.attr);
	if (outlen)
		*outlen = h.out.len;
	return h.out.data ? h.out.data : xstrdup("");
}
