/*
 * cf - the running configuration the milter's threads share; see cf.h.
 */
#include "config.h"

#include <pthread.h>
#include <stddef.h>

#include "cf.h"

/*
 * Shared by all threads. SIGHUP replaces the configuration: the settings
 * read per message are atomics; cf is read under conf_mu, and a replaced
 * one is kept until exit, so a thread that still holds it reads valid
 * (old) values. The DNS settings' generation tells pooled resolvers to
 * start over.
 */
pthread_mutex_t conf_mu = PTHREAD_MUTEX_INITIALIZER;
struct conf *cf;
char my_hostname[256];	/* X-Rspamd-Server, X-Greylist; under conf_mu */
unsigned dns_generation;
_Atomic size_t scan_limit;
_Atomic int error_accepts;
_Atomic long greylist_delay;
_Atomic long greylist_max_age;
_Atomic long history_max_age;
_Atomic long history_tokens_max_age;
_Atomic int scan_local;
struct localnets *local_nets;	/* under conf_mu; replaced ones kept until exit */
struct bayes_cache *bayes_cache;	/* the Bayes tokens, held once for all workers */

/* See cf.h. */
const struct conf *conf_now(unsigned *gen)
{
	const struct conf *c;

	pthread_mutex_lock(&conf_mu);
	c = cf;
	if (gen)
		*gen = dns_generation;
	pthread_mutex_unlock(&conf_mu);
	return c;
}
