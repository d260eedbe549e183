/*
 * result - symbols, score, action and the Rspamd-style headers; see
 * result.h. Knows the rules (for weights and thresholds), not the checks.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/sbuf.h"
#include "mail/hdrsafe.h"
#include "scan/composite.h"
#include "scan/result.h"
#include "scan/rules.h"

void scan_result_init(struct scan_result *res)
{
	memset(res, 0, sizeof(*res));
	res->action = "no action";
	res->required = HUGE_VAL;
}

void scan_result_free(struct scan_result *res)
{
	for (size_t i = 0; i < res->n; i++) {
		for (int k = 0; k < res->v[i].nopts; k++)
			free(res->v[i].opts[k]);
		free(res->v[i].opts);
	}
	free(res->v);
	free(res->subject);
	free(res->subject_raw);
	free(res->auth);
	scan_result_init(res);
}

/* One more option for s, with Rspamd's limits (rspamd_task_add_result_option). */
static void add_opt(struct scan_symbol *s, const char *opt)
{
	size_t len = strlen(opt);
	struct sbuf enc;

	if (s->opts_full || s->nopts >= SCAN_MAX_OPTS)
		return;
	if (s->optlen + len > SCAN_MAX_OPTS_LEN) {
		opt = "...";
		len = 3;
		s->opts_full = 1;
	}
	sbuf_init(&enc);
	hdrsafe_option(&enc, opt, len);
	for (int k = 0; k < s->nopts; k++)
		if (strcmp(s->opts[k], sbuf_cstr(&enc)) == 0) {
			sbuf_free(&enc);
			return;
		}
	s->opts = xrealloc(s->opts, (size_t)(s->nopts + 1) * sizeof(*s->opts));
	s->opts[s->nopts++] = xstrdup(sbuf_cstr(&enc));
	s->optlen += len;
	sbuf_free(&enc);
}

void scan_add_weighted(struct scan_result *res, const struct scan_rules *r, const char *name,
		       double weight, const char *opt)
{
	struct scan_symbol *s = NULL;

	for (size_t i = 0; i < res->n; i++)
		if (strcmp(res->v[i].name, name) == 0)
			s = &res->v[i];
	if (s == NULL) {
		if (res->n == res->cap) {
			res->cap = res->cap ? res->cap * 2 : 32;
			res->v = xrealloc(res->v, res->cap * sizeof(*res->v));
		}
		s = &res->v[res->n++];
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->weight = weight;
	}
	if (opt && *opt)
		add_opt(s, opt);
	(void)r;
}

void scan_add(struct scan_result *res, const struct scan_rules *r, const char *name,
	      const char *opt)
{
	double w = 0.0;

	if (scan_rules_symbol(r, name, &w) == 0)
		return;
	scan_add_weighted(res, r, name, w, opt);
}

void scan_add_policy(struct scan_result *res, const struct scan_rules *r, const char *list)
{
	const char *p = list;

	/* GTUBE skips every check, those at RCPT too, as Rspamd's skipped task. */
	if (res->forced)
		return;
	/*
	 * "NAME(w)[o,o]; NAME(w)[]": names and options; weights are ours. The
	 * policy server wrote each option through hdrsafe_option(), so a ','
	 * separates two and a ']' ends the list.
	 */
	for (int k = 0; *p && k < 64; k++) {
		char name[64], opt[1024];	/* a 272-byte option, encoded: U+FFFD is 3 bytes */
		size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		const char *lb, *rb;

		if (n == 0 || n >= sizeof(name))
			return;
		memcpy(name, p, n);
		name[n] = '\0';
		lb = strchr(p, '[');
		rb = lb ? strchr(lb, ']') : NULL;
		scan_add(res, r, name, NULL);
		for (const char *o = lb ? lb + 1 : rb; o && o < rb;) {
			size_t len = strcspn(o, ",]");

			if (len < sizeof(opt)) {
				memcpy(opt, o, len);
				opt[len] = '\0';
				scan_add(res, r, name, opt);
			}
			o += len + 1;
		}
		p = rb ? rb + 1 : p + n;
		p += strspn(p, "; ");
	}
}

static int by_weight(const void *a, const void *b)
{
	const struct scan_symbol *x = a, *y = b;
	double wx = fabs(x->weight), wy = fabs(y->weight);

	if (wx != wy)
		return wx > wy ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The composites' verdict: a symbol that gives up its place goes, its weight (if kept) counts. */
void scan_composites(struct scan_result *res, const struct composite_set *set)
{
	struct composite_change *c;
	size_t n = composite_eval(set, res, &c);

	for (size_t k = 0; k < n; k++) {
		size_t i;

		if (c[k].what == COMPOSITE_ADD) {
			scan_add_weighted(res, NULL, c[k].name, c[k].weight, NULL);
			continue;
		}
		for (i = 0; i < res->n && strcmp(res->v[i].name, c[k].name) != 0; i++)
			;
		if (i == res->n)
			continue;
		if (c[k].what & COMPOSITE_TAKE_WEIGHT)
			res->v[i].weight = 0;
		if (!(c[k].what & COMPOSITE_TAKE_SYMBOL))
			continue;
		res->hidden_weight += res->v[i].weight;
		for (int o = 0; o < res->v[i].nopts; o++)
			free(res->v[i].opts[o]);
		free(res->v[i].opts);
		memmove(&res->v[i], &res->v[i + 1], (res->n - i - 1) * sizeof(*res->v));
		res->n--;
	}
	free(c);
}

void scan_finish(struct scan_result *res, const struct scan_rules *r)
{
	if (!res->composed && !res->forced)
		scan_composites(res, scan_rules_composites(r));
	res->composed = 1;
	res->score = res->hidden_weight;
	for (size_t i = 0; i < res->n; i++)
		res->score += res->v[i].weight;
	if (res->n > 1)
		qsort(res->v, res->n, sizeof(*res->v), by_weight);
	res->required = scan_rules_reject(r);
	if (res->forced) {
		/* Rspamd's passthrough result: the action's threshold is the score. */
		res->action = res->forced;
		/* A virus rejects even with the reject threshold off: then the score stays. */
		if (strcmp(res->forced, "no action") != 0 &&
		    !isinf(scan_rules_threshold(r, res->forced)))
			res->score = scan_rules_threshold(r, res->forced);
		return;
	}
	res->action = "no action";
	if (res->least) {
		res->action = res->least;
		return;
	}
	if (res->soft_reject && res->score < scan_rules_reject(r))
		res->action = "soft reject";
	else if (res->score >= scan_rules_reject(r))
		res->action = "reject";
	else if (res->score >= scan_rules_threshold(r, "rewrite subject"))
		res->action = "rewrite subject";
	else if (res->score >= scan_rules_threshold(r, "add header"))
		res->action = "add header";
	else if (res->score >= scan_rules_threshold(r, "greylist"))
		res->action = "greylist";
}

void scan_symbol_opts(const struct scan_symbol *s, struct sbuf *out, const char *sep)
{
	for (int k = 0; k < s->nopts; k++) {
		if (k)
			sbuf_puts(out, sep);
		sbuf_puts(out, s->opts[k]);
	}
}

void scan_spamd_result(const struct scan_result *res, struct sbuf *out, int fold)
{
	int is_reject = strcmp(res->action, "reject") == 0;

	sbuf_printf(out, "default: %s [%.2f / %.2f]", is_reject ? "True" : "False", res->score,
		    isinf(res->required) ? 0.0 : res->required);
	for (size_t i = 0; i < res->n; i++) {
		/* Rspamd joins with "; " and folds after every ';' (lua_util.fold_header). */
		sbuf_puts(out, fold ? ";\n\t" : "; ");
		sbuf_printf(out, "%s(%.2f)[", res->v[i].name, res->v[i].weight);
		scan_symbol_opts(&res->v[i], out, ",");
		sbuf_putc(out, ']');
	}
}

void scan_spamd_bar(double score, struct sbuf *out)
{
	/* Rspamd (milter_headers.lua): string.rep(glyph, math.floor(|score|)). */
	double n = floor(fabs(score));

	if (score > -1 && score < 1) {
		sbuf_putc(out, '/');
		return;
	}
	for (int i = 0; i < n && i < SCAN_BAR_MAX; i++)
		sbuf_putc(out, score > 0 ? '+' : '-');
}
