/*
 * dkim_keys - the private keys moat signs with, by domain: the files of
 * a key directory named as docker-mailserver names them, and explicit
 * (domain, selector, path) entries, as from the dkim_keys table.
 *
 * Key files are read once and again when their size, mtime or inode
 * changes, looked at no more than once a second, so a new or renewed key
 * is used without a restart. A key that cannot be used (unreadable, group-
 * or world-writable, malformed) is one log line when it is first seen and
 * on every reconfiguration; its domain's mail then goes out unsigned.
 * Thread-safe: lookups hand out references to the keys.
 *
 * Limits: DKIM_KEYS_MAX keys, DKIM_SIGN_KEYS per domain.
 */
#ifndef MOAT_DKIM_KEYS_H
#define MOAT_DKIM_KEYS_H

#include <stddef.h>

#include "auth/dkim_sign.h"

#define DKIM_KEYS_MAX 4096
#define DKIM_SIGN_KEYS 4 /* signatures per message at most */

/* One key in use or refused, for listings. */
struct dkim_keyent {
	char domain[DKIM_DOMAIN_MAX + 1];
	char selector[DKIM_SELECTOR_MAX + 1];
	char path[4096];
	int from_table;          /* an explicit entry, not a file of the directory */
	struct dkim_signkey key; /* key.pkey NULL: refused, why in error */
	char error[256];
};

struct dkim_keys;

/* An empty store: no directory, no entries. */
struct dkim_keys *dkim_keys_new(void);
/* Log nothing about the keys (for listings). */
void dkim_keys_quiet(struct dkim_keys *ks);
/* Free it (NULL is fine). */
void dkim_keys_free(struct dkim_keys *ks);
/*
 * Use a new configuration: dir ("" for none; a missing one is only noted) and n explicit
 * entries, then read every key again, logging each refused one.
 */
void dkim_keys_configure(struct dkim_keys *ks, const char *dir, const char *const *domains,
                         const char *const *selectors, const char *const *paths, int n);
/* Up to max keys of domain (references: dkim_signkey_clear each); how many. */
int dkim_keys_get(struct dkim_keys *ks, const char *domain, struct dkim_signkey *out, int max);
/* Every key, usable or not, in domain and selector order. */
void dkim_keys_each(struct dkim_keys *ks, void (*fn)(void *arg, const struct dkim_keyent *e),
                    void *arg);
/* How many keys are usable. */
int dkim_keys_usable(struct dkim_keys *ks);
/*
 * A docker-mailserver key file name: rsa-BITS-SELECTOR-DOMAIN.private.txt or
 * ed25519-SELECTOR-DOMAIN.private.txt (the selector ends at its first '-'). 0, or -1.
 */
int dkim_keys_dms_name(const char *name, char *domain, size_t dsize, char *selector, size_t ssize);
/* Read and parse one key file, refusing group- or world-writable ones. 0, or -1 with err. */
int dkim_keys_load(const char *path, struct dkim_signkey *key, char *err, size_t errlen);

#endif
