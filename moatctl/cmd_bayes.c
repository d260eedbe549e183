/*
 * cmd_bayes - moatctl learn-spam, learn-ham and bayes: teach and inspect
 * the Bayes classifier (scan/bayes.h).
 *
 * learn-spam and learn-ham take files, mbox files and directories, as
 * sa-learn and "rspamc learn_spam" do; messages are written in batches of
 * LEARN_BATCH, each one transaction, so a daemon sees a batch whole or not
 * at all and learning goes at the speed of parsing, not of commits.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan/bayes.h"
#include "store/bayes_store.h"
#include "core/conf.h"
#include "core/log.h"
#include "mail/mbox.h"
#include "cmd.h"

#define LEARN_BATCH 1000

struct learn_run {
	struct bayes_learner *l;
	int cls;
	long n[BAYES_UNKNOWN + 1];	/* by enum bayes_learn_result */
	long examined;
	int failed;
};

static int commit(struct learn_run *run)
{
	char err[512];

	if (bayes_learner_commit(run->l, err, sizeof(err)) < 0) {
		msg_error("%s", err);
		run->failed = 1;
		return -1;
	}
	return 0;
}

static int learn_one(void *arg, const char *name, const char *p, size_t len)
{
	struct learn_run *run = arg;
	char err[512];
	int rc = bayes_learner_add(run->l, p, len, run->cls, err, sizeof(err));

	if (rc < 0) {
		msg_error("%s: %s", name, err);
		run->failed = 1;
		return -1;
	}
	run->n[rc]++;
	run->examined++;
	if (bayes_learner_pending(run->l) >= LEARN_BATCH)
		return commit(run);
	return 0;
}

/* Walk every path with the class of run; 0 or 1. */
static int learn_paths(const struct conf *cf, sqlite3 *db, struct learn_run *run, int argc,
		       char **argv)
{
	struct bayes_store *st = bayes_store_sqlite_new(db, NULL);
	size_t limit = (size_t)conf_num(cf, "scan_size_limit");
	int rc = 0;

	if (st == NULL) {
		msg_error("cannot open the Bayes store: %s", sqlite3_errmsg(db));
		return 1;
	}
	run->l = bayes_learner_new(st);
	for (int i = 0; i < argc && !run->failed; i++)
		rc |= mbox_walk(argv[i], limit, learn_one, run) != 0;
	if (!run->failed)
		commit(run);
	bayes_learner_free(run->l);
	bayes_store_close(st);
	return rc || run->failed;
}

int cmd_learn(struct ctl *ctl, int argc, char **argv)
{
	const struct conf *cf = ctl->cf;
	sqlite3 *db = ctl_db(ctl);
	struct learn_run run = {0};
	const char *what = strcmp(argv[0], "learn-spam") == 0 ? "spam" : "ham";
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: moatctl %s FILE|DIR|MBOX...\n", argv[0]);
		return 2;
	}
	run.cls = strcmp(what, "spam") == 0 ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM;
	rc = learn_paths(cf, db, &run, argc - 1, argv + 1);
	printf("learned %ld message(s) as %s (%ld moved from %s, %ld already learned as %s;"
	       " %ld examined)%s\n",
	       run.n[BAYES_LEARNED] + run.n[BAYES_MOVED], what, run.n[BAYES_MOVED],
	       run.cls == BAYES_CLASS_SPAM ? "ham" : "spam", run.n[BAYES_SKIPPED], what,
	       run.examined, run.failed ? "; the last batch was not written" : "");
	return rc;
}

static int bayes_stats(const struct conf *cf, sqlite3 *db)
{
	struct bayes_store *st = bayes_store_sqlite_new(db, NULL);
	struct bayes_stats s;
	sqlite3_stmt *q;
	long min_learns = 200;
	const char *autolearn = "false";
	char buf[64];

	(void)cf;
	if (st == NULL || bayes_store_stats(st, &s) < 0) {
		msg_error("cannot read the Bayes store: %s", st ? st->err : sqlite3_errmsg(db));
		bayes_store_close(st);
		return 1;
	}
	bayes_store_close(st);
	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, "SELECT value FROM settings WHERE name = 'bayes_min_learns'", -1,
			       &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			min_learns = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
	}
	if (sqlite3_prepare_v2(db, "SELECT value FROM module_options WHERE module = ?1 AND"
				   " option = 'autolearn'",
			       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, "classifier-bayes", -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			snprintf(buf, sizeof(buf), "%s", sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
		if (buf[0])
			autolearn = buf;
	}
	printf("spam messages: %lld\nham messages: %lld\ntokens: %lld\nlearning transactions: %lld\n"
	       "min learns: %ld (%s)\nautolearn: %s\n",
	       (long long)s.spam, (long long)s.ham, (long long)s.tokens, (long long)s.generation,
	       min_learns,
	       s.spam >= min_learns && s.ham >= min_learns ? "classifying"
							   : "not classifying yet",
	       autolearn);
	return 0;
}

int cmd_bayes(struct ctl *ctl, int argc, char **argv)
{
	const struct conf *cf = ctl->cf;
	sqlite3 *db = ctl_db(ctl);

	if (argc >= 2 && strcmp(argv[1], "stats") == 0 && argc == 2)
		return bayes_stats(cf, db);
	if (argc >= 3 && strcmp(argv[1], "forget") == 0) {
		struct learn_run run = {0};
		int rc;

		run.cls = BAYES_NONE;
		rc = learn_paths(cf, db, &run, argc - 2, argv + 2);
		printf("forgot %ld message(s) (%ld not learned; %ld examined)%s\n",
		       run.n[BAYES_FORGOTTEN], run.n[BAYES_UNKNOWN], run.examined,
		       run.failed ? "; the last batch was not written" : "");
		return rc;
	}
	fprintf(stderr, "usage: moatctl bayes stats\n"
			"       moatctl bayes forget FILE|DIR|MBOX...\n");
	return 2;
}
