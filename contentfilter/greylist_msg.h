/*
 * greylist_msg - the content filter's own greylisting, for the "greylist"
 * action: a message is held (451) until it comes back after the delay.
 * It is known by what a retry brings again (sender, recipients, the
 * message less the headers Postfix writes anew), in the milter_greylist
 * table (sql/009-local-greylist.sql). One per worker, statements prepared
 * once.
 */
#ifndef MOAT_GREYLIST_MSG_H
#define MOAT_GREYLIST_MSG_H

#include <sqlite3.h>
#include <stddef.h>

struct cf_conn;
struct greylist_msg;

/* The statements on db (not owned); NULL with err. */
struct greylist_msg *greylist_msg_new(sqlite3 *db, char *err, size_t errlen);
/* Free (NULL is fine). */
void greylist_msg_free(struct greylist_msg *g);
/*
 * 1: let the message through, it came back after delay seconds (the wait
 * since its first try in *waited); 0: hold it; -1: database trouble. qid
 * is Postfix's queue ID of this attempt, or NULL.
 */
int greylist_msg_check(struct greylist_msg *g, const struct cf_conn *c, const char *qid,
		       long delay, long long *waited);

#endif
