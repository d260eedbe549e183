/*
 * access - who may do what on the controller, as Rspamd's
 * rspamd_controller_check_password decides it, with moat's changes:
 *
 * - A client in controller_secure_ip may do everything without a
 *   password (IMAPSieve's loopback rspamc). Only such a client may name
 *   the real one in X-Forwarded-For (its last address) or X-Real-IP; that
 *   address is then judged instead.
 * - Anyone else needs the Password header: the enable password writes,
 *   the read password reads. With only a read password set it does both
 *   (Rspamd's "legacy mode").
 * - With no password set, other clients get nothing (Rspamd lets them
 *   in: docker-mailserver's open 0.0.0.0:11334).
 * - q1 and q2 never match; controller_auth_failures wrong passwords from
 *   one address make it wait controller_auth_block (429).
 */
#ifndef MOAT_CTL_ACCESS_H
#define MOAT_CTL_ACCESS_H

#include <stddef.h>
#include <sys/socket.h>

#include "core/cidr.h"

struct conf;
struct access;

enum access_level { ACCESS_NONE, ACCESS_READ, ACCESS_WRITE };

struct access_result {
	enum access_level level;
	int throttled;            /* refused unchecked: too many failures */
	int secure;               /* from a secure address: no password needed */
	int bad_password;         /* a password was given and matched nothing */
	char client[IP_TEXT_MAX]; /* the client judged, for logs and history */
};

/* The settings' secure networks and limits; NULL with err. */
struct access *access_new(const struct conf *cf, char *err, size_t errlen);
/* Free (NULL is fine). */
void access_free(struct access *a);
/*
 * Judge a request: peer is the socket's address (NULL for a unix socket:
 * secure), fwd the X-Forwarded-For or X-Real-IP value (NULL if none), pw
 * the Password header (NULL if none); hash_read and hash_write the stored
 * hashes ("" if unset).
 */
void access_check(struct access *a, const struct sockaddr *peer, const char *fwd, const char *pw,
                  const char *hash_read, const char *hash_write, struct access_result *out);

#endif
