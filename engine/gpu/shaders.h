/* Compute shaders compiled from shaders/NAME.comp by glslc at build time. */
#ifndef FK_GPU_SHADERS_H
#define FK_GPU_SHADERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct fk_vk_shader {
  const char *name; /* file stem: "blur_gauss" */
  const uint32_t *code;
  size_t words;
} fk_vk_shader;

extern const fk_vk_shader fk_vk_shaders[]; /* ends with a NULL name */

#endif
