#include "core/hash.h"

#include <string.h>

uint64_t fk_hash_bytes(const void *data, size_t len, uint64_t seed) {
  const unsigned char *p = data;
  uint64_t h = fk_hash_mix(seed ^ (uint64_t)len);
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = fk_hash_mix(h ^ w);
    p += 8;
    len -= 8;
  }
  uint64_t tail = 0;
  memcpy(&tail, p, len);
  return fk_hash_mix(h ^ tail ^ 0xff);
}
