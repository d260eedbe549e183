/*
 * url - URLs and e-mail addresses in text, hosts normalised; see url.h.
 *
 * Hosts are parsed the way browsers do (WHATWG URL Standard), not by the
 * narrower RFC 3986, because a phisher's link only has to work in the
 * victim's browser: any number of slashes after "http:", the last '@'
 * ends the userinfo, percent-escapes in the host are decoded, and a host
 * whose last label is a number is an IPv4 address in one of the old
 * inet_aton() spellings ("0xC0000201", "3221225985", "0300.0.02.01").
 * IDN: UTS #46 through libidn2 (RFC 5891). Registrable domain: the
 * Public Suffix List through libpsl.
 *
 * Finding URLs in prose is a linkifier's heuristic: "http://", "https://",
 * "ftp://" or a bare "www." starts one; it runs to white space or a
 * character that cannot be in a URL; trailing punctuation is given back
 * to the sentence. Linear time: a URL's authority ends at the first '/',
 * so two "://" never share one and each byte is looked at a bounded
 * number of times; after a URL the scan goes on behind it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <idn2.h>
#include <libpsl.h>

#include "core/cidr.h"
#include "core/log.h"
#include "core/domain.h"
#include "core/mem.h"
#include "core/text.h"
#include "mail/url.h"

#define HOST_RAW_MAX 1024	/* bytes of a host before IDN; no 253-byte name needs more */
#define LOCAL_MAX 64		/* bytes of a local part (RFC 5321 4.5.3.1.1) */

/* Where one URL lies in the text it was found in. */
struct url_span {
	const char *p;		/* the URL as found */
	size_t len;
	const char *prefix;	/* put before it in url->text ("http://" for a bare www.) */
	const char *scheme;	/* lower case */
	size_t hs, he;		/* host, still raw (percent-escapes, IDN) */
	size_t ps, pe;		/* path and query */
	int userinfo;
};

/* ASCII classes by hand: <ctype.h> follows the locale, input must not. */
/* c is one of set; never true for NUL (strchr would match the terminator). */
static int in_set(int c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

static int is_slash(int c)
{
	return c == '/' || c == '\\';	/* browsers read '\' as '/' in http URLs */
}

/* Where an authority ends (browsers stop at '\' too). */
static int is_auth_end(int c)
{
	return c == '/' || c == '\\' || c == '?' || c == '#';
}

/* ASCII that ends a URL in prose (a switch: this runs for every byte of a URL). */
static int ascii_ends_url(int c)
{
	switch (c) {
	case '<': case '>': case '"': case '{': case '}': case '|': case '^': case '`': case 0x7f:
		return 1;
	default:
		return c <= 0x20;
	}
}

/*
 * Whether p[i] ends a URL in prose: white space, controls, characters
 * linkifiers never take (<>"{}|^`), and the Unicode spaces, quotes and
 * ideographic punctuation that stand next to URLs in real text.
 */
static int ends_url(const char *p, size_t i, size_t len)
{
	const unsigned char *u = (const unsigned char *)p + i;
	size_t left = len - i;

	if (u[0] < 0x80)
		return ascii_ends_url(u[0]);
	if (u[0] == 0xc2 && left >= 2)
		return u[1] == 0xa0 || u[1] == 0xab || u[1] == 0xbb;
	if (u[0] == 0xe2 && left >= 3 && u[1] == 0x80)
		return u[2] <= 0x8f || u[2] == 0x98 || u[2] == 0x99 || u[2] == 0x9c ||
		       u[2] == 0x9d || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf;
	if (u[0] == 0xe2 && left >= 3 && u[1] == 0x81)
		return u[2] == 0x9f || u[2] == 0xa0;
	if (u[0] == 0xe3 && left >= 3)
		return u[1] == 0x80 && u[2] <= 0x82;
	if (u[0] == 0xef && left >= 3)
		return u[1] == 0xbb && u[2] == 0xbf;
	return 0;
}

/* A CJK or fullwidth character (3 bytes of UTF-8) at p[i]. */
static int is_cjk(const char *p, size_t i, size_t len)
{
	const unsigned char *u = (const unsigned char *)p + i;

	if (len - i < 3 || (u[1] & 0xc0) != 0x80 || (u[2] & 0xc0) != 0x80)
		return 0;
	if (u[0] >= 0xe3 && u[0] <= 0xe9)	/* U+3000..U+9FFF */
		return 1;
	if (u[0] >= 0xea && u[0] <= 0xed)	/* U+A000..U+D7FF: Yi, Hangul; not surrogates */
		return !(u[0] == 0xed && u[1] >= 0xa0);
	return u[0] == 0xef && (u[1] >= 0xbc || (u[1] >= 0xa4 && u[1] <= 0xab));
}

/*
 * Whether p[i] ends a host in prose: as a URL ends, or at a CJK character
 * right after a letter or digit, because Chinese, Japanese and Korean
 * text has no spaces: "访问www.example.com获取" names www.example.com.
 */
static int ends_host(const char *p, size_t i, size_t len)
{
	return ends_url(p, i, len) || (i > 0 && text_is_alnum(p[i - 1]) && is_cjk(p, i, len));
}

/* Copy of at most max bytes of p, not cutting a UTF-8 character in two. */
static char *dup_cut(const char *prefix, const char *p, size_t len, size_t max)
{
	size_t plen = strlen(prefix), n = text_utf8_cut(p, len, max > plen ? max - plen : 0);
	char *s;

	s = xmalloc(plen + n + 1);
	memcpy(s, prefix, plen);
	memcpy(s + plen, p, n);
	s[plen + n] = '\0';
	return s;
}

/* Room for one more element in a list's array. */
static void *grow(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	if (*cap > SIZE_MAX / 2 / size)
		msg_fatal("url: list too long");
	*cap = *cap ? *cap * 2 : 16;
	return xrealloc(v, *cap * size);
}

void url_list_init(struct url_list *l)
{
	memset(l, 0, sizeof(*l));
}

void email_list_init(struct email_list *l)
{
	memset(l, 0, sizeof(*l));
}

void url_list_free(struct url_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct url *u = &l->v[i];

		free(u->text);
		free(u->scheme);
		free(u->host);
		free(u->registrable);
		free(u->path);
		free(u->display);
	}
	free(l->v);
	url_list_init(l);
}

void email_list_free(struct email_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	email_list_init(l);
}

/* --- hosts ------------------------------------------------------------ */

/* One part of an IPv4 host: decimal, 0x hex or 0-led octal. 0 or -1. */
static int ipv4_number(const char *p, size_t len, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (len >= 2 && p[0] == '0' && text_lower(p[1]) == 'x') {
		base = 16;
		p += 2;
		len -= 2;
	} else if (len >= 2 && p[0] == '0') {
		base = 8;
		p++;
		len--;
	}
	if (len == 0 && base == 10)
		return -1;	/* an empty part, "1..2" */
	for (size_t i = 0; i < len; i++) {
		int d = text_hexval((unsigned char)p[i]);

		if (d < 0 || (unsigned)d >= base)
			return -1;
		v = v * base + (unsigned)d;
		if (v > 0xffffffffu)
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * IPv4 as browsers read it (WHATWG "IPv4 parser", after inet_aton()): one
 * to four parts, the last filling the remaining bytes. 0 or -1.
 */
static int ipv4_parse_any(const char *p, size_t len, unsigned char a[4])
{
	uint64_t part[4], v;
	size_t n = 0, start = 0;

	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len == 0)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '.')
			continue;
		if (n == 4 || ipv4_number(p + start, i - start, &part[n]) < 0)
			return -1;
		n++;
		start = i + 1;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (part[i] > 255)
			return -1;
	if (part[n - 1] >= (uint64_t)1 << (8 * (5 - n)))
		return -1;
	v = part[n - 1];
	for (size_t i = 0; i + 1 < n; i++)
		v += part[i] << (8 * (3 - i));
	for (int i = 0; i < 4; i++)
		a[i] = (unsigned char)(v >> (24 - 8 * i));
	return 0;
}

/* Browsers take a host whose last label is a number as IPv4, or reject it. */
static int ends_in_number(const char *p, size_t len)
{
	size_t s;

	if (len > 0 && p[len - 1] == '.')
		len--;
	s = len;
	while (s > 0 && p[s - 1] != '.')
		s--;
	if (s == len)
		return 0;
	if (len - s >= 2 && p[s] == '0' && text_lower(p[s + 1]) == 'x') {
		for (size_t i = s + 2; i < len; i++)
			if (text_hexval((unsigned char)p[i]) < 0)
				return 0;
		return 1;
	}
	for (size_t i = s; i < len; i++)
		if (!text_is_digit(p[i]))
			return 0;
	return 1;
}

/* A DNS name after IDN: letters, digits, '-', '_'; labels of 1..63, 253 in all. */
static int valid_hostname(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!text_is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/*
 * Non-transitional UTS #46 first, as browsers and dnsbl.c do; if that
 * fails, transitional, which still takes the symbols IDNA2008 forbids
 * ("i❤.ws" works in a browser, so it must be seen here too).
 */
static char *idn_ascii(const char *s)
{
	char *a = NULL;

	if (idn2_to_ascii_8z(s, &a, IDN2_NONTRANSITIONAL) == IDN2_OK)
		return a;
	a = NULL;
	if (idn2_to_ascii_8z(s, &a, IDN2_TRANSITIONAL) == IDN2_OK)
		return a;
	return NULL;
}

char *url_host_normalise(const char *host, size_t len)
{
	char buf[HOST_RAW_MAX + 1], *idn = NULL, *out = NULL;
	const char *name = buf;
	unsigned char a[4];
	struct ip_addr ip;
	int nonascii = 0;
	size_t n;

	if (len == 0 || len > HOST_RAW_MAX || memchr(host, '\0', len))
		return NULL;
	for (size_t i = 0; i < len; i++) {
		buf[i] = (char)text_lower((unsigned char)host[i]);
		nonascii |= (unsigned char)host[i] >= 0x80;
	}
	buf[len] = '\0';
	if (buf[0] == '[')	/* only IPv6 goes in brackets */
		return memchr(buf, ':', len) && ip_parse(buf, len, &ip) == 0 ? xstrdup(buf) : NULL;
	if (nonascii && (name = idn = idn_ascii(buf)) == NULL)
		return NULL;
	n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (ends_in_number(name, n) ? ipv4_parse_any(name, n, a) == 0 : valid_hostname(name, n))
		out = xstrndup(name, n);
	idn2_free(idn);
	return out;
}

int url_host_ip(const char *host, size_t len, struct ip_addr *ip)
{
	if (len > 0 && host[0] == '[')
		return memchr(host, ':', len) && ip_parse(host, len, ip) == 0 ? 0 : -1;
	memset(ip, 0, sizeof(*ip));
	if (ipv4_parse_any(host, len, ip->a) < 0)
		return -1;
	ip->family = AF_INET;
	return 0;
}

/* Registrable domain of host; the list l is asked first, since links repeat. */
static char *registrable(const struct url_list *l, const char *host)
{
	const char *r;

	for (size_t i = l->n, k = 0; i > 0 && k < 8; i--, k++) {
		const struct url *u = &l->v[i - 1];

		if (strcmp(u->host, host) == 0)
			return u->registrable ? xstrdup(u->registrable) : NULL;
	}
	r = domain_psl() ? psl_registrable_domain(domain_psl(), host) : NULL;
	return r ? xstrdup(r) : NULL;
}

/* --- URLs ------------------------------------------------------------- */

/* The host of a span, percent-escapes decoded and normalised; NULL if bad. */
static char *span_host(const struct url_span *sp)
{
	char buf[HOST_RAW_MAX];
	size_t n = 0;

	for (size_t i = sp->hs; i < sp->he; i++) {
		int hi, lo;

		if (n == sizeof(buf))
			return NULL;
		if (sp->p[i] == '%' && i + 2 < sp->he &&
		    (hi = text_hexval((unsigned char)sp->p[i + 1])) >= 0 &&
		    (lo = text_hexval((unsigned char)sp->p[i + 2])) >= 0) {
			buf[n++] = (char)(hi << 4 | lo);
			i += 2;
			continue;
		}
		buf[n++] = sp->p[i];
	}
	return url_host_normalise(buf, n);
}

/* Port after a host: digits (maybe none) up to 65535, as browsers take it. */
static int port_ok(const char *p, size_t len)
{
	unsigned long v = 0;

	for (size_t i = 0; i < len; i++) {
		if (!text_is_digit(p[i]))
			return 0;
		v = v * 10 + (unsigned long)(p[i] - '0');
		if (v > 65535)
			return 0;
	}
	return 1;
}

/* Userinfo, host and port in p[a..e) (the last '@' ends the userinfo). 0 or -1. */
static int split_authority(struct url_span *sp, size_t a, size_t e)
{
	const char *p = sp->p, *at = NULL, *rb;
	size_t colon = e;

	for (size_t i = a; i < e; i++)
		if (p[i] == '@')
			at = p + i;
	sp->userinfo = at != NULL;
	sp->hs = at ? (size_t)(at - p) + 1 : a;
	if (sp->hs < e && p[sp->hs] == '[') {
		rb = memchr(p + sp->hs, ']', e - sp->hs);
		if (rb == NULL)
			return -1;
		colon = (size_t)(rb - p) + 1;
		if (colon < e && p[colon] != ':')
			return -1;
	} else {
		const char *c = memchr(p + sp->hs, ':', e - sp->hs);

		colon = c ? (size_t)(c - p) : e;
	}
	if (colon < e && !port_ok(p + colon + 1, e - colon - 1))
		return -1;
	sp->he = colon;
	return sp->he > sp->hs ? 0 : -1;
}

/* Path and query: from the end of the authority to '#' or the end. */
static void set_path(struct url_span *sp, size_t e)
{
	const char *hash = e < sp->len ? memchr(sp->p + e, '#', sp->len - e) : NULL;

	sp->ps = e;
	sp->pe = hash ? (size_t)(hash - sp->p) : sp->len;
}

/*
 * Append the URL of sp with its normalised host (taken over) to l; its
 * index. Over max it is only counted.
 */
static long url_put(struct url_list *l, size_t max, const struct url_span *sp, char *host)
{
	struct url *u;

	if (l->n >= max) {
		l->dropped++;
		free(host);
		return -1;
	}
	l->v = grow(l->v, l->n, &l->cap, sizeof(*l->v));
	u = &l->v[l->n];
	memset(u, 0, sizeof(*u));
	u->text = dup_cut(sp->prefix, sp->p, sp->len, URL_TEXT_MAX);
	u->scheme = xstrdup(sp->scheme);
	u->host = host;
	u->host_is_ip = host[0] == '[' || ends_in_number(host, strlen(host));
	u->registrable = u->host_is_ip ? NULL : registrable(l, host);
	u->path = dup_cut("", sp->p + sp->ps, sp->pe - sp->ps, URL_TEXT_MAX);
	u->has_userinfo = sp->userinfo;
	u->span = sp->len;
	return (long)l->n++;
}

/*
 * Give trailing punctuation back to the prose, not below floor: "(see
 * http://a.example/x)." ends at "/x". A closing bracket stays when the
 * URL opened it (Wikipedia's "/wiki/Foo_(bar)").
 */
static size_t trim_end(const char *p, size_t s, size_t e, size_t floor)
{
	long paren = 0, bracket = 0;
	int counted = 0;

	while (e > floor) {
		int c = (unsigned char)p[e - 1];

		if ((c == ')' || c == ']') && !counted) {
			for (size_t i = s; i < e; i++) {	/* once: then kept up to date */
				paren += (p[i] == '(') - (p[i] == ')');
				bracket += (p[i] == '[') - (p[i] == ']');
			}
			counted = 1;
		}
		if (c == ')' && paren < 0)
			paren++;
		else if (c == ']' && bracket < 0)
			bracket++;
		else if (!in_set(c, ".,:;!?'*"))
			break;
		e--;
	}
	return e;
}

/*
 * The URL found in prose at p[s..] whose authority is p[a..e): checked,
 * its path taken to the end of the run, added to out. Returns where it
 * ends, or 0 if it is none. The host is checked before the path is
 * scanned, so a bad one costs only its authority.
 */
static size_t prose_url(const char *p, size_t len, size_t s, size_t a, size_t e,
			const char *scheme, const char *prefix, struct url_list *out, size_t max)
{
	struct url_span sp = {.p = p + s, .prefix = prefix, .scheme = scheme};
	int has_path = e < len && is_auth_end(p[e]);
	size_t r;
	char *host;

	if (!has_path)
		e = trim_end(p, s, e, a);
	if (split_authority(&sp, a - s, e - s) < 0 || (host = span_host(&sp)) == NULL)
		return 0;
	r = e;
	while (has_path && r < len && !ends_url(p, r, len))
		r++;
	r = trim_end(p, s, r, e);
	sp.len = r - s;
	set_path(&sp, e - s);
	url_put(out, max, &sp, host);
	return r;
}

/* A URL whose "://" is at p[k]: where it ends, or 0. */
static size_t scheme_at(const char *p, size_t len, size_t k, struct url_list *out, size_t max)
{
	static const char *const schemes[] = {"http", "https", "ftp"};
	char name[8];
	size_t s = k, a = k + 1, e;

	if (k + 2 >= len || !is_slash(p[k + 1]) || !is_slash(p[k + 2]))
		return 0;
	while (s > 0 && k - s < 6 && text_is_alpha(p[s - 1]))
		s--;
	if (s == k || (s > 0 && text_is_alnum(p[s - 1])))
		return 0;	/* "xhttp://" is not ours */
	for (size_t i = s; i < k; i++)
		name[i - s] = (char)text_lower(p[i]);
	name[k - s] = '\0';
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strcmp(name, schemes[i]) != 0)
			continue;
		while (a < len && is_slash(p[a]))
			a++;
		for (e = a; e < len && !ends_host(p, e, len) && !is_auth_end(p[e]);)
			e++;
		return prose_url(p, len, s, a, e, schemes[i], "", out, max);
	}
	return 0;
}

/* Characters of a bare host: ASCII name characters, '%' and UTF-8 (IDN). */
static int bare_host_char(const char *p, size_t i, size_t len)
{
	int c = (unsigned char)p[i];

	if (c < 0x80)
		return text_is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '%';
	return !ends_host(p, i, len);
}

/* Bare host characters from p[i]: where they stop. */
static size_t bare_host_end(const char *p, size_t i, size_t len)
{
	while (i < len && bare_host_char(p, i, len))
		i++;
	return i;
}

/*
 * A bare "www." at p[k]: where its URL ends, or 0. Its authority is host
 * characters (one '@' allowed, then a port). *seen is where the last one
 * scanned ended: a "www." inside it (after a CJK letter, which is a host
 * character) is not looked at again, so no byte is scanned twice.
 */
static size_t www_at(const char *p, size_t len, size_t k, size_t *seen, struct url_list *out,
		     size_t max)
{
	size_t e, t;

	if (len - k < 5 || text_lower(p[k + 1]) != 'w' || text_lower(p[k + 2]) != 'w' || p[k + 3] != '.')
		return 0;
	if (k < *seen || (k > 0 && (text_is_alnum(p[k - 1]) || in_set(p[k - 1], "-._%@/:"))))
		return 0;	/* part of a longer name, a URL or an address */
	*seen = e = t = bare_host_end(p, k, len);
	while (t > k + 4 && p[t - 1] == '.')
		t--;
	if (!memchr(p + k + 4, '.', t - k - 4))
		return 0;	/* "www.x" or "www." in prose: no domain after it */
	if (e < len && p[e] == '@')
		e = bare_host_end(p, e + 1, len);
	if (e < len && p[e] == ':')
		while (++e < len && text_is_digit(p[e]))
			;
	*seen = e;
	return prose_url(p, len, k, k, e, "http", "http://", out, max);
}

void url_extract_text(const char *p, size_t len, struct url_list *out, size_t max)
{
	size_t i = 0, end, seen = 0;

	/* Bound: i grows by at least one each time round. */
	while (i < len) {
		end = 0;
		if (p[i] == ':')
			end = scheme_at(p, len, i, out, max);
		else if (text_lower(p[i]) == 'w')
			end = www_at(p, len, i, &seen, out, max);
		i = end > i ? end : i + 1;
	}
}

/* mailto:local@domain?headers: the host is the domain of the first address. */
static long mailto_link(struct url_list *l, size_t max, struct url_span *sp, size_t a)
{
	size_t e = a;
	const char *at = NULL;
	char *host;

	for (; e < sp->len && sp->p[e] != '?' && sp->p[e] != ',' && sp->p[e] != '#'; e++)
		if (sp->p[e] == '@')
			at = sp->p + e;
	if (at == NULL)
		return -1;
	sp->hs = (size_t)(at - sp->p) + 1;
	sp->he = e;
	if ((host = span_host(sp)) == NULL)
		return -1;
	while (e < sp->len && sp->p[e] != '?' && sp->p[e] != '#')
		e++;	/* further addresses after ',' */
	set_path(sp, e);
	return url_put(l, max, sp, host);
}

/* An absolute link, tabs and newlines already removed. */
static long parse_link(struct url_list *l, const char *p, size_t len, size_t max)
{
	static const char *const schemes[] = {"http", "https", "ftp", "mailto"};
	struct url_span sp = {.p = p, .len = len, .prefix = "", .scheme = "http"};
	char name[8];
	size_t a = 0, e, n = 0;
	char *host;

	if (len >= 2 && is_slash(p[0]) && is_slash(p[1])) {
		sp.prefix = "http:";	/* protocol-relative: what a webmail shows it as */
	} else {
		while (n < len && n < sizeof(name) - 1 && text_is_alpha(p[n])) {
			name[n] = (char)text_lower(p[n]);
			n++;
		}
		name[n] = '\0';
		if (n == 0 || n >= len || p[n] != ':')
			return -1;
		sp.scheme = NULL;
		for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			if (strcmp(name, schemes[i]) == 0)
				sp.scheme = schemes[i];
		if (sp.scheme == NULL)
			return -1;
		a = n + 1;
		if (strcmp(sp.scheme, "mailto") == 0)
			return mailto_link(l, max, &sp, a);
	}
	while (a < len && is_slash(p[a]))
		a++;
	for (e = a; e < len && !is_auth_end(p[e]);)
		e++;
	if (split_authority(&sp, a, e) < 0 || (host = span_host(&sp)) == NULL)
		return -1;
	set_path(&sp, e);
	return url_put(l, max, &sp, host);
}

long url_list_add_link(struct url_list *l, const char *p, size_t len, size_t max)
{
	char *buf;
	size_t n = 0;
	long idx;

	/* What browsers do first: strip C0 controls and spaces around, tabs and newlines inside. */
	while (len > 0 && (unsigned char)p[0] <= 0x20) {
		p++;
		len--;
	}
	while (len > 0 && (unsigned char)p[len - 1] <= 0x20)
		len--;
	if (len == 0 || memchr(p, '\0', len))
		return -1;
	buf = xmalloc(len);
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			buf[n++] = p[i];
	idx = parse_link(l, buf, n, max);
	if (idx >= 0)
		l->v[idx].from_html = 1;
	free(buf);
	return idx;
}

/* --- e-mail addresses --------------------------------------------------- */

/*
 * Local-part characters taken from prose. RFC 5322 allows more
 * (!#$%&*=?^`{|}~/), but real addresses almost never use them and they
 * would pull query strings in: "?email=user@example.com" is user@...
 */
static int local_char(int c)
{
	return text_is_alnum(c) || c == '.' || c == '_' || c == '+' || c == '-' || c == '\'';
}

static int domain_char(const char *p, size_t i, size_t len)
{
	int c = (unsigned char)p[i];

	return text_is_alnum(c) || c == '-' || c == '.' || (c >= 0x80 && !ends_host(p, i, len));
}

/* A domain to send mail to: a name with a dot, a last label of 2+ characters, not a number. */
static int mail_domain_ok(const char *d)
{
	const char *dot = strrchr(d, '.');

	return dot && strlen(dot + 1) >= 2 && d[0] != '[' && !ends_in_number(d, strlen(d));
}

/*
 * Whether the character before p[i] is a non-ASCII letter: then p[i] is
 * inside a word ("Müller@" is not "ller@"). CJK text and Unicode
 * punctuation stand next to addresses without a space, so they do not count.
 */
static int after_letter(const char *p, size_t i, size_t len)
{
	size_t j;

	if (i == 0 || (unsigned char)p[i - 1] < 0x80)
		return 0;
	j = i - 1;
	for (int k = 0; k < 3 && j > 0 && ((unsigned char)p[j] & 0xc0) == 0x80; k++)
		j--;
	return ((unsigned char)p[j] & 0xc0) == 0xc0 && !is_cjk(p, j, len) && !ends_url(p, j, len);
}

/* The address around the '@' at p[k], if there is one. */
static void email_at(const char *p, size_t len, size_t k, struct email_list *out, size_t max)
{
	size_t s = k, e = k + 1, n;
	char *domain, *addr;

	while (s > 0 && local_char((unsigned char)p[s - 1])) {
		if (k - s == LOCAL_MAX)
			return;
		s--;
	}
	while (s < k && (p[s] == '.' || p[s] == '\''))
		s++;	/* quotes and full stops of the prose */
	if (s == k || (s >= 2 && p[s - 1] == '/' && p[s - 2] == '/') || after_letter(p, s, len))
		return;	/* nothing, the userinfo of a URL, or part of a word */
	while (e < len && domain_char(p, e, len)) {
		if (e - k > HOST_RAW_MAX)
			return;
		e++;
	}
	while (e > k + 1 && (p[e - 1] == '.' || p[e - 1] == '-'))
		e--;
	if (!memchr(p + k + 1, '.', e - k - 1))
		return;
	if ((domain = url_host_normalise(p + k + 1, e - k - 1)) == NULL)
		return;
	if (!mail_domain_ok(domain)) {
		free(domain);
		return;
	}
	if (out->n >= max) {
		out->dropped++;
		free(domain);
		return;
	}
	n = k - s;
	addr = xmalloc(n + 1 + strlen(domain) + 1);
	memcpy(addr, p + s, n);
	addr[n] = '@';
	strcpy(addr + n + 1, domain);
	free(domain);
	out->v = grow(out->v, out->n, &out->cap, sizeof(*out->v));
	out->v[out->n++] = addr;
}

void email_extract_text(const char *p, size_t len, struct email_list *out, size_t max)
{
	const char *at = len > 0 ? memchr(p, '@', len) : NULL;

	/* Bound: each '@' once. Local parts stop at the '@' before, domains at the next. */
	while (at != NULL) {
		size_t k = (size_t)(at - p);

		email_at(p, len, k, out, max);
		at = k + 1 < len ? memchr(at + 1, '@', len - k - 1) : NULL;
	}
}
