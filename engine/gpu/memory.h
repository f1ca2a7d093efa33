/* Device memory: buffers sub-allocated from large VkDeviceMemory blocks
 * (a few vkAllocateMemory calls instead of one per tensor), and staging
 * copies for uploads and downloads.
 *
 * Split like ncnn's allocator/recorder: this file owns memory, the
 * recorder (recorder.h) owns command buffers and barriers. */
#ifndef FK_GPU_MEMORY_H
#define FK_GPU_MEMORY_H

#include "gpu/context.h"

typedef struct fk_vk_block fk_vk_block;
typedef struct fk_vk_views fk_vk_views;

typedef struct fk_vk_buffer {
  VkBuffer buf;
  VkDeviceSize size;
  fk_vk_block *block;  /* where its memory lives */
  VkDeviceSize offset; /* within the block */
  VkDeviceSize span;   /* bytes taken from the block (size rounded up for alignment) */
  void *map;           /* host-visible buffers: the mapped pointer */
  fk_vk_views *views;  /* device-local buffers on a device with texel buffers: cached views */
} fk_vk_buffer;

enum { FK_VK_DEVICE_LOCAL = 0, FK_VK_HOST_VISIBLE = 1 };

typedef struct fk_vk_allocator fk_vk_allocator;

int fk_vk_allocator_new(fk_vk *vk, fk_vk_allocator **a, fk_err *e);
void fk_vk_allocator_free(fk_vk_allocator *a);
/* Bytes currently handed out, and the high-water mark. */
VkDeviceSize fk_vk_allocator_used(const fk_vk_allocator *a);
VkDeviceSize fk_vk_allocator_peak(const fk_vk_allocator *a);
uint32_t fk_vk_allocator_blocks(const fk_vk_allocator *a);
/* FUNKY_VK_MEMORY_LIMIT in bytes, 0 where unset. */
VkDeviceSize fk_vk_allocator_limit(const fk_vk_allocator *a);

/* A storage buffer of size bytes, at most maxMemoryAllocationSize (its own
 * allocation past 64 MiB). A binding covers at most maxStorageBufferRange
 * of it: the ops bind sub-ranges of larger ones (engine/nn/vk_ops.c).
 * kind: FK_VK_DEVICE_LOCAL or FK_VK_HOST_VISIBLE. */
int fk_vk_buffer_new(fk_vk_allocator *a, VkDeviceSize size, int kind, fk_vk_buffer *b, fk_err *e);
void fk_vk_buffer_free(fk_vk_allocator *a, fk_vk_buffer *b);
/* A uniform texel buffer view of the whole texels of bytes [off, off +
 * range) of a device-local buffer as fmt, made on first use and kept until
 * fk_vk_buffer_free (a model pass binds the same ranges again and again).
 * off must be a multiple of the texel offset alignment and the texel count
 * at most maxTexelBufferElements; fk_vk_texel_fits says whether a range
 * qualifies (else the kernel reads the storage buffer). */
int fk_vk_buffer_view(fk_vk *vk, const fk_vk_buffer *b, VkDeviceSize off, VkDeviceSize range,
                      VkFormat fmt, VkBufferView *out, fk_err *e);
int fk_vk_texel_fits(const fk_vk *vk, const fk_vk_buffer *b, VkDeviceSize off, VkDeviceSize range,
                     VkFormat fmt);
/* Bytes per texel of the formats used for texel buffers (RGBA32F, RGBA16F). */
VkDeviceSize fk_vk_texel_bytes(VkFormat fmt);

/* Copies through a staging buffer and waits for the copy. */
int fk_vk_upload(fk_vk_allocator *a, fk_vk_buffer *dst, VkDeviceSize off, const void *src, size_t n,
                 fk_err *e);
int fk_vk_download(fk_vk_allocator *a, const fk_vk_buffer *src, VkDeviceSize off, void *dst,
                   size_t n, fk_err *e);

#endif
