/*
 * domain - see domain.h.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

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

/*
 * Rspamd's (?=^.{4,253}$)(^((?!-)[a-zA-Z0-9-]{1,63}(?<!-)\.)+[a-zA-Z0-9-]{2,63}\.?$)
 * (hfilter.lua's check_fqdn), by hand.
 */
int domain_is_fqdn(const char *name)
{
	size_t len = strlen(name), labels = 0;
	const char *p = name;

	if (len < 4 || len > 253)
		return 0;
	if (name[len - 1] == '.')
		len--;
	while (p < name + len) {
		size_t n =
		    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
		int last = p + n >= name + len;

		if (n == 0 || n > 63 || (!last && p[n] != '.'))
			return 0;
		if (last ? n < 2 : (p[0] == '-' || p[n - 1] == '-'))
			return 0;
		labels++;
		p += n + 1;
	}
	return labels >= 2;
}
