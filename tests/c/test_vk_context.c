/* The Vulkan context on whatever device this machine has (lavapipe in CI):
 * creation with validation, the capability table, device overrides. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpu/context.h"

int main(void) {
  fk_err e = {0};
  fk_vk *vk = NULL;
  fk_vk_opts o = {.validation = 1};
  int rc = fk_vk_create(&vk, &o, &e);
  CHECK(rc == FK_OK, "context: %s", e.msg);
  if (rc) return CHECK_DONE();
  const fk_vk_caps *c = &vk->caps;
  CHECK(c->name[0] != '\0', "device name");
  CHECK(c->subgroup_size >= 1 && c->subgroup_size <= 128, "subgroup size %u", c->subgroup_size);
  CHECK(c->max_storage_range >= (64u << 20), "maxStorageBufferRange %llu",
        (unsigned long long)c->max_storage_range);
  CHECK(c->max_wg_invocations >= 128, "workgroup invocations %u", c->max_wg_invocations);
  CHECK(c->max_push_constants >= 128, "push constants %u", c->max_push_constants);
  CHECK(c->heap_count >= 1 && c->heap_size[0] > 0, "memory heaps");
  CHECK(vk->validation == 1, "validation on");
  char buf[4096];
  CHECK(fk_vk_describe(vk, buf, sizeof buf) == FK_OK && strstr(buf, "maxStorageBufferRange"),
        "describe:\n%s", buf);
  printf("%s", buf);
  CHECK(vk->validation_messages == 0, "validation messages: %u (last: %s)", vk->validation_messages,
        vk->last_validation);
  fk_vk_destroy(vk);

  /* FUNKY_VK_DEVICE by index and by a name that matches nothing. */
  setenv("FUNKY_VK_DEVICE", "0", 1);
  rc = fk_vk_create(&vk, NULL, &e);
  CHECK(rc == FK_OK, "device 0: %s", e.msg);
  if (!rc) fk_vk_destroy(vk);
  setenv("FUNKY_VK_DEVICE", "no-such-gpu-xyz", 1);
  rc = fk_vk_create(&vk, NULL, &e);
  CHECK(rc == FK_EUSER && strstr(e.msg, "no-such-gpu-xyz") && strstr(e.msg, "funky info --gpu"),
        "bad device name: rc %d: %s", rc, e.msg);
  unsetenv("FUNKY_VK_DEVICE");

  /* FUNKY_VK_NO_FP16 turns fp16 storage off even where the device has it. */
  setenv("FUNKY_VK_NO_FP16", "1", 1);
  rc = fk_vk_create(&vk, NULL, &e);
  CHECK(rc == FK_OK && !vk->caps.fp16_enabled, "FUNKY_VK_NO_FP16");
  if (!rc) fk_vk_destroy(vk);
  return CHECK_DONE();
}
