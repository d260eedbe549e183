/*
 * passwd - password hashes for moat-controller; see passwd.h.
 */
#include "config.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/passwd.h"

/* Rspamd's pbkdf_list entry for "$1$" (src/libcryptobox/cryptobox.c). */
#define RSPAMD_PBKDF2_ROUNDS 16000
#define RSPAMD_SALT_LEN 20
#define RSPAMD_KEY_LEN 32
#define BLAKE2B_OUT 64

/* Rspamd never allows its shipped placeholder passwords (worker-controller.inc). */
static int placeholder(const char *pw, size_t len)
{
	return (len == 2 && (memcmp(pw, "q1", 2) == 0 || memcmp(pw, "q2", 2) == 0));
}

int passwd_hash(const char *pw, char *out, size_t outlen, char *err, size_t errlen)
{
	struct crypt_data *cd;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h;
	size_t len = strlen(pw);

	if (len == 0 || len > PASSWD_MAX || placeholder(pw, len)) {
		snprintf(err, errlen, "%s",
		         len == 0           ? "the password is empty"
		         : len > PASSWD_MAX ? "the password is too long"
		                            : "q1 and q2 are Rspamd's placeholders: "
		                              "choose a real password");
		return -1;
	}
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL) {
		snprintf(err, errlen, "crypt_gensalt: no yescrypt in libcrypt");
		return -1;
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h = crypt_r(pw, salt, cd);
	if (h == NULL || h[0] == '*' || strlen(h) >= outlen) {
		snprintf(err, errlen, "crypt failed");
		free(cd);
		return -1;
	}
	memcpy(out, h, strlen(h) + 1);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return 0;
}

/*
 * Rspamd's base32 (rspamd_encode_base32, RSPAMD_BASE32_DEFAULT): the
 * z-base-32 alphabet, but the bits taken least significant first. Exactly
 * outlen bytes must come out of in; -1 otherwise or on a foreign character.
 */
static int zb32_decode(const char *in, size_t inlen, unsigned char *out, size_t outlen)
{
	static const char alpha[] = "ybndrfg8ejkmcpqxot1uwisza345h769";
	unsigned acc = 0, bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < inlen; i++) {
		const char *p = memchr(alpha, in[i], 32);

		if (p == NULL || in[i] == '\0')
			return -1;
		acc |= (unsigned)(p - alpha) << bits;
		bits += 5;
		if (bits >= 8) {
			if (o == outlen)
				return -1;
			out[o++] = (unsigned char)(acc & 0xff);
			acc >>= 8;
			bits -= 8;
		}
	}
	return o == outlen ? 0 : -1;
}

/* One keyed BLAKE2b-512 of in under key (1..64 bytes); 0 or -1. */
static int blake2b_keyed(EVP_MAC *mac, const unsigned char *key, size_t keylen,
                         const unsigned char *in, size_t inlen, unsigned char out[BLAKE2B_OUT])
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	size_t size = BLAKE2B_OUT, outl = 0;
	OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
	                       OSSL_PARAM_construct_end()};
	int ok = ctx && EVP_MAC_init(ctx, key, keylen, params) && EVP_MAC_update(ctx, in, inlen) &&
	         EVP_MAC_final(ctx, out, &outl, BLAKE2B_OUT) && outl == BLAKE2B_OUT;

	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -1;
}

int passwd_pbkdf2_blake2b(const char *pw, size_t pwlen, const unsigned char *salt, size_t saltlen,
                          unsigned rounds, unsigned char *key, size_t keylen)
{
	unsigned char k[BLAKE2B_OUT], d1[BLAKE2B_OUT], d2[BLAKE2B_OUT], obuf[BLAKE2B_OUT];
	unsigned char asalt[64 + 4];
	const unsigned char *pk = (const unsigned char *)pw;
	size_t pklen = pwlen;
	EVP_MAC *mac;
	int rc = -1;

	if (rounds < 1 || keylen == 0 || saltlen == 0 || saltlen > 64 || pwlen == 0)
		return -1;
	if ((mac = EVP_MAC_fetch(NULL, "BLAKE2BMAC", NULL)) == NULL)
		return -1;
	/* A password longer than BLAKE2b's key is hashed first, as Rspamd does. */
	if (pwlen > BLAKE2B_OUT) {
		unsigned int n = 0;

		if (!EVP_Digest(pw, pwlen, k, &n, EVP_blake2b512(), NULL) || n != BLAKE2B_OUT)
			goto out;
		pk = k;
		pklen = BLAKE2B_OUT;
	}
	memcpy(asalt, salt, saltlen);
	for (unsigned count = 1; keylen > 0; count++) {
		size_t r = keylen < BLAKE2B_OUT ? keylen : BLAKE2B_OUT;

		asalt[saltlen + 0] = (unsigned char)(count >> 24);
		asalt[saltlen + 1] = (unsigned char)(count >> 16);
		asalt[saltlen + 2] = (unsigned char)(count >> 8);
		asalt[saltlen + 3] = (unsigned char)count;
		if (blake2b_keyed(mac, pk, pklen, asalt, saltlen + 4, d1) < 0)
			goto out;
		memcpy(obuf, d1, sizeof(obuf));
		for (unsigned i = 1; i < rounds; i++) {
			if (blake2b_keyed(mac, pk, pklen, d1, sizeof(d1), d2) < 0)
				goto out;
			memcpy(d1, d2, sizeof(d1));
			for (size_t j = 0; j < sizeof(obuf); j++)
				obuf[j] ^= d1[j];
		}
		memcpy(key, obuf, r);
		key += r;
		keylen -= r;
	}
	rc = 0;
out:
	explicit_bzero(k, sizeof(k));
	EVP_MAC_free(mac);
	return rc;
}

/* "$1$SALT$KEY" of Rspamd: the salt and key decoded; 0 or -1. */
static int rspamd_parse(const char *stored, unsigned char *salt, unsigned char *key)
{
	const char *s = stored + 3, *d = strchr(s, '$');

	if (strncmp(stored, "$1$", 3) != 0 || d == NULL)
		return -1;
	if (zb32_decode(s, (size_t)(d - s), salt, RSPAMD_SALT_LEN) < 0 ||
	    zb32_decode(d + 1, strlen(d + 1), key, RSPAMD_KEY_LEN) < 0)
		return -1;
	return 0;
}

int passwd_check_stored(const char *stored, char *err, size_t errlen)
{
	unsigned char salt[RSPAMD_SALT_LEN], key[RSPAMD_KEY_LEN];

	if (strncmp(stored, "$2$", 3) == 0) {
		snprintf(err, errlen,
		         "a Catena hash of rspamadm pw: moat cannot check it; set a new "
		         "password with moatctl controller password");
		return -1;
	}
	if (rspamd_parse(stored, salt, key) == 0)
		return 0;
	if (stored[0] != '$' || strncmp(stored, "$1$", 3) == 0) {
		snprintf(err, errlen,
		         "not a password hash (yescrypt, SHA-512 crypt or Rspamd's "
		         "PBKDF2 $1$): set one with moatctl controller password");
		return -1;
	}
	return 0;
}

int passwd_verify(const char *pw, size_t len, const char *stored)
{
	unsigned char salt[RSPAMD_SALT_LEN], key[RSPAMD_KEY_LEN], got[RSPAMD_KEY_LEN];
	struct crypt_data *cd;
	const char *h;
	char *z;
	int ok;

	if (len == 0 || len > PASSWD_MAX || placeholder(pw, len) || memchr(pw, '\0', len))
		return 0;
	if (rspamd_parse(stored, salt, key) == 0) {
		if (passwd_pbkdf2_blake2b(pw, len, salt, sizeof(salt), RSPAMD_PBKDF2_ROUNDS, got,
		                          sizeof(got)) < 0)
			return 0;
		return CRYPTO_memcmp(got, key, sizeof(key)) == 0;
	}
	/* crypt(3) only; MD5-crypt's "$1$" and plain text are not accepted. */
	if (stored[0] != '$' || strncmp(stored, "$1$", 3) == 0 || strncmp(stored, "$2$", 3) == 0)
		return 0;
	if ((cd = calloc(1, sizeof(*cd))) == NULL || (z = strndup(pw, len)) == NULL) {
		free(cd);
		return 0;
	}
	h = crypt_r(z, stored, cd);
	ok = h != NULL && h[0] != '*' && strlen(h) == strlen(stored) &&
	     CRYPTO_memcmp(h, stored, strlen(stored)) == 0;
	explicit_bzero(z, len);
	free(z);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}
