/*
 * policy - what moat-policyd answers to one request (SPEC §3).
 *
 * For now: allow lists, then greylisting (postgrey's semantics); the
 * DNSBL checks join here. One log line per decision. If the database
 * fails, the answer is policy_db_failure_action, never a crash or a hang.
 */
#ifndef MOAT_POLICY_H
#define MOAT_POLICY_H

#include <sqlite3.h>
#include <stddef.h>

#include "conf.h"
#include "policy_proto.h"
#include "sbuf.h"

struct policy;

/* Set up from the configuration over an open database; NULL with err. */
struct policy *policy_new(const struct conf *cf, sqlite3 *db, char *err, size_t errlen);
/* Free (NULL is fine); flushes pending state first. */
void policy_free(struct policy *pol);
/* Decide one request: the reply's action text goes to action. */
void policy_decide(struct policy *pol, const struct policy_request *req, struct sbuf *action);
/* Make the decisions so far durable (before their replies are sent). */
void policy_flush(struct policy *pol);
/* Housekeeping, about once a second: expiry, rule and allow-list reloads. */
void policy_tick(struct policy *pol);
/* Requests decided so far. */
unsigned long policy_requests(const struct policy *pol);

#endif
