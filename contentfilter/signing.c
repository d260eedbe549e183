/*
 * signing - the DKIM signing of outgoing mail in the milter; see signing.h.
 */
#include "config.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions.h"
#include "auth/dkim_keys.h"
#include "auth/dkim_sign.h"
#include "cf.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "maps/localmail.h"
#include "scan/auth.h"
#include "scan/authres.h"
#include "signing.h"
#include "store/db.h"

static pthread_mutex_t sign_mu = PTHREAD_MUTEX_INITIALIZER;
static struct localnets *sign_nets; /* under sign_mu */
static struct dkim_keys *keys;      /* made once; thread-safe itself */
static _Atomic int sign_mismatch;
static _Atomic long sign_expire;
static _Atomic int seal_on, seal_inbound;

/* The dkim_keys table's rows into the key store's configuration. */
static int read_table(const struct conf *c, char ***dom, char ***sel, char ***path)
{
	char err[512];
	sqlite3 *db =
	    db_open_readonly(conf_str(c, "database_path"),
	                     (int)conf_num(c, "db_busy_timeout") * 1000, err, sizeof(err));
	sqlite3_stmt *st = NULL;
	int n = 0;

	*dom = *sel = *path = NULL;
	if (db == NULL ||
	    sqlite3_prepare_v2(db, "SELECT domain, selector, path FROM dkim_keys ORDER BY 1, 2", -1,
	                       &st, NULL) != SQLITE_OK) {
		msg_warn("dkim: cannot read the dkim_keys table (%s); using the key directory only",
		         db ? sqlite3_errmsg(db) : err);
		db_close(db);
		return 0;
	}
	while (n < DKIM_KEYS_MAX && sqlite3_step(st) == SQLITE_ROW) {
		*dom = xrealloc(*dom, (size_t)(n + 1) * sizeof(char *));
		*sel = xrealloc(*sel, (size_t)(n + 1) * sizeof(char *));
		*path = xrealloc(*path, (size_t)(n + 1) * sizeof(char *));
		(*dom)[n] = xstrdup((const char *)sqlite3_column_text(st, 0));
		(*sel)[n] = xstrdup((const char *)sqlite3_column_text(st, 1));
		(*path)[n] = xstrdup((const char *)sqlite3_column_text(st, 2));
		n++;
	}
	sqlite3_finalize(st);
	db_close(db);
	return n;
}

int signing_configure(const struct conf *c, char *err, size_t errlen)
{
	struct localnets *ln = localnets_new(conf_str(c, "dkim_sign_networks"), err, errlen);
	char **dom, **sel, **path;
	struct sbuf sb;
	int n;

	if (ln == NULL) {
		/* localnets names the setting it usually reads. */
		if (strncmp(err, "local_networks", 14) == 0) {
			char tmp[512];

			snprintf(tmp, sizeof(tmp), "dkim_sign_networks%s", err + 14);
			snprintf(err, errlen, "%s", tmp);
		}
		return -1;
	}
	sign_mismatch = conf_bool(c, "dkim_sign_mismatch");
	sign_expire = (long)conf_num(c, "dkim_signature_expire");
	seal_on = conf_bool(c, "arc_seal");
	seal_inbound = conf_bool(c, "arc_seal_inbound");
	pthread_mutex_lock(&sign_mu);
	localnets_free(sign_nets);
	sign_nets = ln;
	pthread_mutex_unlock(&sign_mu);
	if (keys == NULL)
		keys = dkim_keys_new();
	n = read_table(c, &dom, &sel, &path);
	dkim_keys_configure(keys, conf_str(c, "dkim_key_directory"), (const char *const *)dom,
	                    (const char *const *)sel, (const char *const *)path, n);
	for (int i = 0; i < n; i++) {
		free(dom[i]);
		free(sel[i]);
		free(path[i]);
	}
	free(dom);
	free(sel);
	free(path);
	sbuf_init(&sb);
	localnets_format(ln, &sb);
	msg_info("dkim: %d signing key%s; signing mail of authenticated senders and of %s",
	         dkim_keys_usable(keys), dkim_keys_usable(keys) == 1 ? "" : "s", sbuf_cstr(&sb));
	sbuf_free(&sb);
	if (seal_on)
		msg_info("arc: sealing mail moat signs%s",
		         seal_inbound ? " and all other mail" : "");
	return 0;
}

void signing_free(void)
{
	dkim_keys_free(keys);
	keys = NULL;
	localnets_free(sign_nets);
	sign_nets = NULL;
}

int signing_wanted(const struct cf_conn *c)
{
	char buf[200];
	const char *why;

	if (c->auth[0])
		return seal_on ? SIGNING_DKIM | SIGNING_ARC : SIGNING_DKIM;
	/* Port -1: submission on this host counts only if its 127.0.0.1 is listed. */
	pthread_mutex_lock(&sign_mu);
	why = localmail_reason(sign_nets, c->client, -1, NULL, buf, sizeof(buf));
	pthread_mutex_unlock(&sign_mu);
	if (why != NULL)
		return seal_on ? SIGNING_DKIM | SIGNING_ARC : SIGNING_DKIM;
	return seal_on && seal_inbound ? SIGNING_ARC : 0;
}

/*
 * With dkim_sign_mismatch = no, a user signs only for the domain of the login name
 * (user@domain), compared as registrable domains.
 */
static int login_may_sign(const struct cf_conn *c, const char *domain)
{
	const char *at = strrchr(c->auth, '@');
	char login[DKIM_DOMAIN_MAX + 1];

	if (sign_mismatch || c->auth[0] == '\0')
		return 1;
	if (at == NULL)
		return 0;
	dkim_esld(at + 1, strlen(at + 1), login, sizeof(login));
	return strcmp(login, domain) == 0;
}

static void sign_dkim(SMFICTX *ctx, struct cf_conn *c, const char *qid)
{
	struct dkim_signkey k[DKIM_SIGN_KEYS];
	char domain[DKIM_DOMAIN_MAX + 1], err[256];
	struct sbuf v, done;
	int n;

	if (dkim_sign_domain(c->dkim, domain, sizeof(domain), err, sizeof(err)) < 0) {
		msg_info("%s: dkim: not signed: %s", qid, err);
		return;
	}
	if (!login_may_sign(c, domain)) {
		msg_info("%s: dkim: not signed: login %s may not sign for %s (dkim_sign_mismatch ="
		         " no)",
		         qid, c->auth, domain);
		return;
	}
	if (keys == NULL || (n = dkim_keys_get(keys, domain, k, DKIM_SIGN_KEYS)) == 0) {
		msg_info("%s: dkim: not signed: no usable key for %s", qid, domain);
		return;
	}
	sbuf_init(&v);
	sbuf_init(&done);
	for (int i = 0; i < n; i++) {
		sbuf_reset(&v);
		if (dkim_sign_make(c->dkim, &k[i], (int64_t)time(NULL), sign_expire, "\n\t", &v,
		                   err, sizeof(err)) < 0)
			msg_warn("%s: dkim: not signed with s=%s: %s", qid, k[i].selector, err);
		else if (set_header(ctx, "DKIM-Signature", sbuf_cstr(&v), 2) < 0)
			msg_warn("%s: dkim: the MTA refused the DKIM-Signature header", qid);
		else
			sbuf_printf(&done, "%ss=%s a=%s", done.len ? ", " : "", k[i].selector,
			            k[i].k == DKIM_KEY_RSA ? "rsa-sha256" : "ed25519-sha256");
		dkim_signkey_clear(&k[i]);
	}
	if (done.len)
		msg_info("%s: dkim: signed d=%s (%s)", qid, domain, sbuf_cstr(&done));
	sbuf_free(&v);
	sbuf_free(&done);
}

/* The sealing domain: the From's for mail moat signs, else the first recipient's. */
static int seal_domain(const struct cf_conn *c, char *domain, size_t size, char *err, size_t errlen)
{
	const char *at;

	if (c->sign & SIGNING_DKIM)
		return dkim_sign_domain(c->dkim, domain, size, err, errlen);
	if (c->nrcpt == 0 || (at = strrchr(c->rcpts[0], '@')) == NULL || at[1] == '\0') {
		snprintf(err, errlen, "no recipient domain");
		return -1;
	}
	dkim_esld(at + 1, strlen(at + 1), domain, size);
	return 0;
}

/* ARC sealing (arc_seal = yes): the next set, from what the scan found, at the top. */
static void seal(SMFICTX *ctx, struct cf_conn *c, const char *qid, const struct scan_auth *auth)
{
	static const char *const names[] = {"ARC-Authentication-Results", "ARC-Message-Signature",
	                                    "ARC-Seal"};
	struct authres_tx tx = {.mail_from = c->from,
	                        .helo = c->helo,
	                        .client_ip = c->client,
	                        .auth_user = c->auth[0] ? c->auth : NULL};
	struct dkim_signkey k[DKIM_SIGN_KEYS];
	char domain[DKIM_DOMAIN_MAX + 1], err[256];
	enum arc_status chain = ARC_NONE;
	struct sbuf v[3], results;
	int n, pick = 0, inst;

	if (auth == NULL) {
		msg_info("%s: arc: not sealed: the message was not scanned", qid);
		return;
	}
	/* A key that could not be fetched now may be there later: cv=fail would be for good. */
	if (auth->arc_dnsfail) {
		msg_info("%s: arc: not sealed: the chain's keys could not be fetched", qid);
		return;
	}
	if (seal_domain(c, domain, sizeof(domain), err, sizeof(err)) < 0) {
		msg_info("%s: arc: not sealed: %s", qid, err);
		return;
	}
	if (keys == NULL || (n = dkim_keys_get(keys, domain, k, DKIM_SIGN_KEYS)) == 0) {
		msg_info("%s: arc: not sealed: no usable key for %s", qid, domain);
		return;
	}
	/* RSA where there is one: few verifiers take Ed25519 in ARC yet. */
	for (int i = n - 1; i >= 0; i--)
		if (k[i].k == DKIM_KEY_RSA)
			pick = i;
	if (auth->arc_checked)
		chain = strcmp(auth->arc_result, "pass") == 0   ? ARC_PASS
		        : strcmp(auth->arc_result, "fail") == 0 ? ARC_FAIL
		                                                : ARC_NONE;
	sbuf_init(&results);
	authres_format(c->ar_id, auth, &tx, &results);
	for (int i = 0; i < 3; i++)
		sbuf_init(&v[i]);
	inst = dkim_sign_arc(c->dkim, &k[pick], sbuf_cstr(&results), chain, (int64_t)time(NULL),
	                     "\n\t", v, err, sizeof(err));
	if (inst < 0)
		msg_info("%s: arc: not sealed: %s", qid, err);
	for (int i = 0; i < 3 && inst > 0; i++)
		if (set_header(ctx, names[i], sbuf_cstr(&v[i]), 2) < 0) {
			msg_warn("%s: arc: the MTA refused the %s header", qid, names[i]);
			inst = 0;
		}
	if (inst > 0)
		msg_info("%s: arc: sealed i=%d d=%s s=%s cv=%s", qid, inst, domain,
		         k[pick].selector,
		         inst == 1           ? "none"
		         : chain == ARC_PASS ? "pass"
		                             : "fail");
	for (int i = 0; i < n; i++)
		dkim_signkey_clear(&k[i]);
	for (int i = 0; i < 3; i++)
		sbuf_free(&v[i]);
	sbuf_free(&results);
}

void signing_eom(SMFICTX *ctx, struct cf_conn *c, const char *qid, const struct scan_auth *auth)
{
	if (c->dkim == NULL)
		return;
	if (c->sign & SIGNING_DKIM)
		sign_dkim(ctx, c, qid);
	if (c->sign & SIGNING_ARC)
		seal(ctx, c, qid, auth);
}
