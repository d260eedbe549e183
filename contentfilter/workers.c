/*
 * workers - the scanning threads' resources (a database connection, the
 * DNS lists, the Bayes classifier, the greylist statements), pooled, and
 * the reference-counted rules snapshot they scan with; see workers.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "cf.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "greylist_msg.h"
#include "mail/polhdr.h"
#include "scan/bayes.h"
#include "scan/clamav.h"
#include "scan/scan.h"
#include "store/bayes_store.h"
#include "store/db.h"
#include "workers.h"

static unsigned rules_generation;	/* bumped at every rules reload */
static pthread_mutex_t rules_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rules_ref *rules_cur;
static time_t rules_loaded;

/* A resolver (and clamd client) made with settings SIGHUP has replaced starts over with the
 * new ones. */
static void worker_dns_refresh(struct worker *w)
{
	unsigned gen;
	const struct conf *c = conf_now(&gen);
	char err[512];

	if (w->dns_gen == gen)
		return;
	scan_dns_free(w->sd);
	if ((w->sd = scan_dns_new(c, w->db, err, sizeof(err))) == NULL)
		msg_warn("DNS lists unavailable: %s", err);
	w->clam = clamav_renew(w->clam, c);
	w->dns_gen = gen;
	w->generation = (unsigned)-1;
}

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct worker *pool;

struct worker *worker_get(void)
{
	struct worker *w;
	const struct conf *c;
	char err[512];

	pthread_mutex_lock(&pool_mu);
	if ((w = pool) != NULL)
		pool = w->next;
	pthread_mutex_unlock(&pool_mu);
	if (w) {
		worker_dns_refresh(w);
		return w;
	}
	w = xcalloc(1, sizeof(*w));
	c = conf_now(&w->dns_gen);
	w->db = db_open(conf_str(c, "database_path"), (int)conf_num(c, "db_busy_timeout") * 1000,
			err, sizeof(err));
	if (w->db == NULL) {
		msg_error("%s", err);
		free(w);
		return NULL;
	}
	if ((w->sd = scan_dns_new(c, w->db, err, sizeof(err))) == NULL)
		msg_warn("DNS lists unavailable: %s", err);
	w->clam = clamav_renew(w->clam, c);
	if ((w->gl = greylist_msg_new(w->db, err, sizeof(err))) == NULL)
		msg_warn("message greylisting unavailable: %s", err);
	if ((w->bst = bayes_store_sqlite_new(w->db, bayes_cache)) != NULL)
		w->bayes = bayes_new(w->bst);
	else
		msg_warn("Bayes classifier unavailable: %s", sqlite3_errmsg(w->db));
	w->generation = (unsigned)-1;
	return w;
}

void worker_put(struct worker *w)
{
	pthread_mutex_lock(&pool_mu);
	w->next = pool;
	pool = w;
	pthread_mutex_unlock(&pool_mu);
}

void pool_free(void)
{
	while (pool) {
		struct worker *w = pool;

		pool = w->next;
		scan_dns_free(w->sd);
		clamav_free(w->clam);
		greylist_msg_free(w->gl);
		bayes_free(w->bayes);
		bayes_store_close(w->bst);
		db_close(w->db);
		free(w);
	}
}

/* The rules of this moment: reloaded every two seconds, so changes made
 * with moatctl or the sqlite3 shell apply without a restart. */
struct rules_ref *rules_get(sqlite3 *db)
{
	struct rules_ref *ref;
	time_t now = time(NULL);

	pthread_mutex_lock(&rules_mu);
	if (rules_cur == NULL || now - rules_loaded >= 2) {
		char err[512];
		struct scan_rules *r = scan_rules_load(db, err, sizeof(err));
		struct rules_ref *fresh = r ? calloc(1, sizeof(*fresh)) : NULL;

		if (fresh && polhdr_key_load(db, fresh->key, err, sizeof(err)) == 0) {
			fresh->r = r;
			fresh->refs = 1;	/* the global reference */
			if (rules_cur && --rules_cur->refs == 0) {
				scan_rules_free(rules_cur->r);
				free(rules_cur);
			}
			rules_cur = fresh;
			rules_loaded = now;
			rules_generation++;
		} else {
			msg_warn("cannot reload rules: %s", err);
			scan_rules_free(r);
			free(fresh);
		}
	}
	ref = rules_cur;
	if (ref)
		ref->refs++;
	pthread_mutex_unlock(&rules_mu);
	return ref;
}

void rules_put(struct rules_ref *ref)
{
	pthread_mutex_lock(&rules_mu);
	if (ref && --ref->refs == 0) {
		scan_rules_free(ref->r);
		free(ref);
	}
	pthread_mutex_unlock(&rules_mu);
}

unsigned rules_generation_now(void)
{
	unsigned gen;

	pthread_mutex_lock(&rules_mu);
	gen = rules_generation;
	pthread_mutex_unlock(&rules_mu);
	return gen;
}

void rules_free_all(void)
{
	pthread_mutex_lock(&rules_mu);
	if (rules_cur && --rules_cur->refs == 0) {
		scan_rules_free(rules_cur->r);
		free(rules_cur);
	}
	rules_cur = NULL;
	pthread_mutex_unlock(&rules_mu);
}
