/* The Vulkan context: instance, validation messenger, the chosen device and
 * its capability table, one compute queue.
 *
 * Device choice: a discrete GPU, then an integrated one, then a CPU device
 * (lavapipe); FUNKY_VK_DEVICE=index|name-substring overrides. Validation
 * (VK_LAYER_KHRONOS_validation) is on when asked for or when
 * FUNKY_VK_VALIDATION=1; every message it prints is counted, and tests fail
 * on a nonzero count. */
#ifndef FK_GPU_CONTEXT_H
#define FK_GPU_CONTEXT_H

#include <stdint.h>
#include <vulkan/vulkan.h>

#include "core/error.h"

typedef struct fk_vk_caps {
  char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
  char driver[VK_MAX_DRIVER_NAME_SIZE + VK_MAX_DRIVER_INFO_SIZE + 4];
  VkPhysicalDeviceType type;
  uint32_t api_version, vendor_id, device_id;
  int fp16_storage; /* 16-bit storage buffers: fp16 weights/activations */
  int fp16_arith;   /* shaderFloat16 */
  int fp16_enabled; /* fp16 storage in use (off with FUNKY_VK_NO_FP16=1) */
  uint32_t subgroup_size;
  int subgroup_arith; /* subgroup arithmetic + ballot/broadcast in compute */
  uint32_t max_wg_invocations, max_wg_size[3], max_wg_count[3];
  uint32_t max_shared;           /* bytes of shared memory per workgroup */
  uint64_t max_storage_range;    /* bytes one binding may cover (FUNKY_VK_MAX_RANGE may lower it) */
  uint64_t max_alloc;            /* maxMemoryAllocationSize: the largest buffer (one allocation) */
  uint64_t storage_offset_align; /* minStorageBufferOffsetAlignment */
  /* RGBA32F / RGBA16F usable as uniform texel buffers (lavapipe reads them
   * on a SIMD path, ANCHORS.md), with maxTexelBufferElements and
   * minTexelBufferOffsetAlignment */
  int texel_f32, texel_f16;
  uint32_t max_texel_elements;
  uint64_t texel_offset_align;
  uint32_t max_push_constants;
  uint64_t device_local_bytes, host_visible_bytes;
  uint32_t heap_count;
  VkDeviceSize heap_size[VK_MAX_MEMORY_HEAPS];
  int heap_device_local[VK_MAX_MEMORY_HEAPS];
  int timestamps; /* compute queue supports timestamps */
  float timestamp_period_ns;
} fk_vk_caps;

typedef struct fk_vk_opts {
  int validation;     /* also on with FUNKY_VK_VALIDATION=1 */
  const char *device; /* index or name substring; NULL = $FUNKY_VK_DEVICE or automatic */
} fk_vk_opts;

typedef struct fk_vk {
  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice phys;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  VkCommandPool pool;
  VkPhysicalDeviceMemoryProperties mem;
  fk_vk_caps caps;
  int validation;
  uint32_t validation_messages; /* warnings and errors reported by the layer */
  char last_validation[1024];
} fk_vk;

int fk_vk_create(fk_vk **vk, const fk_vk_opts *opts, fk_err *e);
void fk_vk_destroy(fk_vk *vk);
/* Writes a human-readable capability table of every device (the chosen one
 * marked) to out. */
int fk_vk_describe(const fk_vk *vk, char *out, size_t n);
/* The device type as a word: "discrete", "integrated", "cpu", ... */
const char *fk_vk_type_name(VkPhysicalDeviceType t);
/* Message for a failed Vulkan call: what failed and what to try. */
int fk_vk_fail(fk_err *e, VkResult r, const char *what);
const char *fk_vk_result_name(VkResult r);

#endif
