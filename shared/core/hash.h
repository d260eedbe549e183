/*
 * hash - 64-bit hashes of short keys (greylist triplets, Bayes tokens).
 *
 * FNV-1a over the bytes, then the splitmix64 finalizer so that every input
 * bit reaches every output bit: keys spread evenly over the 64-bit range,
 * which the greylist store relies on to expire entries slice by slice.
 * Not a defence against chosen collisions; nothing here needs one.
 */
#ifndef MOAT_HASH_H
#define MOAT_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Hash of len bytes. */
uint64_t hash64(const void *p, size_t len);
/* Hash of len bytes, folded to lower case (ASCII). */
uint64_t hash64_lower(const void *p, size_t len);

#endif
