/*
 * cmd_scan - moatctl scan: messages in files, mboxes and directories
 * scored as the milter scores them, printed as rspamc prints its results
 * (or as JSON lines).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/printable.h"
#include "core/sbuf.h"
#include "mail/mbox.h"
#include "scan/bayes.h"
#include "scan/clamav.h"
#include "scan/scan.h"
#include "store/bayes_store.h"

/*
 * JSON string (RFC 8259): '"', '\\', the C0 controls, DEL and C1 escaped as
 * \\u00XX, well-formed UTF-8 as is, each ill-formed byte U+FFFD (JSON text
 * is UTF-8, and a parser may reject the whole document otherwise). Only
 * the output is changed: the message and the database keep the original.
 */
static void json_str(FILE *fp, const char *s)
{
	size_t len = strlen(s), i = 0, n;

	fputc('"', fp);
	/* Each step consumes at least one byte. */
	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			fprintf(fp, "\\%c", c);
			i++;
		} else if (c == '\t') {
			fputs("\\t", fp);
			i++;
		} else if ((n = printable_seq(s + i, len - i)) > 0) {
			fwrite(s + i, 1, n, fp);
			i += n;
		} else if (c < 0x80) {
			fprintf(fp, "\\u%04x", c);
			i++;
		} else if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		           (unsigned char)s[i + 1] <= 0x9f) {
			fprintf(fp, "\\u%04x", (unsigned char)s[i + 1]);
			i += 2;
		} else {
			fputs("\\ufffd", fp);
			i++;
		}
	}
	fputc('"', fp);
}

static void print_result(const char *file, const struct scan_result *res, double secs, int json)
{
	if (json) {
		fputs("{\"file\":", stdout);
		json_str(stdout, file);
		printf(",\"score\":%.2f,\"required_score\":%.2f,\"action\":", res->score,
		       isinf(res->required) ? 0.0 : res->required);
		json_str(stdout, res->action);
		printf(",\"is_spam\":%s,\"scan_time\":%.6f,\"symbols\":{",
		       strcmp(res->action, "reject") == 0 ? "true" : "false", secs);
		for (size_t i = 0; i < res->n; i++) {
			printf("%s", i ? "," : "");
			json_str(stdout, res->v[i].name);
			printf(":{\"score\":%.2f,\"options\":[", res->v[i].weight);
			/* One element per option, as Rspamd's JSON has them. */
			for (int k = 0; k < res->v[i].nopts; k++) {
				printf("%s", k ? "," : "");
				json_str(stdout, res->v[i].opts[k]);
			}
			printf("]}");
		}
		printf("}}\n");
		return;
	}
	printf("Results for file: %s (%.3f seconds)\n[Metric: default]\nAction: %s\n"
	       "Spam: %s\nScore: %.2f / %.2f\n",
	       ctl_show(file), secs, res->action, strcmp(res->action, "reject") == 0 ? "true" : "false",
	       res->score, isinf(res->required) ? 0.0 : res->required);
	/* As rspamc prints a symbol: options after ", ", no brackets without any. */
	for (size_t i = 0; i < res->n; i++) {
		struct sbuf o;

		sbuf_init(&o);
		scan_symbol_opts(&res->v[i], &o, ", ");
		printf("Symbol: %s (%.2f)%s%s%s\n", res->v[i].name, res->v[i].weight,
		       o.len ? "[" : "", ctl_show(sbuf_cstr(&o)), o.len ? "]" : "");
		sbuf_free(&o);
	}
	printf("\n");
}

static int scan_buffer(const struct scan_rules *r, const struct scan_env *env,
		       const struct scan_input *tx, const char *name, const char *p, size_t len,
		       int json)
{
	struct scan_input in = *tx;
	struct scan_result res;
	struct timespec t0, t1;

	in.raw = p;
	in.len = len;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	scan_result_init(&res);
	scan_message(r, env, &in, &res);
	scan_finish(&res, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_result(name, &res,
		     (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, json);
	scan_result_free(&res);
	return 0;
}


#define SCAN_RCPTS_MAX 1000

/* What mbox_walk() hands each message to. */
struct scan_walk {
	const struct scan_rules *r;
	struct scan_env env;	/* DNS lists (NULL with --no-dns) and Bayes */
	struct scan_input tx;	/* the transaction the options give */
	const char *rcpts[SCAN_RCPTS_MAX];
	int json;
};

static int scan_walked(void *arg, const char *name, const char *p, size_t len)
{
	struct scan_walk *w = arg;

	scan_buffer(w->r, &w->env, &w->tx, name, p, len, w->json);
	return 0;
}

/* Whether o is an option of scan_options() that takes a value. */
static int takes_value(const char *o)
{
	return strcmp(o, "-i") == 0 || strcmp(o, "-F") == 0 || strcmp(o, "-r") == 0 ||
	       strcmp(o, "--helo") == 0 || strcmp(o, "-u") == 0;
}

/*
 * The options, the transaction as rspamc takes it: -i IP, -F SENDER ("<>"
 * is the null sender), -r RCPT (repeatable), --helo NAME, -u USER (a SASL
 * login: local mail, as the milter sees such a session). The index of the
 * first file, or -1 after saying what is wrong.
 */
static int scan_options(int argc, char **argv, struct scan_walk *w, int *dns)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		const char *o = argv[i], *v;

		if (strcmp(o, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(o, "--json") == 0 || strcmp(o, "--no-dns") == 0) {
			*(o[2] == 'j' ? &w->json : dns) = o[2] == 'j';
			continue;
		}
		if (!takes_value(o) || i + 1 >= argc) {
			fprintf(stderr, "moatctl scan: %s %s\n", ctl_show(o),
				takes_value(o) ? "needs a value" : "is not an option");
			return -1;
		}
		v = argv[++i];
		if (strcmp(o, "-i") == 0) {
			w->tx.client_ip = v;
		} else if (strcmp(o, "-F") == 0) {
			w->tx.mail_from = strcmp(v, "<>") == 0 ? "" : v;
		} else if (strcmp(o, "--helo") == 0) {
			w->tx.helo = v;
		} else if (strcmp(o, "-u") == 0) {
			w->tx.auth_user = v;
			w->tx.local = 1;
		} else if (w->tx.nrcpts < SCAN_RCPTS_MAX) {
			w->rcpts[w->tx.nrcpts++] = v;
		}
	}
	return i < argc ? i : -1;
}

int cmd_scan(struct ctl *ctl, int argc, char **argv)
{
	struct bayes_store *st;
	struct scan_rules *r;
	struct scan_walk w = {0};
	char err[512];
	int dns = 1, rc = 0, i;

	w.tx.rcpts = w.rcpts;
	if ((i = scan_options(argc, argv, &w, &dns)) < 0) {
		fprintf(stderr, "usage: moatctl scan [--json] [--no-dns] [-i IP] [-F SENDER] "
				"[-r RCPT]... [--helo NAME] [-u USER] FILE|DIR...\n");
		return 2;
	}
	if ((r = scan_rules_load(ctl_db(ctl), err, sizeof(err))) == NULL ||
	    (dns && (w.env.dns = scan_dns_new(ctl->cf, ctl_db(ctl), err, sizeof(err))) == NULL)) {
		msg_error("%s", err);
		scan_rules_free(r);
		return 1;
	}
	if (scan_rules_module(r, "clamav") &&
	    (w.env.clamav = clamav_new(ctl->cf, err, sizeof(err))) == NULL)
		msg_warn("ClamAV unavailable: %s", err);
	st = bayes_store_sqlite_new(ctl_db(ctl), NULL);
	w.env.bayes = st ? bayes_new(st) : NULL;
	w.r = r;
	for (; i < argc; i++)
		rc |= mbox_walk(argv[i], (size_t)conf_num(ctl->cf, "scan_size_limit"), scan_walked,
				 &w) != 0;
	bayes_free(w.env.bayes);
	bayes_store_close(st);
	scan_dns_free(w.env.dns);
	clamav_free(w.env.clamav);
	scan_rules_free(r);
	return rc;
}
