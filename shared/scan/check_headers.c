/*
 * check_headers - header, envelope, date and Received checks: Message-ID,
 * Date, Subject, From, Reply-To, To, Received and recipient counts, and
 * header marks; Rspamd's names where Rspamd has the same meaning (weights
 * in the symbols table, sql/).
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

#include "core/mem.h"
#include "mail/mime.h"
#include "scan/check.h"
#include "scan/result.h"
#include "scan/scan.h"

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
	struct addrs *rt = xmalloc(sizeof(*rt));

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
	struct addrs *to = xmalloc(sizeof(*to));
	int dn = 0, matched = 0;

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

void scan_header_from(const struct msg *m, char *addr, size_t addrlen, char *name, size_t namelen)
{
	struct addrs *from = xmalloc(sizeof(*from));

	parse_addrs(hval(m, "From"), from);
	snprintf(addr, addrlen, "%s", from->n ? from->v[0].addr : "");
	snprintf(name, namelen, "%s", from->n ? from->v[0].display : "");
	free(from);
}

static void headers_run(const struct scan_ctx *ctx)
{
	const struct scan_rules *r = ctx->rules;
	const struct scan_input *in = ctx->in;
	const struct msg *m = ctx->msg;
	struct scan_result *res = ctx->res;
	struct addrs *from = xmalloc(sizeof(*from));

	parse_addrs(hval(m, "From"), from);
	check_ids_dates(r, m, from, res);
	check_subject(r, m, res);
	check_from(r, in, m, from, res);
	check_replyto(r, m, from, res);
	check_to(r, in, m, res);
	check_counts(r, in, m, res);
	check_misc_headers(r, in, m, res);
	check_subject_marks(r, m, res);
	check_from_raw(r, m, res);
	free(from);
}

const struct check check_headers = {.name = "headers", .module = NULL, .run = headers_run};
