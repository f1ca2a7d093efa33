/* The GPU core on this machine's Vulkan device (lavapipe in CI), with
 * validation on: sub-allocation, uploads/downloads, pipelines and their
 * cache (in memory and on disk, a corrupt file ignored), the recorder's
 * barriers, profiling, and errors for impossible requests. Every output is
 * poisoned with NaN first so an unwritten element fails. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/file.h"
#include "gpu/recorder.h"

typedef struct push {
  uint32_t n;
  float scale, bias;
} push;

static int run_scale(fk_vk *vk, fk_vk_pipes *pipes, fk_vk_allocator *a, uint32_t n) {
  fk_err e = {0};
  fk_vk_buffer x, y, z;
  float *h = malloc(n * sizeof *h), *out = malloc(n * sizeof *out);
  int ok = h && out && !fk_vk_buffer_new(a, n * 4, FK_VK_DEVICE_LOCAL, &x, &e) &&
           !fk_vk_buffer_new(a, n * 4, FK_VK_DEVICE_LOCAL, &y, &e) &&
           !fk_vk_buffer_new(a, n * 4, FK_VK_DEVICE_LOCAL, &z, &e);
  CHECK(ok, "buffers: %s", e.msg);
  if (!ok) return 1;
  for (uint32_t i = 0; i < n; i++) h[i] = (float)((int)(i * 2654435761u % 2001) - 1000) / 1000.0f;
  float nan = NAN;
  float *poison = malloc(n * sizeof *poison);
  for (uint32_t i = 0; i < n; i++) poison[i] = nan;
  CHECK(!fk_vk_upload(a, &x, 0, h, n * 4, &e) && !fk_vk_upload(a, &y, 0, poison, n * 4, &e) &&
            !fk_vk_upload(a, &z, 0, poison, n * 4, &e),
        "upload: %s", e.msg);
  const fk_vk_pipeline *p;
  uint32_t spec[3] = {64, 1, 1};
  CHECK(!fk_vk_pipeline_get(pipes, "scale_bias", spec, 3, &p, &e), "pipeline: %s", e.msg);
  fk_vk_profile *prof = fk_vk_profile_new(1);
  fk_vk_rec *r;
  CHECK(!fk_vk_rec_begin(vk, pipes, prof, &r, &e), "recorder: %s", e.msg);
  uint32_t groups = (n + 63) / 64;
  push p1 = {n, 2.0f, 1.0f}, p2 = {n, -0.5f, 0.25f};
  fk_vk_bind b1[] = {{&x, 0, 0, 0}, {&y, 0, 0, 1}};
  fk_vk_bind b2[] = {{&y, 0, 0, 0}, {&z, 0, 0, 1}};
  fk_vk_bind b3[] = {{&x, 0, 0, 0}, {&z, 0, 0, 1}};
  /* y = 2x + 1, then z = -0.5 y + 0.25 reads y: one barrier. */
  CHECK(!fk_vk_rec_dispatch(r, p, b1, 2, &p1, sizeof p1, groups, 1, 1, &e), "%s", e.msg);
  CHECK(fk_vk_rec_barriers(r) == 0, "no barrier before the first dispatch");
  CHECK(!fk_vk_rec_dispatch(r, p, b2, 2, &p2, sizeof p2, groups, 1, 1, &e), "%s", e.msg);
  CHECK(fk_vk_rec_barriers(r) == 1, "read after write needs one barrier, got %u",
        fk_vk_rec_barriers(r));
  CHECK(!fk_vk_rec_submit(r, &e), "submit: %s", e.msg);
  CHECK(!fk_vk_download(a, &z, 0, out, n * 4, &e), "download: %s", e.msg);
  int bad = 0;
  for (uint32_t i = 0; i < n; i++) {
    float want = (h[i] * 2.0f + 1.0f) * -0.5f + 0.25f;
    if (!(fabsf(out[i] - want) <= 1e-6f)) bad++;
  }
  CHECK(bad == 0, "n=%u: %d of %u elements wrong", n, bad, n);
  /* Two dispatches reading x and writing different halves: independent. */
  uint32_t half = n / 8 * 16; /* a multiple of 4 floats: storage offsets must be aligned */
  fk_vk_bind c1[] = {{&x, 0, 0, 0}, {&y, 0, half ? half : n * 4, 1}};
  fk_vk_bind c2[] = {{&x, 0, 0, 0}, {&y, half, n * 4 - half, 1}};
  CHECK(!fk_vk_rec_dispatch(r, p, c1, 2, &p1, sizeof p1, 1, 1, 1, &e), "%s", e.msg);
  if (half > 0) {
    push ph = {n - half / 4, 2.0f, 1.0f};
    CHECK(!fk_vk_rec_dispatch(r, p, c2, 2, &ph, sizeof ph, 1, 1, 1, &e), "%s", e.msg);
  }
  CHECK(fk_vk_rec_barriers(r) == 0, "independent dispatches got %u barriers",
        fk_vk_rec_barriers(r));
  /* Write after read: z = x (writes z), then x = z? use b3 then b1-like reading z. */
  CHECK(!fk_vk_rec_dispatch(r, p, b3, 2, &p1, sizeof p1, groups, 1, 1, &e), "%s", e.msg);
  CHECK(fk_vk_rec_barriers(r) == 0, "x read twice, z written once: no hazard");
  CHECK(!fk_vk_rec_submit(r, &e), "submit: %s", e.msg);
  CHECK(fk_vk_profile_ms(prof, "scale_bias") > 0 || !vk->caps.timestamps, "profile recorded");
  fk_vk_rec_free(r);
  fk_vk_profile_free(prof);
  fk_vk_buffer_free(a, &x);
  fk_vk_buffer_free(a, &y);
  fk_vk_buffer_free(a, &z);
  free(h);
  free(out);
  free(poison);
  return 0;
}

int main(void) {
  const char *tmp = getenv("TMP");
  char cache_dir[4096];
  snprintf(cache_dir, sizeof cache_dir, "%s/cache", tmp ? tmp : "/tmp/funky-test-vk");
  fk_file_mkdirs(cache_dir, NULL);
  setenv("FUNKY_CACHE_DIR", cache_dir, 1);
  fk_err e = {0};
  fk_vk *vk;
  fk_vk_opts o = {.validation = 1};
  if (fk_vk_create(&vk, &o, &e)) {
    CHECK(0, "context: %s", e.msg);
    return CHECK_DONE();
  }
  fk_vk_pipes *pipes;
  fk_vk_allocator *a;
  CHECK(!fk_vk_pipes_new(vk, &pipes, &e) && !fk_vk_allocator_new(vk, &a, &e), "%s", e.msg);
  char path[4200];
  snprintf(path, sizeof path, "%s", fk_vk_pipes_cache_path(pipes));
  uint32_t sizes[] = {1, 7, 33, 64, 1000, 65537};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) run_scale(vk, pipes, a, sizes[i]);
  CHECK(fk_vk_pipes_count(pipes) == 1, "one pipeline for one (shader, spec), got %u",
        fk_vk_pipes_count(pipes));
  /* Sub-allocation: a hundred small buffers share one block. */
  uint32_t blocks = fk_vk_allocator_blocks(a);
  fk_vk_buffer many[100];
  for (int i = 0; i < 100; i++) CHECK(!fk_vk_buffer_new(a, 4096 + i, 0, &many[i], &e), "%s", e.msg);
  CHECK(fk_vk_allocator_blocks(a) <= blocks + 1, "100 buffers took %u blocks",
        fk_vk_allocator_blocks(a) - blocks);
  for (int i = 0; i < 100; i += 2) fk_vk_buffer_free(a, &many[i]);
  for (int i = 1; i < 100; i += 2) fk_vk_buffer_free(a, &many[i]);
  CHECK(fk_vk_allocator_used(a) == 0, "all freed: %llu bytes still used",
        (unsigned long long)fk_vk_allocator_used(a));
  /* Texel views (lavapipe's fast reads): one per (range, format), cached
   * with the buffer and destroyed with it (a leak would be a validation
   * message at device destruction); ranges that cannot be views say so. */
  fk_vk_buffer tb;
  CHECK(!fk_vk_buffer_new(a, 1000, FK_VK_DEVICE_LOCAL, &tb, &e), "%s", e.msg);
  VkFormat f32 = VK_FORMAT_R32G32B32A32_SFLOAT;
  if (fk_vk_texel_fits(vk, &tb, 0, tb.size, f32)) {
    VkBufferView v1, v2, v3;
    CHECK(!fk_vk_buffer_view(vk, &tb, 0, tb.size, f32, &v1, &e) &&
              !fk_vk_buffer_view(vk, &tb, 0, tb.size, f32, &v2, &e) &&
              !fk_vk_buffer_view(vk, &tb, 256, 512, f32, &v3, &e),
          "views: %s", e.msg);
    CHECK(v1 == v2 && v1 != v3, "the same range gives the cached view, another a new one");
    CHECK(!fk_vk_texel_fits(vk, &tb, 4, 64, f32), "a misaligned view offset is refused");
    CHECK(!fk_vk_texel_fits(vk, &tb, 0, 4, f32), "a range under one texel is refused");
    CHECK(!fk_vk_texel_fits(vk, &tb, 992, 64, f32), "a range past the end is refused");
    CHECK(fk_vk_buffer_view(vk, &tb, 4, 64, f32, &v3, &e) != FK_OK, "misaligned view made");
  }
  fk_vk_buffer_free(a, &tb);
  /* Impossible requests fail with a message, not a crash. */
  fk_vk_buffer big;
  int rc = fk_vk_buffer_new(a, vk->caps.max_alloc + 1, 0, &big, &e);
  CHECK(rc != FK_OK && strstr(e.msg, "maxMemoryAllocationSize"), "oversized buffer: %s", e.msg);
  const fk_vk_pipeline *p;
  rc = fk_vk_pipeline_get(pipes, "no_such_shader", NULL, 0, &p, &e);
  CHECK(rc != FK_OK && strstr(e.msg, "no_such_shader"), "unknown shader: %s", e.msg);
  uint32_t huge[3] = {4096, 4096, 1};
  rc = fk_vk_pipeline_get(pipes, "scale_bias", huge, 3, &p, &e);
  CHECK(rc != FK_OK && strstr(e.msg, "workgroup"), "oversized workgroup: %s", e.msg);
  fk_vk_allocator_free(a);
  fk_vk_pipes_free(pipes); /* writes the cache file */
  CHECK(fk_file_exists(path), "pipeline cache file %s written", path);
  /* A corrupt cache file is ignored, then rewritten. */
  fk_file_write_atomic(path, "garbage, not a pipeline cache", 29, NULL);
  CHECK(!fk_vk_pipes_new(vk, &pipes, &e), "pipes over a corrupt cache: %s", e.msg);
  CHECK(!fk_vk_allocator_new(vk, &a, &e), "%s", e.msg);
  run_scale(vk, pipes, a, 100);
  fk_vk_allocator_free(a);
  fk_vk_pipes_free(pipes);
  char *data;
  size_t len = 0;
  uint32_t header = 0;
  CHECK(!fk_file_read(path, &data, &len, NULL) && len >= 32 &&
            (memcpy(&header, data, 4), header == 32),
        "cache rewritten with a Vulkan header (%zu bytes)", len);
  if (len) free(data);
  /* A dispatch with a misaligned binding is refused before Vulkan sees it. */
  CHECK(!fk_vk_pipes_new(vk, &pipes, &e) && !fk_vk_allocator_new(vk, &a, &e), "%s", e.msg);
  fk_vk_buffer m;
  fk_vk_rec *r;
  CHECK(!fk_vk_buffer_new(a, 256, 0, &m, &e) && !fk_vk_rec_begin(vk, pipes, NULL, &r, &e), "%s",
        e.msg);
  CHECK(!fk_vk_pipeline_get(pipes, "scale_bias", NULL, 0, &p, &e), "%s", e.msg);
  fk_vk_bind mis[] = {{&m, 4, 16, 0}, {&m, 64, 16, 1}};
  push pp = {4, 1, 0};
  rc = fk_vk_rec_dispatch(r, p, mis, 2, &pp, sizeof pp, 1, 1, 1, &e);
  CHECK(rc != FK_OK && strstr(e.msg, "alignment"), "misaligned binding: %s", e.msg);
  fk_vk_rec_free(r);
  fk_vk_buffer_free(a, &m);
  fk_vk_allocator_free(a);
  fk_vk_pipes_free(pipes);
  CHECK(vk->validation_messages == 0, "%u validation messages, last: %s", vk->validation_messages,
        vk->last_validation);
  fk_vk_destroy(vk);
  return CHECK_DONE();
}
