#version 450
// The baseline of `funky bench kernels`: 3x3 stride 1 pad 1 convolution,
// one invocation per output element, no tiling. NCHW, batch 1.
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P {
  uint cin, h, w, cout;
} p;

void main() {
  uint pix = gl_GlobalInvocationID.x, co = gl_GlobalInvocationID.y;
  if (pix >= p.h * p.w || co >= p.cout) return;
  int oy = int(pix / p.w), ox = int(pix % p.w);
  float acc = 0.0;
  for (uint ci = 0; ci < p.cin; ci++)
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++) {
        int iy = oy + ky - 1, ix = ox + kx - 1;
        if (iy >= 0 && iy < int(p.h) && ix >= 0 && ix < int(p.w))
          acc += w[((co * p.cin + ci) * 3 + uint(ky)) * 3 + uint(kx)] * x[(ci * p.h + uint(iy)) * p.w + uint(ix)];
      }
  y[co * p.h * p.w + pix] = acc;
}
