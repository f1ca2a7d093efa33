/* IEEE binary16 <-> binary32, exact widening and round-to-nearest-even
 * narrowing (overflow to infinity, NaN kept NaN), in portable C. */
#ifndef FK_CORE_HALF_H
#define FK_CORE_HALF_H

#include <stddef.h>
#include <stdint.h>

float fk_half_to_float(uint16_t h);
uint16_t fk_half_from_float(float f);
/* F16C where the CPU has it. */
void fk_half_to_float_n(const uint16_t *in, float *out, size_t n);
void fk_half_from_float_n(const float *in, uint16_t *out, size_t n);

#endif
