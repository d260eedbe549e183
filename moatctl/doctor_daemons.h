/*
 * doctor_daemons - moatctl doctor: do the daemons answer on their sockets,
 * can Postfix reach them, and does Postfix's main.cf send mail to them?
 */
#ifndef MOAT_DOCTOR_DAEMONS_H
#define MOAT_DOCTOR_DAEMONS_H

#include <stdio.h>

#include "core/conf.h"

/* Print the checks to fp; 1 if one failed, 0 if none did (warnings are fine). */
int doctor_daemons(const struct conf *cf, FILE *fp);

#endif
