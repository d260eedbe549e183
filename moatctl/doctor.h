/*
 * doctor - moatctl doctor: are the resolvers and the DNS lists usable?
 */
#ifndef MOAT_DOCTOR_H
#define MOAT_DOCTOR_H

#include <sqlite3.h>
#include <stdio.h>

#include "core/conf.h"

/*
 * Check every zone in use; print a report to fp, ending with the verdict
 * over it and the checks before (bad_before). 0 if all is well, 1 if not.
 */
int doctor_run(const struct conf *cf, sqlite3 *db, FILE *fp, int bad_before);

#endif
