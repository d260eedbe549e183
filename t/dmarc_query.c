/*
 * dmarc_query - the DMARC engine (shared/auth/dmarc.c) and check
 * (shared/scan/check_dmarc.c) from the command line, for t/dmarc-authheaders.t.
 *
 *   dmarc_query -s SERVER[:PORT] -b < cases
 *   dmarc_query -s SERVER[:PORT] -m MESSAGE [-o NAME=VALUE]... [-S RESULT:DOMAIN]
 *               [-D RESULT:DOMAIN]... [-l]
 *
 * -b: a case line is "ID MODE FROM SPF SPFDOMAIN DKIM DKIMDOMAIN COIN" (MODE
 * treewalk or psl; SPF pass, fail, softfail, neutral, none, temperror; DKIM
 * pass, fail, temperror or - for no signature; "-" for an empty domain).
 * All cases run at once on one event loop and one resolver; output, one line
 * per case in input order: "ID RESULT POLICY DISPOSITION ORG SYMBOL[o|o]".
 *
 * -m: the dmarc check alone on MESSAGE, as the milter runs it (a thread's
 * scan_dns made from moat.conf settings -o, the SPF and DKIM verdicts given
 * in scan_auth; -l marks the mail local): prints "SYMBOL[o,o] action=A",
 * and the reply text when the action is reject.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/dmarc.h"
#include "core/conf.h"
#include "core/evloop.h"
#include "core/sbuf.h"
#include "dns/dns.h"
#include "mail/mime.h"
#include "scan/auth.h"
#include "scan/check.h"
#include "scan/check_rbl.h"
#include "scan/content.h"
#include "scan/result.h"
#include "scan/rules.h"
#include "store/db.h"

#define MAX_CASES 20000
#define PARALLEL 64

struct job {
	char id[64], mode[16], from[256], spf[16], spfdom[256], dkim[16], dkimdom[256];
	int coin;
	char line[1500];
	int done;
};

static int outstanding, next_job, njobs;
static struct evloop *ev;
static struct dns *d;
static struct job *jobs;

static const char *dash(const char *s)
{
	return strcmp(s, "-") == 0 ? "" : s;
}

static enum spf_result spf_of(const char *s)
{
	static const char *const n[] = {"none",     "neutral",   "pass",     "fail",
	                                "softfail", "temperror", "permerror"};

	for (int i = 0; i < 7; i++)
		if (strcmp(s, n[i]) == 0)
			return (enum spf_result)i;
	return SPF_NONE;
}

static enum dkim_result dkim_of(const char *s)
{
	return strcmp(s, "pass") == 0        ? DKIM_PASS
	       : strcmp(s, "temperror") == 0 ? DKIM_TEMPERROR
	                                     : DKIM_FAIL;
}

static void on_result(void *arg, const struct dmarc_outcome *o);

static void start_more(void)
{
	static int starting;
	struct dmarc_resolver r;

	if (starting)
		return;
	starting = 1;
	dmarc_resolver_dns(&r, d);
	while (next_job < njobs && outstanding - (njobs - next_job) < PARALLEL) {
		struct job *j = &jobs[next_job++];
		struct dmarc_request rq = {.from_domain = dash(j->from),
		                           .treewalk = strcmp(j->mode, "psl") != 0,
		                           .spf_checked = 1,
		                           .spf = spf_of(j->spf),
		                           .spf_domain = dash(j->spfdom),
		                           .coin = j->coin};

		if (strcmp(j->dkim, "-") != 0) {
			rq.ndkim = 1;
			rq.dkim[0] = dkim_of(j->dkim);
			rq.dkim_domain[0] = dash(j->dkimdom);
		}
		dmarc_check(&r, &rq, on_result, j);
	}
	starting = 0;
}

static void on_result(void *arg, const struct dmarc_outcome *o)
{
	struct job *j = arg;
	char opts[DMARC_OPT_MAX][DMARC_OPT_LEN];
	const char *sym;
	int n = dmarc_symbol(o, &sym, opts);
	size_t len;

	len = (size_t)snprintf(j->line, sizeof(j->line), "%s %s %s %s %s %s[", j->id,
	                       dmarc_result_str(o->result),
	                       o->policy ? dmarc_policy_str(o->policy) : "-",
	                       o->disposition ? dmarc_policy_str(o->disposition) : "-",
	                       o->org_domain[0] ? o->org_domain : "-", sym);
	for (int i = 0; i < n && len < sizeof(j->line); i++)
		len += (size_t)snprintf(j->line + len, sizeof(j->line) - len, "%s%s", i ? "|" : "",
		                        opts[i]);
	if (len < sizeof(j->line))
		snprintf(j->line + len, sizeof(j->line) - len, "]");
	j->done = 1;
	if (--outstanding == 0)
		evloop_stop(ev);
	else
		start_more();
}

static int batch(const char *servers)
{
	struct dns_params p = {.servers = servers,
	                       .timeout_ms = 2000,
	                       .tries = 2,
	                       .cache_size = 10000,
	                       .max_ttl = 3600,
	                       .negative_ttl = 60};
	char err[256], line[1200];
	int n = 0;

	jobs = calloc(MAX_CASES, sizeof(*jobs));
	while (n < MAX_CASES && fgets(line, sizeof(line), stdin))
		if (sscanf(line, "%63s %15s %255s %15s %255s %15s %255s %d", jobs[n].id,
		           jobs[n].mode, jobs[n].from, jobs[n].spf, jobs[n].spfdom, jobs[n].dkim,
		           jobs[n].dkimdom, &jobs[n].coin) == 8)
			n++;
	if ((ev = evloop_new()) == NULL || (d = dns_new(ev, &p, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarc_query: %s\n", ev ? err : "no event loop");
		return 1;
	}
	outstanding = njobs = n;
	start_more();
	if (outstanding > 0)
		evloop_run(ev);
	for (int i = 0; i < n; i++)
		printf("%s\n", jobs[i].done ? jobs[i].line : "? unfinished");
	dns_free(d);
	evloop_free(ev);
	free(jobs);
	return 0;
}

/* RESULT:DOMAIN into a verdict. */
static void split(const char *arg, char *res, size_t rlen, char *dom, size_t dlen)
{
	const char *colon = strchr(arg, ':');

	snprintf(res, rlen, "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
	snprintf(dom, dlen, "%s", colon ? colon + 1 : "");
}

static int message(const char *path, struct conf *cf, const char *spf, char **dkim, int ndkim,
                   int local)
{
	char dir[] = "/tmp/dmarc-query.XXXXXX", dbpath[300], err[512], r1[32];
	static struct scan_auth auth;
	struct scan_input in = {0};
	struct scan_env env = {0};
	struct scan_result res;
	struct mime_limits lim;
	struct scan_rules *r;
	struct content c;
	struct scan_ctx ctx;
	struct sbuf sb;
	struct msg *m;
	sqlite3 *db;
	FILE *fp = fopen(path, "rb");
	char *raw = calloc(1, 1 << 20);
	size_t len = fp ? fread(raw, 1, (1 << 20) - 1, fp) : 0;

	if (fp)
		fclose(fp);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/moat.db", dir);
	if ((db = db_open(dbpath, 1000, err, sizeof(err))) == NULL ||
	    (r = scan_rules_load(db, err, sizeof(err))) == NULL ||
	    (env.dns = scan_dns_new(cf, db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarc_query: %s\n", err);
		return 1;
	}
	in.raw = raw;
	in.len = len;
	in.local = local;
	if (spf) {
		auth.spf_checked = 1;
		split(spf, r1, sizeof(r1), auth.spf.domain, sizeof(auth.spf.domain));
		auth.spf.result = spf_of(r1);
	}
	auth.dkim_checked = 1;
	for (int i = 0; i < ndkim && i < DKIM_MAX_SIGS; i++) {
		split(dkim[i], r1, sizeof(r1), auth.dkim[i].domain, sizeof(auth.dkim[i].domain));
		auth.dkim[i].result = dkim_of(r1);
		auth.ndkim++;
	}
	mime_limits_default(&lim);
	m = msg_parse(raw, len, &lim);
	content_init(&c);
	content_extract(m, &c);
	scan_result_init(&res);
	ctx = (struct scan_ctx){.rules = r,
	                        .in = &in,
	                        .msg = m,
	                        .content = &c,
	                        .env = &env,
	                        .res = &res,
	                        .auth = &auth};
	for (const struct check *const *k = scan_checks; *k; k++)
		if (strcmp((*k)->name, "dmarc") == 0)
			(*k)->run(&ctx);
	scan_finish(&res, r);
	sbuf_init(&sb);
	for (size_t i = 0; i < res.n; i++) {
		sbuf_printf(&sb, "%s%s[", i ? " " : "", res.v[i].name);
		scan_symbol_opts(&res.v[i], &sb, ",");
		sbuf_puts(&sb, "]");
	}
	printf("%s action=%s auth=%s/%s/%s from=%s\n", sbuf_cstr(&sb), res.action,
	       auth.dmarc_checked ? auth.dmarc_result : "-", auth.dmarc_policy, auth.dmarc_domain,
	       auth.from_domain[0] ? auth.from_domain : "-");
	if (strcmp(res.action, "reject") == 0)
		printf("reply: %s\n", res.least ? res.least_reason : "Message rejected as spam");
	sbuf_free(&sb);
	scan_result_free(&res);
	content_free(&c);
	msg_free(m);
	scan_dns_free(env.dns);
	scan_rules_free(r);
	db_close(db);
	free(raw);
	unlink(dbpath);
	rmdir(dir);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: dmarc_query -s SERVER[:PORT] (-b | -m MESSAGE [-o NAME=VALUE]... "
	                "[-S RES:DOM] [-D RES:DOM]... [-l])\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *servers = NULL, *msgfile = NULL, *spf = NULL;
	char *dkim[DKIM_MAX_SIGS], err[512], set[600];
	int opt, b = 0, ndkim = 0, local = 0;
	struct conf *cf = conf_new();

	while ((opt = getopt(argc, argv, "s:bm:o:S:D:l")) != -1) {
		if (opt == 's')
			servers = optarg;
		else if (opt == 'b')
			b = 1;
		else if (opt == 'm')
			msgfile = optarg;
		else if (opt == 'o' && conf_override(cf, optarg, err, sizeof(err)) < 0)
			fprintf(stderr, "dmarc_query: %s\n", err), exit(2);
		else if (opt == 'S')
			spf = optarg;
		else if (opt == 'D' && ndkim < DKIM_MAX_SIGS)
			dkim[ndkim++] = optarg;
		else if (opt == 'l')
			local = 1;
		else if (!strchr("oD", opt))
			usage();
	}
	if (servers == NULL || b == (msgfile != NULL))
		usage();
	if (b) {
		conf_free(cf);
		return batch(servers);
	}
	snprintf(set, sizeof(set), "dns_servers=%s", servers);
	if (conf_override(cf, set, err, sizeof(err)) < 0 || conf_finish(cf, err, sizeof(err)) < 0) {
		fprintf(stderr, "dmarc_query: %s\n", err);
		return 2;
	}
	opt = message(msgfile, cf, spf, dkim, ndkim, local);
	conf_free(cf);
	return opt;
}
