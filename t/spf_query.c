/*
 * spf_query - the SPF engine (shared/auth/spf.c) from the command line, for the
 * tests: one check per input line, all in flight at once on one event loop
 * and one resolver, so that a thousand generated cases take seconds.
 *
 *   spf_query -s SERVER[:PORT] [-r RECEIVER] IP HELO SENDER
 *   spf_query -s SERVER[:PORT] [-r RECEIVER] -b < cases
 *
 * A case line is "ID IP HELO SENDER" (SENDER "-" = null sender). Output, one
 * line per case in input order: "ID RESULT SYMBOL[OPTION] | EXPLANATION";
 * -v adds the counters: DNS terms, void lookups, queries, rounds waited;
 * -2 runs everything a second time on the same resolver (its cache warm);
 * -x starts every check, cancels those waiting for DNS and frees the resolver.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns.h"
#include "core/evloop.h"
#include "auth/spf.h"

#define MAX_CASES 100000

struct job {
	char id[64], ip[64], helo[256], sender[400];
	char line[1024];
	int done;
};

/* Checks in flight at once: a burst of thousands of queries overflows a resolver's socket buffer.
 */
#define PARALLEL 64

static int outstanding, next_job, njobs;
static struct evloop *ev;
static struct dns *d;
static struct job *jobs;
static const char *receiver = "";
static int verbose, twice, cancel;

static void on_result(void *arg, const struct spf_outcome *o);

/* Start jobs until PARALLEL are in flight (a check may finish at once, from the cache). */
static void start_more(void)
{
	static int starting;

	if (starting)
		return;
	starting = 1;
	while (next_job < njobs && outstanding - (njobs - next_job) < PARALLEL) {
		struct job *j = &jobs[next_job++];
		struct spf_request req = {.ip = j->ip,
		                          .helo = j->helo,
		                          .sender = strcmp(j->sender, "-") ? j->sender : "",
		                          .receiver = receiver};

		spf_check(d, &req, on_result, j);
	}
	starting = 0;
}

static void on_result(void *arg, const struct spf_outcome *o)
{
	struct job *j = arg;
	char opt[SPF_TEXT_MAX];
	const char *sym = spf_symbol(o, opt, sizeof(opt));

	if (verbose)
		snprintf(j->line, sizeof(j->line),
		         "%s %s %s[%s] lookups=%d voids=%d queries=%d rounds=%d | %s", j->id,
		         spf_result_str(o->result), sym, opt, o->lookups, o->voids, o->queries,
		         o->rounds, o->explanation);
	else
		snprintf(j->line, sizeof(j->line), "%s %s %s[%s] | %s", j->id,
		         spf_result_str(o->result), sym, opt, o->explanation);
	j->done = 1;
	if (--outstanding == 0)
		evloop_stop(ev);
	else
		start_more();
}

static void usage(void)
{
	fprintf(stderr, "usage: spf_query -s SERVER[:PORT] [-r RECEIVER] [-v] [-2] [-x] (-b | IP "
	                "HELO SENDER)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct dns_params p = {.timeout_ms = 2000,
	                       .tries = 2,
	                       .cache_size = 10000,
	                       .max_ttl = 3600,
	                       .negative_ttl = 60};
	int n = 0, batch = 0, opt;
	char err[256], line[1200];

	while ((opt = getopt(argc, argv, "s:r:bv2x")) != -1) {
		if (opt == 's')
			p.servers = optarg;
		else if (opt == 'r')
			receiver = optarg;
		else if (opt == 'b')
			batch = 1;
		else if (opt == 'v')
			verbose = 1;
		else if (opt == '2')
			twice = 1;
		else if (opt == 'x')
			cancel = 1;
		else
			usage();
	}
	if (p.servers == NULL || (!batch && argc - optind != 3))
		usage();
	jobs = calloc(batch ? MAX_CASES : 1, sizeof(*jobs));
	if (batch) {
		while (n < MAX_CASES && fgets(line, sizeof(line), stdin))
			if (sscanf(line, "%63s %63s %255s %399s", jobs[n].id, jobs[n].ip,
			           jobs[n].helo, jobs[n].sender) == 4)
				n++;
	} else {
		snprintf(jobs[0].id, sizeof(jobs[0].id), "-");
		snprintf(jobs[0].ip, sizeof(jobs[0].ip), "%s", argv[optind]);
		snprintf(jobs[0].helo, sizeof(jobs[0].helo), "%s", argv[optind + 1]);
		snprintf(jobs[0].sender, sizeof(jobs[0].sender), "%s", argv[optind + 2]);
		n = 1;
	}
	if ((ev = evloop_new()) == NULL || (d = dns_new(ev, &p, err, sizeof(err))) == NULL) {
		fprintf(stderr, "spf_query: %s\n", ev ? err : "no event loop");
		return 1;
	}
	if (cancel) {
		/* Start every check, cancel those waiting, and free the resolver under them. */
		int waiting = 0;

		for (int i = 0; i < n; i++) {
			struct spf_request req = {.ip = jobs[i].ip,
			                          .helo = jobs[i].helo,
			                          .sender = jobs[i].sender,
			                          .receiver = receiver};
			struct spf_check *c = spf_check(d, &req, on_result, &jobs[i]);

			if (c) {
				spf_cancel(c);
				waiting++;
			}
		}
		dns_free(d);
		evloop_free(ev);
		free(jobs);
		printf("cancelled %d, finished %d\n", waiting, n - waiting);
		return 0;
	}
	for (int pass = 0; pass < (twice ? 2 : 1); pass++) {
		outstanding = njobs = n;
		next_job = 0;
		for (int i = 0; i < n; i++)
			jobs[i].done = 0;
		start_more();
		if (outstanding > 0)
			evloop_run(ev);
		for (int i = 0; i < n; i++)
			printf("%s\n", jobs[i].done ? jobs[i].line : "? unfinished");
	}
	dns_free(d);
	evloop_free(ev);
	free(jobs);
	return 0;
}
