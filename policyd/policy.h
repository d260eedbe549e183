/*
 * policy - what moat-policyd answers to one request (SPEC §3).
 *
 * At RCPT: allow and block lists (files or URLs, mapfetch.h; an allow
 * entry beats a block entry, a block entry rejects); DNS block lists for
 * the client IP, HELO name, sender domain and client name, and SPF (once
 * per message; not for local or SASL mail), all in parallel; then the
 * score decides:
 * reject at the reject threshold, 550 5.7.23 for an SPF fail (by
 * spf_reject_fail), soft reject when a list timed out (by
 * soft_reject_on_timeout), greylisting (everyone, or only above the
 * greylist threshold), else DUNNO with the symbols and the SPF verdict in
 * X-Moat-Policy for the content filter. One log line per decision. If
 * the database fails, the answer is policy_db_failure_action, never a
 * crash or a hang.
 */
#ifndef MOAT_POLICY_H
#define MOAT_POLICY_H

#include <sqlite3.h>
#include <stddef.h>

#include "core/conf.h"
#include "dns/dns.h"
#include "policy_proto.h"
#include "core/sbuf.h"

struct policy;

/*
 * Called with the reply's action text when a decision is made. uncommitted,
 * when not NULL, is the reply to send instead if policy_flush() fails: the
 * action promises state (a greylist entry) that did not reach the database.
 */
typedef void policy_done_fn(void *arg, const char *action, const char *uncommitted);

/* Set up from the configuration over an open database, with DNS lists
 * looked up through dns (NULL: none). NULL with err. */
struct policy *policy_new(const struct conf *cf, sqlite3 *db, struct dns *dns, char *err,
                          size_t errlen);
/*
 * Use new settings (SIGHUP) and resolver for the decisions from now on;
 * cf and dns must outlive the policy or the next reconfigure.
 */
void policy_reconfigure(struct policy *pol, const struct conf *cf, struct dns *dns);
/* Free (NULL is fine); flushes pending state first. */
void policy_free(struct policy *pol);
/* Decide one request; done runs now or when the DNS answers are in. */
void policy_decide(struct policy *pol, const struct policy_request *req, policy_done_fn *done,
                   void *arg);
/* Make the decisions so far durable (before their replies are sent); -1 if not. */
int policy_flush(struct policy *pol);
/* Housekeeping, about once a second: expiry, rule reloads, new copies of lists. */
void policy_tick(struct policy *pol);
/* Requests decided so far. */
unsigned long policy_requests(const struct policy *pol);

#endif
