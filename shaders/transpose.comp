#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// y[b, j, i] = x[b, i, j] for x [B, M, N]: channel-major feature maps to
// token-major sequences and back (the UNet's transformer blocks). One
// invocation per output element, so writes are contiguous.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) writeonly buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint total, m, n;
} p;

void main() {
  uint o = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (o >= p.total) return;
  uint i = o % p.m, j = (o / p.m) % p.n, b = o / (p.m * p.n);
  y[o] = x[(b * p.m + i) * p.n + j];
}
