/*
 * maps - postgrey-format allow lists; see maps.h for the formats.
 *
 * Lists fetched by URL can hold a million entries, so lookups do not scan
 * them: addresses, networks, names and user parts go into one hash index
 * (open addressing, keyed by kind and value), and a lookup asks it once
 * per prefix length in use (a list has few), per parent domain of a name
 * and per "+" in a local part. Only /regex/ entries are tried one by one.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/cidr.h"
#include "core/hash.h"
#include "core/log.h"
#include "maps/maps.h"
#include "core/mem.h"

#define MAP_LINE_MAX 4096
#define MAP_BAD_LOGGED 3	/* bad lines logged per list, then one summary */

enum map_kind {
	MK_CIDR,	/* client address in a network */
	MK_SUFFIX,	/* client name is the domain or below it */
	MK_CLIENT_RE,	/* client name matches a regex */
	MK_RCPT_RE,	/* recipient matches a regex */
	MK_RCPT_ADDR,	/* user[+ext]@domain */
	MK_RCPT_USER,	/* user[+ext]@ any domain */
	MK_RCPT_DOMAIN,	/* @domain or a subdomain */
};

struct map_entry {
	enum map_kind kind;
	struct cidr net;
	char *user, *domain;	/* lower case */
	pcre2_code *re;
	pcre2_match_data *md;
};

struct map {
	struct map_entry *e;
	size_t n, cap;
	uint32_t *slot;		/* index: entry number + 1, 0 = free; a power of two long */
	size_t nslots, nindexed;
	size_t *re;		/* the regex entries, in order */
	size_t nre, cap_re;
	uint64_t plens[2][3];	/* prefix lengths in use: [v6][bit], 0..32 / 0..128 */
};

struct map *map_new(void)
{
	return xcalloc(1, sizeof(struct map));
}

void map_free(struct map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].user);
		free(m->e[i].domain);
		pcre2_match_data_free(m->e[i].md);
		pcre2_code_free(m->e[i].re);
	}
	free(m->e);
	free(m->slot);
	free(m->re);
	free(m);
}

size_t map_size(const struct map *m)
{
	return m->n;
}

static struct map_entry *map_push(struct map *m, enum map_kind kind)
{
	struct map_entry *e;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->e = xrealloc(m->e, m->cap * sizeof(*m->e));
	}
	e = &m->e[m->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	return e;
}

/* Index keys: the kind mixed into a hash of the value looked up by. */
static uint64_t key_cidr(int family, int plen, const unsigned char *a)
{
	unsigned char k[18];
	size_t n = family == AF_INET ? 4 : 16;

	k[0] = MK_CIDR;
	k[1] = (unsigned char)plen;
	memcpy(k + 2, a, n);
	return hash64(k, n + 2);
}

static uint64_t key_name(enum map_kind kind, const char *s, size_t len)
{
	return hash64_lower(s, len) ^ ((uint64_t)kind * 0x9e3779b97f4a7c15ULL);
}

static uint64_t key_addr(const char *user, size_t ulen, const char *domain, size_t dlen)
{
	return (hash64_lower(user, ulen) * 0x100000001b3ULL) ^ hash64_lower(domain, dlen) ^
	       ((uint64_t)MK_RCPT_ADDR * 0x9e3779b97f4a7c15ULL);
}

static uint64_t entry_key(const struct map_entry *e)
{
	switch (e->kind) {
	case MK_CIDR:
		return key_cidr(e->net.net.family, e->net.plen, e->net.net.a);
	case MK_RCPT_ADDR:
		return key_addr(e->user, strlen(e->user), e->domain, strlen(e->domain));
	case MK_RCPT_USER:
		return key_name(e->kind, e->user, strlen(e->user));
	default:
		return key_name(e->kind, e->domain, strlen(e->domain));
	}
}

static void slot_put(uint32_t *slot, size_t nslots, uint64_t key, size_t i)
{
	size_t at = (size_t)key & (nslots - 1);

	/* Never full: the table is at most half used. */
	while (slot[at])
		at = (at + 1) & (nslots - 1);
	slot[at] = (uint32_t)(i + 1);
}

/* Make entry i findable: the index for values, the regex list for regexes. */
static void map_index(struct map *m, size_t i)
{
	const struct map_entry *e = &m->e[i];

	if (e->kind == MK_CLIENT_RE || e->kind == MK_RCPT_RE) {
		if (m->nre == m->cap_re) {
			m->cap_re = m->cap_re ? 2 * m->cap_re : 8;
			m->re = xrealloc(m->re, m->cap_re * sizeof(*m->re));
		}
		m->re[m->nre++] = i;
		return;
	}
	if (e->kind == MK_CIDR) {
		int v6 = e->net.net.family == AF_INET6;

		m->plens[v6][e->net.plen / 64] |= 1ULL << (e->net.plen % 64);
	}
	if (2 * (m->nindexed + 1) > m->nslots) {
		size_t n = m->nslots ? 2 * m->nslots : 64;
		uint32_t *slot = xcalloc(n, sizeof(*slot));

		for (size_t k = 0; k < m->nslots; k++)
			if (m->slot[k])
				slot_put(slot, n, entry_key(&m->e[m->slot[k] - 1]), m->slot[k] - 1);
		free(m->slot);
		m->slot = slot;
		m->nslots = n;
	}
	slot_put(m->slot, m->nslots, entry_key(e), i);
	m->nindexed++;
}

/* What a lookup is for; `kind' says which of the other fields count. */
struct probe {
	enum map_kind kind;
	const struct ip_addr *net; /* MK_CIDR: masked address */
	int plen;
	const char *s;		/* user or domain */
	size_t len;
	const char *domain;	/* MK_RCPT_ADDR */
	size_t dlen;
};

static int probe_eq(const struct map_entry *e, const struct probe *p)
{
	const char *v;

	if (e->kind != p->kind)
		return 0;
	if (p->kind == MK_CIDR)
		return e->net.plen == p->plen && e->net.net.family == p->net->family &&
		       memcmp(e->net.net.a, p->net->a, p->net->family == AF_INET ? 4 : 16) == 0;
	v = p->kind == MK_RCPT_ADDR || p->kind == MK_RCPT_USER ? e->user : e->domain;
	if (strlen(v) != p->len || strncasecmp(v, p->s, p->len) != 0)
		return 0;
	return p->kind != MK_RCPT_ADDR ||
	       (strlen(e->domain) == p->dlen && strncasecmp(e->domain, p->domain, p->dlen) == 0);
}

static int lookup(const struct map *m, uint64_t key, const struct probe *p)
{
	size_t at;

	if (m->nslots == 0)
		return 0;
	/* Bounded: at least half the slots are free, and a free slot ends the probe. */
	for (at = (size_t)key & (m->nslots - 1); m->slot[at]; at = (at + 1) & (m->nslots - 1))
		if (probe_eq(&m->e[m->slot[at] - 1], p))
			return 1;
	return 0;
}

/* 1 if the name or one of its parent domains is listed as kind. */
static int lookup_suffixes(const struct map *m, enum map_kind kind, const char *name, size_t len)
{
	struct probe p = {.kind = kind};
	const char *end = name + len;

	/* Bounded by len: each round starts past one more dot. */
	for (const char *s = name; s < end;) {
		const char *dot = memchr(s, '.', (size_t)(end - s));

		p.s = s;
		p.len = (size_t)(end - s);
		if (lookup(m, key_name(kind, s, p.len), &p))
			return 1;
		if (dot == NULL)
			break;
		s = dot + 1;
	}
	return 0;
}

static int lookup_ip(const struct map *m, const struct ip_addr *ip)
{
	int v6 = ip->family == AF_INET6, max = v6 ? 128 : 32;
	struct probe p = {.kind = MK_CIDR};
	struct ip_addr masked;

	for (int plen = 0; plen <= max; plen++) {
		if (!(m->plens[v6][plen / 64] & (1ULL << (plen % 64))))
			continue;
		masked = *ip;
		ip_mask(&masked, plen);
		p.net = &masked;
		p.plen = plen;
		if (lookup(m, key_cidr(ip->family, plen, masked.a), &p))
			return 1;
	}
	return 0;
}

static char *lower_dup(const char *p, size_t len)
{
	char *s = xstrndup(p, len);

	for (char *q = s; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return s;
}

/* "/regex/" → compiled, case-insensitive (postgrey's qr{...}i). */
static int add_regex(struct map *m, enum map_kind kind, const char *entry)
{
	size_t len = strlen(entry);
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *re;
	struct map_entry *e;

	re = pcre2_compile((PCRE2_SPTR)entry + 1, len - 2, PCRE2_CASELESS, &errcode, &erroff,
			   NULL);
	if (re == NULL)
		return -1;
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	e = map_push(m, kind);
	e->re = re;
	e->md = pcre2_match_data_create_from_pattern(re, NULL);
	map_index(m, m->n - 1);
	return 0;
}

static int is_regex(const char *s)
{
	size_t len = strlen(s);

	return len > 2 && s[0] == '/' && s[len - 1] == '/';
}

static int all_digits_dots(const char *s, int *dots)
{
	*dots = 0;
	for (; *s; s++) {
		if (*s == '.')
			(*dots)++;
		else if (!isdigit((unsigned char)*s))
			return 0;
	}
	return 1;
}

/*
 * Letters, digits, '-', '.', '_' (seen in real PTR names) and UTF-8: a
 * line like "<html>" is no domain, which is how a web server's error page
 * is told from a list.
 */
static int valid_domain(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-._", *s) && (unsigned char)*s < 0x80)
			return 0;
	return 1;
}

/* A local part as lists write it: no controls, blanks or angle brackets. */
static int valid_user(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == '<' || s[i] == '>')
			return 0;
	return 1;
}

int map_add_client(struct map *m, const char *entry)
{
	struct cidr c;
	char buf[64];
	int dots;

	if (*entry == '\0' || strpbrk(entry, " \t"))
		return -1;
	if (is_regex(entry))
		return add_regex(m, MK_CLIENT_RE, entry);
	/* Partial IPv4 networks: "192.0.2" is a /24, "192.0" a /16. */
	if (all_digits_dots(entry, &dots) && (dots == 1 || dots == 2) && strlen(entry) < 16) {
		snprintf(buf, sizeof(buf), "%s%s/%d", entry, dots == 2 ? ".0" : ".0.0",
			 dots == 2 ? 24 : 16);
		if (cidr_parse(buf, strlen(buf), &c) < 0)
			return -1;
		map_push(m, MK_CIDR)->net = c;
		map_index(m, m->n - 1);
		return 0;
	}
	if (cidr_parse(entry, strlen(entry), &c) == 0) {
		map_push(m, MK_CIDR)->net = c;
		map_index(m, m->n - 1);
		return 0;
	}
	/* Something that tried to be an address but is not one. */
	if (strchr(entry, ':') || strchr(entry, '/') || (all_digits_dots(entry, &dots) && dots) ||
	    !valid_domain(entry))
		return -1;
	map_push(m, MK_SUFFIX)->domain = lower_dup(entry, strlen(entry));
	map_index(m, m->n - 1);
	return 0;
}

int map_add_recipient(struct map *m, const char *entry)
{
	const char *at;
	struct map_entry *e;

	if (*entry == '\0' || strpbrk(entry, " \t"))
		return -1;
	if (is_regex(entry))
		return add_regex(m, MK_RCPT_RE, entry);
	at = strchr(entry, '@');
	if (at == NULL) {
		if (!valid_domain(entry))
			return -1;
		map_push(m, MK_RCPT_DOMAIN)->domain = lower_dup(entry, strlen(entry));
		map_index(m, m->n - 1);
		return 0;
	}
	if (at == entry || !valid_user(entry, (size_t)(at - entry)) ||
	    (at[1] && !valid_domain(at + 1)))
		return -1;
	e = map_push(m, at[1] ? MK_RCPT_ADDR : MK_RCPT_USER);
	e->user = lower_dup(entry, (size_t)(at - entry));
	if (at[1])
		e->domain = lower_dup(at + 1, strlen(at + 1));
	map_index(m, m->n - 1);
	return 0;
}

/*
 * One line, comment and blanks stripped in place: 0 if nothing is left, 1 if
 * an entry was added, -1 if the line fits no form.
 */
static int add_line(struct map *m, int (*add)(struct map *, const char *), char *p)
{
	char *end;

	if ((end = strchr(p, '#')) != NULL)
		*end = '\0';
	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (*p == '\0')
		return 0;
	return add(m, p) < 0 ? -1 : 1;
}

/* At most 100 bytes of a line for a log line, control characters as '?'. */
static const char *shown(const char *line, char *buf, size_t size)
{
	size_t n = 0;

	for (; *line && n + 1 < size && n < 100; line++)
		buf[n++] = (unsigned char)*line < ' ' || *line == 0x7f ? '?' : *line;
	buf[n] = '\0';
	return buf;
}

static int map_load(struct map *m, const char *path, int (*add)(struct map *, const char *),
		    const char *what, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char line[MAP_LINE_MAX + 2], buf[104];
	int lineno = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		size_t len = strlen(line);

		lineno++;
		if (len && line[len - 1] != '\n' && !feof(fp)) {
			int c;

			msg_warn("%s, line %d: longer than %d bytes, skipped", path, lineno,
				 MAP_LINE_MAX);
			while ((c = fgetc(fp)) != EOF && c != '\n')
				;
			continue;
		}
		if (add_line(m, add, line) < 0)
			msg_warn("%s, line %d: doesn't look like %s, skipped: %s", path, lineno,
				 what, shown(line, buf, sizeof(buf)));
	}
	fclose(fp);
	return 0;
}

int map_parse(struct map *m, int clients, const char *name, const char *text, size_t len,
	      size_t max_entries, char *err, size_t errlen)
{
	int (*add)(struct map *, const char *) = clients ? map_add_client : map_add_recipient;
	const char *what = clients ? "a client address or hostname" : "an address or domain";
	const char *p = text, *end = text + len;
	char line[MAP_LINE_MAX + 1], buf[104];
	size_t lineno = 0, lines = 0, bad = 0, start = m->n;

	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "not a list: holds a NUL byte");
		return -1;
	}
	/* Bounded by len: each round consumes at least one byte. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t llen = (size_t)((nl ? nl : end) - p);
		int rc;

		lineno++;
		if (llen > MAP_LINE_MAX) {
			rc = -1;
		} else {
			memcpy(line, p, llen);
			line[llen] = '\0';
			rc = add_line(m, add, line);
		}
		p = nl ? nl + 1 : end;
		if (rc == 0)
			continue;
		lines++;
		if (rc < 0 && ++bad <= MAP_BAD_LOGGED)
			msg_warn("%s, line %zu: doesn't look like %s, skipped: %s", name, lineno,
				 what,
				 llen > MAP_LINE_MAX ? "(line too long)" : shown(line, buf, sizeof(buf)));
		if (max_entries && m->n - start > max_entries) {
			snprintf(err, errlen, "more than %zu entries", max_entries);
			return -1;
		}
	}
	if (bad > MAP_BAD_LOGGED)
		msg_warn("%s: %zu more lines skipped", name, bad - MAP_BAD_LOGGED);
	/* An error page served with status 200 is mostly lines that fit no form. */
	if (bad * 2 > lines) {
		snprintf(err, errlen, "not a list: %zu of %zu lines are not %s", bad, lines, what);
		return -1;
	}
	return 0;
}

int map_check(int clients, const char *text, size_t len, size_t max_entries, size_t *bad_line,
	      char *err, size_t errlen)
{
	int (*add)(struct map *, const char *) = clients ? map_add_client : map_add_recipient;
	const char *p = text, *end = text + len;
	char line[MAP_LINE_MAX + 1], buf[104];
	struct map *m = map_new();
	size_t lineno = 0;
	int rc = 0;

	*bad_line = 0;
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "holds a NUL byte");
		rc = -1;
	}
	/* Bounded by len: each round consumes at least one byte. */
	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t llen = (size_t)((nl ? nl : end) - p);

		lineno++;
		if (llen > MAP_LINE_MAX) {
			snprintf(err, errlen, "line %zu: longer than %d bytes", lineno, MAP_LINE_MAX);
			*bad_line = lineno;
			rc = -1;
			break;
		}
		memcpy(line, p, llen);
		line[llen] = '\0';
		if (llen && line[llen - 1] == '\r')
			line[llen - 1] = '\0';
		if (add_line(m, add, line) < 0) {
			memcpy(line, p, llen);
			line[llen] = '\0';
			snprintf(err, errlen, "line %zu: doesn't look like %s: %s", lineno,
				 clients ? "a client address or hostname" : "an address or domain",
				 shown(line, buf, sizeof(buf)));
			*bad_line = lineno;
			rc = -1;
		}
		if (rc == 0 && max_entries && m->n > max_entries) {
			snprintf(err, errlen, "more than %zu entries", max_entries);
			rc = -1;
		}
		p = nl ? nl + 1 : end;
	}
	map_free(m);
	return rc;
}

int map_load_clients(struct map *m, const char *path, char *err, size_t errlen)
{
	return map_load(m, path, map_add_client, "a client address or hostname", err, errlen);
}

int map_load_recipients(struct map *m, const char *path, char *err, size_t errlen)
{
	return map_load(m, path, map_add_recipient, "a recipient", err, errlen);
}

static int re_match(const struct map_entry *e, const char *s)
{
	return pcre2_match(e->re, (PCRE2_SPTR)s, strlen(s), 0, 0, e->md, NULL) >= 0;
}

int map_match_client(const struct map *m, const struct ip_addr *ip, const char *name)
{
	/* Postfix says "unknown" when the client has no (verified) name. */
	if (name && strcmp(name, "unknown") == 0)
		name = NULL;
	if (ip && lookup_ip(m, ip))
		return 1;
	if (name && lookup_suffixes(m, MK_SUFFIX, name, strlen(name)))
		return 1;
	for (size_t i = 0; name && i < m->nre; i++)
		if (m->e[m->re[i]].kind == MK_CLIENT_RE && re_match(&m->e[m->re[i]], name))
			return 1;
	return 0;
}

int map_match_recipient(const struct map *m, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	size_t llen = at ? (size_t)(at - rcpt) : 0, dlen = at ? strlen(at + 1) : 0;
	struct probe user = {.kind = MK_RCPT_USER, .s = rcpt};
	struct probe addr = {.kind = MK_RCPT_ADDR, .s = rcpt, .domain = at ? at + 1 : ""};

	for (size_t i = 0; i < m->nre; i++)
		if (m->e[m->re[i]].kind == MK_RCPT_RE && re_match(&m->e[m->re[i]], rcpt))
			return 1;
	if (at == NULL)
		return 0;
	/* user@ and user@domain match user+anything too: try each cut at a '+'. */
	for (size_t k = 1; k <= llen; k++) {
		if (k < llen && rcpt[k] != '+')
			continue;
		user.len = addr.len = k;
		addr.dlen = dlen;
		if (lookup(m, key_name(MK_RCPT_USER, rcpt, k), &user) ||
		    lookup(m, key_addr(rcpt, k, at + 1, dlen), &addr))
			return 1;
	}
	return lookup_suffixes(m, MK_RCPT_DOMAIN, at + 1, dlen);
}
