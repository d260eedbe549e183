/*
 * noop_milter - the floor for milter-bench.sh: a libmilter filter that
 * does nothing but what any content filter must, with moat-contentfilter's
 * protocol options (the same no-reply steps, DATA answered, TCP_NODELAY)
 * and the same two headers added at end of message, of a typical size. What
 * Postfix loses with it is Postfix's own cost of running a milter; what
 * moat loses beyond it is moat's.
 *
 *   noop_milter inet:PORT@127.0.0.1
 */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libmilter/mfapi.h>

static sfsistat nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
			     unsigned long f3, unsigned long *pf0, unsigned long *pf1,
			     unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx;
	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS);
	*pf1 = f1 & (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR |
		     SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NOUNKNOWN | SMFIP_SKIP);
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat nm_noreply(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

static sfsistat nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)host;
	(void)sa;
	return nm_noreply(ctx);
}

static sfsistat nm_args(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return nm_noreply(ctx);
}

static sfsistat nm_helo(SMFICTX *ctx, char *helo)
{
	(void)helo;
	return nm_noreply(ctx);
}

static sfsistat nm_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return nm_noreply(ctx);
}

static sfsistat nm_body(SMFICTX *ctx, unsigned char *p, size_t len)
{
	(void)p;
	(void)len;
	return nm_noreply(ctx);
}

static sfsistat nm_eom(SMFICTX *ctx)
{
	/* The size of a clean message's X-Spamd-Result. */
	static char result[] = "default: False [0.00 / 11.00]; MIME_GOOD(-0.10)[text/plain];\n\t"
			       "RCVD_NO_TLS_LAST(0.10)[]; FROM_EQ_ENVFROM(0.00)[]; MIME_TRACE(0.00)[0:+];\n\t"
			       "MISSING_XM_UA(0.00)[]; RCPT_COUNT_ONE(0.00)[1]; RCVD_COUNT_ZERO(0.00)[0]";

	smfi_addheader(ctx, "X-Spamd-Result", result);
	smfi_addheader(ctx, "X-Rspamd-Action", "no action");
	return SMFIS_CONTINUE;
}

/* As moat-contentfilter: find libmilter's listening socket and set TCP_NODELAY. */
static void nodelay(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		int listening = 0, on = 1;
		socklen_t ol = sizeof(listening);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) == 0 && listening)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	}
}

int main(int argc, char **argv)
{
	struct smfiDesc d = {
		.xxfi_name = "noop_milter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS,
		.xxfi_connect = nm_connect,
		.xxfi_helo = nm_helo,
		.xxfi_envfrom = nm_args,
		.xxfi_envrcpt = nm_args,
		.xxfi_header = nm_header,
		.xxfi_eoh = nm_noreply,
		.xxfi_body = nm_body,
		.xxfi_eom = nm_eom,
		.xxfi_negotiate = nm_negotiate,
	};

	if (argc != 2) {
		fprintf(stderr, "usage: noop_milter inet:PORT@127.0.0.1\n");
		return 2;
	}
	if (smfi_register(d) == MI_FAILURE || smfi_setconn(argv[1]) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "noop_milter: cannot listen on %s\n", argv[1]);
		return 1;
	}
	nodelay();
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
