/*
 * siphash - SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit MAC.
 *
 * Used where moat-policyd hands information to moat-contentfilter through
 * a header the sender could also have written (X-Moat-Policy): with a key
 * only the two daemons know, a forged header does not verify.
 */
#ifndef MOAT_SIPHASH_H
#define MOAT_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* MAC of len bytes under a 16-byte key. */
uint64_t siphash24(const unsigned char key[16], const void *p, size_t len);
/* Parse 32 hex digits into a key; 0 or -1. */
int siphash_key_parse(const char *hex, unsigned char key[16]);

#endif
