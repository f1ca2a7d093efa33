#version 450
#extension GL_GOOGLE_include_directive : require
#include "storage.glsl"
// Elementwise activations, the op chosen by specialization constant 3 so
// each becomes its own branch-free pipeline. fp32 in and out.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
layout(constant_id = 3) const uint OP = 0;
layout(std430, binding = 0) readonly buffer X { T x[]; };
layout(std430, binding = 1) writeonly buffer Y { T y[]; };
layout(push_constant) uniform P {
  uint n;
  float alpha;
  float beta;
} p;

const uint SILU = 0, GELU = 1, QUICK_GELU = 2, LEAKY_RELU = 3, SIGMOID = 4, CLAMP = 5,
           SCALE_BIAS = 6;

// erf by Abramowitz-Stegun 7.1.26 is too coarse (1.5e-7 absolute is fine,
// but its relative error near 0 is not): use the series near 0 and
// W. J. Cody's rational form elsewhere via 1 - erfc.
float erf_(float v) {
  float a = abs(v);
  float r;
  if (a < 0.5) {
    float t = v * v;
    r = a * (1.1283791671 + t * (-0.3761263890 + t * (0.1128379167 + t * (-0.0268661706 +
        t * (0.0052239776 + t * -0.0008548327)))));
  } else {
    // erfc(a) = exp(-a^2) * P(t), t = 1 / (1 + 0.5 a): Numerical Recipes' erfcc
    float t = 1.0 / (1.0 + 0.5 * a);
    float y = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277)))))))));
    r = 1.0 - y;
  }
  return sign(v) * r;
}

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  float v = LD(x[i]);
  float o;
  if (OP == SILU) o = v / (1.0 + exp(-v));
  else if (OP == GELU) o = 0.5 * v * (1.0 + erf_(v * 0.70710678118654752));
  else if (OP == QUICK_GELU) o = v / (1.0 + exp(-1.702 * v));
  else if (OP == LEAKY_RELU) o = v >= 0.0 ? v : p.alpha * v;
  else if (OP == SIGMOID) o = 1.0 / (1.0 + exp(-v));
  else if (OP == CLAMP) o = clamp(v, p.alpha, p.beta);
  else o = v * p.alpha + p.beta;
  y[i] = ST(o);
}
