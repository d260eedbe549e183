/*
 * milter - moat-contentfilter's libmilter callbacks and per-connection
 * state (struct cf_conn, cf.h). Every verdict is taken at end of message;
 * the steps before it only gather the transaction.
 */
#ifndef MOAT_MILTER_H
#define MOAT_MILTER_H

#include <libmilter/mfapi.h>

/* The callbacks, for smfi_register(). */
extern struct smfiDesc milter_desc;

/* How long a stop waits for the scans under way. */
#define STOP_DRAIN_SECONDS 10

/*
 * At a stop: wait (at most STOP_DRAIN_SECONDS) for the messages in flight,
 * from their first header to their verdict; how many were still going.
 */
int milter_drain(void);

#endif
