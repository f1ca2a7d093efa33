/* Compute pipelines: one descriptor-set layout (FK_VK_MAX_BINDINGS storage
 * buffers, then FK_VK_MAX_TEXELS uniform texel buffers) and one pipeline layout (128 bytes of push
 * constants) for every kernel; pipelines created once per (shader, specialization constants) and
 * cached in memory and in a VkPipelineCache file under the user's cache folder
 * ($XDG_CACHE_HOME/funky, else ~/.cache/funky; FUNKY_CACHE_DIR overrides). A corrupt or foreign
 * cache file is ignored and rewritten.
 *
 * Shader conventions: `layout(local_size_x_id = 0, local_size_y_id = 1,
 * local_size_z_id = 2) in;` so specialization constants 0..2 are the
 * workgroup size; geometry (tiles, kernel size, stride) follows from id 3;
 * shapes come in push constants. */
#ifndef FK_GPU_PIPELINE_H
#define FK_GPU_PIPELINE_H

#include "gpu/context.h"

#define FK_VK_MAX_BINDINGS 8
/* Bindings FK_VK_TEXEL_BINDING + i (i < FK_VK_MAX_TEXELS) are uniform texel
 * buffers: binding i read through a texel view, where a kernel asks. */
#define FK_VK_TEXEL_BINDING 8
#define FK_VK_MAX_TEXELS 2
#define FK_VK_MAX_SPEC 16
#define FK_VK_PUSH_BYTES 128

typedef struct fk_vk_pipeline {
  VkPipeline pipe;
  char name[64];
  uint32_t spec[FK_VK_MAX_SPEC];
  uint32_t n_spec;
  uint32_t local[3]; /* workgroup size (spec 0..2) */
} fk_vk_pipeline;

typedef struct fk_vk_pipes fk_vk_pipes;

int fk_vk_pipes_new(fk_vk *vk, fk_vk_pipes **p, fk_err *e);
/* Saves the pipeline cache file (best effort) and destroys everything. */
void fk_vk_pipes_free(fk_vk_pipes *p);
VkPipelineLayout fk_vk_pipes_layout(const fk_vk_pipes *p);
VkDescriptorSetLayout fk_vk_pipes_set_layout(const fk_vk_pipes *p);
/* spec[0..2] is the workgroup size (1 where 0 is given). */
int fk_vk_pipeline_get(fk_vk_pipes *p, const char *shader, const uint32_t *spec, uint32_t n_spec,
                       const fk_vk_pipeline **out, fk_err *e);
/* Where the cache file lives (for tests and `funky info`). */
const char *fk_vk_pipes_cache_path(const fk_vk_pipes *p);
/* Pipelines created so far (for tests: a second get must not create one). */
uint32_t fk_vk_pipes_count(const fk_vk_pipes *p);

#endif
