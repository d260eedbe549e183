/*
 * check_rbl - the DNS lists (RFC 5782) for what the message itself names:
 * the relays of its Received headers and the hosts and addresses of its
 * URLs; see check_rbl.h. The client, HELO and sender were the policy
 * server's, at RCPT time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cidr.h"
#include "core/conf.h"
#include "core/evloop.h"
#include "core/log.h"
#include "core/mem.h"
#include "dns/dns.h"
#include "dns/dnsbl.h"
#include "mail/mime.h"
#include "mail/url.h"
#include "scan/check.h"
#include "scan/check_rbl.h"
#include "scan/content.h"
#include "scan/result.h"

struct scan_dns {
	struct evloop *ev;
	struct dns *dns;
	struct dnsbl *bl;
	int soft_reject;
	struct scan_dmarc_conf dmarc;
	int timeout_ms;
	int auth_local;
	char key[128];
};

struct scan_dns *scan_dns_new(const struct conf *cf, sqlite3 *db, char *err, size_t errlen)
{
	struct scan_dns *sd = xcalloc(1, sizeof(*sd));
	struct dns_params p;

	dns_params_from_conf(cf, &p);
	p.cache_size /= 16;	/* one cache per milter thread */
	sd->soft_reject = conf_bool(cf, "soft_reject_on_timeout");
	sd->dmarc.treewalk = strcmp(conf_str(cf, "dmarc_org_domain"), "psl") != 0;
	sd->dmarc.enforce = conf_bool(cf, "dmarc_enforce");
	sd->dmarc.soft_reject = sd->soft_reject;
	sd->timeout_ms = p.timeout_ms;
	sd->auth_local = conf_bool(cf, "auth_check_local");
	if ((sd->ev = evloop_new()) == NULL || (sd->dns = dns_new(sd->ev, &p, err, errlen)) == NULL ||
	    (sd->bl = dnsbl_new(db, conf_str(cf, "abusix_key"), err, errlen)) == NULL) {
		scan_dns_free(sd);
		return NULL;
	}
	return sd;
}

void scan_dns_reload(struct scan_dns *sd, sqlite3 *db)
{
	char err[512];

	if (sd && dnsbl_reload(sd->bl, db, err, sizeof(err)) < 0)
		msg_warn("%s", err);
}

void scan_dns_free(struct scan_dns *sd)
{
	if (sd == NULL)
		return;
	dns_free(sd->dns);
	dnsbl_free(sd->bl);
	evloop_free(sd->ev);
	free(sd);
}

struct dns *scan_dns_resolver(const struct scan_dns *sd, struct evloop **ev)
{
	*ev = sd->ev;
	return sd->dns;
}

const struct scan_dmarc_conf *scan_dns_dmarc(const struct scan_dns *sd)
{
	return &sd->dmarc;
}

int scan_dns_soft_reject(const struct scan_dns *sd)
{
	return sd->soft_reject;
}

int scan_dns_timeout_ms(const struct scan_dns *sd)
{
	return sd->timeout_ms;
}

int scan_dns_auth_local(const struct scan_dns *sd)
{
	return sd->auth_local;
}

/* Addresses that say nothing about the sender's reputation. */
static int private_ip(const struct ip_addr *ip)
{
	static const char *nets[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
				     "169.254.0.0/16", "100.64.0.0/10", "0.0.0.0/8", "::1/128",
				     "fc00::/7", "fe80::/10"};

	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		struct cidr c;

		if (cidr_parse(nets[i], strlen(nets[i]), &c) == 0 && cidr_match(&c, ip))
			return 1;
	}
	return 0;
}

/* See check_rbl.h. */
int check_rbl_hop(const char *value, struct ip_addr *ip)
{
	const char *lb, *rb;

	/* Bounded: each turn moves lb past a '['. */
	for (lb = strchr(value, '['); lb; lb = strchr(lb + 1, '[')) {
		rb = strchr(lb, ']');
		if (rb == NULL || rb - lb > 60)
			return 0;
		/*
		 * ip is written only by a parse that succeeds: "[]" or a word in
		 * brackets is skipped, never read as an address.
		 */
		if (ip_parse(lb + 1, (size_t)(rb - lb - 1), ip) == 0 ||
		    (rb - lb > 6 && strncasecmp(lb + 1, "IPv6:", 5) == 0 &&
		     ip_parse(lb + 6, (size_t)(rb - lb - 6), ip) == 0))
			return ip->family != 0 && !private_ip(ip);
	}
	return 0;
}

/* The relays' IPs: the bracketed address of each Received "from" clause. */
static void received_targets(const struct msg *m, const struct scan_input *in,
			     struct dnsbl_job *job)
{
	int seen = 0;

	for (int k = 0; k < m->root->nheaders && seen < 16; k++) {
		const struct msg_header *h = &m->root->headers[k];
		char txt[IP_TEXT_MAX];
		struct ip_addr ip;

		if (strcasecmp(h->name, "Received") != 0)
			continue;
		seen++;
		if (!check_rbl_hop(h->value, &ip))
			continue;
		/* Our own Postfix's hop is the client: the policy server checked it. */
		ip_format(&ip, txt, sizeof(txt));
		if (!(seen == 1 && in->client_ip && strcmp(txt, in->client_ip) == 0))
			dnsbl_job_ip(job, &ip, DNSBL_RECEIVED);
	}
}

static void url_targets(const struct content *c, struct dnsbl_job *job)
{
	int n = 0;

	for (size_t i = 0; i < c->urls.n && n < 20; i++) {
		const struct url *u = &c->urls.v[i];
		struct ip_addr ip;

		if (u->host_is_ip) {
			if (url_host_ip(u->host, strlen(u->host), &ip) == 0 && !private_ip(&ip)) {
				dnsbl_job_ip(job, &ip, DNSBL_URL);
				n++;
			}
		} else if (u->host) {
			dnsbl_job_domain(job, u->host, DNSBL_URL);
			n++;
		}
	}
}

static void on_job_done(void *arg, struct dnsbl_job *job)
{
	evloop_stop(arg);
}

/* Run the DNS lists for the message's relays and URLs; wait for the answers. */
static void rbl_run(const struct scan_ctx *ctx)
{
	const struct scan_rules *r = ctx->rules;
	struct scan_dns *sd = ctx->env->dns;
	struct scan_result *res = ctx->res;
	struct dnsbl_job *job;
	const struct dnsbl_hit *h;
	const char *failed;
	int timed_out;
	size_t n;

	if (sd == NULL || dnsbl_zone_count(sd->bl) == 0)
		return;
	job = dnsbl_job_new(sd->bl, sd->dns, on_job_done, sd->ev);
	received_targets(ctx->msg, ctx->in, job);
	url_targets(ctx->content, job);
	dnsbl_job_run(job);
	if (dns_pending(sd->dns) > 0)
		evloop_run(sd->ev);
	n = dnsbl_job_hits(job, &h);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < (h[i].nopts ? h[i].nopts : 1); k++)
			scan_add(res, r, h[i].symbol, h[i].nopts ? h[i].opts[k] : NULL);
	failed = dnsbl_job_failed(job, &timed_out);
	if (failed && sd->soft_reject) {
		res->soft_reject = 1;
		snprintf(res->soft_reason, sizeof(res->soft_reason), "DNS lookup at %s %s", failed,
			 timed_out ? "timed out" : "failed");
	}
	dnsbl_job_free(job);
}

const struct check check_rbl = {.name = "rbl", .module = "rbl", .run = rbl_run};
