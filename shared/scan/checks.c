/*
 * checks - the registry: every check, in the order the scanner runs them.
 * A new check is a file exporting one `struct check` and a line here.
 * Bayes comes after the checks whose symbols it does not read but whose
 * content it shares; the DNS lists come late, because they wait, and
 * hfilter after them (its Message-ID lookups wait too), and ClamAV last: it started before the others (its start hook) and is
 * collected here.
 */
#include "config.h"

#include <stddef.h>

#include "scan/check.h"

const struct check *const scan_checks[] = {
	&check_headers, &check_mime, &check_mua, &check_regex, &check_bayes, &check_auth,
	&check_arc, &check_rbl, &check_dmarc, &check_hfilter, &check_clamav, NULL,
};
