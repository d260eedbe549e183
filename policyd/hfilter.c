/*
 * hfilter - Rspamd's HELO, host name and sender-domain checks; see hfilter.h.
 *
 * The patterns are hfilter.lua's, as POSIX extended expressions (\d
 * written [0-9]; nothing else in them needs PCRE), matched without case.
 * Rspamd takes the client's host name from the MTA, which confirmed it by
 * forward-confirmed reverse DNS (Postfix's client_name); here the same
 * check is made through c-ares (PTR, then the name's A or AAAA records
 * must hold the client address), so the answer comes from moat's own
 * resolver and cache. A PTR lookup that fails or times out gives no
 * symbol: a DNS fault is not a sign of a bad host (Rspamd's RDNS_DNSFAIL
 * weighs 0 for the same reason).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/domain.h"
#include "core/log.h"
#include "core/mem.h"
#include "hfilter.h"

struct pattern {
	const char *re;
	int weight;
};

static const struct pattern checks_hellohost[] = {
    {"[-.0-9][0-9][.-]?nat", 5},
    {"homeuser[.-][0-9]", 5},
    {"[-.0-9][0-9][.-]?unused-addr", 3},
    {"[-.0-9][0-9][.-]?pppoe", 5},
    {"[-.0-9][0-9][.-]?dynamic", 5},
    {"[.-]catv[.-]", 5},
    {"unused-addr[.-][0-9]", 3},
    {"comcast[.-][0-9]", 5},
    {"[.-]broadband[.-]", 5},
    {"[0-9][.-]?fbx", 4},
    {"[.-]peer[.-]", 1},
    {"[.-]homeuser[.-]", 5},
    {"[-.0-9][0-9][.-]?catv", 5},
    {"customers?[.-][0-9]", 1},
    {"[.-]wifi[.-]", 5},
    {"[0-9][.-]?kabel", 3},
    {"dynip[.-][0-9]", 5},
    {"[.-]broad[.-]", 5},
    {"[a|x]?dsl-line[.-]?[0-9]", 4},
    {"[-.0-9][0-9][.-]?ppp", 5},
    {"pool[.-][0-9]", 4},
    {"[.-]nat[.-]", 5},
    {"gprs[.-][0-9]", 5},
    {"brodband[.-][0-9]", 5},
    {"[.-]gprs[.-]", 5},
    {"[.-]user[.-]", 1},
    {"[-.0-9][0-9][.-]?in-?addr", 4},
    {"[.-]host[.-]", 2},
    {"[.-]fbx[.-]", 4},
    {"dynamic[.-][0-9]", 5},
    {"[-.0-9][0-9][.-]?peer", 1},
    {"[-.0-9][0-9][.-]?pool", 4},
    {"[-.0-9][0-9][.-]?user", 1},
    {"[.-]cdma[.-]", 5},
    {"user[.-][0-9]", 1},
    {"[-.0-9][0-9][.-]?customers?", 1},
    {"ppp[.-][0-9]", 5},
    {"kabel[.-][0-9]", 3},
    {"dhcp[.-][0-9]", 5},
    {"peer[.-][0-9]", 1},
    {"[-.0-9][0-9][.-]?host", 2},
    {"clients?[.-][0-9]{2,}", 5},
    {"host[.-][0-9]", 2},
    {"[.-]ppp[.-]", 5},
    {"[.-]dhcp[.-]", 5},
    {"cable[.-][0-9]", 3},
    {"[-.0-9][0-9][.-]?dial-?up", 5},
    {"[-.0-9][0-9][.-]?bredband", 5},
    {"[-.0-9][0-9][.-]?[a|x]?dsl-line", 4},
    {"[.-]dial-?up[.-]", 5},
    {"[.-]cablemodem[.-]", 5},
    {"pppoe[.-][0-9]", 5},
    {"[.-]unused-addr[.-]", 3},
    {"pptp[.-][0-9]", 5},
    {"broadband[.-][0-9]", 5},
    {"[.-][a|x]?dsl-line[.-]", 4},
    {"[.-]customers?[.-]", 1},
    {"[-.0-9][0-9][.-]?fibertel", 4},
    {"[-.0-9][0-9][.-]?comcast", 5},
    {"[.-]dynamic[.-]", 5},
    {"cdma[.-][0-9]", 5},
    {"[0-9][.-]?broad", 5},
    {"fbx[.-][0-9]", 4},
    {"catv[.-][0-9]", 5},
    {"[-.0-9][0-9][.-]?homeuser", 5},
    {"[-.0-9][.-]pppoe[.-]", 5},
    {"[-.0-9][.-]dynip[.-]", 5},
    {"[-.0-9][0-9][.-]?[a|x]?dsl", 4},
    {"[-.0-9][0-9]{3,}[.-]?clients?", 5},
    {"[-.0-9][0-9][.-]?pptp", 5},
    {"[.-]clients?[.-]", 1},
    {"[.-]in-?addr[.-]", 4},
    {"[.-]pool[.-]", 4},
    {"[a|x]?dsl[.-]?[0-9]", 4},
    {"[.-][a|x]?dsl[.-]", 4},
    {"[-.0-9][0-9][.-]?[a|x]?dsl-dynamic", 5},
    {"dial-?up[.-][0-9]", 5},
    {"[-.0-9][0-9][.-]?cablemodem", 5},
    {"[a|x]?dsl-dynamic[.-]?[0-9]", 5},
    {"[.-]pptp[.-]", 5},
    {"[.-][a|x]?dsl-dynamic[.-]", 5},
    {"[0-9][.-]?wifi", 5},
    {"fibertel[.-][0-9]", 4},
    {"dyn[.-][0-9][-.0-9]", 5},
    {"[-.0-9][0-9][.-]broadband", 5},
    {"[-.0-9][0-9][.-]cable", 3},
    {"broad[.-][0-9]", 5},
    {"[-.0-9][0-9][.-]gprs", 5},
    {"cablemodem[.-][0-9]", 5},
    {"[-.0-9][0-9][.-]modem", 5},
    {"[-.0-9][0-9][.-]dyn", 5},
    {"[-.0-9][0-9][.-]dynip", 5},
    {"[-.0-9][0-9][.-]cdma", 5},
    {"[.-]modem[.-]", 5},
    {"[.-]kabel[.-]", 3},
    {"[.-]cable[.-]", 3},
    {"in-?addr[.-][0-9]", 4},
    {"nat[.-][0-9]", 5},
    {"[.-]fibertel[.-]", 4},
    {"[.-]bredband[.-]", 5},
    {"modem[.-][0-9]", 5},
    {"[0-9][.-]?dhcp", 5},
    {"wifi[.-][0-9]", 5},
    {"[.-]vps[.-]", 1},
};
static const struct pattern checks_hello[] = {
    {"^[^\\.]+$", 5},
    {"^(dsl)?(device|speedtouch)\\.lan$", 5},
    {"\\.(lan|local|home|localdomain|intra|in-addr.arpa|priv|user|veloxzon)$", 5},
};
static const struct pattern checks_hello_badip[] = {
    {"^[0-9]+\\.[0-9]+\\.[0-9]+\\.255$", 1},
    {"^192\\.0\\.0\\.[0-9]+", 1},
    {"^2001:db8::", 1},
    {"^10\\.[0-9]+\\.[0-9]+\\.[0-9]+", 1},
    {"^192\\.0\\.2\\.[0-9]+", 1},
    {"^172\\.1[6-9]\\.[0-9]+\\.[0-9]+", 1},
    {"^192\\.168\\.[0-9]+\\.[0-9]+", 1},
    {"^127\\.[0-9]+\\.[0-9]+\\.[0-9]+", 1},
    {"^::1$", 1},
    {"^ffxx::", 1},
    {"^fc00::", 1},
    {"^203\\.0\\.113\\.[0-9]+", 1},
    {"^fe[cdf][0-9a-f]:", 1},
    {"^100.12[0-7]\\.[0-9]+\\.[0-9]+", 1},
    {"^fe[89ab][0-9a-f]::", 1},
    {"^169\\.254\\.[0-9]+\\.[0-9]+", 1},
    {"^0\\.[0-9]+\\.[0-9]+\\.[0-9]+", 1},
    {"^198\\.51\\.100\\.[0-9]+", 1},
    {"^172\\.3[01]\\.[0-9]+\\.[0-9]+", 1},
    {"^100.[7-9][0-9]\\.[0-9]+\\.[0-9]+", 1},
    {"^100.1[01][0-9]\\.[0-9]+\\.[0-9]+", 1},
    {"^100.6[4-9]\\.[0-9]+\\.[0-9]+", 1},
    {"^192\\.88\\.99\\.[0-9]+", 1},
    {"^172\\.2[0-9]\\.[0-9]+\\.[0-9]+", 1},
};
static const struct pattern checks_hello_bareip[] = {
    {"^[0-9]+[x.-][0-9]+[x.-][0-9]+[x.-][0-9]+$", 1},
    {"^[0-9a-f]+:", 1},
};

#define NPAT(t) (sizeof(t) / sizeof((t)[0]))

static const char *const sym_names[HF_NSYM] = {
    "HFILTER_HELO_BAREIP",
    "HFILTER_HELO_BADIP",
    "HFILTER_HELO_1",
    "HFILTER_HELO_2",
    "HFILTER_HELO_3",
    "HFILTER_HELO_4",
    "HFILTER_HELO_5",
    "HFILTER_HELO_NORES_A_OR_MX",
    "HFILTER_HELO_IP_A",
    "HFILTER_HELO_NOT_FQDN",
    "HFILTER_HOSTNAME_1",
    "HFILTER_HOSTNAME_2",
    "HFILTER_HOSTNAME_3",
    "HFILTER_HOSTNAME_4",
    "HFILTER_HOSTNAME_5",
    "HFILTER_HOSTNAME_UNKNOWN",
    "HFILTER_FROMHOST_NORES_A_OR_MX",
    "HFILTER_FROMHOST_NOT_FQDN",
    "HFILTER_HELO_NORESOLVE_MX",
    "HFILTER_FROMHOST_NORESOLVE_MX",
};

const char *hfilter_symbol(enum hfilter_sym s)
{
	return s < HF_NSYM ? sym_names[s] : "HFILTER_UNKNOWN";
}

/* A table, compiled at first use (one thread); a pattern that fails to compile never matches. */
struct compiled {
	const struct pattern *p;
	size_t n;
	regex_t *re;
	int *ok;
};

static int match_max(struct compiled *c, const char *s, int first_only)
{
	int best = 0;

	if (c->re == NULL) {
		c->re = xcalloc(c->n, sizeof(*c->re));
		c->ok = xcalloc(c->n, sizeof(*c->ok));
		for (size_t i = 0; i < c->n; i++)
			c->ok[i] = regcomp(&c->re[i], c->p[i].re,
			                   REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (!c->ok[i] || regexec(&c->re[i], s, 0, NULL, 0) != 0)
			continue;
		if (c->p[i].weight > best)
			best = c->p[i].weight;
		if (first_only)
			break;
	}
	return best;
}

static struct compiled c_hellohost = {checks_hellohost, NPAT(checks_hellohost), NULL, NULL};
static struct compiled c_hello = {checks_hello, NPAT(checks_hello), NULL, NULL};
static struct compiled c_badip = {checks_hello_badip, NPAT(checks_hello_badip), NULL, NULL};
static struct compiled c_bareip = {checks_hello_bareip, NPAT(checks_hello_bareip), NULL, NULL};

/* The test lives in the core, for the content filter's Message-ID check too. */
int hfilter_fqdn(const char *name)
{
	return domain_is_fqdn(name);
}

int hfilter_helo_ip(const char *helo)
{
	if (match_max(&c_badip, helo, 1))
		return HF_HELO_BADIP;
	if (match_max(&c_bareip, helo, 1))
		return HF_HELO_BAREIP;
	return -1;
}

int hfilter_helo_weight(const char *helo)
{
	int a = match_max(&c_hello, helo, 0), b = match_max(&c_hellohost, helo, 0);

	return a > b ? a : b;
}

int hfilter_host_weight(const char *name)
{
	return match_max(&c_hellohost, name, 0);
}

#define HF_MX_MAX 8 /* MX hosts of one name looked up */

struct hostcheck;

/* The A and AAAA lookups of one MX host of a checked name. */
struct mxcheck {
	struct hostcheck *hc;
	char name[256];
	int notfound;
};

/* The A and AAAA lookups of one host (the HELO name or the sender's domain). */
struct hostcheck {
	struct hfilter_job *job;
	char host[256];
	int is_helo; /* compare with the client address (HELO_IP_A) */
	int answers, notfound, failed, matched;
	struct mxcheck mx[HF_MX_MAX];
	int nmx, mx_hit;
};

struct hfilter_job {
	struct dns *dns;
	struct ip_addr ip;
	char helo[256], hostname[256];
	int helo_weight; /* -1: the HELO was an address or is not checked */
	int waiting;
	struct hostcheck hc_helo, hc_from;
	struct hfilter_hit hits[HF_MAX_HITS];
	int nhits;
	hfilter_cb *done;
	void *arg;
};

static void hit(struct hfilter_job *j, enum hfilter_sym s, const char *opt)
{
	if (j->nhits >= HF_MAX_HITS)
		return;
	j->hits[j->nhits].sym = s;
	snprintf(j->hits[j->nhits].opt, sizeof(j->hits[0].opt), "%s", opt ? opt : "");
	j->nhits++;
}

/* Rspamd inserts HFILTER_HELO_n or HFILTER_HOSTNAME_n, the heavier one (HELO on a tie). */
static void weigh(struct hfilter_job *j)
{
	int wh = j->helo_weight > 0 ? j->helo_weight : 0;
	int wn = j->hostname[0] ? hfilter_host_weight(j->hostname) : 0;

	if (wh > 0 && wh >= wn)
		hit(j, HF_HELO_1 + wh - 1, j->helo);
	else if (wn > 0)
		hit(j, HF_HOSTNAME_1 + wn - 1, j->hostname);
}

static void part_done(struct hfilter_job *j)
{
	if (--j->waiting > 0)
		return;
	weigh(j);
	j->done(j->arg, j);
}

static int same_addr(const struct ip_addr *ip, const struct dns_answer *a)
{
	for (int i = 0; i < a->nrr; i++) {
		if (a->type == DNS_T_A && ip->family == AF_INET &&
		    memcmp(&a->rr[i].u.a, ip->a, 4) == 0)
			return 1;
		if (a->type == DNS_T_AAAA && ip->family == AF_INET6 &&
		    memcmp(&a->rr[i].u.aaaa, ip->a, 16) == 0)
			return 1;
	}
	return 0;
}

/*
 * check_host_cb_mx_a: an MX host with neither an A nor an AAAA record is
 * *_NORESOLVE_MX (the first one named; Rspamd lists each). A failed
 * lookup is not "no record".
 */
static void on_mx_addr(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct mxcheck *m = arg;
	struct hostcheck *hc = m->hc;

	(void)name;
	(void)type;
	if ((a->status == DNS_Q_NXDOMAIN || a->status == DNS_Q_NODATA) && ++m->notfound == 2 &&
	    !hc->mx_hit) {
		hc->mx_hit = 1;
		hit(hc->job, hc->is_helo ? HF_HELO_NORESOLVE_MX : HF_FROMHOST_NORESOLVE_MX,
		    m->name);
	}
	part_done(hc->job);
}

static void on_mx(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct hostcheck *hc = arg;

	(void)name;
	(void)type;
	if (a->status == DNS_Q_NXDOMAIN || a->status == DNS_Q_NODATA)
		hit(hc->job, hc->is_helo ? HF_HELO_NORES_A_OR_MX : HF_FROMHOST_NORES_A_OR_MX,
		    hc->host);
	for (int i = 0; a->status == DNS_Q_OK && i < a->nrr && hc->nmx < HF_MX_MAX; i++) {
		struct mxcheck *m = &hc->mx[hc->nmx++];
		size_t n;

		m->hc = hc;
		snprintf(m->name, sizeof(m->name), "%s", a->rr[i].str ? a->rr[i].str : "");
		if ((n = strlen(m->name)) > 0 && m->name[n - 1] == '.')
			m->name[n - 1] = '\0';
		hc->job->waiting += 2;
		dns_query(hc->job->dns, m->name, DNS_T_A, on_mx_addr, m);
		dns_query(hc->job->dns, m->name, DNS_T_AAAA, on_mx_addr, m);
	}
	part_done(hc->job);
}

/*
 * check_host_cb_a: judged once both families have answered. No address
 * holding the client's is HELO_IP_A (no records at all included); no
 * address at all, and no MX either, is NORES_A_OR_MX. A lookup that failed
 * judges nothing.
 */
static void on_addr(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct hostcheck *hc = arg;
	struct hfilter_job *j = hc->job;

	(void)name;
	(void)type;
	if (a->status == DNS_Q_NXDOMAIN || a->status == DNS_Q_NODATA)
		hc->notfound++;
	else if (a->status != DNS_Q_OK)
		hc->failed = 1;
	else if (same_addr(&j->ip, a))
		hc->matched = 1;
	if (++hc->answers == 2 && !hc->failed) {
		if (hc->is_helo && !hc->matched)
			hit(j, HF_HELO_IP_A, hc->host);
		if (hc->notfound == 2) {
			j->waiting++;
			dns_query(j->dns, hc->host, DNS_T_MX, on_mx, hc);
		}
	}
	part_done(j);
}

/* check_host: an FQDN is looked up, anything else is *_NOT_FQDN. */
static void check_host(struct hfilter_job *j, struct hostcheck *hc, const char *host, int is_helo)
{
	hc->job = j;
	hc->is_helo = is_helo;
	snprintf(hc->host, sizeof(hc->host), "%s", host);
	for (char *p = hc->host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!hfilter_fqdn(hc->host)) {
		hit(j, is_helo ? HF_HELO_NOT_FQDN : HF_FROMHOST_NOT_FQDN, hc->host);
		return;
	}
	j->waiting += 2;
	dns_query(j->dns, hc->host, DNS_T_A, on_addr, hc);
	dns_query(j->dns, hc->host, DNS_T_AAAA, on_addr, hc);
}

/* The name's addresses must hold the client's: then it is the client's host name. */
static void on_forward(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct hfilter_job *j = arg;

	(void)type;
	if (a->status == DNS_Q_OK && same_addr(&j->ip, a))
		snprintf(j->hostname, sizeof(j->hostname), "%s", name);
	else if (a->status == DNS_Q_OK || a->status == DNS_Q_NXDOMAIN || a->status == DNS_Q_NODATA)
		hit(j, HF_HOSTNAME_UNKNOWN, name);
	part_done(j);
}

static void on_ptr(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct hfilter_job *j = arg;
	char host[256];

	(void)name;
	(void)type;
	if (a->status == DNS_Q_OK && a->rr[0].len > 0 && a->rr[0].len < sizeof(host)) {
		snprintf(host, sizeof(host), "%s", a->rr[0].str);
		if (host[strlen(host) - 1] == '.')
			host[strlen(host) - 1] = '\0';
		j->waiting++;
		dns_query(j->dns, host, j->ip.family == AF_INET ? DNS_T_A : DNS_T_AAAA, on_forward,
		          j);
	} else if (a->status == DNS_Q_NXDOMAIN || a->status == DNS_Q_NODATA) {
		hit(j, HF_HOSTNAME_UNKNOWN, NULL);
	}
	part_done(j);
}

/* in-addr.arpa or ip6.arpa name of an address (RFC 1035 3.5, RFC 3596 2.5). */
static void reverse_name(const struct ip_addr *ip, char *out, size_t outlen)
{
	size_t n = 0;

	if (ip->family == AF_INET) {
		snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", ip->a[3], ip->a[2], ip->a[1],
		         ip->a[0]);
		return;
	}
	for (int i = 15; i >= 0 && n + 4 < outlen; i--)
		n += (size_t)snprintf(out + n, outlen - n, "%x.%x.", ip->a[i] & 15, ip->a[i] >> 4);
	snprintf(out + n, outlen - n, "ip6.arpa");
}

struct hfilter_job *hfilter_job_new(struct dns *dns, const struct ip_addr *ip, const char *helo,
                                    const char *sender, hfilter_cb *done, void *arg)
{
	struct hfilter_job *j = xcalloc(1, sizeof(*j));
	const char *at = strrchr(sender, '@');
	char rev[80];
	size_t n = 0;

	j->dns = dns;
	j->ip = *ip;
	j->done = done;
	j->arg = arg;
	j->waiting = 1;
	j->helo_weight = -1;
	/* The HELO without the brackets of an address literal, as Rspamd. */
	for (const char *p = helo; *p && n + 1 < sizeof(j->helo); p++)
		if (*p != '[' && *p != ']')
			j->helo[n++] = *p;
	if (j->helo[0]) {
		int s = hfilter_helo_ip(j->helo);

		if (s >= 0) {
			hit(j, s, j->helo);
		} else {
			j->helo_weight = hfilter_helo_weight(j->helo);
			if (j->helo_weight == 0)
				check_host(j, &j->hc_helo, j->helo, 1);
		}
	}
	/* Rspamd's HFILTER_FROM_BOUNCE (weight 0) only feeds RCPT_BOUNCEMOREONE: not here. */
	if (at && at[1])
		check_host(j, &j->hc_from, at + 1, 0);
	reverse_name(ip, rev, sizeof(rev));
	j->waiting++;
	dns_query(dns, rev, DNS_T_PTR, on_ptr, j);
	part_done(j);
	return j;
}

int hfilter_job_hits(const struct hfilter_job *job, const struct hfilter_hit **hits)
{
	*hits = job->hits;
	return job->nhits;
}

const char *hfilter_job_hostname(const struct hfilter_job *job)
{
	return job->hostname;
}

void hfilter_job_free(struct hfilter_job *job)
{
	free(job);
}
