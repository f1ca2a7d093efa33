#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// y = a (+|*) b with b broadcast: b's index is sum(coord_d * bstride_d)
// over a's 4-d index space (bstride 0 where b has size 1), plus boff (a
// part of a split op: vk_ops.c).
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(constant_id = 3) const uint OP = 0; // 0 add, 1 mul
layout(std430, binding = 0) readonly buffer A { T a[]; };
layout(std430, binding = 1) readonly buffer B { T b[]; };
layout(std430, binding = 2) writeonly buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint n;
  uint shape[4];
  uint bstride[4];
  uint boff;
} p;

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  uint rest = i, bi = p.boff;
  for (int d = 3; d >= 0; d--) {
    uint c = rest % p.shape[d];
    rest /= p.shape[d];
    bi += c * p.bstride[d];
  }
  float bv = LD(b[bi]);
  y[i] = ST(OP == 0 ? LD(a[i]) + bv : LD(a[i]) * bv);
}
