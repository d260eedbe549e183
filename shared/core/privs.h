/*
 * privs - start as root, end as run_as: what both daemons do between
 * reading moat.conf and serving mail.
 *
 * As Postfix does: everything that needs root (binding a socket, giving
 * the state directory and the socket to the right owners) happens first,
 * then the process becomes the unprivileged user for good (setgroups,
 * setgid, setuid, then checked). Started as any other user, a daemon
 * stays that user.
 */
#ifndef MOAT_PRIVS_H
#define MOAT_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

#include "core/conf.h"

struct privs {
	int drop;		/* started as root, run_as is another user */
	uid_t uid;		/* who we will be */
	gid_t gid;
	char user[64];
	mode_t sock_mode;	/* unix_socket_mode */
	int sock_group;		/* 1: sock_gid is the socket's group */
	gid_t sock_gid;
	int sock_group_explicit;	/* unix_socket_group was set: failing to use it is an error */
};

/*
 * Look up run_as and the socket settings; -1 with err, which for a missing
 * user names it and says how to create it.
 */
int privs_init(const struct conf *cf, struct privs *p, char *err, size_t errlen);
/* As root: give the state directory, the database's directory and its files to run_as. */
int privs_own_state(const struct conf *cf, const struct privs *p, char *err, size_t errlen);
/* Give a unix socket just bound at path its mode and group (and owner). */
int privs_socket(const struct privs *p, const char *path, char *err, size_t errlen);
/* Become run_as for good, and check that root cannot come back; 0 or -1. */
int privs_drop(const struct privs *p, char *err, size_t errlen);

#endif
