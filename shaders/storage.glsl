// Tensor storage: fp32, or fp16 when the shader is built with FK_F16 (the
// "_f16" variant CMake compiles from every shader). Arithmetic and
// accumulation stay fp32: LD widens on load, ST narrows on store.
#ifdef FK_F16
#extension GL_EXT_shader_16bit_storage : require
#define T float16_t
#define LD(v) float(v)
#define ST(v) float16_t(v)
#else
#define T float
#define LD(v) (v)
#define ST(v) (v)
#endif
