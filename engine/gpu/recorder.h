/* The recorder: a whole pass (a UNet step, a blur) recorded into one
 * command buffer and submitted with one fence wait. It inserts a barrier
 * only before a dispatch that reads or writes a buffer range an earlier,
 * not yet fenced-off dispatch wrote, or writes a range one read (the real
 * hazards); independent dispatches run back to back.
 *
 * With FUNKY_PROFILE=1 (and timestamp support) every dispatch is timed;
 * the times are summed per kernel into the profile and printed by
 * fk_vk_profile_print. */
#ifndef FK_GPU_RECORDER_H
#define FK_GPU_RECORDER_H

#include <stdio.h>

#include "gpu/memory.h"
#include "gpu/pipeline.h"

typedef struct fk_vk_bind {
  const fk_vk_buffer *buf;
  VkDeviceSize off, size; /* size 0 = to the end of the buffer */
  int write;              /* the shader writes this binding (FK_VK_IN_PLACE: see below) */
} fk_vk_bind;
/* A written binding that is also read through its texel view: allowed only
 * where every invocation reads each element it writes before writing it,
 * and no invocation reads an element another one writes (a row softmax in
 * place), so the view's cached reads can never see a stale value. */
#define FK_VK_IN_PLACE 2

typedef struct fk_vk_profile fk_vk_profile;
typedef struct fk_vk_rec fk_vk_rec;

int fk_vk_rec_begin(fk_vk *vk, fk_vk_pipes *pipes, fk_vk_profile *prof, fk_vk_rec **r, fk_err *e);
/* Records one dispatch of groups gx x gy x gz with bindings 0..n-1. */
int fk_vk_rec_dispatch(fk_vk_rec *r, const fk_vk_pipeline *p, const fk_vk_bind *binds, uint32_t n,
                       const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz,
                       fk_err *e);
/* The same, with binds[i] (i < FK_VK_MAX_TEXELS) where texel[i] is not
 * VK_FORMAT_UNDEFINED also bound as a texel view of that format at
 * FK_VK_TEXEL_BINDING + i (read-only; fk_vk_texel_fits must hold). */
int fk_vk_rec_dispatch_texel(fk_vk_rec *r, const fk_vk_pipeline *p, const fk_vk_bind *binds,
                             uint32_t n, const VkFormat *texel, const void *push,
                             uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz, fk_err *e);
/* Submits, waits for the fence, collects timestamps; the recorder can then
 * record again. */
int fk_vk_rec_submit(fk_vk_rec *r, fk_err *e);
void fk_vk_rec_free(fk_vk_rec *r);
/* Dispatches and barriers recorded since the last submit (for tests). */
uint32_t fk_vk_rec_dispatches(const fk_vk_rec *r);
uint32_t fk_vk_rec_barriers(const fk_vk_rec *r);

/* Per-kernel GPU time; NULL-safe. Enabled by FUNKY_PROFILE=1 or force. */
fk_vk_profile *fk_vk_profile_new(int force);
void fk_vk_profile_free(fk_vk_profile *p);
void fk_vk_profile_print(const fk_vk_profile *p, FILE *out);
/* Total GPU ms recorded for a kernel name (tests, benchmarks). */
double fk_vk_profile_ms(const fk_vk_profile *p, const char *kernel);

#endif
