/* Block sub-allocator. Each block is one VkDeviceMemory of a memory type;
 * free space is a sorted list of ranges, first fit, merged on free. Blocks
 * are 64 MiB (or the request, if larger) and are given back when empty,
 * except the first of each kind, which most passes reuse. */
#include "gpu/memory.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_BYTES ((VkDeviceSize)64 << 20)
#define MAX_RANGES 256

typedef struct range {
  VkDeviceSize off, size;
} range;

struct fk_vk_block {
  VkDeviceMemory mem;
  VkDeviceSize size;
  uint32_t type;
  int kind;
  void *map;
  range free[MAX_RANGES];
  uint32_t n_free;
  uint32_t live;
  fk_vk_block *next;
};

typedef struct view {
  VkDeviceSize off, range;
  VkFormat fmt;
  VkBufferView view;
} view;

struct fk_vk_views {
  view *v;
  uint32_t n, cap;
};

struct fk_vk_allocator {
  fk_vk *vk;
  fk_vk_block *blocks;
  VkDeviceSize used, peak;
  uint32_t n_blocks;
  /* FUNKY_VK_MEMORY_LIMIT (MiB): device-local blocks beyond it fail as an
   * out-of-memory device would, to show what fits a smaller GPU and to test
   * the out-of-memory path. 0: no limit. */
  VkDeviceSize limit, device_blocks;
};

int fk_vk_allocator_new(fk_vk *vk, fk_vk_allocator **out, fk_err *e) {
  fk_vk_allocator *a = fk_zalloc(1, sizeof *a);
  if (!a) return fk_err_oom(e, "the GPU allocator", sizeof *a);
  a->vk = vk;
  const char *lim = getenv("FUNKY_VK_MEMORY_LIMIT");
  if (lim && *lim) {
    char *end;
    double mib = strtod(lim, &end);
    if (*end || !(mib > 0)) {
      free(a);
      return fk_err_set(e, FK_EUSER,
                        "FUNKY_VK_MEMORY_LIMIT='%s': give the device memory to allow in MiB", lim);
    }
    a->limit = (VkDeviceSize)(mib * 1048576.0);
  }
  *out = a;
  return FK_OK;
}

/* vkAllocateMemory, under the FUNKY_VK_MEMORY_LIMIT for device-local blocks. */
static VkResult allocate(fk_vk_allocator *a, const VkMemoryAllocateInfo *ai, int kind,
                         VkDeviceMemory *mem) {
  if (a->limit && kind == FK_VK_DEVICE_LOCAL && a->device_blocks + ai->allocationSize > a->limit)
    return VK_ERROR_OUT_OF_DEVICE_MEMORY;
  VkResult r = vkAllocateMemory(a->vk->device, ai, NULL, mem);
  if (r == VK_SUCCESS && kind == FK_VK_DEVICE_LOCAL) a->device_blocks += ai->allocationSize;
  return r;
}

static void block_free(fk_vk_allocator *a, fk_vk_block *b) {
  if (b->map) vkUnmapMemory(a->vk->device, b->mem);
  vkFreeMemory(a->vk->device, b->mem, NULL);
  if (b->kind == FK_VK_DEVICE_LOCAL) a->device_blocks -= b->size;
  free(b);
}

void fk_vk_allocator_free(fk_vk_allocator *a) {
  if (!a) return;
  for (fk_vk_block *b = a->blocks, *n; b; b = n) {
    n = b->next;
    block_free(a, b);
  }
  free(a);
}

VkDeviceSize fk_vk_allocator_used(const fk_vk_allocator *a) {
  return a->used;
}
VkDeviceSize fk_vk_allocator_peak(const fk_vk_allocator *a) {
  return a->peak;
}
VkDeviceSize fk_vk_allocator_limit(const fk_vk_allocator *a) {
  return a->limit;
}
uint32_t fk_vk_allocator_blocks(const fk_vk_allocator *a) {
  return a->n_blocks;
}

static int find_type(const fk_vk *vk, uint32_t bits, int kind, uint32_t *type) {
  VkMemoryPropertyFlags want = kind == FK_VK_HOST_VISIBLE ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                                VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                                                          : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  for (uint32_t i = 0; i < vk->mem.memoryTypeCount; i++)
    if ((bits & (1u << i)) && (vk->mem.memoryTypes[i].propertyFlags & want) == want) {
      *type = i;
      return 0;
    }
  /* Device-local may be absent (some integrated GPUs): any type will do. */
  if (kind == FK_VK_DEVICE_LOCAL)
    for (uint32_t i = 0; i < vk->mem.memoryTypeCount; i++)
      if (bits & (1u << i)) {
        *type = i;
        return 0;
      }
  return -1;
}

static int block_take(fk_vk_block *b, VkDeviceSize size, VkDeviceSize align, VkDeviceSize *off) {
  for (uint32_t i = 0; i < b->n_free; i++) {
    range *r = &b->free[i];
    VkDeviceSize start = (r->off + align - 1) / align * align;
    if (start + size > r->off + r->size) continue;
    VkDeviceSize end = start + size, rend = r->off + r->size;
    if (start > r->off && end < rend) { /* splits in two */
      if (b->n_free == MAX_RANGES) continue;
      memmove(&b->free[i + 2], &b->free[i + 1], (b->n_free - i - 1) * sizeof *r);
      b->free[i + 1] = (range){end, rend - end};
      r->size = start - r->off;
      b->n_free++;
    } else if (start > r->off) {
      r->size = start - r->off;
    } else if (end < rend) {
      r->off = end;
      r->size = rend - end;
    } else {
      memmove(r, r + 1, (b->n_free - i - 1) * sizeof *r);
      b->n_free--;
    }
    *off = start;
    return 0;
  }
  return -1;
}

static void block_give(fk_vk_block *b, VkDeviceSize off, VkDeviceSize size) {
  uint32_t i = 0;
  while (i < b->n_free && b->free[i].off < off) i++;
  int merge_prev = i > 0 && b->free[i - 1].off + b->free[i - 1].size == off;
  int merge_next = i < b->n_free && off + size == b->free[i].off;
  if (merge_prev && merge_next) {
    b->free[i - 1].size += size + b->free[i].size;
    memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof(range));
    b->n_free--;
  } else if (merge_prev) {
    b->free[i - 1].size += size;
  } else if (merge_next) {
    b->free[i].off = off;
    b->free[i].size += size;
  } else if (b->n_free < MAX_RANGES) {
    memmove(&b->free[i + 1], &b->free[i], (b->n_free - i) * sizeof(range));
    b->free[i] = (range){off, size};
    b->n_free++;
  } /* else: the range is lost until the block empties (never seen: 256 ranges) */
}

static int block_new(fk_vk_allocator *a, VkDeviceSize size, uint32_t type, int kind,
                     fk_vk_block **out, fk_err *e) {
  fk_vk *vk = a->vk;
  fk_vk_block *b = fk_zalloc(1, sizeof *b);
  if (!b) return fk_err_oom(e, "a GPU memory block", sizeof *b);
  b->size = size < BLOCK_BYTES ? BLOCK_BYTES : size;
  VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                             .allocationSize = b->size,
                             .memoryTypeIndex = type};
  VkResult r = allocate(a, &ai, kind, &b->mem);
  if (r != VK_SUCCESS && b->size > size) { /* retry with just what is needed */
    b->size = size;
    ai.allocationSize = size;
    r = allocate(a, &ai, kind, &b->mem);
  }
  if (r != VK_SUCCESS) {
    free(b);
    return fk_vk_fail(e, r, "allocating GPU memory");
  }
  if (kind == FK_VK_HOST_VISIBLE) {
    r = vkMapMemory(vk->device, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map);
    if (r != VK_SUCCESS) {
      vkFreeMemory(vk->device, b->mem, NULL);
      if (kind == FK_VK_DEVICE_LOCAL) a->device_blocks -= b->size;
      free(b);
      return fk_vk_fail(e, r, "mapping GPU memory");
    }
  }
  b->type = type;
  b->kind = kind;
  b->free[0] = (range){0, b->size};
  b->n_free = 1;
  b->next = a->blocks;
  a->blocks = b;
  a->n_blocks++;
  *out = b;
  return FK_OK;
}

int fk_vk_buffer_new(fk_vk_allocator *a, VkDeviceSize size, int kind, fk_vk_buffer *out,
                     fk_err *e) {
  fk_vk *vk = a->vk;
  memset(out, 0, sizeof *out);
  if (size == 0) size = 4;
  /* One buffer is one range of one allocation; the ops bind at most
   * maxStorageBufferRange of it at a time (vk_ops.c splits larger ones). */
  VkDeviceSize max = vk->caps.max_alloc ? vk->caps.max_alloc : vk->caps.max_storage_range;
  if (size > max)
    return fk_err_set(e, FK_EUSER,
                      "a %.1f MiB buffer exceeds this device's maxMemoryAllocationSize (%.0f MiB); "
                      "work at a smaller size",
                      (double)size / 1048576.0, (double)max / 1048576.0);
  VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                           .size = size,
                           .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                    VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                    VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                           .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  /* Tensors may also be read as texel buffers where the kernels use them
   * (lavapipe); staging buffers never are. */
  int texels = kind == FK_VK_DEVICE_LOCAL && vk->caps.type == VK_PHYSICAL_DEVICE_TYPE_CPU &&
               vk->caps.texel_f32;
  if (texels) {
    bi.usage |= VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
    out->views = fk_zalloc(1, sizeof *out->views);
    if (!out->views) return fk_err_oom(e, "a buffer's view cache", sizeof *out->views);
  }
  VkResult r = vkCreateBuffer(vk->device, &bi, NULL, &out->buf);
  if (r != VK_SUCCESS) {
    free(out->views);
    out->views = NULL;
    return fk_vk_fail(e, r, "creating a GPU buffer");
  }
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(vk->device, out->buf, &req);
  uint32_t type;
  if (find_type(vk, req.memoryTypeBits, kind, &type) != 0) {
    vkDestroyBuffer(vk->device, out->buf, NULL);
    free(out->views);
    out->views = NULL;
    return fk_err_set(e, FK_EINTERNAL, "Vulkan: no memory type fits a %s buffer",
                      kind == FK_VK_HOST_VISIBLE ? "host-visible" : "device-local");
  }
  VkDeviceSize align = req.alignment ? req.alignment : 1;
  VkDeviceSize span = (req.size + align - 1) / align * align;
  fk_vk_block *b = a->blocks;
  VkDeviceSize off = 0;
  for (; b; b = b->next)
    if (b->type == type && b->kind == kind && block_take(b, span, align, &off) == 0) break;
  if (!b) {
    int rc = block_new(a, span, type, kind, &b, e);
    if (rc == FK_OK && block_take(b, span, align, &off) != 0)
      rc = fk_err_set(e, FK_EINTERNAL, "GPU allocator: a new block cannot hold its request");
    if (rc) {
      vkDestroyBuffer(vk->device, out->buf, NULL);
      out->buf = VK_NULL_HANDLE;
      free(out->views);
      out->views = NULL;
      return rc;
    }
  }
  r = vkBindBufferMemory(vk->device, out->buf, b->mem, off);
  if (r != VK_SUCCESS) {
    block_give(b, off, span);
    vkDestroyBuffer(vk->device, out->buf, NULL);
    out->buf = VK_NULL_HANDLE;
    free(out->views);
    out->views = NULL;
    return fk_vk_fail(e, r, "binding GPU memory");
  }
  b->live++;
  out->size = size;
  out->block = b;
  out->offset = off;
  out->span = span;
  out->map = b->map ? (char *)b->map + off : NULL;
  a->used += span;
  if (a->used > a->peak) a->peak = a->used;
  return FK_OK;
}

void fk_vk_buffer_free(fk_vk_allocator *a, fk_vk_buffer *buf) {
  if (!buf->buf) return;
  fk_vk *vk = a->vk;
  if (buf->views) {
    for (uint32_t i = 0; i < buf->views->n; i++)
      vkDestroyBufferView(vk->device, buf->views->v[i].view, NULL);
    free(buf->views->v);
    free(buf->views);
    buf->views = NULL;
  }
  vkDestroyBuffer(vk->device, buf->buf, NULL);
  fk_vk_block *b = buf->block;
  block_give(b, buf->offset, buf->span);
  a->used -= buf->span;
  if (--b->live == 0) {
    /* Keep one empty block per kind for the next pass; free the rest. */
    int others = 0;
    for (fk_vk_block *o = a->blocks; o; o = o->next)
      if (o != b && o->kind == b->kind && o->type == b->type && o->live == 0) others = 1;
    if (others) {
      fk_vk_block **p = &a->blocks;
      while (*p != b) p = &(*p)->next;
      *p = b->next;
      block_free(a, b);
      a->n_blocks--;
    }
  }
  memset(buf, 0, sizeof *buf);
}

static int one_copy(fk_vk *vk, VkBuffer src, VkDeviceSize soff, VkBuffer dst, VkDeviceSize doff,
                    VkDeviceSize n, fk_err *e) {
  VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                    .commandPool = vk->pool,
                                    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                    .commandBufferCount = 1};
  VkCommandBuffer cb;
  VkResult r = vkAllocateCommandBuffers(vk->device, &ai, &cb);
  if (r != VK_SUCCESS) return fk_vk_fail(e, r, "allocating a command buffer");
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  VkFence fence = VK_NULL_HANDLE;
  VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  r = vkBeginCommandBuffer(cb, &bi);
  if (r == VK_SUCCESS) {
    /* Earlier dispatches may still write src or read dst. */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
                          .dstAccessMask =
                              VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    VkBufferCopy c = {.srcOffset = soff, .dstOffset = doff, .size = n};
    vkCmdCopyBuffer(cb, src, dst, 1, &c);
    VkMemoryBarrier after = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                             .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                             .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT};
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                         &after, 0, NULL, 0, NULL);
    r = vkEndCommandBuffer(cb);
  }
  if (r == VK_SUCCESS) r = vkCreateFence(vk->device, &fi, NULL, &fence);
  if (r == VK_SUCCESS) {
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    r = vkQueueSubmit(vk->queue, 1, &si, fence);
  }
  if (r == VK_SUCCESS) r = vkWaitForFences(vk->device, 1, &fence, VK_TRUE, UINT64_MAX);
  if (fence) vkDestroyFence(vk->device, fence, NULL);
  vkFreeCommandBuffers(vk->device, vk->pool, 1, &cb);
  return r == VK_SUCCESS ? FK_OK : fk_vk_fail(e, r, "copying between GPU buffers");
}

int fk_vk_upload(fk_vk_allocator *a, fk_vk_buffer *dst, VkDeviceSize off, const void *src, size_t n,
                 fk_err *e) {
  if (off + n > dst->size)
    return fk_err_set(e, FK_EINTERNAL, "upload of %zu bytes at %llu overruns a %llu-byte buffer", n,
                      (unsigned long long)off, (unsigned long long)dst->size);
  if (dst->map) {
    memcpy((char *)dst->map + off, src, n);
    return FK_OK;
  }
  fk_vk_buffer st;
  if (fk_vk_buffer_new(a, n, FK_VK_HOST_VISIBLE, &st, e)) return e->code;
  memcpy(st.map, src, n);
  int rc = one_copy(a->vk, st.buf, 0, dst->buf, off, n, e);
  fk_vk_buffer_free(a, &st);
  return rc;
}

int fk_vk_download(fk_vk_allocator *a, const fk_vk_buffer *src, VkDeviceSize off, void *dst,
                   size_t n, fk_err *e) {
  if (off + n > src->size)
    return fk_err_set(e, FK_EINTERNAL, "download of %zu bytes at %llu overruns a %llu-byte buffer",
                      n, (unsigned long long)off, (unsigned long long)src->size);
  if (src->map) {
    memcpy(dst, (const char *)src->map + off, n);
    return FK_OK;
  }
  fk_vk_buffer st;
  if (fk_vk_buffer_new(a, n, FK_VK_HOST_VISIBLE, &st, e)) return e->code;
  int rc = one_copy(a->vk, src->buf, off, st.buf, 0, n, e);
  if (!rc) memcpy(dst, st.map, n);
  fk_vk_buffer_free(a, &st);
  return rc;
}

VkDeviceSize fk_vk_texel_bytes(VkFormat fmt) {
  return fmt == VK_FORMAT_R16G16B16A16_SFLOAT ? 8 : fmt == VK_FORMAT_R32G32B32A32_SFLOAT ? 16 : 0;
}

int fk_vk_texel_fits(const fk_vk *vk, const fk_vk_buffer *b, VkDeviceSize off, VkDeviceSize len,
                     VkFormat fmt) {
  const fk_vk_caps *c = &vk->caps;
  VkDeviceSize tb = fk_vk_texel_bytes(fmt);
  int have = fmt == VK_FORMAT_R16G16B16A16_SFLOAT ? c->texel_f16 : c->texel_f32;
  if (tb) len = len / tb * tb;
  return b->views && have && tb && len >= tb && off + len <= b->size &&
         (!c->texel_offset_align || off % c->texel_offset_align == 0) &&
         len / tb <= c->max_texel_elements;
}

int fk_vk_buffer_view(fk_vk *vk, const fk_vk_buffer *b, VkDeviceSize off, VkDeviceSize len,
                      VkFormat fmt, VkBufferView *out, fk_err *e) {
  if (!fk_vk_texel_fits(vk, b, off, len, fmt))
    return fk_err_set(e, FK_EINTERNAL,
                      "a texel view of bytes %llu..%llu of a %llu-byte buffer is not possible here",
                      (unsigned long long)off, (unsigned long long)(off + len),
                      (unsigned long long)b->size);
  len = len / fk_vk_texel_bytes(fmt) * fk_vk_texel_bytes(fmt);
  fk_vk_views *vs = b->views;
  for (uint32_t i = 0; i < vs->n; i++)
    if (vs->v[i].off == off && vs->v[i].range == len && vs->v[i].fmt == fmt) {
      *out = vs->v[i].view;
      return FK_OK;
    }
  if (vs->n == vs->cap) {
    uint32_t cap = vs->cap ? 2 * vs->cap : 4;
    view *v = realloc(vs->v, cap * sizeof *v);
    if (!v) return fk_err_oom(e, "a buffer's view cache", cap * sizeof *v);
    vs->v = v;
    vs->cap = cap;
  }
  VkBufferViewCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
                               .buffer = b->buf,
                               .format = fmt,
                               .offset = off,
                               .range = len};
  VkResult r = vkCreateBufferView(vk->device, &ci, NULL, out);
  if (r != VK_SUCCESS) return fk_vk_fail(e, r, "creating a texel buffer view");
  vs->v[vs->n++] = (view){off, len, fmt, *out};
  return FK_OK;
}
