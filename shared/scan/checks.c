/*
 * checks - header, envelope, date, Received and MIME checks; see checks.h.
 *
 * Address lists are split by a small bounded parser (quotes, comments and
 * angle brackets respected; at most MAX_ADDRS per header); everything works
 * on the decoded header values the MIME engine gives us.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "scan/checks.h"
#include "scan/checks_mua.h"
#include "mail/html.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "mail/url.h"

#define MAX_ADDRS 100

struct addr {
	char display[256];
	char addr[256];	/* local@domain, domain lower case */
};

struct addrs {
	struct addr v[MAX_ADDRS];
	int n;
};

static void trim_copy(char *dst, size_t size, const char *p, size_t len)
{
	while (len && isspace((unsigned char)*p)) {
		p++;
		len--;
	}
	while (len && isspace((unsigned char)p[len - 1]))
		len--;
	if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
		p++;
		len -= 2;
	}
	if (len >= size)
		len = size - 1;
	memcpy(dst, p, len);
	dst[len] = '\0';
}

static void lower_domain(char *addr)
{
	char *at = strrchr(addr, '@');

	for (char *p = at; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* One "Display <addr>" or "addr (comment)" item. */
static void parse_one(const char *p, size_t len, struct addrs *out)
{
	const char *lt = memchr(p, '<', len), *gt;
	struct addr *a;

	if (out->n == MAX_ADDRS)
		return;
	a = &out->v[out->n];
	memset(a, 0, sizeof(*a));
	if (lt && (gt = memchr(lt, '>', len - (size_t)(lt - p))) != NULL) {
		trim_copy(a->display, sizeof(a->display), p, (size_t)(lt - p));
		trim_copy(a->addr, sizeof(a->addr), lt + 1, (size_t)(gt - lt - 1));
	} else {
		const char *paren = memchr(p, '(', len);

		trim_copy(a->addr, sizeof(a->addr), p, paren ? (size_t)(paren - p) : len);
	}
	if (a->addr[0] == '\0' && a->display[0] == '\0')
		return;
	lower_domain(a->addr);
	out->n++;
}

/* Split an address-list header on commas outside quotes and brackets. */
static void parse_addrs(const char *v, struct addrs *out)
{
	const char *start = v;
	int quote = 0, angle = 0, paren = 0;

	out->n = 0;
	if (v == NULL)
		return;
	for (const char *p = v;; p++) {
		if (*p == '\0' || (*p == ',' && !quote && !angle && !paren)) {
			if (p > start)
				parse_one(start, (size_t)(p - start), out);
			if (*p == '\0' || out->n == MAX_ADDRS)
				return;
			start = p + 1;
			continue;
		}
		if (*p == '"' && (p == v || p[-1] != '\\'))
			quote = !quote;
		else if (!quote && *p == '<')
			angle = 1;
		else if (!quote && *p == '>')
			angle = 0;
		else if (!quote && *p == '(')
			paren++;
		else if (!quote && *p == ')' && paren)
			paren--;
	}
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

static const char *hval(const struct msg *m, const char *name)
{
	const struct msg_header *h = msg_header(m->root, name);

	return h ? h->value : NULL;
}

static int month_of(const char *s)
{
	static const char *mon[] = {"jan", "feb", "mar", "apr", "may", "jun",
				    "jul", "aug", "sep", "oct", "nov", "dec"};

	for (int i = 0; i < 12; i++)
		if (strncasecmp(s, mon[i], 3) == 0)
			return i;
	return -1;
}

int checks_parse_date(const char *s, long long *t)
{
	struct tm tm;
	char mon[4] = "";
	char zone[8] = "";
	int d, y, hh, mm, ss = 0, n = 0, off = 0;
	const char *p = s, *comma = strchr(s, ',');

	memset(&tm, 0, sizeof(tm));
	if (comma && comma - s < 12)
		p = comma + 1;
	/* The zone is not optional (RFC 5322 3.3): ratware leaves it out, mail software never. */
	if (sscanf(p, " %d %3s %d %d:%d:%d %7s%n", &d, mon, &y, &hh, &mm, &ss, zone, &n) < 7 &&
	    sscanf(p, " %d %3s %d %d:%d %7s%n", &d, mon, &y, &hh, &mm, zone, &n) < 6)
		return -1;
	if (!(((zone[0] == '+' || zone[0] == '-') && strspn(zone + 1, "0123456789") == 4) ||
	      (strspn(zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
	       strcspn(zone, ")") && zone[0] != '\0')))
		return -1;
	if ((tm.tm_mon = month_of(mon)) < 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	if (y < 100)
		y += y < 50 ? 2000 : 1900;	/* RFC 5322 section 4.3 */
	if (y < 1970 || y > 9999)
		return -1;
	if ((zone[0] == '+' || zone[0] == '-') && strlen(zone) == 5 &&
	    strspn(zone + 1, "0123456789") == 4) {
		int z = atoi(zone + 1);

		off = (z / 100 * 60 + z % 100) * 60 * (zone[0] == '-' ? -1 : 1);
	}
	tm.tm_mday = d;
	tm.tm_year = y - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*t = (long long)timegm(&tm) - off;
	return 0;
}

static void check_ids_dates(const struct scan_rules *r, const struct msg *m,
			    const struct addrs *from, struct scan_result *res)
{
	const char *mid = hval(m, "Message-ID"), *date = hval(m, "Date");
	long long t;

	if (mid == NULL) {
		scan_add(res, r, "MISSING_MID", NULL);
	} else {
		const char *at = strchr(mid, '@'), *gt = strchr(mid, '>');

		if (strchr(mid, '<') == NULL || at == NULL || gt == NULL || gt < at)
			scan_add(res, r, "INVALID_MSGID", NULL);
		else if (from->n && strncasecmp(at + 1, domain_of(from->v[0].addr),
						(size_t)(gt - at - 1)) == 0 &&
			 strlen(domain_of(from->v[0].addr)) == (size_t)(gt - at - 1))
			scan_add(res, r, "MID_RHS_MATCH_FROM", NULL);
	}
	if (date == NULL) {
		scan_add(res, r, "MISSING_DATE", NULL);
	} else if (checks_parse_date(date, &t) < 0) {
		scan_add(res, r, "INVALID_DATE", NULL);
	} else {
		long long now = (long long)time(NULL);

		if (t - now > 2 * 3600)
			scan_add(res, r, "DATE_IN_FUTURE", NULL);
		else if (now - t > 7 * 86400)
			scan_add(res, r, "DATE_IN_PAST", NULL);
	}
}

static int all_caps(const char *s)
{
	int upper = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (islower(*p))
			return 0;
		if (isupper(*p))
			upper++;
	}
	return upper >= 10;
}

static void check_subject(const struct scan_rules *r, const struct msg *m, struct scan_result *res)
{
	const char *subj = hval(m, "Subject");

	if (subj == NULL)
		scan_add(res, r, "MISSING_SUBJECT", NULL);
	else if (subj[strspn(subj, " \t")] == '\0')
		scan_add(res, r, "EMPTY_SUBJECT", NULL);
	else if (all_caps(subj))
		scan_add(res, r, "SUBJ_ALL_CAPS", NULL);
}

/*
 * The envelope sender as Rspamd names it (its task:get_from(1).addr): a
 * quoted local part without its quotes and backslashes,
 * "<\"a,b\"@example.net>" is a,b@example.net.
 */
static void envelope_addr(const char *p, char *out, size_t size)
{
	size_t n = 0;
	int quoted = *p == '"';

	for (p += quoted; *p && n + 1 < size; p++) {
		if (quoted && *p == '\\' && p[1]) {
			p++;
		} else if (quoted && *p == '"') {
			quoted = 0;
			continue;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
}

static void check_from(const struct scan_rules *r, const struct scan_input *in,
		       const struct msg *m, const struct addrs *from, struct scan_result *res)
{
	int nfrom = msg_header_count(m->root, "From");

	if (nfrom == 0 || from->n == 0) {
		scan_add(res, r, "MISSING_FROM", NULL);
		return;
	}
	if (nfrom > 1 || from->n > 1)
		scan_add(res, r, "MULTIPLE_FROM", NULL);
	if (from->v[0].display[0]) {
		static const char *titles[] = {"mr.", "mrs.", "ms.", "dr.", "prof.", "sir "};

		scan_add(res, r, "FROM_HAS_DN", NULL);
		for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
			if (strncasecmp(from->v[0].display, titles[i], strlen(titles[i])) == 0)
				scan_add(res, r, "FROM_NAME_HAS_TITLE", NULL);
	}
	if (in->mail_from && *in->mail_from) {
		char env[512];

		envelope_addr(in->mail_from, env, sizeof(env));
		if (strcasecmp(env, from->v[0].addr) == 0) {
			scan_add(res, r, "FROM_EQ_ENVFROM", NULL);
		} else {
			/* Both addresses, as Rspamd lists them. */
			scan_add(res, r, "FROM_NEQ_ENVFROM", from->v[0].addr);
			scan_add(res, r, "FROM_NEQ_ENVFROM", env);
		}
	}
}

static void check_replyto(const struct scan_rules *r, const struct msg *m,
			  const struct addrs *from, struct scan_result *res)
{
	struct addrs *rt = malloc(sizeof(*rt));

	if (rt == NULL)
		return;
	parse_addrs(hval(m, "Reply-To"), rt);
	if (rt->n) {
		scan_add(res, r, "HAS_REPLYTO", NULL);
		if (from->n && strcasecmp(rt->v[0].addr, from->v[0].addr) == 0)
			scan_add(res, r, "REPLYTO_EQ_FROM", NULL);
		else if (from->n && strcasecmp(domain_of(rt->v[0].addr),
					       domain_of(from->v[0].addr)) != 0)
			scan_add(res, r, "REPLYTO_DOM_NEQ_FROM_DOM", NULL);
		else if (from->n)
			scan_add(res, r, "REPLYTO_DOM_EQ_FROM_DOM", NULL);
	}
	free(rt);
}

/* To: display names, and whether they match the envelope recipients. */
static void check_to(const struct scan_rules *r, const struct scan_input *in,
		     const struct msg *m, struct scan_result *res)
{
	struct addrs *to = malloc(sizeof(*to));
	int dn = 0, matched = 0;

	if (to == NULL)
		return;
	parse_addrs(hval(m, "To"), to);
	if (msg_header(m->root, "To") == NULL)
		scan_add(res, r, "MISSING_TO", NULL);
	for (int i = 0; i < to->n; i++)
		if (to->v[i].display[0])
			dn++;
	if (to->n)
		scan_add(res, r, dn == 0 ? "TO_DN_NONE" : dn == to->n ? "TO_DN_ALL" : "TO_DN_SOME",
			 NULL);
	for (int k = 0; k < in->nrcpts; k++) {
		int hit = 0;

		for (int i = 0; i < to->n && !hit; i++)
			hit = strcasecmp(in->rcpts[k], to->v[i].addr) == 0;
		matched += hit;
	}
	if (in->nrcpts && matched == in->nrcpts)
		scan_add(res, r, "TO_MATCH_ENVRCPT_ALL", NULL);
	else if (matched)
		scan_add(res, r, "TO_MATCH_ENVRCPT_SOME", NULL);
	free(to);
}

static void check_counts(const struct scan_rules *r, const struct scan_input *in,
			 const struct msg *m, struct scan_result *res)
{
	int nr = msg_header_count(m->root, "Received"), n = in->nrcpts;
	char num[16];
	const char *sym;

	snprintf(num, sizeof(num), "%d", nr);
	sym = nr == 0	? "RCVD_COUNT_ZERO"
	      : nr == 1 ? "RCVD_COUNT_ONE"
	      : nr == 2 ? "RCVD_COUNT_TWO"
	      : nr <= 4 ? "RCVD_COUNT_THREE"
	      : nr <= 6 ? "RCVD_COUNT_FIVE"
	      : nr <= 11 ? "RCVD_COUNT_SEVEN"
			 : "RCVD_COUNT_TWELVE";
	scan_add(res, r, sym, num);
	if (n > 0) {
		snprintf(num, sizeof(num), "%d", n);
		sym = n == 1	? "RCPT_COUNT_ONE"
		      : n == 2 ? "RCPT_COUNT_TWO"
		      : n <= 4 ? "RCPT_COUNT_THREE"
		      : n <= 6 ? "RCPT_COUNT_FIVE"
		      : n <= 11 ? "RCPT_COUNT_SEVEN"
				: "RCPT_COUNT_TWELVE";
		scan_add(res, r, sym, num);
	}
	if (in->tls)
		scan_add(res, r, "RCVD_TLS_LAST", NULL);
	else if (in->client_ip)
		scan_add(res, r, "RCVD_NO_TLS_LAST", NULL);
}

static void check_misc_headers(const struct scan_rules *r, const struct scan_input *in,
			       const struct msg *m, struct scan_result *res)
{
	const struct mime_part *root = m->root;

	if (!msg_header(root, "X-Mailer") && !msg_header(root, "User-Agent"))
		scan_add(res, r, "MISSING_XM_UA", NULL);
	for (int k = 0; k < in->nrcpts; k++) {
		const char *dt = hval(m, "Delivered-To");

		if (dt && strcasecmp(dt, in->rcpts[k]) == 0)
			scan_add(res, r, "PREVIOUSLY_DELIVERED", in->rcpts[k]);
	}
	if (msg_header(root, "X-Priority") && atoi(hval(m, "X-Priority")) == 1)
		scan_add(res, r, "HAS_X_PRIO_ONE", NULL);
	if (msg_header(root, "List-Unsubscribe"))
		scan_add(res, r, "HAS_LIST_UNSUB", NULL);
	if (m->flags & MSG_8BIT_HEADER)
		scan_add(res, r, "R_BAD_CTE_7BIT", NULL);
}

/*
 * How Rspamd's mime_types map (maps.d/mime_types.inc, 3.4) rates a content
 * type: 1 good (MIME_GOOD, trace '+'), -1 bad (trace '-'), 0 neutral or
 * not in the map (trace '~'). Only these 15 of its ~1500 types are not 0.
 */
static int mime_type_rating(const char *ctype)
{
	static const char *good[] = {
		"application/pkcs7-mime", "application/pkcs7-signature", "multipart/alternative",
		"multipart/encrypted", "multipart/mixed", "multipart/related", "multipart/signed",
		"text/plain",
	};
	static const char *bad[] = {
		"multipart/appledouble", "multipart/byteranges", "multipart/example",
		"multipart/form-data", "multipart/header-set", "multipart/voice-message",
		"multipart/x-mixed-replace",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (strcmp(ctype, good[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcmp(ctype, bad[i]) == 0)
			return -1;
	return 0;
}

/*
 * MIME_GOOD and MIME_TRACE as Rspamd's mime_types module adds them: every
 * part, multiparts included, numbered in Rspamd's order (a part before its
 * children, depth first: rspamd_mime_parse_multipart_part); MIME_TRACE
 * gets "N:+", "N:-" or "N:~" for each, MIME_GOOD each good content type
 * once. The walk is iterative (an explicit stack of at most the parser's
 * part count), so hostile nesting costs no C stack.
 */
static void mime_trace(const struct scan_rules *r, const struct msg *m, struct scan_result *res,
		       int good_ok)
{
	const struct mime_part **stack = xcalloc((size_t)m->nparts + 1, sizeof(*stack));
	int top = 0, id = 0;

	stack[top++] = m->root;
	while (top > 0 && id <= m->nparts) {
		const struct mime_part *p = stack[--top];
		int rating = mime_type_rating(p->ctype);
		char opt[32];

		snprintf(opt, sizeof(opt), "%d:%c", id++, rating > 0 ? '+' : rating < 0 ? '-' : '~');
		scan_add(res, r, "MIME_TRACE", opt);
		if (rating > 0 && good_ok)
			scan_add(res, r, "MIME_GOOD", p->ctype);
		/* Children pushed last first, so the first is numbered next. */
		for (int k = p->nchildren - 1; k >= 0 && top <= m->nparts; k--)
			stack[top++] = p->children[k];
	}
	free(stack);
}

/* MIME_GOOD / MIME_TRACE / HTML-only / attachments, and the parser's findings. */
static void check_mime(const struct scan_rules *r, const struct msg *m, struct scan_result *res)
{
	int html = 0, plain = 0, attach = 0, alt = 0;

	for (int i = 0; i < m->nleaves && i < 64; i++) {
		const struct mime_part *p = m->leaves[i];

		if (p->is_attachment) {
			attach++;
			continue;
		}
		if (strcmp(p->ctype, "text/html") == 0)
			html++;
		else if (strcmp(p->ctype, "text/plain") == 0)
			plain++;
		if (p->parent && strcmp(p->parent->ctype, "multipart/alternative") == 0)
			alt = 1;
	}
	/* No credit for a MIME structure the parser had to repair. */
	mime_trace(r, m, res,
		   !(m->flags & (MSG_MISSING_BOUNDARY | MSG_BAD_BASE64 | MSG_BAD_QP | MSG_TOO_DEEP)));
	if (html && !plain)
		scan_add(res, r, "MIME_HTML_ONLY", NULL);
	if (alt && html && !plain)
		scan_add(res, r, "MIME_MA_MISSING_TEXT", NULL);
	if (attach)
		scan_add(res, r, "HAS_ATTACHMENT", NULL);
	if (m->flags & MSG_MISSING_BOUNDARY)
		scan_add(res, r, "BROKEN_CONTENT_TYPE", NULL);
	if (m->flags & (MSG_BAD_BASE64 | MSG_BAD_QP))
		scan_add(res, r, "MOAT_BAD_ENCODING", m->flags & MSG_BAD_BASE64 ? "base64" : "qp");
	if (m->flags & (MSG_TOO_DEEP | MSG_TOO_MANY_PARTS | MSG_TOO_MANY_HEADERS |
			MSG_HEADER_TOO_LONG))
		scan_add(res, r, "MOAT_MIME_LIMITS", NULL);
	if (m->flags & MSG_TRUNCATED)
		scan_add(res, r, "MOAT_TOO_BIG", NULL);
}

static void check_subject_marks(const struct scan_rules *r, const struct msg *m,
				struct scan_result *res)
{
	const char *subj = hval(m, "Subject");
	size_t len;

	if (subj == NULL || (len = strlen(subj)) == 0)
		return;
	if (subj[len - 1] == ' ' && len > 1 && subj[len - 2] == ' ')
		scan_add(res, r, "SUBJECT_ENDS_SPACES", NULL);
	while (len && subj[len - 1] == ' ')
		len--;
	if (len && subj[len - 1] == '?')
		scan_add(res, r, "SUBJECT_ENDS_QUESTION", NULL);
	else if (memchr(subj, '?', len))
		scan_add(res, r, "SUBJECT_HAS_QUESTION", NULL);
	if (len && subj[len - 1] == '!')
		scan_add(res, r, "SUBJECT_ENDS_EXCLAIM", NULL);
	else if (memchr(subj, '!', len))
		scan_add(res, r, "SUBJECT_HAS_EXCLAIM", NULL);
	if (strpbrk(subj, "$") || strstr(subj, "\xe2\x82\xac") || strstr(subj, "\xc2\xa3"))
		scan_add(res, r, "SUBJECT_HAS_CURRENCY", NULL);
}

/* "Name<addr>": no space between the display name and the address. */
static void check_from_raw(const struct scan_rules *r, const struct msg *m,
			   struct scan_result *res)
{
	const struct msg_header *h = msg_header(m->root, "From");
	const char *lt;

	if (h && (lt = strchr(h->raw, '<')) != NULL && lt > h->raw && lt[-1] != ' ' &&
	    lt[-1] != '\t')
		scan_add(res, r, "R_NO_SPACE_IN_FROM", NULL);
}

/* Same registrable domain (or the same host when there is none)? */
static int same_site(const struct url *a, const struct url *b)
{
	const char *x = a->registrable ? a->registrable : a->host;
	const char *y = b->registrable ? b->registrable : b->host;

	return x && y && strcasecmp(x, y) == 0;
}

/* URLs of the text parts, and links of the HTML ones with their visible text. */
static void check_urls(const struct scan_rules *r, const struct msg *m, struct scan_result *res,
		       struct content *c)
{
	for (int i = 0; i < m->nleaves && i < 64; i++) {
		const struct mime_part *p = m->leaves[i];

		if (p->text == NULL || p->is_attachment)
			continue;
		if (p->cte && strcmp(p->cte, "base64") == 0 && strncmp(p->ctype, "text/", 5) == 0)
			scan_add(res, r, "MIME_BASE64_TEXT", NULL);
		if (strcmp(p->ctype, "text/html") == 0) {
			size_t n;
			char *t = html_to_text(p->text, p->text_len, &n, &c->urls, CHECKS_MAX_URLS);

			sbuf_append(&c->text, t, n);
			sbuf_putc(&c->text, '\n');
			free(t);
		} else {
			url_extract_text(p->text, p->text_len, &c->urls, CHECKS_MAX_URLS);
			sbuf_append(&c->text, p->text, p->text_len);
			sbuf_putc(&c->text, '\n');
		}
	}
	for (size_t i = 0; i < c->urls.n; i++) {
		const struct url *u = &c->urls.v[i];

		if (u->host_is_ip)
			scan_add(res, r, "MOAT_URL_IP", u->host);
		if (u->has_userinfo || (u->host_is_ip && strspn(u->host, "0123456789.") !=
								strlen(u->host) &&
					u->host[0] != '['))
			scan_add(res, r, "R_SUSPICIOUS_URL", u->host);
		/* A link whose visible text is another site's URL. */
		if (u->display && u->from_html && strstr(u->display, "://")) {
			struct url_list shown;

			url_list_init(&shown);
			url_extract_text(u->display, strlen(u->display), &shown, 1);
			if (shown.n && !same_site(&shown.v[0], u))
				scan_add(res, r, "PHISHING", shown.v[0].host);
			url_list_free(&shown);
		}
	}
}

void checks_run(const struct scan_rules *r, const struct scan_input *in, const struct msg *m,
		struct scan_result *res, struct content *c)
{

	struct addrs *from = malloc(sizeof(*from));

	if (from == NULL)
		return;
	parse_addrs(hval(m, "From"), from);
	check_ids_dates(r, m, from, res);
	check_subject(r, m, res);
	check_from(r, in, m, from, res);
	check_replyto(r, m, from, res);
	check_to(r, in, m, res);
	check_counts(r, in, m, res);
	check_misc_headers(r, in, m, res);
	check_mime(r, m, res);
	check_subject_marks(r, m, res);
	check_from_raw(r, m, res);
	checks_mua_run(r, m, res);
	free(from);
	check_urls(r, m, res, c);
	scan_rules_regex(r, in, m, c, res);
}
