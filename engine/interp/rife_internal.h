/* What rife_weights.c and rife.c share. Not for callers of engine/interp. */
#ifndef FK_INTERP_RIFE_INTERNAL_H
#define FK_INTERP_RIFE_INTERNAL_H

#include "interp/rife.h"

#define RIFE_RESCONVS 8 /* ResConvs per block */
#define RIFE_LAST_CH 24 /* transpose-conv outputs: 6 channels after pixel shuffle */
/* what rife_weights.c makes of the transposed conv: a 3x3 conv to 96
 * channels, 6 after a pixel shuffle by 4 */
#define RIFE_LAST_CONV_CH (RIFE_LAST_CH * 4)

typedef struct fk_rife_conv {
  fk_tensor *w, *b;
} fk_rife_conv;

/* One IFBlock as uploaded. Loading folds constants into the weights (see
 * rife_weights.c): each ResConv's beta into its conv, the 1/scale of the
 * input flow into conv0's first layer, the output flow's scale into the
 * transpose conv. */
typedef struct fk_rife_block {
  fk_rife_conv conv0[2];
  fk_rife_conv res[RIFE_RESCONVS];
  fk_rife_conv last; /* w [96, c, 3, 3]: the transposed conv as a conv (rife_weights.c) */
} fk_rife_block;

struct fk_rife {
  fk_nn *nn;
  fk_nn_dtype dt;
  size_t bytes;
  fk_rife_block blk[FK_RIFE_BLOCKS];
};

/* Block b's scale (8, 4, 2, 1), width and input channels. */
static inline int fk_rife_scale(int b) {
  return 8 >> b;
}
static inline int64_t fk_rife_width(int b) {
  static const int64_t w[FK_RIFE_BLOCKS] = {192, 128, 96, 64};
  return w[b];
}
/* block 0: both frames and the time; later: both warped frames, the time,
 * the mask, then the flow (4) */
static inline int64_t fk_rife_in_ch(int b) {
  return b ? 12 : 7;
}

#endif
