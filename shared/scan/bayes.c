/*
 * bayes - tokenizer, Robinson-Fisher classifier, learning batches and
 * autolearn; see bayes.h. The counts live behind bayes_store.h.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "mail/mime.h"
#include "mail/url.h"
#include "scan/bayes.h"
#include "scan/check.h"
#include "scan/content.h"
#include "scan/result.h"
#include "scan/rules.h"

/* Robinson's s and x; SpamBayes' minimum strength and clues kept (see bayes.h). */
#define ROBINSON_S 1.0
#define ROBINSON_X 0.5
#define MIN_STRENGTH 0.1
#define MAX_CLUES 150
#define UNSURE 0.1		/* |2p - 1| below this adds no symbol */

#define WORD_MIN 2		/* bytes */
#define WORD_MAX 24		/* longer: a "skip" token of its length class */
#define URLS_MAX 50
#define URL_WORDS_MAX 8

/* Token kinds, mixed into the hash so "free" in a Subject is not "free" in the body. */
enum kind {
	K_BODY = 1, K_SUBJECT, K_FROM, K_FROM_DOMAIN, K_FROM_NAME, K_REPLYTO_DOMAIN, K_MID_DOMAIN,
	K_MAILER, K_CTYPE, K_CHARSET, K_EXT, K_URL_HOST, K_URL_DOMAIN, K_URL_WORD, K_URL_SCHEME,
	K_SKIP, K_LIST, K_REPLY, K_PRIORITY
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 31;
	h *= 0x7fb5d329728ea185ULL;
	h ^= h >> 27;
	h *= 0x81dadef4bc2dd44dULL;
	h ^= h >> 33;
	return h;
}

static uint64_t tok_single(enum kind k, uint64_t word)
{
	return mix(word ^ (uint64_t)k * 0x9e3779b97f4a7c15ULL);
}

static uint64_t tok_pair(enum kind k, uint64_t a, uint64_t b, int dist)
{
	return mix(a * 0xc2b2ae3d27d4eb4fULL + b + ((uint64_t)k << 8 | (uint64_t)dist) *
							  0x165667b19e3779f9ULL);
}

/* --- token sets ------------------------------------------------------------ */

void bayes_tokens_init(struct bayes_tokens *t)
{
	memset(t, 0, sizeof(*t));
}

void bayes_tokens_free(struct bayes_tokens *t)
{
	free(t->v);
	free(t->set);
	bayes_tokens_init(t);
}

static void set_grow(struct bayes_tokens *t)
{
	size_t cap = t->setcap ? t->setcap * 2 : 4096;

	free(t->set);
	t->set = xcalloc(cap, sizeof(*t->set));
	t->setcap = cap;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = (size_t)t->v[i] & (cap - 1);

		while (t->set[j])
			j = (j + 1) & (cap - 1);
		t->set[j] = t->v[i];
	}
}

static void add(struct bayes_tokens *t, uint64_t tok)
{
	size_t j;

	if (tok == 0)
		tok = 1;	/* 0 marks an empty slot, here and in the store's cache */
	if ((t->n + 1) * 2 > t->setcap)
		set_grow(t);
	for (j = (size_t)tok & (t->setcap - 1); t->set[j]; j = (j + 1) & (t->setcap - 1))
		if (t->set[j] == tok)
			return;
	t->set[j] = tok;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	t->v[t->n++] = tok;
}

static void add_str(struct bayes_tokens *s, enum kind k, const char *p, size_t len)
{
	if (len > 0)
		add(s, tok_single(k, hash64_lower(p, len)));
}

/* --- words ----------------------------------------------------------------- */

/*
 * Byte classes: SEP ends a word (punctuation like $ ! % ' stays in it:
 * "$$$", "free!"); EDGE is trimmed from a word's ends ("end." is "end").
 * A table: this runs for every byte of every message.
 */
enum { SEP = 1, EDGE = 2 };
static unsigned char byte_class[256];

static void classes_fill(void)
{
	static const char sep[] = "\"()<>[]{},;:*|=/\\#~^+`", edge[] = ".'-_&@?";

	for (int ch = 0; ch <= ' '; ch++)
		byte_class[ch] = SEP;
	byte_class[127] = SEP;
	for (const char *p = sep; *p; p++)
		byte_class[(unsigned char)*p] = SEP;
	for (const char *p = edge; *p; p++)
		byte_class[(unsigned char)*p] = EDGE;
}

static void classes_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, classes_fill);
}

static int is_sep(unsigned char ch)
{
	return byte_class[ch] == SEP;
}

static int is_edge(unsigned char ch)
{
	return byte_class[ch] == EDGE;
}

/*
 * Words of a text: each alone and with the BAYES_WINDOW - 1 words before
 * it (OSB). A word too long to be language (base64, hashes) becomes a
 * token of its first byte and length class, as SpamBayes' "skip" tokens.
 */
static void words(struct bayes_tokens *s, enum kind k, const char *p, size_t len, size_t max_words)
{
	uint64_t prev[BAYES_WINDOW - 1] = {0};
	size_t nwords = 0, i = 0;

	while (i < len && nwords < max_words) {
		size_t b, e;
		uint64_t h;

		while (i < len && is_sep((unsigned char)p[i]))
			i++;
		b = i;
		while (i < len && !is_sep((unsigned char)p[i]))
			i++;
		e = i;
		while (b < e && is_edge((unsigned char)p[b]))
			b++;
		while (e > b && is_edge((unsigned char)p[e - 1]))
			e--;
		if (e - b < WORD_MIN)
			continue;
		if (e - b > WORD_MAX) {
			unsigned char sk[3] = {(unsigned char)p[b] | 0x20, (unsigned char)((e - b) / 8),
					       (unsigned char)k};

			h = hash64(sk, sizeof(sk));
			add(s, tok_single(K_SKIP, h));
		} else {
			h = hash64_lower(p + b, e - b);
			add(s, tok_single(k, h));
		}
		for (int d = 0; d < BAYES_WINDOW - 1; d++)
			if (prev[d])
				add(s, tok_pair(k, prev[d], h, d + 1));
		memmove(prev + 1, prev, sizeof(prev) - sizeof(prev[0]));
		prev[0] = h;
		nwords++;
	}
}

/* --- headers, parts, URLs -------------------------------------------------- */

static const char *hval(const struct msg *m, const char *name)
{
	const struct msg_header *h = msg_header(m->root, name);

	return h ? h->value : NULL;
}

/* The domain of the first address in a header value (after the last '@' of it). */
static void addr_tokens(struct bayes_tokens *s, const char *v, enum kind whole, enum kind dom)
{
	const char *lt = strchr(v, '<'), *a = lt ? lt + 1 : v, *at, *end;

	end = a + strcspn(a, lt ? ">" : " ,;");
	at = memchr(a, '@', (size_t)(end - a));
	if (at == NULL)
		return;
	if (whole)
		add_str(s, whole, a, (size_t)(end - a));
	add_str(s, dom, at + 1, (size_t)(end - at - 1));
}

static void header_tokens(struct bayes_tokens *s, const struct msg *m)
{
	const char *v;

	if ((v = hval(m, "Subject")) != NULL)
		words(s, K_SUBJECT, v, strlen(v), 100);
	if ((v = hval(m, "From")) != NULL) {
		const char *lt = strchr(v, '<');

		addr_tokens(s, v, K_FROM, K_FROM_DOMAIN);
		if (lt)
			words(s, K_FROM_NAME, v, (size_t)(lt - v), 10);
	}
	if ((v = hval(m, "Reply-To")) != NULL)
		addr_tokens(s, v, 0, K_REPLYTO_DOMAIN);
	if ((v = hval(m, "Message-ID")) != NULL) {
		const char *at = strrchr(v, '@');

		if (at)
			add_str(s, K_MID_DOMAIN, at + 1, strcspn(at + 1, ">"));
	}
	/* Part of a conversation, or of a list the reader joined. */
	if (hval(m, "In-Reply-To") || hval(m, "References"))
		add_str(s, K_REPLY, "reply", 5);
	if ((v = hval(m, "List-Id")) != NULL)
		add_str(s, K_LIST, v, strnlen(v, 200));
	if ((v = hval(m, "Precedence")) != NULL)
		add_str(s, K_PRIORITY, v, strnlen(v, 20));
	if ((v = hval(m, "X-Priority")) != NULL || (v = hval(m, "Importance")) != NULL)
		add_str(s, K_PRIORITY, v, strnlen(v, 20));
	if ((v = hval(m, "X-Mailer")) != NULL || (v = hval(m, "User-Agent")) != NULL) {
		add_str(s, K_MAILER, v, strnlen(v, 60));
		words(s, K_MAILER, v, strnlen(v, 200), 8);
	}
}

static void part_tokens(struct bayes_tokens *s, const struct msg *m)
{
	for (int i = 0; i < m->nleaves && i < 64; i++) {
		const struct mime_part *p = m->leaves[i];

		add_str(s, K_CTYPE, p->ctype, strlen(p->ctype));
		if (p->charset)
			add_str(s, K_CHARSET, p->charset, strlen(p->charset));
		if (p->filename) {
			const char *dot = strrchr(p->filename, '.');

			if (dot && strlen(dot) <= 8)
				add_str(s, K_EXT, dot, strlen(dot));
		}
	}
}

static void url_tokens(struct bayes_tokens *s, const struct url_list *l)
{
	for (size_t i = 0; i < l->n && i < URLS_MAX; i++) {
		const struct url *u = &l->v[i];

		if (u->scheme)
			add_str(s, K_URL_SCHEME, u->scheme, strlen(u->scheme));
		if (u->host)
			add_str(s, K_URL_HOST, u->host, strlen(u->host));
		if (u->registrable)
			add_str(s, K_URL_DOMAIN, u->registrable, strlen(u->registrable));
		if (u->path) {
			const char *p = u->path;
			int n = 0;

			/* Path words: "/unsubscribe.php?id=..." gives unsubscribe, php, id. */
			while (*p && n < URL_WORDS_MAX) {
				size_t w;

				p += strcspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
				w = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
				if (w >= 3 && w <= 20) {
					add_str(s, K_URL_WORD, p, w);
					n++;
				}
				p += w;
			}
		}
	}
}

void bayes_tokenize(const struct msg *m, const struct content *c, struct bayes_tokens *t)
{
	classes_init();
	/* Empty the set slot by slot: cheaper than clearing a table sized for a big message.
	 * Every token is in it, so each probe ends at its own slot. */
	for (size_t i = 0; i < t->n; i++) {
		size_t j = (size_t)t->v[i] & (t->setcap - 1);

		while (t->set[j] != t->v[i])
			j = (j + 1) & (t->setcap - 1);
		t->set[j] = 0;
	}
	t->n = 0;
	header_tokens(t, m);
	part_tokens(t, m);
	if (c->text.data)
		words(t, K_BODY, c->text.data, c->text.len, BAYES_MAX_WORDS);
	url_tokens(t, &c->urls);
}

/*
 * With a Message-ID, that and the body: the id moat 0.1 stored, kept so
 * databases learned then still know those messages. Without one, the
 * author's headers (RFC 5322 originator, destination and informational
 * fields) join the body; the body alone made every message of a template
 * "already learned". Headers added on the way (Received, Return-Path,
 * Delivered-To, the X-Spamd-* moat adds) are left out, so autolearn at the
 * milter and learn-spam on the delivered copy see one message. So are line
 * ends: the milter gets the body with CRLF, the mailbox and the file keep
 * LF; hashed as LF, a history row learned from its tokens and the same
 * message learned later by moatctl or IMAPSieve are one message. (A body
 * with LF hashes as it always did.)
 */
static uint64_t body_hash(const struct msg *m)
{
	const char *b = m->root->raw_body ? m->root->raw_body : "";
	size_t n = m->root->raw_len, k = 0;
	uint64_t h;
	char *lf;

	if (n < 2 || memmem(b, n, "\r\n", 2) == NULL)
		return hash64(b, n);
	lf = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		if (!(b[i] == '\r' && i + 1 < n && b[i + 1] == '\n'))
			lf[k++] = b[i];
	h = hash64(lf, k);
	free(lf);
	return h;
}

uint64_t bayes_message_id(const struct msg *m)
{
	static const char *const author[] = {"From", "Sender", "To", "Cc", "Subject", "Date"};
	const char *mid = hval(m, "Message-ID");
	uint64_t h = mid ? hash64(mid, strlen(mid)) : 0;

	for (size_t i = 0; mid == NULL && i < sizeof(author) / sizeof(author[0]); i++) {
		const char *v = hval(m, author[i]);

		/* The NUL counted: an empty header differs from a missing one. */
		h = mix(h ^ (v ? hash64(v, strlen(v) + 1) : (uint64_t)i));
	}
	return mix(h ^ body_hash(m)) | 1;
}

/* See bayes.h. */
uint64_t bayes_message_id_v1(const struct msg *m)
{
	return mix(hash64(m->root->raw_body ? m->root->raw_body : "", m->root->raw_len)) | 1;
}

/* --- classifier ------------------------------------------------------------ */

/* P(chi2 >= x2) with v (even) degrees of freedom; SpamBayes' chi2Q. */
static double chi2q(double x2, int v)
{
	double m = x2 / 2.0, sum, term;

	sum = term = exp(-m);
	for (int i = 1; i < v / 2; i++) {
		term *= m / i;
		sum += term;
	}
	return sum < 1.0 ? sum : 1.0;
}

static void swap(double *v, size_t a, size_t b)
{
	double t = v[a];

	v[a] = v[b];
	v[b] = t;
}

/*
 * Move the k strongest clues (furthest from 0.5) to the front: quickselect
 * with a three-way partition, O(n) on average even when many clues are
 * equally strong (tokens seen once in one class all are).
 */
static void strongest(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n;

	while (hi - lo > 1) {
		double pv = fabs(v[lo + (hi - lo) / 2] - 0.5);
		size_t lt = lo, i = lo, gt = hi;

		/* [lo, lt) stronger than pv, [lt, i) equal, [gt, hi) weaker. */
		while (i < gt) {
			double x = fabs(v[i] - 0.5);

			if (x > pv)
				swap(v, lt++, i++);
			else if (x < pv)
				swap(v, i, --gt);
			else
				i++;
		}
		if (k <= lt)
			hi = lt;
		else if (k <= gt)
			return;
		else
			lo = gt;
	}
}

double bayes_probability(const struct bayes_counts *c, size_t n, int64_t nspam, int64_t nham)
{
	double *clue, s = 0, h = 0;
	size_t k = 0;

	if (nspam <= 0 || nham <= 0 || n == 0)
		return 0.5;
	clue = xmalloc(n * sizeof(*clue));
	for (size_t i = 0; i < n; i++) {
		double total = (double)c[i].spam + c[i].ham, sr, hr, p;

		if (total == 0)
			continue;
		sr = (double)c[i].spam / (double)nspam;
		hr = (double)c[i].ham / (double)nham;
		p = sr / (sr + hr);
		/* Robinson: a token seen few times stays near the prior x. */
		p = (ROBINSON_S * ROBINSON_X + total * p) / (ROBINSON_S + total);
		if (fabs(p - 0.5) >= MIN_STRENGTH)
			clue[k++] = p;
	}
	if (k > MAX_CLUES) {
		strongest(clue, k, MAX_CLUES);
		k = MAX_CLUES;
	}
	for (size_t i = 0; i < k; i++) {
		h += log(clue[i]);
		s += log(1.0 - clue[i]);
	}
	free(clue);
	if (k == 0)
		return 0.5;
	/* Fisher: how unlikely is this much spamminess (hamminess) by chance? */
	s = 1.0 - chi2q(-2.0 * s, 2 * (int)k);
	h = 1.0 - chi2q(-2.0 * h, 2 * (int)k);
	return (s - h + 1.0) / 2.0;
}

/* --- learning batches ------------------------------------------------------ */

struct bayes_learner {
	struct bayes_store *st;
	struct bayes_delta *map;	/* open addressing on token; 0 = empty */
	size_t cap, n;
	int64_t spam, ham;
	struct bayes_seen *seen;	/* this batch's messages, newest last */
	size_t nseen, seencap;
	struct bayes_tokens tok;
};

struct bayes_learner *bayes_learner_new(struct bayes_store *st)
{
	struct bayes_learner *l = xcalloc(1, sizeof(*l));

	l->st = st;
	bayes_tokens_init(&l->tok);
	return l;
}

void bayes_learner_free(struct bayes_learner *l)
{
	if (l == NULL)
		return;
	free(l->map);
	free(l->seen);
	bayes_tokens_free(&l->tok);
	free(l);
}

size_t bayes_learner_pending(const struct bayes_learner *l)
{
	return l->nseen;
}

static struct bayes_delta *map_slot(struct bayes_learner *l, uint64_t tok)
{
	size_t j;

	if ((l->n + 1) * 2 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1 << 16;
		struct bayes_delta *m = xcalloc(cap, sizeof(*m));

		for (size_t i = 0; i < l->cap; i++) {
			if (l->map[i].token == 0)
				continue;
			for (j = (size_t)l->map[i].token & (cap - 1); m[j].token; j = (j + 1) & (cap - 1))
				;
			m[j] = l->map[i];
		}
		free(l->map);
		l->map = m;
		l->cap = cap;
	}
	for (j = (size_t)tok & (l->cap - 1); l->map[j].token; j = (j + 1) & (l->cap - 1))
		if (l->map[j].token == tok)
			return &l->map[j];
	l->map[j].token = tok;
	l->n++;
	return &l->map[j];
}

/* Add (sign 1) or take away (sign -1) a message's tokens from a class. */
static void count(struct bayes_learner *l, const struct bayes_tokens *t, int cls, int sign)
{
	for (size_t i = 0; i < t->n; i++) {
		struct bayes_delta *d = map_slot(l, t->v[i]);

		if (cls == BAYES_CLASS_SPAM)
			d->spam += sign;
		else
			d->ham += sign;
	}
	if (cls == BAYES_CLASS_SPAM)
		l->spam += sign;
	else
		l->ham += sign;
}

/* The class a message has now: this batch's word, else the store's. */
static int learned_as(struct bayes_learner *l, uint64_t id)
{
	for (size_t i = l->nseen; i-- > 0;)
		if (l->seen[i].msg == id)
			return l->seen[i].cls;
	return bayes_store_seen(l->st, id);
}

static int learn_tokens(struct bayes_learner *l, const struct bayes_tokens *t, uint64_t id,
			int cls, char *err, size_t errlen)
{
	int prev = learned_as(l, id), rc;

	if (prev < 0) {
		snprintf(err, errlen, "%s", l->st->err);
		return -1;
	}
	if (cls == BAYES_NONE && prev == BAYES_NONE)
		return BAYES_UNKNOWN;
	if (prev == cls)
		return BAYES_SKIPPED;
	if (prev != BAYES_NONE)
		count(l, t, prev, -1);
	if (cls != BAYES_NONE)
		count(l, t, cls, 1);
	rc = cls == BAYES_NONE ? BAYES_FORGOTTEN : prev != BAYES_NONE ? BAYES_MOVED : BAYES_LEARNED;
	if (l->nseen == l->seencap) {
		l->seencap = l->seencap ? l->seencap * 2 : 256;
		l->seen = xrealloc(l->seen, l->seencap * sizeof(*l->seen));
	}
	l->seen[l->nseen].msg = id;
	l->seen[l->nseen++].cls = cls;
	return rc;
}

int bayes_learner_add(struct bayes_learner *l, const char *raw, size_t len, int cls, char *err,
		      size_t errlen)
{
	struct mime_limits lim;
	struct content c;
	struct msg *m;
	int rc;

	mime_limits_default(&lim);
	if ((m = msg_parse(raw, len, &lim)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	content_init(&c);
	content_extract(m, &c);
	bayes_tokenize(m, &c, &l->tok);
	rc = learn_tokens(l, &l->tok, bayes_message_id(m), cls, err, errlen);
	/*
	 * Forgetting a message without a Message-ID that an older moat learned
	 * under its body alone. Only forget looks there: for learning, a body
	 * match is not the same message (the bug that made the id change).
	 */
	if (rc == BAYES_UNKNOWN && hval(m, "Message-ID") == NULL)
		rc = learn_tokens(l, &l->tok, bayes_message_id_v1(m), cls, err, errlen);
	content_free(&c);
	msg_free(m);
	return rc;
}

int bayes_learner_add_tokens(struct bayes_learner *l, const uint64_t *v, size_t n, uint64_t msgid,
			     int cls, char *err, size_t errlen)
{
	/* count() reads v and n only: no copy, no set. */
	struct bayes_tokens t = {.v = (uint64_t *)v, .n = n};

	return learn_tokens(l, &t, msgid, cls, err, errlen);
}

/* LSD radix sort by token as SQLite orders it (signed), so the upserts walk the B-tree. */
static void sort_deltas(struct bayes_delta *v, size_t n)
{
	struct bayes_delta *tmp = xmalloc((n ? n : 1) * sizeof(*tmp)), *a = v, *b = tmp;
	size_t *cnt = xmalloc(65537 * sizeof(*cnt));

	for (int shift = 0; shift < 64; shift += 16) {
		memset(cnt, 0, 65537 * sizeof(*cnt));
		for (size_t i = 0; i < n; i++)
			cnt[(((a[i].token ^ (1ULL << 63)) >> shift) & 0xffff) + 1]++;
		for (size_t k = 1; k < 65537; k++)
			cnt[k] += cnt[k - 1];
		for (size_t i = 0; i < n; i++)
			b[cnt[((a[i].token ^ (1ULL << 63)) >> shift) & 0xffff]++] = a[i];
		a = b;
		b = a == v ? tmp : v;
	}
	/* Four passes: the result is back in v. */
	free(cnt);
	free(tmp);
}

int bayes_learner_commit(struct bayes_learner *l, char *err, size_t errlen)
{
	struct bayes_delta *d = xmalloc((l->n ? l->n : 1) * sizeof(*d));
	struct bayes_batch b = {0};
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < l->cap; i++)
		if (l->map[i].token && (l->map[i].spam || l->map[i].ham))
			d[n++] = l->map[i];
	sort_deltas(d, n);
	b.d = d;
	b.n = n;
	b.spam = l->spam;
	b.ham = l->ham;
	b.seen = l->seen;
	b.nseen = l->nseen;
	if (l->nseen > 0 && bayes_store_learn(l->st, &b) < 0) {
		snprintf(err, errlen, "%s", l->st->err);
		rc = -1;
	}
	free(d);
	if (l->map)
		memset(l->map, 0, l->cap * sizeof(*l->map));
	l->n = 0;
	l->spam = l->ham = 0;
	l->nseen = 0;
	return rc;
}

/* --- scanning -------------------------------------------------------------- */

struct bayes {
	struct bayes_store *st;
	struct bayes_tokens tok;	/* of the message last scanned */
	uint64_t msgid;
	int have;			/* tok and msgid belong to the last scan */
	struct bayes_counts *counts;
	size_t ncounts;
	struct bayes_learner *learner;	/* for autolearn, made when first needed */
};

struct bayes *bayes_new(struct bayes_store *st)
{
	struct bayes *b = xcalloc(1, sizeof(*b));

	b->st = st;
	bayes_tokens_init(&b->tok);
	return b;
}

void bayes_free(struct bayes *b)
{
	if (b == NULL)
		return;
	bayes_tokens_free(&b->tok);
	free(b->counts);
	bayes_learner_free(b->learner);
	free(b);
}

static long setting_num(const struct scan_rules *r, const char *name, long dflt)
{
	const char *v = scan_rules_setting(r, name);
	char *end;
	long n = strtol(v, &end, 10);

	return *v && *end == '\0' ? n : dflt;
}

static double setting_double(const struct scan_rules *r, const char *name, double dflt)
{
	const char *v = scan_rules_setting(r, name);
	char *end;
	double x = strtod(v, &end);

	return *v && *end == '\0' ? x : dflt;
}

/* Add a symbol with its table weight scaled (a disabled symbol is not added). */
static void add_scaled(struct scan_result *res, const struct scan_rules *r, const char *name,
		       double scale, double p)
{
	char opt[32];

	double w = 0.0;

	if (scan_rules_symbol(r, name, &w) == 0)
		return;
	snprintf(opt, sizeof(opt), "%.2f%%", p * 100.0);
	scan_add_weighted(res, r, name, w * scale, opt);
}

void bayes_scan(struct bayes *b, const struct scan_rules *r, const struct msg *m,
		const struct content *c, struct scan_result *res)
{
	long min_learns = setting_num(r, "bayes_min_learns", 200);
	int64_t nspam, nham;
	double p;

	bayes_tokenize(m, c, &b->tok);
	b->msgid = bayes_message_id(m);
	b->have = 1;
	if (b->tok.n < BAYES_MIN_TOKENS)
		return;
	if (bayes_store_totals(b->st, &nspam, &nham) < 0) {
		msg_warn("%s", b->st->err);
		return;
	}
	if (nspam < min_learns || nham < min_learns)
		return;
	if (b->ncounts < b->tok.n) {
		b->ncounts = b->tok.n;
		b->counts = xrealloc(b->counts, b->ncounts * sizeof(*b->counts));
	}
	if (bayes_store_lookup(b->st, b->tok.v, b->tok.n, b->counts) < 0) {
		msg_warn("%s", b->st->err);
		return;
	}
	p = bayes_probability(b->counts, b->tok.n, nspam, nham);
	if (p - 0.5 >= UNSURE / 2)
		add_scaled(res, r, "BAYES_SPAM", 2 * p - 1, p);
	else if (0.5 - p >= UNSURE / 2)
		add_scaled(res, r, "BAYES_HAM", 1 - 2 * p, p);
}

static int autolearn_on(const struct scan_rules *r)
{
	const char *v = scan_rules_module_option(r, "classifier-bayes", "autolearn");

	return strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0 ||
	       strcasecmp(v, "on") == 0;
}

int bayes_autolearn(struct bayes *b, const struct scan_rules *r, double score, const char *qid)
{
	int64_t nspam, nham, mine, other;
	char err[300];
	int cls, rc, have = b->have;

	/* The tokens are this message's only if bayes_scan() ran for it. */
	b->have = 0;
	if (!have || !autolearn_on(r) || !scan_rules_module(r, "classifier-bayes"))
		return BAYES_NONE;
	if (score >= setting_double(r, "bayes_autolearn_spam", 6.0))
		cls = BAYES_CLASS_SPAM;
	else if (score <= setting_double(r, "bayes_autolearn_ham", -0.5))
		cls = BAYES_CLASS_HAM;
	else
		return BAYES_NONE;
	if (b->tok.n < BAYES_MIN_TOKENS || bayes_store_totals(b->st, &nspam, &nham) < 0)
		return BAYES_NONE;
	/* Keep the classes balanced: a class more than 10% (and 10 messages) ahead waits. */
	mine = cls == BAYES_CLASS_SPAM ? nspam : nham;
	other = cls == BAYES_CLASS_SPAM ? nham : nspam;
	if (mine > other + other / 10 + 10)
		return BAYES_NONE;
	/* Never overrule a human: a message learned either way already is left alone. */
	rc = bayes_store_seen(b->st, b->msgid);
	if (rc != BAYES_NONE)
		return rc < 0 ? -1 : BAYES_NONE;
	if (b->learner == NULL)
		b->learner = bayes_learner_new(b->st);
	rc = learn_tokens(b->learner, &b->tok, b->msgid, cls, err, sizeof(err));
	if (rc < 0 || bayes_learner_commit(b->learner, err, sizeof(err)) < 0) {
		msg_warn("%s: bayes autolearn: %s", qid, err);
		return -1;
	}
	msg_info("%s: bayes autolearn: learned as %s (score %.2f)", qid,
		 cls == BAYES_CLASS_SPAM ? "spam" : "ham", score);
	return cls;
}

int bayes_scanned_tokens(const struct bayes *b, uint64_t **v, size_t *n, uint64_t *msgid)
{
	if (!b->have)
		return -1;
	*v = xmalloc((b->tok.n ? b->tok.n : 1) * sizeof(**v));
	memcpy(*v, b->tok.v, b->tok.n * sizeof(**v));
	*n = b->tok.n;
	*msgid = b->msgid;
	return 0;
}

static void bayes_run(const struct scan_ctx *ctx)
{
	if (ctx->env->bayes)
		bayes_scan(ctx->env->bayes, ctx->rules, ctx->msg, ctx->content, ctx->res);
}

const struct check check_bayes = {
	.name = "bayes", .module = "classifier-bayes", .run = bayes_run};
