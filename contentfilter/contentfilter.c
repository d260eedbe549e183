/*
 * moat-contentfilter - the moat milter (Postfix MILTER_README, libmilter).
 *
 * Postfix hands every message over at end of DATA (smtpd_milters); we
 * scan it and accept, tag, rewrite, tempfail or reject. libmilter runs one
 * thread per SMTP connection; per-connection state lives in struct cf_conn,
 * freed in the close callback. Start-up binds the socket and checks the
 * database before detaching, so mistakes surface as one line on stderr.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "db.h"
#include "listen.h"
#include "log.h"
#include "mem.h"

#define PROGNAME "moat-contentfilter"

/* One SMTP connection (libmilter's private data). */
struct cf_conn {
	char client[64];	/* client address as Postfix saw it */
	char from[320];		/* envelope sender of the current message */
	unsigned nrcpt;		/* envelope recipients of the current message */
	size_t body_len;	/* body bytes seen */
};

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: " PROGNAME " [-f] [-v] [-c FILE] [-o NAME=VALUE]...\n"
		"\n"
		"Content filter (milter) of moat: scores each message at end of DATA.\n"
		"Wire it into Postfix's main.cf with\n"
		"    smtpd_milters = inet:127.0.0.1:11332\n"
		"    non_smtpd_milters = $smtpd_milters\n"
		"    milter_default_action = tempfail\n"
		"\n");
	daemon_usage_options(fp);
	fprintf(fp,
		"Settings it reads: milter_listen, milter_timeout, database_path;\n"
		"`moatctl config` prints them all. Stops on SIGTERM or SIGINT.\n");
}

static struct cf_conn *conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static void conn_reset_message(struct cf_conn *c)
{
	c->from[0] = '\0';
	c->nrcpt = 0;
	c->body_len = 0;
}

static sfsistat cf_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct cf_conn *c = calloc(1, sizeof(*c));
	const char *addr = smfi_getsymval(ctx, "{client_addr}");

	if (c == NULL) {
		msg_error("out of memory for a new connection; tempfailing");
		return SMFIS_TEMPFAIL;
	}
	/* Postfix passes the client's address here; macros are not sent by default. */
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->client,
			  sizeof(c->client));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->client,
			  sizeof(c->client));
	else
		snprintf(c->client, sizeof(c->client), "%s",
			 addr ? addr : (host ? host : "unknown"));
	smfi_setpriv(ctx, c);
	return SMFIS_CONTINUE;
}

static sfsistat cf_envfrom(SMFICTX *ctx, char **argv)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	conn_reset_message(c);
	snprintf(c->from, sizeof(c->from), "%s", argv[0] ? argv[0] : "");
	return SMFIS_CONTINUE;
}

static sfsistat cf_envrcpt(SMFICTX *ctx, char **argv)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	c->nrcpt++;
	return SMFIS_CONTINUE;
}

static sfsistat cf_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct cf_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	c->body_len += len;
	return SMFIS_CONTINUE;
}

static sfsistat cf_eom(SMFICTX *ctx)
{
	struct cf_conn *c = conn_of(ctx);
	const char *qid = smfi_getsymval(ctx, "i");

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	msg_info("%s: client=%s, from=%s, nrcpt=%u, body=%zu, action=accept",
		 qid ? qid : "NOQUEUE", c->client, c->from, c->nrcpt, c->body_len);
	conn_reset_message(c);
	return SMFIS_CONTINUE;
}

static sfsistat cf_abort(SMFICTX *ctx)
{
	struct cf_conn *c = conn_of(ctx);

	if (c)
		conn_reset_message(c);
	return SMFIS_CONTINUE;
}

static sfsistat cf_close(SMFICTX *ctx)
{
	free(conn_of(ctx));
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
	.xxfi_name = PROGNAME,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
	.xxfi_connect = cf_connect,
	.xxfi_envfrom = cf_envfrom,
	.xxfi_envrcpt = cf_envrcpt,
	.xxfi_body = cf_body,
	.xxfi_eom = cf_eom,
	.xxfi_abort = cf_abort,
	.xxfi_close = cf_close,
};

int main(int argc, char **argv)
{
	struct daemon_opts o;
	struct listen_addr la;
	struct conf *cf;
	char err[1024], conn[300], where[300];
	sqlite3 *db;
	int rc;

	daemon_getopt(argc, argv, &o, usage);
	cf = daemon_setup(PROGNAME, &o);
	if (daemon_state_dir(cf, err, sizeof(err)) < 0)
		msg_fatal("%s", err);
	if (listen_parse(conf_str(cf, "milter_listen"), &la, err, sizeof(err)) < 0)
		msg_fatal("milter_listen: %s", err);
	listen_format(&la, where, sizeof(where));
	listen_milter_conn(&la, conn, sizeof(conn));
	db = db_open(conf_str(cf, "database_path"), (int)conf_num(cf, "db_busy_timeout") * 1000,
		     err, sizeof(err));
	if (db == NULL)
		msg_fatal("%s", err);
	db_close(db);

	if (smfi_register(filter) == MI_FAILURE)
		msg_fatal("smfi_register failed (libmilter too old?)");
	if (smfi_setconn(conn) == MI_FAILURE)
		msg_fatal("milter_listen: libmilter cannot use %s", where);
	smfi_settimeout((int)conf_num(cf, "milter_timeout"));
	/* Bind now, before detaching, so "address in use" reaches the admin. */
	if (smfi_opensocket(1) == MI_FAILURE) {
		int fd;

		/* libmilter says only "failed": find out why for the log line. */
		if ((fd = listen_open(&la, 1, err, sizeof(err))) >= 0) {
			close(fd);
			snprintf(err, sizeof(err), "cannot listen on %s", where);
		}
		msg_fatal("%s", err);
	}
	if (daemon_detach(&o) < 0)
		msg_fatal("cannot detach: %s", strerror(errno));
	msg_info("ready: listening on %s, database %s, version %s", where,
		 conf_str(cf, "database_path"), PACKAGE_VERSION);
	rc = smfi_main();
	if (la.is_unix)
		unlink(la.path);
	msg_info("stopped");
	conf_free(cf);
	free(o.overrides);
	return rc == MI_SUCCESS ? 0 : 1;
}
