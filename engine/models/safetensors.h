/* Reading and writing .safetensors files (8-byte little-endian header
 * length, JSON header, raw little-endian tensor data).
 *
 * The header is parsed and validated completely before anything is
 * exposed, so a file that opens is safe to use: every tensor's data lies
 * inside the file, no two tensors overlap, and every byte length matches
 * dtype x shape. Errors are FK_EUSER with a message naming the file, the
 * tensor and what is wrong. */
#ifndef FK_MODELS_SAFETENSORS_H
#define FK_MODELS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum fk_st_dtype {
  FK_ST_F32,
  FK_ST_F16,
  FK_ST_BF16,
  FK_ST_F64,
  FK_ST_I64,
  FK_ST_I32,
  FK_ST_U8,
  FK_ST_NDTYPES
} fk_st_dtype;

/* Longest shape accepted; real models use at most 5 dimensions. */
#define FK_ST_MAX_DIMS 8
/* Largest JSON header accepted (the same cap as the reference reader). */
#define FK_ST_MAX_HEADER 100000000u

typedef struct fk_st_tensor {
  const char *name;
  fk_st_dtype dtype;
  int ndim; /* 0 for a scalar */
  int64_t shape[FK_ST_MAX_DIMS];
  size_t numel;
  /* Little-endian bytes inside the mapping; may be unaligned when the
   * writer did not align, so read through memcpy or fk_st_to_f32. */
  const void *data;
  size_t nbytes;
} fk_st_tensor;

typedef struct fk_st_file fk_st_file;

/* Maps path read-only and validates it. On success *out must be closed. */
int fk_st_open(const char *path, fk_st_file **out, fk_err *e);
/* Same checks over a buffer the caller keeps alive until fk_st_close;
 * name is used in messages only. */
int fk_st_parse_memory(const void *buf, size_t len, const char *name, fk_st_file **out, fk_err *e);
/* Frees everything and unmaps; NULL is fine. */
void fk_st_close(fk_st_file *f);
/* Drops t's pages from this process's resident memory when f is a mapped
 * file (they come back from the page cache if read again): weights copied
 * onto a backend need not stay resident twice. No-op for buffers. */
void fk_st_release(const fk_st_file *f, const fk_st_tensor *t);

const char *fk_st_name(const fk_st_file *f);
size_t fk_st_count(const fk_st_file *f);
/* Tensors in header order; NULL when i is out of range. */
const fk_st_tensor *fk_st_get(const fk_st_file *f, size_t i);
/* NULL when there is no tensor of that name. */
const fk_st_tensor *fk_st_find(const fk_st_file *f, const char *name);
/* Like fk_st_find, but a missing tensor, another dtype or another shape is
 * an FK_EUSER error naming the file and the tensor. */
int fk_st_expect(const fk_st_file *f, const char *name, fk_st_dtype dtype, int ndim,
                 const int64_t *shape, const fk_st_tensor **out, fk_err *e);

/* The __metadata__ entries (string -> string), in header order. */
size_t fk_st_metadata_count(const fk_st_file *f);
int fk_st_metadata_at(const fk_st_file *f, size_t i, const char **key, const char **value);
/* NULL when absent. */
const char *fk_st_metadata(const fk_st_file *f, const char *key);

const char *fk_st_dtype_name(fk_st_dtype d);
size_t fk_st_dtype_size(fk_st_dtype d);
/* Parses "F32", "BF16", ...; returns 0 on success, -1 for an unknown name. */
int fk_st_dtype_parse(const char *s, size_t len, fk_st_dtype *out);

/* A newly malloc'd float32 copy of any tensor (floats converted exactly
 * where float32 can hold the value, F64 rounded; integers by value). The
 * caller frees *out. */
int fk_st_to_f32(const fk_st_tensor *t, float **out, fk_err *e);
/* Exact conversions of one half / bfloat16 bit pattern (subnormals, inf
 * and nan included). */
float fk_st_bf16_to_f32(uint16_t b);

/* A tensor to write: data holds dtype_size x product(shape) bytes,
 * little-endian. */
typedef struct fk_st_desc {
  const char *name;
  fk_st_dtype dtype;
  int ndim;
  const int64_t *shape;
  const void *data;
} fk_st_desc;

typedef struct fk_st_kv {
  const char *key;
  const char *value;
} fk_st_kv;

/* Writes a valid file through a temporary file and a rename, so a crash
 * never leaves a partial file. Names and metadata keys must be unique. */
int fk_st_write(const char *path, const fk_st_desc *tensors, size_t n, const fk_st_kv *meta,
                size_t n_meta, fk_err *e);

#endif
