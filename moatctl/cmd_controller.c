/*
 * cmd_controller - moatctl controller password: set moat-controller's
 * read or enable (write) password. The password is read from the terminal
 * (twice, without echo) or as the first line of standard input, never
 * from the command line (ps would show it); only its yescrypt hash is
 * stored, in the settings table, where the controller reads it at the
 * next request. --hash stores a hash made elsewhere (Rspamd's
 * `rspamadm pw -t pbkdf2` "$1$" hashes included).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"
#include "core/log.h"
#include "core/passwd.h"

/* One line of at most PASSWD_MAX bytes from fp, without its newline; 0 or -1. */
static int read_line(FILE *fp, char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, fp) == NULL)
		return -1;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (!feof(fp))
		return -1;	/* longer than the buffer */
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

/* Prompted on the terminal without echo; 0 or -1. */
static int read_tty(const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	int rc;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	rc = read_line(stdin, buf, len);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

static int store(struct ctl *ctl, const char *name, const char *hash)
{
	char *params[] = {(char *)hash, (char *)name};

	return ctl_exec(ctl_db(ctl), "UPDATE settings SET value = ?1 WHERE name = ?2", 2, params,
			"setting the password");
}

int cmd_controller(struct ctl *ctl, int argc, char **argv)
{
	const char *name = "controller_password", *given = NULL;
	char pw[PASSWD_MAX + 2], again[PASSWD_MAX + 2], hash[PASSWD_HASH_MAX], err[256];
	int clear = 0, rc;

	if (argc < 2 || strcmp(argv[1], "password") != 0)
		return ctl_usage("controller password [--enable] [--hash HASH|--clear]");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--enable") == 0)
			name = "controller_enable_password";
		else if (strcmp(argv[i], "--clear") == 0)
			clear = 1;
		else if (strcmp(argv[i], "--hash") == 0 && i + 1 < argc)
			given = argv[++i];
		else
			return ctl_usage("controller password [--enable] [--hash HASH|--clear]");
	}
	if (clear) {
		rc = store(ctl, name, "");
		if (rc == 0)
			printf("%s cleared\n", name);
		return rc ? 1 : 0;
	}
	if (given) {
		if (passwd_check_stored(given, err, sizeof(err)) < 0) {
			msg_error("%s", err);
			return 1;
		}
		snprintf(hash, sizeof(hash), "%s", given);
	} else {
		if (isatty(STDIN_FILENO)) {
			if (read_tty("New password: ", pw, sizeof(pw)) < 0 ||
			    read_tty("Again: ", again, sizeof(again)) < 0) {
				msg_error("no password read");
				return 1;
			}
			if (strcmp(pw, again) != 0) {
				msg_error("the two passwords differ; nothing changed");
				return 1;
			}
		} else if (read_line(stdin, pw, sizeof(pw)) < 0) {
			msg_error("no password on standard input (one line, at most %d bytes)",
				  PASSWD_MAX);
			return 1;
		}
		rc = passwd_hash(pw, hash, sizeof(hash), err, sizeof(err));
		explicit_bzero(pw, sizeof(pw));
		explicit_bzero(again, sizeof(again));
		if (rc < 0) {
			msg_error("%s; nothing changed", err);
			return 1;
		}
	}
	if (store(ctl, name, hash) != 0)
		return 1;
	printf("%s set; moat-controller uses it from its next request\n", name);
	return 0;
}
