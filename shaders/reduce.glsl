// Workgroup sum of one float per invocation (256 invocations), by a tree
// in shared memory. Every invocation gets the total. Used by the norms and
// softmax, which keep one row or group per workgroup.
shared float red[256];

float wg_sum(float v) {
  uint t = gl_LocalInvocationIndex;
  red[t] = v;
  barrier();
  for (uint s = 128; s > 0; s >>= 1) {
    if (t < s) red[t] += red[t + s];
    barrier();
  }
  float total = red[0];
  barrier();
  return total;
}

float wg_max(float v) {
  uint t = gl_LocalInvocationIndex;
  red[t] = v;
  barrier();
  for (uint s = 128; s > 0; s >>= 1) {
    if (t < s) red[t] = max(red[t], red[t + s]);
    barrier();
  }
  float total = red[0];
  barrier();
  return total;
}
