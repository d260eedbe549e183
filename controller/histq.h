/*
 * histq - the history rows of the controller's scans (/checkv2), written
 * by one thread in batches, as the milter writes its own: a row and its
 * Bayes tokens cost a transaction each when written alone (the search
 * index's triggers make a commit dear), and a batch shares one.
 */
#ifndef MOAT_CONTROLLER_HISTQ_H
#define MOAT_CONTROLLER_HISTQ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* One row; every string is the row's own (histq_add takes them). */
struct histq_row {
	time_t time;
	char *queue_id, *client, *sender, *recipients, *subject, *action, *symbols;
	char *mime_from, *mime_from_name; /* the From header's address and display name */
	long long size;
	double score, scan_ms;
	uint64_t *tok; /* sorted token hashes, or NULL: none kept */
	size_t ntok;
	uint64_t msgid;
	struct histq_row *next;
};

/* Start the writer on its own connection to path: 0, or -1 with err. */
int histq_start(const char *path, int busy_ms, char *err, size_t errlen);
/* Queue r for writing (r and its strings become the queue's); dropped with a warning when full. */
void histq_add(struct histq_row *r);
/* Wait until every row queued so far is written (or given up). */
void histq_sync(void);
/* Write what is queued, then stop the writer. */
void histq_stop(void);

#endif
