/*
 * dkim_signkey - private keys for DKIM signing, from the text of a key
 * file; see dkim_sign.h.
 *
 * Read as Rspamd reads them (src/libserver/dkim.c, rspamd_dkim_sign_key_load):
 * PEM through OpenSSL (PKCS#1 "RSA PRIVATE KEY", PKCS#8 "PRIVATE KEY", an
 * Ed25519 PKCS#8 key), or base64 of a raw Ed25519 key: the 32-byte seed,
 * or libsodium's 64 bytes of seed and public key, which is what
 * `rspamadm dkim_keygen -t ed25519` writes. An encrypted PEM key is refused,
 * never prompted for.
 */
#include "config.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "auth/dkim_sign.h"
#include "core/sbuf.h"

/* No passphrase: an encrypted key fails to load instead of asking a terminal. */
static int no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/* Base64 of a raw Ed25519 key, whitespace around and inside it ignored. */
static EVP_PKEY *raw_ed25519(const char *text, size_t len, char *err, size_t errlen)
{
	char clean[256];
	unsigned char raw[200], pub[32];
	size_t n = 0, plen = sizeof(pub);
	int dl, pad = 0;
	EVP_PKEY *pk;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')
			continue;
		if (!is_b64(text[i]) || n + 1 >= sizeof(clean)) {
			snprintf(err, errlen, "neither PEM nor base64 of a raw Ed25519 key");
			return NULL;
		}
		clean[n++] = text[i];
	}
	if (n == 0 || n % 4 != 0) {
		snprintf(err, errlen, "neither PEM nor base64 of a raw Ed25519 key");
		return NULL;
	}
	pad = (clean[n - 1] == '=') + (clean[n - 2] == '=');
	dl = EVP_DecodeBlock(raw, (unsigned char *)clean, (int)n);
	if (dl < 0 || memchr(clean, '=', n - (size_t)pad)) {
		snprintf(err, errlen, "bad base64");
		return NULL;
	}
	dl -= pad;
	if (dl != 32 && dl != 64) {
		snprintf(err, errlen, "a raw Ed25519 key is 32 or 64 bytes, not %d", dl);
		return NULL;
	}
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
	/* libsodium's form repeats the public key: it must be this seed's. */
	if (pk && dl == 64 &&
	    (EVP_PKEY_get_raw_public_key(pk, pub, &plen) != 1 || memcmp(pub, raw + 32, 32) != 0)) {
		EVP_PKEY_free(pk);
		snprintf(err, errlen, "the Ed25519 key's public half does not belong to its seed");
		return NULL;
	}
	if (pk == NULL)
		snprintf(err, errlen, "not an Ed25519 key");
	return pk;
}

static EVP_PKEY *pem(const char *text, size_t len, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_pass, NULL) : NULL;

	BIO_free(bio);
	if (pk == NULL)
		snprintf(err, errlen, "not a private key in PEM (an encrypted key cannot be used)");
	return pk;
}

/* Whether an RSA key's private parts are consistent (OpenSSL's key check). */
static int rsa_consistent(EVP_PKEY *pk)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	int ok = c != NULL && EVP_PKEY_check(c) == 1;

	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return ok;
}

int dkim_signkey_parse(const char *text, size_t len, struct dkim_signkey *key, char *err,
                       size_t errlen)
{
	EVP_PKEY *pk;

	key->pkey = NULL;
	if (len > DKIM_KEYFILE_MAX) {
		snprintf(err, errlen, "more than %d bytes", DKIM_KEYFILE_MAX);
		return -1;
	}
	if (memmem(text, len, "-----BEGIN", 10))
		pk = pem(text, len, err, errlen);
	else
		pk = raw_ed25519(text, len, err, errlen);
	if (pk == NULL)
		return -1;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519) {
		key->k = DKIM_KEY_ED25519;
		key->bits = 256;
	} else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
		key->k = DKIM_KEY_RSA;
		key->bits = EVP_PKEY_get_bits(pk);
		if (key->bits < 1024 || key->bits > 8192) {
			snprintf(err, errlen, "an RSA key of %d bits (1024 to 8192 sign)",
			         key->bits);
			EVP_PKEY_free(pk);
			return -1;
		}
		/*
		 * A key whose parts do not belong together (a damaged file) parses, then
		 * fails every signature: say so at load, not at each message.
		 */
		if (!rsa_consistent(pk)) {
			snprintf(err, errlen, "an RSA key whose parts do not fit together");
			EVP_PKEY_free(pk);
			return -1;
		}
	} else {
		snprintf(err, errlen, "neither an RSA nor an Ed25519 key");
		EVP_PKEY_free(pk);
		return -1;
	}
	key->pkey = pk;
	return 0;
}

void dkim_signkey_copy(struct dkim_signkey *dst, const struct dkim_signkey *src)
{
	*dst = *src;
	if (dst->pkey)
		EVP_PKEY_up_ref(dst->pkey);
}

void dkim_signkey_clear(struct dkim_signkey *key)
{
	EVP_PKEY_free(key->pkey);
	key->pkey = NULL;
}

/* The p= bytes: SubjectPublicKeyInfo for RSA, the raw 32 bytes for Ed25519 (RFC 8463). */
static int public_bytes(const struct dkim_signkey *key, unsigned char *out, size_t size,
                        size_t *len)
{
	if (key->k == DKIM_KEY_ED25519) {
		*len = size;
		return EVP_PKEY_get_raw_public_key(key->pkey, out, len) == 1 ? 0 : -1;
	} else {
		int n = i2d_PUBKEY(key->pkey, NULL);
		unsigned char *p = out;

		if (n <= 0 || (size_t)n > size || i2d_PUBKEY(key->pkey, &p) != n)
			return -1;
		*len = (size_t)n;
		return 0;
	}
}

int dkim_signkey_record(const struct dkim_signkey *key, struct sbuf *out)
{
	unsigned char pub[DKIM_KEY_BYTES];
	char b64[DKIM_KEY_BYTES * 2];
	size_t len;

	if (key->pkey == NULL || public_bytes(key, pub, sizeof(pub), &len) < 0)
		return -1;
	EVP_EncodeBlock((unsigned char *)b64, pub, (int)len);
	sbuf_printf(out, "v=DKIM1; k=%s; p=%s", key->k == DKIM_KEY_RSA ? "rsa" : "ed25519", b64);
	return 0;
}

int dkim_signkey_matches(const struct dkim_signkey *key, const struct dkim_key *rec)
{
	unsigned char pub[DKIM_KEY_BYTES];
	size_t len;

	if (key->pkey == NULL || rec->revoked || rec->k != key->k ||
	    public_bytes(key, pub, sizeof(pub), &len) < 0)
		return 0;
	return rec->plen == len && memcmp(rec->p, pub, len) == 0;
}
