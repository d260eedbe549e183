/*
 * bayes - the statistical classifier of the content filter.
 *
 * Tokens: what a reader sees and a spammer cannot hide. Words of the
 * decoded text parts (HTML reduced to text) and of the Subject, each word
 * alone and paired with each of the BAYES_WINDOW - 1 words before it at
 * its distance (orthogonal sparse bigrams as CRM114 and Rspamd use; with
 * the window of 2 chosen, plain word pairs: on the first half of the
 * corpus, learned and tested in two folds, windows of 3 to 5 caught less
 * spam, their overlapping pairs being one piece of evidence counted many
 * times);
 * From address, domain and display-name words, Reply-To domain,
 * Message-ID domain, mailer, list identity, whether it is a reply,
 * priority, MIME types, charsets and attachment extensions; URL hosts,
 * registrable domains and path words. Each token is a 64-bit hash, its
 * kind (body, subject, header, URL) mixed in. Received and envelope
 * headers are left out: they describe the route, which changes with the
 * recipient's site, not the message.
 *
 * Classification: Gary Robinson's per-token probability with a prior
 * (s = 1, x = 0.5, Robinson's own choice; SpamBayes' 0.45 flagged less
 * spam in the same two-fold test), the up to 150 tokens furthest from 0.5
 * (at least 0.1 away) combined with Fisher's chi-square method, as
 * SpamBayes does;
 * BAYES_SPAM or BAYES_HAM with the symbol's weight scaled by how far the
 * result is from 0.5, once each class has bayes_min_learns messages.
 *
 * Measured and left out (t/bench/bayes_cv and bayes-cv.sh, 5 folds of the
 * learning half; none caught more spam at no more ham than the above):
 * single words without pairs (Bayes alone ranks spam better, but its
 * verdicts are less extreme and the whole filter caught 30 fewer spam at
 * the same weight); all clues instead of 150, 50 or 300 of them; s of 0.45,
 * 0.5 or 2; clues of 0.2 strength; only tokens seen twice; Robinson's
 * geometric-mean combiner; a naive Bayes log-likelihood sum; separate
 * verdicts for body, headers and URLs, combined; the names of every
 * sender-written header, Content-Transfer-Encodings, Message-ID, boundary
 * and Date shapes, recipient domains and count; digits folded in words;
 * pairs without single words; no "skip" tokens; Subject words as body
 * words; Subject tags ("[list]", "Re:") and List-Id or Precedence left out
 * so that spam sent through a list is judged by its text. Received headers
 * were also left out because their hosts separate the two halves of the
 * public corpus by how each was collected (its ham and spam passed
 * through differently named relays), not by what spam is.
 *
 * Learning sums the tokens of a batch of messages in memory and hands the
 * store one sorted batch. A message (hash of Message-ID and body) is
 * counted once: learned again in the same class it is skipped, in the
 * other class it is moved.
 */
#ifndef MOAT_BAYES_H
#define MOAT_BAYES_H

#include <stddef.h>
#include <stdint.h>

#include "store/bayes_store.h"

struct msg;
struct content;
struct scan_rules;
struct scan_result;

#define BAYES_WINDOW 2		/* OSB: a word pairs with the BAYES_WINDOW - 1 before it */
#define BAYES_MAX_WORDS 2000	/* body words tokenized per message */
#define BAYES_MIN_TOKENS 11	/* fewer tokens than this: no verdict (as Rspamd) */

/* Token hashes of a message, each once (never 0). */
struct bayes_tokens {
	uint64_t *v;
	size_t n, cap;
	uint64_t *set;		/* open-addressing set over v, kept between messages */
	size_t setcap;
};

/* Empty set / free its memory. */
void bayes_tokens_init(struct bayes_tokens *t);
void bayes_tokens_free(struct bayes_tokens *t);
/* The tokens of a parsed message and its content (content.h). */
void bayes_tokenize(const struct msg *m, const struct content *c, struct bayes_tokens *t);
/* The identity of a message for "learned already": Message-ID (or, without
 * one, From, Sender, To, Cc, Subject and Date) and the body. */
uint64_t bayes_message_id(const struct msg *m);
/* moat 0.1's id of a message without a Message-ID (its body alone); forget
 * falls back to it, so messages learned then can still be unlearned. */
uint64_t bayes_message_id_v1(const struct msg *m);

/* Robinson-Fisher probability that tokens with counts c[] are spam, given
 * nspam/nham learned messages; 0.5 when nothing is known. */
double bayes_probability(const struct bayes_counts *c, size_t n, int64_t nspam, int64_t nham);

/* --- classifying (one per scanning thread) --- */

struct bayes;

/* A classifier on a store (not owned). */
struct bayes *bayes_new(struct bayes_store *st);
/* Free (NULL is fine). */
void bayes_free(struct bayes *b);
/*
 * Classify a message: adds BAYES_SPAM or BAYES_HAM to res when the store
 * knows enough. Keeps the message's tokens for bayes_autolearn().
 */
void bayes_scan(struct bayes *b, const struct scan_rules *r, const struct msg *m,
		const struct content *c, struct scan_result *res);
/*
 * After the score is final: learn the message last scanned when autolearn
 * is on (module option classifier-bayes autolearn) and the score is at or
 * above bayes_autolearn_spam or at or below bayes_autolearn_ham, unless
 * that class is already ahead of the other. Returns the class learned,
 * BAYES_NONE, or -1 (logged with qid).
 */
int bayes_autolearn(struct bayes *b, const struct scan_rules *r, double score, const char *qid);
/*
 * The tokens of the message last scanned, for learning it later without
 * the message (the history's tokens): *v (each once, in no order; the
 * learner sorts them; malloc'd, the caller frees), *n and the message's id for "learned already". 0, or -1
 * when bayes_scan() did not run for the last message (or autolearn has
 * been called since: call this first).
 */
int bayes_scanned_tokens(const struct bayes *b, uint64_t **v, size_t *n, uint64_t *msgid);

/* --- learning (moatctl) --- */

enum bayes_learn_result { BAYES_LEARNED, BAYES_MOVED, BAYES_SKIPPED, BAYES_FORGOTTEN,
			  BAYES_UNKNOWN };

struct bayes_learner;

/* A learning batch on a store (not owned). */
struct bayes_learner *bayes_learner_new(struct bayes_store *st);
/* Learn one message as cls (BAYES_CLASS_SPAM/HAM), or forget it (BAYES_NONE);
 * an enum bayes_learn_result, or -1 with err. */
int bayes_learner_add(struct bayes_learner *l, const char *raw, size_t len, int cls, char *err,
		      size_t errlen);
/*
 * Learn (or forget) a message by its tokens and id as bayes_scanned_tokens()
 * gave them: the same counts as bayes_learner_add() of the message itself.
 * An enum bayes_learn_result, or -1 with err.
 */
int bayes_learner_add_tokens(struct bayes_learner *l, const uint64_t *v, size_t n, uint64_t msgid,
			     int cls, char *err, size_t errlen);
/* Messages added since the last commit. */
size_t bayes_learner_pending(const struct bayes_learner *l);
/* Write the batch in one transaction; 0 or -1 with err (the batch is dropped either way). */
int bayes_learner_commit(struct bayes_learner *l, char *err, size_t errlen);
/* Free (uncommitted changes are lost; NULL is fine). */
void bayes_learner_free(struct bayes_learner *l);

#endif
