/*
 * histq - the history rows of the controller's scans (/checkv2), written
 * by one thread in batches, as the milter writes its own: a row and its
 * Bayes tokens cost a transaction each when written alone (the search
 * index's triggers make a commit dear), and a batch shares one.
 */
#ifndef MOAT_CONTROLLER_HISTQ_H
#define MOAT_CONTROLLER_HISTQ_H

#include "store/history_write.h"

/* Start the writer on its own connection to path: 0, or -1 with err. */
int histq_start(const char *path, int busy_ms, char *err, size_t errlen);
/* Queue r for writing (r and its strings become the queue's); dropped with a warning when full. */
void histq_add(struct history_row *r);
/* Wait until every row queued so far is written (or given up). */
void histq_sync(void);
/* Write what is queued, then stop the writer. */
void histq_stop(void);

#endif
