/*
 * domain - see domain.h.
 */
#include "config.h"

#include <pthread.h>

#include "core/domain.h"

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl_ctx;

/*
 * The system's list (Debian's publicsuffix package) when it is newer than
 * the one built into libpsl. Loaded once (the milter has threads) and kept
 * for the life of the process.
 */
static void psl_load(void)
{
	psl_ctx_t *p = psl_latest(NULL);

	psl_ctx = p ? p : psl_builtin();
}

const psl_ctx_t *domain_psl(void)
{
	pthread_once(&psl_once, psl_load);
	return psl_ctx;
}
