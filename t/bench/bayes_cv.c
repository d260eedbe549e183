/*
 * bayes_cv - the Bayes classifier alone, cross-validated in memory inside
 * the learning half of bayes-bench.sh's split, in well under a second.
 *
 *   bayes_cv [-k K] [-o FILE] CORPUS
 *
 * The split and folds are bayes-cv.sh's: in each class of CORPUS/{ham,spam}
 * the file names sorted (C locale), the 1st, 3rd, 5th... (the held-out
 * 2nd, 4th... are never read), dealt into K folds round robin. Each fold
 * is classified with bayes_probability() on counts summed from the other
 * folds with bayes_tokenize(): the product's tokenizer and combiner, not
 * a copy, so a change to shared/scan/bayes.c is measured by rebuilding this.
 *
 * Prints how far Bayes alone separates the classes: how many spam score
 * above the highest ham, the 2nd, 3rd and 6th highest (the spam caught
 * at 0, 1, 2 and 5 ham flagged), and how many of each class reach 0.99,
 * 0.999, 0.9999. bayes-cv.sh measures the whole filter; this measures the
 * part of it a tokenizer or combiner change can move, without the SQLite
 * store in the way. -o FILE keeps "class fold probability file" per message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan/bayes.h"
#include "scan/content.h"
#include "mail/mbox.h"
#include "core/mem.h"
#include "mail/mime.h"
#include "core/sbuf.h"
#include "mail/url.h"

#define MAX_SIZE (20 * 1024 * 1024)	/* scan_size_limit's default: what moatctl learns */

struct sample {
	char *file;
	int spam, fold;
	uint64_t *tok;
	size_t n;
	double p;
};

struct corpus {
	struct sample *v;
	size_t n, cap;
	struct bayes_tokens tok;
	const char *file;	/* being read */
	int spam, fold;
};

static int one(void *arg, const char *name, const char *p, size_t len)
{
	struct corpus *c = arg;
	struct mime_limits lim;
	struct content ct;
	struct sample *s;
	struct msg *m;

	(void)name;
	mime_limits_default(&lim);
	if ((m = msg_parse(p, len, &lim)) == NULL)
		return -1;
	url_list_init(&ct.urls);
	sbuf_init(&ct.text);
	content_extract(m, &ct);
	bayes_tokenize(m, &ct, &c->tok);
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	s = &c->v[c->n++];
	s->file = xstrdup(c->file);
	s->spam = c->spam;
	s->fold = c->fold;
	s->n = c->tok.n;
	s->tok = xmalloc((s->n ? s->n : 1) * sizeof(*s->tok));
	memcpy(s->tok, c->tok.v, s->n * sizeof(*s->tok));
	url_list_free(&ct.urls);
	sbuf_free(&ct.text);
	msg_free(m);
	return 0;
}

/* The learning half of dir (odd positions of the sorted names), fold = position mod k. */
static int read_class(struct corpus *c, const char *dir, int spam, int k)
{
	char cmd[4200], line[4096];
	int pos = 0;
	FILE *f;

	/* find + sort as bayes-cv.sh does, so the folds are the same messages. */
	snprintf(cmd, sizeof(cmd), "find '%s' -type f | LC_ALL=C sort", dir);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (pos++ % 2 == 1)
			continue;
		c->file = line;
		c->spam = spam;
		c->fold = (pos / 2) % k;
		if (mbox_walk(line, MAX_SIZE, one, c) != 0)
			fprintf(stderr, "bayes_cv: cannot read %s\n", line);
	}
	return pclose(f) == 0 ? 0 : -1;
}

/* Token counts of the learning folds: open addressing, token 0 never used (bayes_tokens). */
struct table {
	uint64_t *tok;
	struct bayes_counts *cnt;
	size_t cap;
};

static size_t slot(const struct table *t, uint64_t tok)
{
	size_t j = (size_t)(tok * 0x9e3779b97f4a7c15ULL) & (t->cap - 1);

	while (t->tok[j] && t->tok[j] != tok)
		j = (j + 1) & (t->cap - 1);
	return j;
}

static int cmp_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct corpus c = {0};
	struct table t = {0};
	const char *out = NULL;
	double *hp, *sp;
	size_t nh = 0, ns = 0, ntok = 0;
	char dir[4096];
	int k = 5, o;
	FILE *of = NULL;

	while ((o = getopt(argc, argv, "k:o:")) != -1) {
		if (o == 'k' && atoi(optarg) >= 2)
			k = atoi(optarg);
		else if (o == 'o')
			out = optarg;
		else
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	bayes_tokens_init(&c.tok);
	snprintf(dir, sizeof(dir), "%s/ham", argv[optind]);
	if (read_class(&c, dir, 0, k) < 0)
		return 1;
	snprintf(dir, sizeof(dir), "%s/spam", argv[optind]);
	if (read_class(&c, dir, 1, k) < 0)
		return 1;
	for (size_t i = 0; i < c.n; i++)
		ntok += c.v[i].n;
	for (t.cap = 1024; t.cap < 2 * ntok; t.cap *= 2)
		;
	t.tok = xcalloc(t.cap, sizeof(*t.tok));
	t.cnt = xcalloc(t.cap, sizeof(*t.cnt));
	for (int f = 0; f < k; f++) {
		int64_t nspam = 0, nham = 0;

		memset(t.tok, 0, t.cap * sizeof(*t.tok));
		memset(t.cnt, 0, t.cap * sizeof(*t.cnt));
		for (size_t i = 0; i < c.n; i++) {
			struct sample *s = &c.v[i];

			if (s->fold == f)
				continue;
			s->spam ? nspam++ : nham++;
			for (size_t j = 0; j < s->n; j++) {
				size_t x = slot(&t, s->tok[j]);

				t.tok[x] = s->tok[j];
				s->spam ? t.cnt[x].spam++ : t.cnt[x].ham++;
			}
		}
		for (size_t i = 0; i < c.n; i++) {
			struct sample *s = &c.v[i];
			struct bayes_counts *cnt;

			if (s->fold != f)
				continue;
			cnt = xmalloc((s->n ? s->n : 1) * sizeof(*cnt));
			for (size_t j = 0; j < s->n; j++)
				cnt[j] = t.cnt[slot(&t, s->tok[j])];
			/* As bayes_scan(): too few tokens is no verdict. */
			s->p = s->n < BAYES_MIN_TOKENS ? 0.5 :
			       bayes_probability(cnt, s->n, nspam, nham);
			free(cnt);
		}
	}
	if (out && (of = fopen(out, "w")) == NULL) {
		perror(out);
		return 1;
	}
	hp = xmalloc(c.n * sizeof(*hp));
	sp = xmalloc(c.n * sizeof(*sp));
	for (size_t i = 0; i < c.n; i++) {
		const struct sample *s = &c.v[i];

		if (s->spam)
			sp[ns++] = s->p;
		else
			hp[nh++] = s->p;
		if (of)
			fprintf(of, "%s %d %.12f %s\n", s->spam ? "spam" : "ham", s->fold, s->p,
				s->file);
	}
	if (of)
		fclose(of);
	if (nh < 6 || ns == 0) {
		fprintf(stderr, "bayes_cv: too few messages\n");
		return 1;
	}
	qsort(hp, nh, sizeof(*hp), cmp_desc);
	printf("# Bayes alone, %d folds of the learning half: %zu spam, %zu ham\n", k, ns, nh);
	printf("spam above the ham ranked 1, 2, 3, 6:");
	for (size_t r = 0; r < 6; r++) {
		size_t a = 0;

		if (r == 3 || r == 4)
			continue;
		for (size_t i = 0; i < ns; i++)
			a += sp[i] > hp[r];
		printf(" %zu", a);
	}
	printf(" (the highest ham: %.6f %.6f %.6f)\n", hp[0], hp[1], hp[2]);
	for (double th = 0.99; th > 0.98999 && th < 0.999999; th = 1 - (1 - th) / 10) {
		size_t a = 0, b = 0;

		for (size_t i = 0; i < ns; i++)
			a += sp[i] >= th;
		for (size_t i = 0; i < nh; i++)
			b += hp[i] >= th;
		printf("p >= %g: %zu spam (%.2f%%), %zu ham (%.2f%%)\n", th, a, 100.0 * a / ns, b,
		       100.0 * b / nh);
	}
	return 0;
usage:
	fprintf(stderr, "usage: bayes_cv [-k K] [-o FILE] CORPUS\n");
	return 2;
}
