/*
 * work - what a request thread needs: the configuration of the moment
 * (replaced on SIGHUP), its own database connection, DNS lists and Bayes
 * classifier (made at its first request, kept until exit), and the rules
 * snapshot, reference-counted and reloaded when two seconds old, so
 * /savesymbols and moatctl changes apply without a restart.
 */
#ifndef MOAT_CTL_WORK_H
#define MOAT_CTL_WORK_H

#include <sqlite3.h>

struct access;
struct bayes;
struct bayes_store;
struct conf;
struct clamav;
struct scan_dns;
struct scan_rules;

/* The configuration now, and its generation (bumped by work_set_conf). */
const struct conf *work_conf(unsigned *gen);
/* The access rules now. */
struct access *work_access(void);
/* Install a configuration and its access rules (the old ones are kept until exit). */
void work_set_conf(struct conf *cf, struct access *a);

struct work {
	sqlite3 *db;
	struct scan_dns *sd;     /* NULL if the DNS lists could not be set up */
	struct clamav *clam;     /* the clamd client (used while the clamav module is on), or NULL */
	struct bayes_store *bst; /* NULL if the Bayes store could not be set up */
	struct bayes *bayes;
	unsigned dns_gen;   /* the configuration the resolver was made with */
	unsigned rules_gen; /* the rules the DNS lists were read at */
	struct work *next;
};

/* This thread's resources; NULL (logged) if its database does not open. */
struct work *work_get(void);

struct rules_ref {
	struct scan_rules *r;
	int refs;
	unsigned gen;
};
/* The rules now, referenced; NULL (logged) if none load. */
struct rules_ref *work_rules(sqlite3 *db);
/* After the controller changed them: the next work_rules() reloads. */
void work_rules_stale(void);
/* Drop a reference (NULL is fine). */
void work_rules_put(struct rules_ref *ref);
/* Start: the shared Bayes cache. At exit (no request running): free everything. */
void work_init(void);
void work_free_all(void);

#endif
