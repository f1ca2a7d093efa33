#version 450
// y[i] = x[i] * scale + bias over n elements (fp32). The smallest real
// kernel; the GPU core's tests run it.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P {
  uint n;
  float scale;
  float bias;
} p;

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i < p.n) y[i] = x[i] * p.scale + p.bias;
}
