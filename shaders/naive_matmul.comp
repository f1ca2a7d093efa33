#version 450
// The baseline `funky bench kernels` measures against: one invocation per
// output element, no tiling. c = a [M, K] x b [K, N]. Not used by models.
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform P {
  uint M, N, K;
} p;

void main() {
  uint n = gl_GlobalInvocationID.x, m = gl_GlobalInvocationID.y;
  if (m >= p.M || n >= p.N) return;
  float acc = 0.0;
  for (uint k = 0; k < p.K; k++) acc += a[m * p.K + k] * b[k * p.N + n];
  c[m * p.N + n] = acc;
}
