/*
 * bayes_test - the Bayes tokenizer (kinds, pairs, decoding, URLs), the
 * Robinson-Fisher combination, learning batches (skip, move, forget) and
 * the SQLite store's in-memory copy following learning done through
 * another connection (journal, and reload after a gap).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan/bayes.h"
#include "store/bayes_store.h"
#include "scan/content.h"
#include "store/db.h"
#include "mail/mime.h"
#include "tap.h"

static struct bayes_tokens tokenize(const char *raw)
{
	struct bayes_tokens t;
	struct mime_limits lim;
	struct content c;
	struct msg *m;

	bayes_tokens_init(&t);
	mime_limits_default(&lim);
	m = msg_parse(raw, strlen(raw), &lim);
	url_list_init(&c.urls);
	sbuf_init(&c.text);
	content_extract(m, &c);
	bayes_tokenize(m, &c, &t);
	url_list_free(&c.urls);
	sbuf_free(&c.text);
	msg_free(m);
	return t;
}

static int has(const struct bayes_tokens *t, uint64_t tok)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i] == tok)
			return 1;
	return 0;
}

/* Tokens of a that b lacks. */
static size_t only_in(const struct bayes_tokens *a, const struct bayes_tokens *b)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		n += !has(b, a->v[i]);
	return n;
}

static void test_tokenizer(void)
{
	struct bayes_tokens a, b, c, d, e;
	int dup = 0;

	a = tokenize("Subject: cheap pills\n\nhello friend, buy now\n");
	b = tokenize("Subject: hello friend\n\ncheap pills, buy now\n");
	ok(a.n > 5, "a message has tokens (%zu)", a.n);
	for (size_t i = 0; i < a.n; i++)
		for (size_t k = i + 1; k < a.n; k++)
			dup += a.v[i] == a.v[k];
	is_int(dup, 0, "each token once");
	ok(only_in(&a, &b) > 0, "a Subject word is not the same token as that word in the body");
	bayes_tokens_free(&b);
	b = tokenize("Subject: cheap pills\n\nHELLO Friend, buy now.\n");
	is_int(only_in(&a, &b), 0, "case and edge punctuation do not make new tokens");
	bayes_tokens_free(&b);
	b = tokenize("Subject: cheap pills\n\nfriend hello, buy now\n");
	ok(only_in(&a, &b) > 0 && only_in(&a, &b) < 4, "word order changes only the pairs (%zu)",
	   only_in(&a, &b));
	c = tokenize("Subject: cheap pills\nContent-Transfer-Encoding: base64\n\n"
		     "aGVsbG8gZnJpZW5kLCBidXkgbm93Cg==\n");
	is_int(only_in(&a, &c) <= 1, 1, "base64 text gives the decoded words");
	d = tokenize("Subject: x\n\nsee http://shop.example.com/buy/pills.html today\n");
	e = tokenize("Subject: x\n\nsee http://shop.example.org/buy/pills.html today\n");
	ok(only_in(&d, &e) >= 2, "URL host and domain are tokens (%zu differ)", only_in(&d, &e));
	bayes_tokens_free(&a);
	bayes_tokens_free(&b);
	bayes_tokens_free(&c);
	bayes_tokens_free(&d);
	bayes_tokens_free(&e);
}

static int by_strength(const void *a, const void *b)
{
	double x = fabs(*(const double *)a - 0.5), y = fabs(*(const double *)b - 0.5);

	return x > y ? -1 : x < y;
}

static double chi2q(double x2, int v)
{
	double m = x2 / 2, sum, term;

	sum = term = exp(-m);
	for (int i = 1; i < v / 2; i++) {
		term *= m / i;
		sum += term;
	}
	return sum < 1 ? sum : 1;
}

/* The combination written out plainly (s = 1, x = 0.5, 0.1, 150, full sort). */
static double reference(const struct bayes_counts *c, int n, double ns, double nh)
{
	double clue[1000], s = 0, h = 0;
	int k = 0;

	for (int i = 0; i < n; i++) {
		double sr = c[i].spam / ns, hr = c[i].ham / nh, tot = c[i].spam + c[i].ham;
		double p = (0.5 + tot * (sr / (sr + hr))) / (1 + tot);

		if (fabs(p - 0.5) >= 0.1)
			clue[k++] = p;
	}
	qsort(clue, (size_t)k, sizeof(*clue), by_strength);
	k = k > 150 ? 150 : k;
	for (int i = 0; i < k; i++) {
		h += log(clue[i]);
		s += log(1 - clue[i]);
	}
	s = 1 - chi2q(-2 * s, 2 * k);
	h = 1 - chi2q(-2 * h, 2 * k);
	return (s - h + 1) / 2;
}

static void test_probability(void)
{
	struct bayes_counts spammy[20], hammy[20], none[20], mixed[40];
	double p;

	for (int i = 0; i < 20; i++) {
		spammy[i] = (struct bayes_counts){.spam = 50, .ham = 1};
		hammy[i] = (struct bayes_counts){.spam = 1, .ham = 50};
		none[i] = (struct bayes_counts){0, 0};
		mixed[i] = spammy[i];
		mixed[20 + i] = hammy[i];
	}
	p = bayes_probability(spammy, 20, 100, 100);
	ok(p > 0.99, "spam tokens: spam (%.4f)", p);
	p = bayes_probability(hammy, 20, 100, 100);
	ok(p < 0.01, "ham tokens: ham (%.4f)", p);
	p = bayes_probability(none, 20, 100, 100);
	ok(p == 0.5, "unknown tokens: unsure (%.4f)", p);
	p = bayes_probability(mixed, 40, 100, 100);
	ok(p > 0.4 && p < 0.6, "as much evidence either way: unsure (%.4f)", p);
	p = bayes_probability(spammy, 20, 0, 100);
	ok(p == 0.5, "nothing learned of a class: no verdict");
	{
		/* More clues than are kept, many equally strong: the 150 strongest
		 * are chosen whatever the order, as a full sort would choose them. */
		struct bayes_counts many[600];
		double p0, p1, want;
		int same = 1;

		for (int i = 0; i < 600; i++)
			/* Odd counts on one side, even on the other: no two clues are equally
			 * strong unless they are equal. */
			many[i] = i % 2 ? (struct bayes_counts){.spam = (uint32_t)(i % 5) * 2 + 1, .ham = 0}
					: (struct bayes_counts){.spam = 0, .ham = (uint32_t)(i % 4) * 2 + 2};
		want = reference(many, 600, 100, 100);
		p0 = bayes_probability(many, 600, 100, 100);
		ok(fabs(p0 - want) < 1e-9, "the 150 strongest clues, as a full sort picks them (%.6f, %.6f)",
		   p0, want);
		srand(1);
		for (int round = 0; round < 20; round++) {
			for (int i = 599; i > 0; i--) {
				int j = rand() % (i + 1);
				struct bayes_counts t = many[i];

				many[i] = many[j];
				many[j] = t;
			}
			p1 = bayes_probability(many, 600, 100, 100);
			same &= fabs(p1 - p0) < 1e-9;
		}
		ok(same, "...whatever their order");
	}
	/* Counts are relative to messages learned: 50 of 1000 spam is rare, 1 of 2 ham common. */
	p = bayes_probability(spammy, 20, 1000, 2);
	ok(p < 0.5, "counts are weighed by messages learned of each class (%.4f)", p);
}

static const char *spam_msg = "Message-ID: <1@spam.example>\nSubject: cheap pills\n\n"
			      "buy cheap pills now, best price online\n";
static const char *ham_msg = "Message-ID: <2@ham.example>\nSubject: meeting notes\n\n"
			     "the notes from the meeting are attached, see you tomorrow\n";

static int add(struct bayes_learner *l, const char *raw, int cls)
{
	char err[256];

	return bayes_learner_add(l, raw, strlen(raw), cls, err, sizeof(err));
}

static void counts_of(struct bayes_store *st, const char *raw, struct bayes_counts *c)
{
	struct bayes_tokens t = tokenize(raw);
	struct bayes_counts *v = calloc(t.n, sizeof(*v));

	/* Sum over the message's tokens: the message's weight in each class. */
	c->spam = c->ham = 0;
	if (bayes_store_lookup(st, t.v, t.n, v) == 0)
		for (size_t i = 0; i < t.n; i++) {
			c->spam += v[i].spam;
			c->ham += v[i].ham;
		}
	free(v);
	bayes_tokens_free(&t);
}

static void test_learning(sqlite3 *db, sqlite3 *db2)
{
	struct bayes_cache *cache = bayes_cache_new();
	struct bayes_store *st = bayes_store_sqlite_new(db, NULL);
	struct bayes_store *reader = bayes_store_sqlite_new(db2, cache);
	struct bayes_learner *l = bayes_learner_new(st);
	struct bayes_tokens t = tokenize(spam_msg);
	struct bayes_counts c;
	struct bayes_stats s;
	char err[256];

	ok(st && reader, "two stores on two connections");
	counts_of(reader, spam_msg, &c);
	is_int(c.spam + c.ham, 0, "nothing known before learning");
	is_int(add(l, spam_msg, BAYES_CLASS_SPAM), BAYES_LEARNED, "spam learned");
	is_int(add(l, spam_msg, BAYES_CLASS_SPAM), BAYES_SKIPPED, "again in the same batch: skipped");
	is_int(add(l, ham_msg, BAYES_CLASS_HAM), BAYES_LEARNED, "ham learned");
	is_int(bayes_learner_commit(l, err, sizeof(err)), 0, "batch written");
	bayes_store_stats(st, &s);
	is_int(s.spam, 1, "one spam message");
	is_int(s.ham, 1, "one ham message");
	ok(s.tokens > (int64_t)t.n, "tokens of both stored (%lld)", (long long)s.tokens);
	counts_of(reader, spam_msg, &c);
	is_int(c.spam, (long long)t.n, "the other connection's copy sees every spam token");
	is_int(add(l, spam_msg, BAYES_CLASS_SPAM), BAYES_SKIPPED, "learned again later: skipped");
	is_int(add(l, spam_msg, BAYES_CLASS_HAM), BAYES_MOVED, "learned as the other class: moved");
	is_int(bayes_learner_commit(l, err, sizeof(err)), 0, "batch written");
	bayes_store_stats(st, &s);
	ok(s.spam == 0 && s.ham == 2, "moved: 0 spam, 2 ham (%lld, %lld)", (long long)s.spam,
	   (long long)s.ham);
	counts_of(reader, spam_msg, &c);
	ok(c.spam == 0 && c.ham >= t.n, "the copy follows the move (journal)");
	/* A daemon idle past the journal's age: the gap makes it reload. */
	sqlite3_exec(db, "DELETE FROM bayes_journal", NULL, NULL, NULL);
	is_int(add(l, spam_msg, BAYES_NONE), BAYES_FORGOTTEN, "forgotten");
	is_int(add(l, spam_msg, BAYES_NONE), BAYES_UNKNOWN, "forgotten twice: not learned");
	is_int(bayes_learner_commit(l, err, sizeof(err)), 0, "batch written");
	sqlite3_exec(db, "DELETE FROM bayes_journal", NULL, NULL, NULL);
	counts_of(reader, spam_msg, &c);
	counts_of(st, spam_msg, &c);
	is_int(c.spam, 0, "forgotten: no spam counts");
	counts_of(reader, ham_msg, &c);
	ok(c.ham > 0, "after a journal gap the copy reloads");
	counts_of(reader, spam_msg, &c);
	ok(c.ham < t.n, "...and has the forgotten message's tokens gone (%u)", c.ham);
	bayes_store_stats(st, &s);
	ok(s.spam == 0 && s.ham == 1, "forgotten: 0 spam, 1 ham");
	bayes_tokens_free(&t);
	bayes_learner_free(l);
	bayes_store_close(st);
	bayes_store_close(reader);
	bayes_cache_free(cache);
}

static uint64_t id_of(const char *raw, uint64_t (*fn)(const struct msg *))
{
	struct mime_limits lim;
	struct msg *m;
	uint64_t id;

	mime_limits_default(&lim);
	m = msg_parse(raw, strlen(raw), &lim);
	id = fn(m);
	msg_free(m);
	return id;
}

/*
 * What identifies a message for "already learned" (the trial's three
 * messages, same body, no Message-ID, were one), and moat 0.1's ids.
 */
static void test_identity(sqlite3 *db)
{
	static const char a[] = "From: a@example.org\nSubject: reject test\n\nsame body\n",
			  b[] = "From: b@example.org\nSubject: rewrite test\n\nsame body\n",
			  c[] = "From: a@example.org\nSubject: reject test\nReceived: from x\n"
				"X-Spamd-Result: default: False [0.00 / 11.00]\n\nsame body\n",
			  d[] = "From: a@example.org\nSubject: reject test\nDate: Thu, 3 Dec 2026\n"
				"\nsame body\n",
			  e[] = "From: a@example.org\nSubject:\n\nsame body\n",
			  f[] = "From: a@example.org\n\nsame body\n",
			  mid1[] = "Message-ID: <1@x>\nSubject: one\n\nsame body\n",
			  mid2[] = "Message-ID: <1@x>\nSubject: [list] one\n\nsame body\n";
	struct bayes_store *st = bayes_store_sqlite_new(db, NULL);
	struct bayes_learner *l = bayes_learner_new(st);
	char err[256], sql[200];

	ok(id_of(a, bayes_message_id) != id_of(b, bayes_message_id),
	   "no Message-ID: another From and Subject is another message");
	is_int(id_of(a, bayes_message_id) == id_of(c, bayes_message_id), 1,
	   "...headers added on the way (Received, X-Spamd-Result) are not part of it");
	ok(id_of(a, bayes_message_id) != id_of(d, bayes_message_id), "...a Date is");
	ok(id_of(e, bayes_message_id) != id_of(f, bayes_message_id),
	   "...an empty Subject differs from none");
	is_int(id_of(mid1, bayes_message_id) == id_of(mid2, bayes_message_id), 1,
	       "with a Message-ID: that and the body (a list's Subject tag is the same message)");
	is_int(id_of(a, bayes_message_id_v1) == id_of(b, bayes_message_id_v1), 1,
	       "moat 0.1's id of both was the body alone");
	is_int(id_of("Message-ID: <1@x>\r\nSubject: one\r\n\r\nsame\r\nbody\r\n", bayes_message_id) ==
		   id_of("Message-ID: <1@x>\nSubject: one\n\nsame\nbody\n", bayes_message_id),
	       1, "the body with CRLF (the milter's) is the same message as with LF (the file's)");
	ok(id_of("Message-ID: <1@x>\n\nsame\rbody\n", bayes_message_id) !=
	       id_of("Message-ID: <1@x>\n\nsamebody\n", bayes_message_id),
	   "...a CR not before LF stays");

	is_int(add(l, a, BAYES_CLASS_SPAM), BAYES_LEARNED, "learn-spam a");
	is_int(add(l, b, BAYES_CLASS_SPAM), BAYES_LEARNED, "learn-spam b, same body: learned too");
	is_int(add(l, c, BAYES_CLASS_SPAM), BAYES_SKIPPED, "a as delivered: already learned");
	is_int(bayes_learner_commit(l, err, sizeof(err)), 0, "batch written");

	/* A database moat 0.1 learned: b stored under its body alone. */
	snprintf(sql, sizeof(sql), "UPDATE bayes_seen SET message = %lld WHERE message = %lld",
		 (long long)id_of(b, bayes_message_id_v1), (long long)id_of(b, bayes_message_id));
	is_int(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "b's row given its 0.1 id");
	is_int(add(l, b, BAYES_NONE), BAYES_FORGOTTEN, "forget finds a message learned by 0.1");
	is_int(add(l, a, BAYES_NONE), BAYES_FORGOTTEN, "forget a");
	is_int(add(l, f, BAYES_NONE), BAYES_UNKNOWN, "a message never learned: not learned");
	is_int(bayes_learner_commit(l, err, sizeof(err)), 0, "batch written");
	bayes_learner_free(l);
	bayes_store_close(st);
}

int main(void)
{
	char dir[] = "/tmp/moat-bayes-test.XXXXXX", path[300], err[512], cmd[400];
	sqlite3 *db, *db2;

	test_tokenizer();
	test_probability();
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	db = db_open(path, 1000, err, sizeof(err));
	db2 = db_open(path, 1000, err, sizeof(err));
	ok(db && db2, "database opens");
	if (db && db2)
		test_learning(db, db2);
	if (db)
		test_identity(db);
	db_close(db);
	db_close(db2);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok(0, "cleanup");
	return done_testing();
}
