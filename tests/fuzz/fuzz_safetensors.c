/* libFuzzer target: any byte string must parse or fail cleanly, and every
 * tensor of a file that parses must be fully readable. */
#include <stdint.h>
#include <stdlib.h>

#include "models/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fk_err e = {0};
  fk_st_file *f = NULL;
  if (fk_st_parse_memory(data, size, "fuzz.safetensors", &f, &e) != 0) return 0;
  size_t n = fk_st_count(f);
  for (size_t i = 0; i < n; i++) {
    const fk_st_tensor *t = fk_st_get(f, i);
    if (fk_st_find(f, t->name) != t) abort();
    float *v = NULL;
    if (fk_st_to_f32(t, &v, &e) == 0) free(v);
  }
  for (size_t i = 0; i < fk_st_metadata_count(f); i++) {
    const char *k, *v;
    fk_st_metadata_at(f, i, &k, &v);
    if (!fk_st_metadata(f, k)) abort();
  }
  fk_st_close(f);
  return 0;
}
