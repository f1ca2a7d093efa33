#include "gpu/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "gpu/shaders.h"

#define MAX_PIPELINES 512

struct fk_vk_pipes {
  fk_vk *vk;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout layout;
  VkPipelineCache cache;
  fk_vk_pipeline *pipes[MAX_PIPELINES];
  uint32_t n;
  char cache_path[4096];
};

static void cache_location(fk_vk_pipes *p) {
  const char *dir = getenv("FUNKY_CACHE_DIR");
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char base[4096];
  if (dir && *dir)
    snprintf(base, sizeof base, "%s", dir);
  else if (xdg && *xdg)
    snprintf(base, sizeof base, "%s/funky", xdg);
  else if (home && *home)
    snprintf(base, sizeof base, "%s/.cache/funky", home);
  else
    base[0] = '\0';
  if (!base[0]) {
    p->cache_path[0] = '\0';
    return;
  }
  snprintf(p->cache_path, sizeof p->cache_path, "%.3900s/pipelines-%08x-%08x.bin", base,
           p->vk->caps.vendor_id, p->vk->caps.device_id);
}

/* Vulkan's cache header: length, version, vendor, device, UUID. Only data
 * made by this very device and driver is handed to the driver. */
static int cache_data_ok(const fk_vk *vk, const unsigned char *d, size_t n) {
  if (n < 32) return 0;
  uint32_t len, ver, vendor, device;
  memcpy(&len, d, 4);
  memcpy(&ver, d + 4, 4);
  memcpy(&vendor, d + 8, 4);
  memcpy(&device, d + 12, 4);
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(vk->phys, &props);
  return len >= 32 && len <= n && ver == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
         vendor == props.vendorID && device == props.deviceID &&
         !memcmp(d + 16, props.pipelineCacheUUID, VK_UUID_SIZE);
}

int fk_vk_pipes_new(fk_vk *vk, fk_vk_pipes **out, fk_err *e) {
  *out = NULL;
  fk_vk_pipes *p = fk_zalloc(1, sizeof *p);
  if (!p) return fk_err_oom(e, "the pipeline cache", sizeof *p);
  p->vk = vk;
  VkDescriptorSetLayoutBinding b[FK_VK_MAX_BINDINGS + FK_VK_MAX_TEXELS];
  for (uint32_t i = 0; i < FK_VK_MAX_BINDINGS; i++)
    b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                          .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                          .descriptorCount = 1,
                                          .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
  for (uint32_t i = 0; i < FK_VK_MAX_TEXELS; i++)
    b[FK_VK_MAX_BINDINGS + i] =
        (VkDescriptorSetLayoutBinding){.binding = FK_VK_TEXEL_BINDING + i,
                                       .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                                       .descriptorCount = 1,
                                       .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
  VkDescriptorSetLayoutCreateInfo li = {.sType =
                                            VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                        .bindingCount = FK_VK_MAX_BINDINGS + FK_VK_MAX_TEXELS,
                                        .pBindings = b};
  VkResult r = vkCreateDescriptorSetLayout(vk->device, &li, NULL, &p->set_layout);
  if (r == VK_SUCCESS) {
    VkPushConstantRange pc = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = FK_VK_PUSH_BYTES};
    VkPipelineLayoutCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                     .setLayoutCount = 1,
                                     .pSetLayouts = &p->set_layout,
                                     .pushConstantRangeCount = 1,
                                     .pPushConstantRanges = &pc};
    r = vkCreatePipelineLayout(vk->device, &pi, NULL, &p->layout);
  }
  if (r != VK_SUCCESS) {
    fk_vk_pipes_free(p);
    return fk_vk_fail(e, r, "creating the pipeline layout");
  }
  cache_location(p);
  char *data = NULL;
  size_t len = 0;
  if (p->cache_path[0] && fk_file_read(p->cache_path, &data, &len, NULL) == FK_OK &&
      !cache_data_ok(vk, (unsigned char *)data, len)) {
    free(data); /* foreign or damaged: start empty, rewrite on exit */
    data = NULL;
    len = 0;
  }
  VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                  .initialDataSize = len,
                                  .pInitialData = data};
  r = vkCreatePipelineCache(vk->device, &ci, NULL, &p->cache);
  if (r != VK_SUCCESS && len) {
    ci.initialDataSize = 0;
    ci.pInitialData = NULL;
    r = vkCreatePipelineCache(vk->device, &ci, NULL, &p->cache);
  }
  free(data);
  if (r != VK_SUCCESS) {
    fk_vk_pipes_free(p);
    return fk_vk_fail(e, r, "creating the pipeline cache");
  }
  *out = p;
  return FK_OK;
}

static void save_cache(fk_vk_pipes *p) {
  if (!p->cache || !p->cache_path[0] || p->n == 0) return;
  size_t n = 0;
  if (vkGetPipelineCacheData(p->vk->device, p->cache, &n, NULL) != VK_SUCCESS || n == 0) return;
  void *d = malloc(n);
  if (!d) return;
  char dir[4096];
  fk_path_dir(p->cache_path, dir, sizeof dir);
  if (vkGetPipelineCacheData(p->vk->device, p->cache, &n, d) == VK_SUCCESS &&
      fk_file_mkdirs(dir, NULL) == FK_OK)
    fk_file_write_atomic(p->cache_path, d, n, NULL);
  free(d);
}

void fk_vk_pipes_free(fk_vk_pipes *p) {
  if (!p) return;
  VkDevice dev = p->vk->device;
  save_cache(p);
  for (uint32_t i = 0; i < p->n; i++) {
    vkDestroyPipeline(dev, p->pipes[i]->pipe, NULL);
    free(p->pipes[i]);
  }
  if (p->cache) vkDestroyPipelineCache(dev, p->cache, NULL);
  if (p->layout) vkDestroyPipelineLayout(dev, p->layout, NULL);
  if (p->set_layout) vkDestroyDescriptorSetLayout(dev, p->set_layout, NULL);
  free(p);
}

VkPipelineLayout fk_vk_pipes_layout(const fk_vk_pipes *p) {
  return p->layout;
}
VkDescriptorSetLayout fk_vk_pipes_set_layout(const fk_vk_pipes *p) {
  return p->set_layout;
}
const char *fk_vk_pipes_cache_path(const fk_vk_pipes *p) {
  return p->cache_path;
}
uint32_t fk_vk_pipes_count(const fk_vk_pipes *p) {
  return p->n;
}

int fk_vk_pipeline_get(fk_vk_pipes *p, const char *shader, const uint32_t *spec, uint32_t n_spec,
                       const fk_vk_pipeline **out, fk_err *e) {
  if (n_spec > FK_VK_MAX_SPEC)
    return fk_err_set(e, FK_EINTERNAL, "shader %s: %u specialization constants (max %d)", shader,
                      n_spec, FK_VK_MAX_SPEC);
  uint32_t sp[FK_VK_MAX_SPEC] = {0};
  uint32_t ns = n_spec < 3 ? 3 : n_spec;
  for (uint32_t i = 0; i < n_spec; i++) sp[i] = spec[i];
  for (uint32_t i = 0; i < 3; i++)
    if (sp[i] == 0) sp[i] = 1;
  for (uint32_t i = 0; i < p->n; i++) {
    const fk_vk_pipeline *q = p->pipes[i];
    if (q->n_spec == ns && !strcmp(q->name, shader) && !memcmp(q->spec, sp, ns * sizeof *sp)) {
      *out = q;
      return FK_OK;
    }
  }
  if (p->n == MAX_PIPELINES)
    return fk_err_set(e, FK_EINTERNAL, "more than %d pipelines", MAX_PIPELINES);
  const fk_vk_shader *s = fk_vk_shaders;
  while (s->name && strcmp(s->name, shader)) s++;
  if (!s->name) return fk_err_set(e, FK_EINTERNAL, "no shader named '%s' is built in", shader);
  if ((uint64_t)sp[0] * sp[1] * sp[2] > p->vk->caps.max_wg_invocations)
    return fk_err_set(e, FK_EINTERNAL, "shader %s: workgroup %ux%ux%u exceeds the device's %u",
                      shader, sp[0], sp[1], sp[2], p->vk->caps.max_wg_invocations);
  fk_vk_pipeline *q = fk_zalloc(1, sizeof *q);
  if (!q) return fk_err_oom(e, "a pipeline", sizeof *q);
  snprintf(q->name, sizeof q->name, "%s", shader);
  memcpy(q->spec, sp, sizeof sp);
  q->n_spec = ns;
  memcpy(q->local, sp, sizeof q->local);
  VkSpecializationMapEntry map[FK_VK_MAX_SPEC];
  for (uint32_t i = 0; i < ns; i++)
    map[i] = (VkSpecializationMapEntry){.constantID = i, .offset = 4 * i, .size = 4};
  VkSpecializationInfo si = {
      .mapEntryCount = ns, .pMapEntries = map, .dataSize = 4 * ns, .pData = q->spec};
  VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                 .codeSize = s->words * 4,
                                 .pCode = s->code};
  VkShaderModule mod;
  VkResult r = vkCreateShaderModule(p->vk->device, &mi, NULL, &mod);
  if (r != VK_SUCCESS) {
    free(q);
    return fk_vk_fail(e, r, "creating a shader module");
  }
  VkComputePipelineCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = mod,
                .pName = "main",
                .pSpecializationInfo = &si},
      .layout = p->layout};
  r = vkCreateComputePipelines(p->vk->device, p->cache, 1, &ci, NULL, &q->pipe);
  vkDestroyShaderModule(p->vk->device, mod, NULL);
  if (r != VK_SUCCESS) {
    free(q);
    return fk_vk_fail(e, r, "creating a compute pipeline");
  }
  p->pipes[p->n++] = q;
  *out = q;
  return FK_OK;
}
