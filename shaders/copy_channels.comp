#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Copies `count` channels of x [N, cx, HW] starting at channel sx into
// y [N, cy, HW] at channel dy: concatenation and slicing along channels.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) writeonly buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint total; // n * count * hw
  uint hw, count, cx, sx, cy, dy;
} p;

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.total) return;
  uint s = i % p.hw, c = (i / p.hw) % p.count, n = i / (p.hw * p.count);
  y[(n * p.cy + p.dy + c) * p.hw + s] = x[(n * p.cx + p.sx + c) * p.hw + s];
}
