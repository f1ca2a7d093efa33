/* What film_weights.c and film.c share: the configuration's sizes and
 * the uploaded layers. Not for callers of engine/interp. */
#ifndef FK_INTERP_FILM_INTERNAL_H
#define FK_INTERP_FILM_INTERNAL_H

#include "interp/film.h"

#define FILM_SUB_LEVELS 4   /* feature extractor depth per image level */
#define FILM_SPECIALIZED 3  /* finest levels with their own flow estimator */
#define FILM_FILTERS 64     /* feature channels at the finest level */
#define FILM_FLOW_CONVS 3   /* 3x3 convs per flow estimator */
#define FILM_FUSION_STEPS 4 /* decoder steps (fusion levels - 1) */
#define FILM_MAX_PARTS 4

/* A convolution over the concatenation of up to FILM_MAX_PARTS inputs,
 * stored as one weight per input: the network never builds the
 * concatenations (1930 channels at the coarse decoder levels), it sums
 * the convolutions of the parts. n = 1 is a plain convolution. */
typedef struct fk_film_conv {
  fk_tensor *w[FILM_MAX_PARTS], *b;
  int n;
} fk_film_conv;

/* Inputs of the flow estimators' first conv. */
enum {
  FILM_FLOW_OWN,    /* this frame's features */
  FILM_FLOW_WARPED, /* the other frame's, warped towards them */
};
/* Inputs of the decoder's split convs. */
enum {
  FILM_PART_IMAGES,   /* both warped images [1, 6] */
  FILM_PART_FEATURES, /* both warped feature stacks [1, 2C] */
  FILM_PART_FLOWS,    /* both scaled flows [1, 4] */
  FILM_PART_COARSER,  /* the upsampled coarser level (the 3x3 conv only) */
};

/* One flow estimator: FILM_FLOW_CONVS 3x3 convs (the first split into
 * own and warped features), a 1x1 to half width, a 1x1 to two channels. */
typedef struct fk_film_flow {
  fk_film_conv c[FILM_FLOW_CONVS + 2];
} fk_film_flow;

struct fk_film {
  fk_nn *nn;
  fk_nn_dtype dt;
  size_t bytes;
  fk_film_conv extract[FILM_SUB_LEVELS][2];
  fk_film_flow shared;                     /* levels FILM_SPECIALIZED.. */
  fk_film_flow special[FILM_SPECIALIZED];  /* by level (0 = finest) */
  fk_film_conv fuse[FILM_FUSION_STEPS][3]; /* by level: 2x2, 3x3, 3x3 */
  fk_film_conv out;                        /* 1x1 to RGB */
};

/* Feature channels at pyramid level l (the cascade of sub-levels). */
static inline int64_t fk_film_feat_ch(int l) {
  int j = l < FILM_SUB_LEVELS - 1 ? l : FILM_SUB_LEVELS - 1;
  return (int64_t)FILM_FILTERS * ((2 << j) - 1);
}
/* Channels of the decoder's input at level l: both warped images and
 * features, then the two scaled flows. */
static inline int64_t fk_film_aligned_ch(int l) {
  return 2 * (3 + fk_film_feat_ch(l)) + 4;
}
/* Decoder width at level l < FILM_FUSION_STEPS. */
static inline int64_t fk_film_fuse_ch(int l) {
  return (int64_t)FILM_FILTERS << (l < FILM_SPECIALIZED ? l : FILM_SPECIALIZED);
}
/* Flow estimator width at level l (the shared one from FILM_SPECIALIZED). */
static inline int64_t fk_film_flow_ch(int l) {
  return (int64_t)32 << (l < FILM_SPECIALIZED ? l : FILM_SPECIALIZED);
}

#endif
