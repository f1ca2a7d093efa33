/* Command recording with hazard tracking. Accesses since the last barrier
 * are kept as (buffer, range, read/write); a new dispatch that conflicts
 * with one of them gets a full compute->compute memory barrier, which also
 * retires every tracked access. */
#include "gpu/recorder.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ACCESS 1024
#define SETS_PER_POOL 256
#define MAX_POOLS 64
#define MAX_TIMED 4096
#define MAX_KERNELS 128

typedef struct access {
  VkBuffer buf;
  VkDeviceSize lo, hi;
  int write;
} access;

typedef struct kernel_time {
  char name[64];
  double ms;
  uint64_t calls;
} kernel_time;

struct fk_vk_profile {
  kernel_time k[MAX_KERNELS];
  uint32_t n;
};

struct fk_vk_rec {
  fk_vk *vk;
  fk_vk_pipes *pipes;
  fk_vk_profile *prof;
  VkCommandBuffer cb;
  VkFence fence;
  VkDescriptorPool pools[MAX_POOLS];
  uint32_t n_pools, used_in_pool;
  access acc[MAX_ACCESS];
  uint32_t n_acc;
  uint32_t dispatches, barriers;
  int recording;
  VkQueryPool queries;
  const fk_vk_pipeline *timed[MAX_TIMED];
  uint32_t n_timed;
};

fk_vk_profile *fk_vk_profile_new(int force) {
  const char *env = getenv("FUNKY_PROFILE");
  if (!force && !(env && !strcmp(env, "1"))) return NULL;
  return calloc(1, sizeof(fk_vk_profile));
}

void fk_vk_profile_free(fk_vk_profile *p) {
  free(p);
}

static int by_time(const void *a, const void *b) {
  double d = ((const kernel_time *)b)->ms - ((const kernel_time *)a)->ms;
  return d > 0 ? 1 : d < 0 ? -1 : 0;
}

void fk_vk_profile_print(const fk_vk_profile *p, FILE *out) {
  if (!p || p->n == 0) return;
  kernel_time k[MAX_KERNELS];
  memcpy(k, p->k, p->n * sizeof *k);
  qsort(k, p->n, sizeof *k, by_time);
  double total = 0;
  for (uint32_t i = 0; i < p->n; i++) total += k[i].ms;
  fprintf(out, "GPU time by kernel (FUNKY_PROFILE=1):\n%-24s %10s %8s %10s %6s\n", "kernel",
          "total ms", "calls", "ms/call", "share");
  for (uint32_t i = 0; i < p->n; i++)
    fprintf(out, "%-24s %10.3f %8llu %10.4f %5.1f%%\n", k[i].name, k[i].ms,
            (unsigned long long)k[i].calls, k[i].ms / (double)k[i].calls,
            total > 0 ? 100.0 * k[i].ms / total : 0.0);
}

double fk_vk_profile_ms(const fk_vk_profile *p, const char *kernel) {
  if (!p) return 0;
  for (uint32_t i = 0; i < p->n; i++)
    if (!strcmp(p->k[i].name, kernel)) return p->k[i].ms;
  return 0;
}

static void profile_add(fk_vk_profile *p, const char *name, double ms) {
  uint32_t i = 0;
  while (i < p->n && strcmp(p->k[i].name, name)) i++;
  if (i == p->n) {
    if (p->n == MAX_KERNELS) return;
    snprintf(p->k[i].name, sizeof p->k[i].name, "%s", name);
    p->n++;
  }
  p->k[i].ms += ms;
  p->k[i].calls++;
}

static int begin_cb(fk_vk_rec *r, fk_err *e) {
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  VkResult res = vkBeginCommandBuffer(r->cb, &bi);
  if (res != VK_SUCCESS) return fk_vk_fail(e, res, "beginning a command buffer");
  if (r->queries) vkCmdResetQueryPool(r->cb, r->queries, 0, 2 * MAX_TIMED);
  r->recording = 1;
  r->n_acc = 0;
  r->dispatches = r->barriers = 0;
  r->n_timed = 0;
  r->used_in_pool = 0;
  for (uint32_t i = 0; i < r->n_pools; i++) vkResetDescriptorPool(r->vk->device, r->pools[i], 0);
  r->n_pools = r->n_pools ? 1 : 0;
  return FK_OK;
}

int fk_vk_rec_begin(fk_vk *vk, fk_vk_pipes *pipes, fk_vk_profile *prof, fk_vk_rec **out,
                    fk_err *e) {
  *out = NULL;
  fk_vk_rec *r = fk_zalloc(1, sizeof *r);
  if (!r) return fk_err_oom(e, "a command recorder", sizeof *r);
  r->vk = vk;
  r->pipes = pipes;
  r->prof = vk->caps.timestamps ? prof : NULL;
  VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                    .commandPool = vk->pool,
                                    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                    .commandBufferCount = 1};
  VkResult res = vkAllocateCommandBuffers(vk->device, &ai, &r->cb);
  VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if (res == VK_SUCCESS) res = vkCreateFence(vk->device, &fi, NULL, &r->fence);
  if (res == VK_SUCCESS && r->prof) {
    VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                .queryCount = 2 * MAX_TIMED};
    res = vkCreateQueryPool(vk->device, &qi, NULL, &r->queries);
  }
  if (res != VK_SUCCESS) {
    fk_vk_rec_free(r);
    return fk_vk_fail(e, res, "creating a command recorder");
  }
  if (begin_cb(r, e)) {
    fk_vk_rec_free(r);
    return e->code;
  }
  *out = r;
  return FK_OK;
}

static int alloc_set(fk_vk_rec *r, VkDescriptorSet *set, fk_err *e) {
  if (r->n_pools == 0 || r->used_in_pool == SETS_PER_POOL) {
    if (r->n_pools == MAX_POOLS)
      return fk_err_set(e, FK_EINTERNAL, "a pass of more than %d dispatches; split it",
                        MAX_POOLS * SETS_PER_POOL);
    if (!r->pools[r->n_pools]) {
      VkDescriptorPoolSize ps[] = {{.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                    .descriptorCount = SETS_PER_POOL * FK_VK_MAX_BINDINGS},
                                   {.type = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                    .descriptorCount = SETS_PER_POOL * FK_VK_MAX_TEXELS}};
      VkDescriptorPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                       .maxSets = SETS_PER_POOL,
                                       .poolSizeCount = 2,
                                       .pPoolSizes = ps};
      VkResult res = vkCreateDescriptorPool(r->vk->device, &pi, NULL, &r->pools[r->n_pools]);
      if (res != VK_SUCCESS) return fk_vk_fail(e, res, "creating a descriptor pool");
    }
    r->n_pools++;
    r->used_in_pool = 0;
  }
  VkDescriptorSetLayout layout = fk_vk_pipes_set_layout(r->pipes);
  VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                    .descriptorPool = r->pools[r->n_pools - 1],
                                    .descriptorSetCount = 1,
                                    .pSetLayouts = &layout};
  VkResult res = vkAllocateDescriptorSets(r->vk->device, &ai, set);
  if (res != VK_SUCCESS) return fk_vk_fail(e, res, "allocating a descriptor set");
  r->used_in_pool++;
  return FK_OK;
}

static void barrier(fk_vk_rec *r) {
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
  vkCmdPipelineBarrier(r->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  r->barriers++;
  r->n_acc = 0;
}

static int conflicts(const fk_vk_rec *r, const access *a) {
  for (uint32_t i = 0; i < r->n_acc; i++) {
    const access *b = &r->acc[i];
    if (b->buf == a->buf && a->lo < b->hi && b->lo < a->hi && (a->write || b->write)) return 1;
  }
  return 0;
}

int fk_vk_rec_dispatch(fk_vk_rec *r, const fk_vk_pipeline *p, const fk_vk_bind *binds, uint32_t n,
                       const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz,
                       fk_err *e) {
  return fk_vk_rec_dispatch_texel(r, p, binds, n, NULL, push, push_bytes, gx, gy, gz, e);
}

int fk_vk_rec_dispatch_texel(fk_vk_rec *r, const fk_vk_pipeline *p, const fk_vk_bind *binds,
                             uint32_t n, const VkFormat *texel, const void *push,
                             uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz,
                             fk_err *e) {
  if (n > FK_VK_MAX_BINDINGS || push_bytes > FK_VK_PUSH_BYTES)
    return fk_err_set(e, FK_EINTERNAL, "kernel %s: %u bindings / %u push bytes over the limit",
                      p->name, n, push_bytes);
  if (gx == 0 || gy == 0 || gz == 0) return FK_OK; /* an empty tensor */
  const fk_vk_caps *c = &r->vk->caps;
  if (gx > c->max_wg_count[0] || gy > c->max_wg_count[1] || gz > c->max_wg_count[2])
    return fk_err_set(e, FK_EINTERNAL,
                      "kernel %s: %u x %u x %u workgroups exceed the device's "
                      "limit",
                      p->name, gx, gy, gz);
  if (!r->recording && begin_cb(r, e)) return e->code;
  access now[FK_VK_MAX_BINDINGS];
  int hazard = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (c->storage_offset_align && binds[i].off % c->storage_offset_align)
      return fk_err_set(e, FK_EINTERNAL,
                        "kernel %s: binding %u starts at byte %llu, not a multiple of the "
                        "device's storage offset alignment %llu",
                        p->name, i, (unsigned long long)binds[i].off,
                        (unsigned long long)c->storage_offset_align);
    VkDeviceSize size = binds[i].size ? binds[i].size : binds[i].buf->size - binds[i].off;
    if (size > c->max_storage_range || binds[i].off + size > binds[i].buf->size)
      return fk_err_set(e, FK_EUSER,
                        "kernel %s: binding %u covers %.1f MiB (bytes %llu..%llu of a %.1f MiB "
                        "buffer), more than one binding may (maxStorageBufferRange %.1f MiB) and "
                        "this op does not split its tensors: work at a smaller size",
                        p->name, i, (double)size / 1048576.0, (unsigned long long)binds[i].off,
                        (unsigned long long)(binds[i].off + size),
                        (double)binds[i].buf->size / 1048576.0,
                        (double)c->max_storage_range / 1048576.0);
    now[i] = (access){binds[i].buf->buf, binds[i].off, binds[i].off + size, binds[i].write};
    hazard |= conflicts(r, &now[i]);
  }
  /* a real hazard, or too many accesses to track: fence them all off */
  if (hazard || r->n_acc + n > MAX_ACCESS) barrier(r);
  memcpy(&r->acc[r->n_acc], now, n * sizeof *now);
  r->n_acc += n;

  VkDescriptorSet set;
  if (alloc_set(r, &set, e)) return e->code;
  VkDescriptorBufferInfo bi[FK_VK_MAX_BINDINGS];
  VkBufferView views[FK_VK_MAX_TEXELS];
  VkWriteDescriptorSet w[FK_VK_MAX_BINDINGS + FK_VK_MAX_TEXELS];
  uint32_t nw = 0;
  for (uint32_t i = 0; i < n; i++) {
    bi[i] = (VkDescriptorBufferInfo){binds[i].buf->buf, binds[i].off,
                                     binds[i].size ? binds[i].size : VK_WHOLE_SIZE};
    w[nw++] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                     .dstSet = set,
                                     .dstBinding = i,
                                     .descriptorCount = 1,
                                     .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                     .pBufferInfo = &bi[i]};
    if (!texel || i >= FK_VK_MAX_TEXELS || texel[i] == VK_FORMAT_UNDEFINED) continue;
    if (binds[i].write == 1)
      return fk_err_set(e, FK_EINTERNAL, "kernel %s: binding %u is written, not a texel buffer",
                        p->name, i);
    if (fk_vk_buffer_view(r->vk, binds[i].buf, binds[i].off, now[i].hi - now[i].lo, texel[i],
                          &views[i], e))
      return e->code;
    w[nw++] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                     .dstSet = set,
                                     .dstBinding = FK_VK_TEXEL_BINDING + i,
                                     .descriptorCount = 1,
                                     .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                     .pTexelBufferView = &views[i]};
  }
  vkUpdateDescriptorSets(r->vk->device, nw, w, 0, NULL);
  int timed = r->queries && r->n_timed < MAX_TIMED;
  if (timed)
    vkCmdWriteTimestamp(r->cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, r->queries, 2 * r->n_timed);
  vkCmdBindPipeline(r->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipe);
  vkCmdBindDescriptorSets(r->cb, VK_PIPELINE_BIND_POINT_COMPUTE, fk_vk_pipes_layout(r->pipes), 0, 1,
                          &set, 0, NULL);
  if (push_bytes)
    vkCmdPushConstants(r->cb, fk_vk_pipes_layout(r->pipes), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                       push_bytes, push);
  vkCmdDispatch(r->cb, gx, gy, gz);
  if (timed) {
    vkCmdWriteTimestamp(r->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, r->queries,
                        2 * r->n_timed + 1);
    r->timed[r->n_timed++] = p;
  }
  r->dispatches++;
  return FK_OK;
}

int fk_vk_rec_submit(fk_vk_rec *r, fk_err *e) {
  if (!r->recording) return FK_OK;
  VkDevice dev = r->vk->device;
  /* Make the pass's writes visible to the host and to later copies. */
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                        .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT};
  vkCmdPipelineBarrier(r->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0,
                       NULL, 0, NULL);
  r->recording = 0;
  VkResult res = vkEndCommandBuffer(r->cb);
  if (res != VK_SUCCESS) return fk_vk_fail(e, res, "ending a command buffer");
  VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &r->cb};
  res = vkResetFences(dev, 1, &r->fence);
  if (res == VK_SUCCESS) res = vkQueueSubmit(r->vk->queue, 1, &si, r->fence);
  if (res == VK_SUCCESS) res = vkWaitForFences(dev, 1, &r->fence, VK_TRUE, UINT64_MAX);
  if (res != VK_SUCCESS) return fk_vk_fail(e, res, "running a GPU pass");
  if (r->queries && r->n_timed) {
    uint64_t *ts = fk_alloc(2 * (size_t)r->n_timed, sizeof *ts);
    if (ts && vkGetQueryPoolResults(
                  dev, r->queries, 0, 2 * r->n_timed, 2 * r->n_timed * sizeof *ts, ts, sizeof *ts,
                  VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS)
      for (uint32_t i = 0; i < r->n_timed; i++)
        profile_add(r->prof, r->timed[i]->name,
                    (double)(ts[2 * i + 1] - ts[2 * i]) * r->vk->caps.timestamp_period_ns * 1e-6);
    free(ts);
  }
  res = vkResetCommandBuffer(r->cb, 0);
  if (res != VK_SUCCESS) return fk_vk_fail(e, res, "resetting a command buffer");
  return FK_OK;
}

uint32_t fk_vk_rec_dispatches(const fk_vk_rec *r) {
  return r->dispatches;
}
uint32_t fk_vk_rec_barriers(const fk_vk_rec *r) {
  return r->barriers;
}

void fk_vk_rec_free(fk_vk_rec *r) {
  if (!r) return;
  VkDevice dev = r->vk->device;
  if (r->recording) {
    vkEndCommandBuffer(r->cb);
    r->recording = 0;
  }
  for (uint32_t i = 0; i < MAX_POOLS; i++)
    if (r->pools[i]) vkDestroyDescriptorPool(dev, r->pools[i], NULL);
  if (r->queries) vkDestroyQueryPool(dev, r->queries, NULL);
  if (r->fence) vkDestroyFence(dev, r->fence, NULL);
  if (r->cb) vkFreeCommandBuffers(dev, r->vk->pool, 1, &r->cb);
  free(r);
}
