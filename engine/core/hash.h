/* 64-bit hashing that is identical on every machine and run (unlike
 * Python's salted str hash, which the seed recipe relied on). */
#ifndef FK_CORE_HASH_H
#define FK_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SplitMix64 finaliser: a bijective mix of one 64-bit word. */
static inline uint64_t fk_hash_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* Hash of three integers, e.g. (seed, bin, point). */
static inline uint64_t fk_hash3(uint64_t a, uint64_t b, uint64_t c) {
  return fk_hash_mix(fk_hash_mix(fk_hash_mix(a) ^ b) ^ c);
}

/* Hash of a byte string, seeded. */
uint64_t fk_hash_bytes(const void *data, size_t len, uint64_t seed);

#endif
