/*
 * moatctl_bayes - moatctl's Bayes commands: learn-spam, learn-ham,
 * bayes stats, bayes forget.
 */
#ifndef MOAT_MOATCTL_BAYES_H
#define MOAT_MOATCTL_BAYES_H

#include <sqlite3.h>

struct conf;

/* "learn-spam|learn-ham FILE|DIR|MBOX...": argv[0] names the class; exit status. */
int moatctl_learn(const struct conf *cf, sqlite3 *db, int argc, char **argv);
/* "bayes stats" and "bayes forget FILE|DIR|MBOX..."; exit status. */
int moatctl_bayes(const struct conf *cf, sqlite3 *db, int argc, char **argv);

#endif
