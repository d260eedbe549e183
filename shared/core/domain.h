/*
 * domain - host names as DNS and mail see them: the Public Suffix List
 * (https://publicsuffix.org/) through libpsl, for the registrable domain
 * of a host ("mail.example.co.uk" -> "example.co.uk"). In the core, so
 * the DNS lists and the URL extractor share one list without one layer
 * depending on the other.
 */
#ifndef MOAT_DOMAIN_H
#define MOAT_DOMAIN_H

#include <libpsl.h>

/* The Public Suffix List, loaded once per process (thread-safe); NULL if none loads. */
const psl_ctx_t *domain_psl(void);
/*
 * Whether name is an FQDN by Rspamd's hfilter test: 4 to 253 bytes, labels
 * of letters, digits and inner hyphens (at most 63), at least two, the
 * last one two characters or more, an optional final dot.
 */
int domain_is_fqdn(const char *name);

#endif
