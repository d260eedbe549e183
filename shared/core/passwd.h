/*
 * passwd - the controller's passwords: made as crypt(3) hashes (yescrypt,
 * libxcrypt) and checked against those or against the PBKDF2 hashes of
 * Rspamd's `rspamadm pw -t pbkdf2` ("$1$SALT$KEY": keyed BLAKE2b as the
 * PRF, 16000 rounds, a 20-byte salt and 32-byte key in Rspamd's base32),
 * so a docker-mailserver user's imported password keeps working. Catena
 * hashes ("$2$", rspamadm's default) and plain text are refused: the
 * admin sets a new password.
 */
#ifndef MOAT_PASSWD_H
#define MOAT_PASSWD_H

#include <stddef.h>

/* Longest hash passwd_hash() writes, with its NUL. */
#define PASSWD_HASH_MAX 256
/* Longest password accepted (Rspamd's UI sends it in a header). */
#define PASSWD_MAX 1024

/* A yescrypt hash of pw into out; 0, or -1 with err (q1, q2, empty or too long refused). */
int passwd_hash(const char *pw, char *out, size_t outlen, char *err, size_t errlen);
/* Whether the stored hash is one passwd_verify() can check; 0, or -1 with err. */
int passwd_check_stored(const char *stored, char *err, size_t errlen);
/*
 * 1 if pw (len bytes, not trusted to be NUL-free) matches stored, else 0
 * (also for the placeholders q1 and q2, an empty password and an unusable
 * stored value).
 */
int passwd_verify(const char *pw, size_t len, const char *stored);
/* Rspamd's PBKDF2 over keyed BLAKE2b-512 (cryptobox.c); 0, or -1. */
int passwd_pbkdf2_blake2b(const char *pw, size_t pwlen, const unsigned char *salt, size_t saltlen,
                          unsigned rounds, unsigned char *key, size_t keylen);

#endif
