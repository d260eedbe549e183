/*
 * work - the request threads' resources and the rules; see work.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "controller/access.h"
#include "controller/work.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "scan/bayes.h"
#include "scan/clamav.h"
#include "scan/scan.h"
#include "store/bayes_store.h"
#include "store/db.h"

static pthread_mutex_t conf_mu = PTHREAD_MUTEX_INITIALIZER;
static struct conf *conf_cur;
static struct access *access_cur;
static unsigned conf_gen;
/* Replaced ones: a request may still read them, so kept until exit. */
static struct conf **conf_old;
static struct access **access_old;
static int nold;

const struct conf *work_conf(unsigned *gen)
{
	const struct conf *c;

	pthread_mutex_lock(&conf_mu);
	c = conf_cur;
	if (gen)
		*gen = conf_gen;
	pthread_mutex_unlock(&conf_mu);
	return c;
}

struct access *work_access(void)
{
	struct access *a;

	pthread_mutex_lock(&conf_mu);
	a = access_cur;
	pthread_mutex_unlock(&conf_mu);
	return a;
}

void work_set_conf(struct conf *cf, struct access *a)
{
	pthread_mutex_lock(&conf_mu);
	if (conf_cur) {
		conf_old = xrealloc(conf_old, (size_t)(nold + 1) * sizeof(*conf_old));
		access_old = xrealloc(access_old, (size_t)(nold + 1) * sizeof(*access_old));
		conf_old[nold] = conf_cur;
		access_old[nold++] = access_cur;
	}
	conf_cur = cf;
	access_cur = a;
	conf_gen++;
	pthread_mutex_unlock(&conf_mu);
}

static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static struct work *all;
static __thread struct work *mine;
static struct bayes_cache *bcache;

void work_init(void)
{
	bcache = bayes_cache_new();
}

struct work *work_get(void)
{
	unsigned gen;
	const struct conf *c = work_conf(&gen);
	char err[512];
	struct work *w = mine;

	if (w) {
		/* A resolver made with settings SIGHUP replaced starts over with the new ones. */
		if (w->dns_gen != gen) {
			scan_dns_free(w->sd);
			if ((w->sd = scan_dns_new(c, w->db, err, sizeof(err))) == NULL)
				msg_warn("DNS lists unavailable: %s", err);
			w->clam = clamav_renew(w->clam, c);
			w->dns_gen = gen;
			w->rules_gen = (unsigned)-1;
		}
		return w;
	}
	w = xcalloc(1, sizeof(*w));
	w->db = db_open(conf_str(c, "database_path"), (int)conf_num(c, "db_busy_timeout") * 1000,
	                err, sizeof(err));
	if (w->db == NULL) {
		msg_error("%s", err);
		free(w);
		return NULL;
	}
	w->dns_gen = gen;
	if ((w->sd = scan_dns_new(c, w->db, err, sizeof(err))) == NULL)
		msg_warn("DNS lists unavailable: %s", err);
	w->clam = clamav_renew(w->clam, c); /* /checkv2 scans as the milter does */
	if ((w->bst = bayes_store_sqlite_new(w->db, bcache)) != NULL)
		w->bayes = bayes_new(w->bst);
	else
		msg_warn("Bayes classifier unavailable: %s", sqlite3_errmsg(w->db));
	w->rules_gen = (unsigned)-1;
	pthread_mutex_lock(&all_mu);
	w->next = all;
	all = w;
	pthread_mutex_unlock(&all_mu);
	mine = w;
	return w;
}

static pthread_mutex_t rules_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rules_ref *rules_cur;
static time_t rules_loaded;
static unsigned rules_gen;

static void unref(struct rules_ref *ref)
{
	if (ref && --ref->refs == 0) {
		scan_rules_free(ref->r);
		free(ref);
	}
}

struct rules_ref *work_rules(sqlite3 *db)
{
	struct rules_ref *ref;
	time_t now = time(NULL);

	pthread_mutex_lock(&rules_mu);
	if (rules_cur == NULL || now - rules_loaded >= 2) {
		char err[512];
		struct scan_rules *r = scan_rules_load(db, err, sizeof(err));

		if (r) {
			struct rules_ref *fresh = xcalloc(1, sizeof(*fresh));

			fresh->r = r;
			fresh->refs = 1; /* the global reference */
			fresh->gen = ++rules_gen;
			unref(rules_cur);
			rules_cur = fresh;
			rules_loaded = now;
		} else {
			msg_warn("cannot load rules: %s", err);
		}
	}
	ref = rules_cur;
	if (ref)
		ref->refs++;
	pthread_mutex_unlock(&rules_mu);
	return ref;
}

void work_rules_stale(void)
{
	pthread_mutex_lock(&rules_mu);
	rules_loaded = 0;
	pthread_mutex_unlock(&rules_mu);
}

void work_rules_put(struct rules_ref *ref)
{
	pthread_mutex_lock(&rules_mu);
	unref(ref);
	pthread_mutex_unlock(&rules_mu);
}

void work_free_all(void)
{
	while (all) {
		struct work *w = all;

		all = w->next;
		scan_dns_free(w->sd);
		clamav_free(w->clam);
		bayes_free(w->bayes);
		bayes_store_close(w->bst);
		db_close(w->db);
		free(w);
	}
	bayes_cache_free(bcache);
	pthread_mutex_lock(&rules_mu);
	unref(rules_cur);
	rules_cur = NULL;
	pthread_mutex_unlock(&rules_mu);
	for (int i = 0; i < nold; i++) {
		conf_free(conf_old[i]);
		access_free(access_old[i]);
	}
	free(conf_old);
	free(access_old);
	conf_free(conf_cur);
	access_free(access_cur);
	conf_cur = NULL;
	access_cur = NULL;
}
