/* Instance and device creation. Everything optional (validation layer,
 * fp16 storage, subgroup operations, timestamps) is probed, recorded in the
 * capability table and enabled only when present, so the same binary runs
 * on a GPU, on lavapipe, and fails with one clear message where there is no
 * Vulkan at all. */
#include "gpu/context.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

const char *fk_vk_result_name(VkResult r) {
  switch (r) {
  case VK_SUCCESS: return "VK_SUCCESS";
  case VK_NOT_READY: return "VK_NOT_READY";
  case VK_TIMEOUT: return "VK_TIMEOUT";
  case VK_INCOMPLETE: return "VK_INCOMPLETE";
  case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
  case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
  case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
  case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
  case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
  case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
  case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
  case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
  case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
  case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
  case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
  default: return "VkResult error";
  }
}

int fk_vk_fail(fk_err *e, VkResult r, const char *what) {
  const char *hint = "check the Vulkan driver (vulkaninfo --summary)";
  int code = FK_EUSER;
  switch (r) {
  case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    hint = "the GPU is out of memory: render at a smaller size, use fp16 weights, or close "
           "other GPU programs";
    break;
  case VK_ERROR_OUT_OF_HOST_MEMORY:
    hint = "the machine is out of memory: close other programs or render at a smaller size";
    break;
  case VK_ERROR_DEVICE_LOST:
    hint = "the GPU driver reset the device (a hang or a driver bug); the finished frames are "
           "kept, run the render again to resume";
    break;
  case VK_ERROR_INCOMPATIBLE_DRIVER:
  case VK_ERROR_INITIALIZATION_FAILED:
    hint = "no usable Vulkan driver: install your GPU's driver, or mesa-vulkan-drivers for the "
           "CPU device (lavapipe)";
    break;
  default: code = FK_EINTERNAL; break;
  }
  return fk_err_set(e, code, "Vulkan: %s failed (%s); %s", what, fk_vk_result_name(r), hint);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *d,
                                                 void *user) {
  (void)type;
  fk_vk *vk = user;
  if (sev >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    vk->validation_messages++;
    snprintf(vk->last_validation, sizeof vk->last_validation, "%s",
             d && d->pMessage ? d->pMessage : "(no text)");
    fprintf(stderr, "funky: Vulkan validation: %s\n", vk->last_validation);
  }
  return VK_FALSE;
}

static int has_layer(const char *name) {
  uint32_t n = 0;
  if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return 0;
  VkLayerProperties *p = fk_alloc(n, sizeof *p);
  int found = 0;
  if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(p[i].layerName, name);
  free(p);
  return found;
}

static int create_instance(fk_vk *vk, int validation, fk_err *e) {
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                           .pApplicationName = "funky",
                           .pEngineName = "funky",
                           .apiVersion = VK_API_VERSION_1_2};
  const char *layers[] = {VALIDATION_LAYER};
  const char *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
  if (validation && !has_layer(VALIDATION_LAYER))
    return fk_err_set(e, FK_EUSER,
                      "Vulkan validation was asked for but %s is not installed; install "
                      "vulkan-validationlayers or unset FUNKY_VK_VALIDATION",
                      VALIDATION_LAYER);
  VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                             .pApplicationInfo = &app,
                             .enabledLayerCount = validation ? 1 : 0,
                             .ppEnabledLayerNames = layers,
                             .enabledExtensionCount = validation ? 1 : 0,
                             .ppEnabledExtensionNames = exts};
  VkResult r = vkCreateInstance(&ci, NULL, &vk->instance);
  if (r != VK_SUCCESS) return fk_vk_fail(e, r, "creating the Vulkan instance");
  if (validation) {
    PFN_vkCreateDebugUtilsMessengerEXT create =
        (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(vk->instance,
                                                                  "vkCreateDebugUtilsMessengerEXT");
    VkDebugUtilsMessengerCreateInfoEXT mi = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = vk};
    if (!create) return fk_err_set(e, FK_EINTERNAL, "Vulkan: debug utils are missing");
    r = create(vk->instance, &mi, NULL, &vk->messenger);
    if (r != VK_SUCCESS) return fk_vk_fail(e, r, "creating the validation messenger");
  }
  vk->validation = validation;
  return FK_OK;
}

static int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
  default: return 4;
  }
}

const char *fk_vk_type_name(VkPhysicalDeviceType t) {
  static const char *names[] = {"other", "integrated", "discrete", "virtual", "cpu"};
  return (unsigned)t < 5 ? names[t] : "other";
}

static int compute_family(VkPhysicalDevice p, uint32_t *family, int *timestamps) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(p, &n, NULL);
  VkQueueFamilyProperties q[16];
  if (n > 16) n = 16;
  vkGetPhysicalDeviceQueueFamilyProperties(p, &n, q);
  /* Prefer a compute queue without graphics (async compute on GPUs). */
  int best = -1;
  for (uint32_t i = 0; i < n; i++) {
    if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    if (best < 0 || !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) best = (int)i;
  }
  if (best < 0) return -1;
  *family = (uint32_t)best;
  *timestamps = q[best].timestampValidBits > 0;
  return 0;
}

static void read_caps(VkPhysicalDevice p, fk_vk_caps *c) {
  memset(c, 0, sizeof *c);
  VkPhysicalDeviceMaintenance3Properties m3 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties sub = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &m3};
  VkPhysicalDeviceDriverProperties drv = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES, .pNext = &sub};
  VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                       .pNext = &drv};
  vkGetPhysicalDeviceProperties2(p, &props);
  VkPhysicalDeviceVulkan11Features f11 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &f11};
  VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                     .pNext = &f12};
  vkGetPhysicalDeviceFeatures2(p, &feats);
  const VkPhysicalDeviceLimits *l = &props.properties.limits;
  snprintf(c->name, sizeof c->name, "%s", props.properties.deviceName);
  snprintf(c->driver, sizeof c->driver, "%s %s", drv.driverName, drv.driverInfo);
  c->type = props.properties.deviceType;
  c->api_version = props.properties.apiVersion;
  c->vendor_id = props.properties.vendorID;
  c->device_id = props.properties.deviceID;
  c->fp16_storage = f11.storageBuffer16BitAccess;
  c->fp16_arith = f12.shaderFloat16;
  c->subgroup_size = sub.subgroupSize;
  VkSubgroupFeatureFlags need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT |
                                VK_SUBGROUP_FEATURE_BALLOT_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
  c->subgroup_arith = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                      (sub.supportedOperations & need) == need;
  c->max_wg_invocations = l->maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; i++) {
    c->max_wg_size[i] = l->maxComputeWorkGroupSize[i];
    c->max_wg_count[i] = l->maxComputeWorkGroupCount[i];
  }
  c->max_shared = l->maxComputeSharedMemorySize;
  c->max_storage_range = l->maxStorageBufferRange;
  c->max_alloc = m3.maxMemoryAllocationSize;
  c->storage_offset_align = l->minStorageBufferOffsetAlignment;
  c->max_push_constants = l->maxPushConstantsSize;
  c->max_texel_elements = l->maxTexelBufferElements;
  c->texel_offset_align = l->minTexelBufferOffsetAlignment;
  VkFormatProperties fp;
  vkGetPhysicalDeviceFormatProperties(p, VK_FORMAT_R32G32B32A32_SFLOAT, &fp);
  c->texel_f32 = !!(fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT);
  vkGetPhysicalDeviceFormatProperties(p, VK_FORMAT_R16G16B16A16_SFLOAT, &fp);
  c->texel_f16 = !!(fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT);
  c->timestamp_period_ns = l->timestampPeriod;
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(p, &mem);
  c->heap_count = mem.memoryHeapCount;
  for (uint32_t i = 0; i < mem.memoryHeapCount; i++) {
    c->heap_size[i] = mem.memoryHeaps[i].size;
    c->heap_device_local[i] = !!(mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT);
    if (c->heap_device_local[i]) c->device_local_bytes += mem.memoryHeaps[i].size;
  }
  for (uint32_t i = 0; i < mem.memoryTypeCount; i++)
    if (mem.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
      c->host_visible_bytes = mem.memoryHeaps[mem.memoryTypes[i].heapIndex].size;
      break;
    }
}

static int pick_device(fk_vk *vk, const char *want, fk_err *e) {
  uint32_t n = 0;
  VkResult r = vkEnumeratePhysicalDevices(vk->instance, &n, NULL);
  if (r != VK_SUCCESS) return fk_vk_fail(e, r, "listing Vulkan devices");
  if (n == 0)
    return fk_err_set(e, FK_EUSER,
                      "Vulkan: no device found; install your GPU's Vulkan driver, or "
                      "mesa-vulkan-drivers for the CPU device (lavapipe)");
  VkPhysicalDevice devs[16];
  if (n > 16) n = 16;
  r = vkEnumeratePhysicalDevices(vk->instance, &n, devs);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) return fk_vk_fail(e, r, "listing Vulkan devices");
  int chosen = -1, best_rank = 99;
  for (uint32_t i = 0; i < n; i++) {
    fk_vk_caps c;
    read_caps(devs[i], &c);
    uint32_t fam;
    int ts;
    if (compute_family(devs[i], &fam, &ts) != 0) continue;
    if (want && *want) {
      char *end;
      long idx = strtol(want, &end, 10);
      int match = *end == '\0' ? idx == (long)i : strstr(c.name, want) != NULL;
      if (match) {
        chosen = (int)i;
        break;
      }
      continue;
    }
    if (type_rank(c.type) < best_rank) {
      best_rank = type_rank(c.type);
      chosen = (int)i;
    }
  }
  if (chosen < 0) {
    if (want && *want)
      return fk_err_set(e, FK_EUSER,
                        "Vulkan: no compute device matches FUNKY_VK_DEVICE='%s'; give an index "
                        "from 0 to %u or part of a name from 'funky info --gpu'",
                        want, n - 1);
    return fk_err_set(e, FK_EUSER, "Vulkan: no device has a compute queue");
  }
  vk->phys = devs[chosen];
  read_caps(vk->phys, &vk->caps);
  compute_family(vk->phys, &vk->queue_family, &vk->caps.timestamps);
  vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->mem);
  return FK_OK;
}

/* FUNKY_VK_MAX_RANGE=bytes lowers the binding range the ops split
 * tensors at (never raises it): tests run the splitting paths at small
 * sizes with it. */
static int range_override(fk_vk *vk, fk_err *e) {
  const char *env = getenv("FUNKY_VK_MAX_RANGE");
  if (!env || !*env) return FK_OK;
  char *end;
  unsigned long long v = strtoull(env, &end, 10);
  if (*end || v < 4096)
    return fk_err_set(
        e, FK_EUSER, "FUNKY_VK_MAX_RANGE='%s': give the bytes one binding may cover, at least 4096",
        env);
  v -= v % 256;
  if (v < vk->caps.max_storage_range) vk->caps.max_storage_range = v;
  return FK_OK;
}

static int create_device(fk_vk *vk, fk_err *e) {
  const char *nofp16 = getenv("FUNKY_VK_NO_FP16");
  vk->caps.fp16_enabled = vk->caps.fp16_storage && !(nofp16 && !strcmp(nofp16, "1"));
  float prio = 1.0f;
  VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                .queueFamilyIndex = vk->queue_family,
                                .queueCount = 1,
                                .pQueuePriorities = &prio};
  VkPhysicalDeviceVulkan12Features f12 = {.sType =
                                              VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                          .shaderFloat16 = (VkBool32)vk->caps.fp16_arith};
  VkPhysicalDeviceVulkan11Features f11 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
      .pNext = &f12,
      .storageBuffer16BitAccess = (VkBool32)vk->caps.fp16_storage};
  VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                     .pNext = &f11};
  VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                           .pNext = &feats,
                           .queueCreateInfoCount = 1,
                           .pQueueCreateInfos = &qi};
  VkResult r = vkCreateDevice(vk->phys, &ci, NULL, &vk->device);
  if (r != VK_SUCCESS) return fk_vk_fail(e, r, "creating the Vulkan device");
  vkGetDeviceQueue(vk->device, vk->queue_family, 0, &vk->queue);
  VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                .queueFamilyIndex = vk->queue_family};
  r = vkCreateCommandPool(vk->device, &pi, NULL, &vk->pool);
  if (r != VK_SUCCESS) return fk_vk_fail(e, r, "creating a command pool");
  return FK_OK;
}

int fk_vk_create(fk_vk **out, const fk_vk_opts *opts, fk_err *e) {
  *out = NULL;
  fk_vk *vk = fk_zalloc(1, sizeof *vk);
  if (!vk) return fk_err_oom(e, "the Vulkan context", sizeof *vk);
  const char *env_val = getenv("FUNKY_VK_VALIDATION");
  int validation = (opts && opts->validation) || (env_val && !strcmp(env_val, "1"));
  const char *want = opts && opts->device ? opts->device : getenv("FUNKY_VK_DEVICE");
  int rc = create_instance(vk, validation, e);
  if (!rc) rc = pick_device(vk, want, e);
  if (!rc) rc = range_override(vk, e);
  if (!rc) rc = create_device(vk, e);
  if (rc) {
    fk_vk_destroy(vk);
    return rc;
  }
  *out = vk;
  return FK_OK;
}

void fk_vk_destroy(fk_vk *vk) {
  if (!vk) return;
  if (vk->device) {
    vkDeviceWaitIdle(vk->device);
    if (vk->pool) vkDestroyCommandPool(vk->device, vk->pool, NULL);
    vkDestroyDevice(vk->device, NULL);
  }
  if (vk->messenger) {
    PFN_vkDestroyDebugUtilsMessengerEXT destroy =
        (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            vk->instance, "vkDestroyDebugUtilsMessengerEXT");
    if (destroy) destroy(vk->instance, vk->messenger, NULL);
  }
  if (vk->instance) vkDestroyInstance(vk->instance, NULL);
  free(vk);
}

static size_t append(char *out, size_t n, size_t at, const char *fmt, ...) FK_PRINTF(4, 5);
static size_t append(char *out, size_t n, size_t at, const char *fmt, ...) {
  if (at >= n) return at;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(out + at, n - at, fmt, ap);
  va_end(ap);
  return w < 0 ? at : at + (size_t)w;
}

int fk_vk_describe(const fk_vk *vk, char *out, size_t n) {
  const fk_vk_caps *c = &vk->caps;
  size_t at = 0;
  at = append(out, n, at, "device: %s (%s, %s)\n", c->name, fk_vk_type_name(c->type), c->driver);
  at = append(out, n, at, "  Vulkan %u.%u.%u, vendor 0x%04x device 0x%04x\n",
              VK_API_VERSION_MAJOR(c->api_version), VK_API_VERSION_MINOR(c->api_version),
              VK_API_VERSION_PATCH(c->api_version), c->vendor_id, c->device_id);
  at = append(out, n, at, "  fp16 storage: %s%s, fp16 arithmetic: %s\n",
              c->fp16_storage ? "yes" : "no",
              c->fp16_storage && !c->fp16_enabled ? " (off: FUNKY_VK_NO_FP16=1)" : "",
              c->fp16_arith ? "yes" : "no");
  at = append(out, n, at, "  subgroup size: %u, subgroup arithmetic/ballot/shuffle: %s\n",
              c->subgroup_size, c->subgroup_arith ? "yes" : "no");
  at =
      append(out, n, at, "  max workgroup: %u invocations (%u x %u x %u), shared memory %u bytes\n",
             c->max_wg_invocations, c->max_wg_size[0], c->max_wg_size[1], c->max_wg_size[2],
             c->max_shared);
  at = append(out, n, at,
              "  maxStorageBufferRange: %llu bytes (%.0f MiB), push constants %u bytes\n",
              (unsigned long long)c->max_storage_range, (double)c->max_storage_range / 1048576.0,
              c->max_push_constants);
  at = append(out, n, at, "  maxMemoryAllocationSize: %.0f MiB (the largest tensor)\n",
              (double)c->max_alloc / 1048576.0);
  at = append(out, n, at,
              "  uniform texel buffers: RGBA32F %s, RGBA16F %s, %u elements, offset align %llu\n",
              c->texel_f32 ? "yes" : "no", c->texel_f16 ? "yes" : "no", c->max_texel_elements,
              (unsigned long long)c->texel_offset_align);
  for (uint32_t i = 0; i < c->heap_count; i++)
    at = append(out, n, at, "  memory heap %u: %.2f GiB%s\n", i,
                (double)c->heap_size[i] / 1073741824.0,
                c->heap_device_local[i] ? " device-local" : "");
  at = append(out, n, at, "  timestamps: %s (period %.3g ns)\n", c->timestamps ? "yes" : "no",
              (double)c->timestamp_period_ns);
  at = append(out, n, at, "  validation: %s\n", vk->validation ? "on" : "off");
  return at < n ? FK_OK : FK_EUSER;
}
