/* funky.tensor: tensors as Lua values. They live in host memory as
 * float32 (a network's result is read back once), which keeps them
 * independent of any device's lifetime and cheap to save, inspect and
 * compare in scripts and acceptance checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lua/fk_lua.h"
#include "models/safetensors.h"

fk_lua_tensor *fk_lua_tensor_new(lua_State *L, int ndim, const int64_t *shape) {
  size_t n = 1;
  if (ndim < 0 || ndim > FK_LUA_TENSOR_DIMS) luaL_error(L, "tensors have 0..8 dimensions");
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0 || (shape[i] && n > ((size_t)1 << 31) / (size_t)shape[i]))
      luaL_error(L, "tensor shape is out of range (at most 2^31 elements)");
    n *= (size_t)shape[i];
  }
  fk_lua_tensor *t = lua_newuserdata(L, sizeof *t + n * sizeof(float));
  t->ndim = ndim;
  t->n = n;
  memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  luaL_setmetatable(L, FK_LUA_TENSOR);
  return t;
}

fk_lua_tensor *fk_lua_tensor_check(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, FK_LUA_TENSOR);
}

/*** @type tensor
 * A tensor: float32 values in host memory, row-major, 0..8 dimensions, at most 2^31 elements.
 * Made by funky.tensor.load, image:tensor and the sd methods. `tostring(t)` shows the shape.
 * @metatable funky.tensor
 */
/*** tensor:shape()
 * The shape.
 * @return integer[] sizes of the dimensions, outermost first ({} for a scalar)
 */
static int t_shape(lua_State *L) {
  fk_lua_tensor *t = fk_lua_tensor_check(L, 1);
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, (lua_Integer)t->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/*** tensor:dtype()
 * The element type, always "f32" (tensors are converted when loaded).
 * @return string "f32"
 */
static int t_dtype(lua_State *L) {
  fk_lua_tensor_check(L, 1);
  lua_pushliteral(L, "f32");
  return 1;
}

/*** tensor:numel()
 * The number of elements.
 * @return integer the product of the shape
 */
static int t_numel(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)fk_lua_tensor_check(L, 1)->n);
  return 1;
}

/*** tensor:save(path [, name])
 * Writes the tensor as the only entry of a .safetensors file (F32), to a temporary name that is
 * then renamed.
 * @param path string the .safetensors file to write; its folder must exist
 * @param name? string the tensor's name in the file; default "tensor"
 * @error "cannot write ..." naming the path and the reason
 * @error sandboxed recipe: "sandbox: a recipe may write only under its output folder ..."
 */
static int t_save(lua_State *L) {
  fk_lua_tensor *t = fk_lua_tensor_check(L, 1);
  const char *path = luaL_checkstring(L, 2), *name = luaL_optstring(L, 3, "tensor");
  fk_lua_check_path(L, path, 1);
  fk_st_desc d = {name, FK_ST_F32, t->ndim, t->shape, t->v};
  fk_err e = {0};
  if (fk_st_write(path, &d, 1, NULL, 0, &e)) return fk_lua_raise(L, &e);
  return 0;
}

static void push_nested(lua_State *L, const fk_lua_tensor *t, int dim, size_t *at) {
  lua_createtable(L, (int)t->shape[dim], 0);
  for (int64_t i = 0; i < t->shape[dim]; i++) {
    if (dim == t->ndim - 1)
      lua_pushnumber(L, t->v[(*at)++]);
    else
      push_nested(L, t, dim + 1, at);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/*** tensor:table()
 * The values as nested Lua tables (t:table()[i][j] for a 2-D tensor, indices from 1).
 * @return table|number nested tables by dimension, or the number of a 0-D tensor
 * @error "tensor:table() is for small tensors (N elements; at most 1e6)"
 */
static int t_table(lua_State *L) {
  fk_lua_tensor *t = fk_lua_tensor_check(L, 1);
  if (t->n > 1000000)
    return luaL_error(L, "tensor:table() is for small tensors (%zu elements; at most 1e6)", t->n);
  if (t->ndim == 0) {
    lua_pushnumber(L, t->v[0]);
    return 1;
  }
  size_t at = 0;
  push_nested(L, t, 0, &at);
  return 1;
}

/*** tensor:stats()
 * Summary statistics, for checks in scripts and tests.
 * @return {min:number,max:number,mean:number,nan:boolean} min and max over the non-NaN values
 *   (inf/-inf when all are NaN), mean = sum of the non-NaN values / numel, nan = whether any is NaN
 */
static int t_stats(lua_State *L) {
  fk_lua_tensor *t = fk_lua_tensor_check(L, 1);
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  int nan = 0;
  for (size_t i = 0; i < t->n; i++) {
    float v = t->v[i];
    if (isnan(v)) {
      nan = 1;
      continue;
    }
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    sum += v;
  }
  lua_createtable(L, 0, 4);
  lua_pushnumber(L, lo);
  lua_setfield(L, -2, "min");
  lua_pushnumber(L, hi);
  lua_setfield(L, -2, "max");
  lua_pushnumber(L, t->n ? sum / (double)t->n : 0);
  lua_setfield(L, -2, "mean");
  lua_pushboolean(L, nan);
  lua_setfield(L, -2, "nan");
  return 1;
}

/* ‖a − b‖ / ‖b‖: the parity measure of the golden tests. */
/*** tensor:rel_error(ref)
 * The relative error ||t - ref|| / ||ref|| (Euclidean norms over all elements; ||t - ref|| when
 * ref is all zeros): the parity measure of the golden tests. Shapes may differ if the element
 * counts agree.
 * @param ref tensor the reference, with as many elements
 * @return number the relative error, >= 0
 * @error bad argument #1 "tensors differ in size"
 */
static int t_rel_error(lua_State *L) {
  fk_lua_tensor *a = fk_lua_tensor_check(L, 1), *b = fk_lua_tensor_check(L, 2);
  if (a->n != b->n) return luaL_argerror(L, 2, "tensors differ in size");
  double num = 0, den = 0;
  for (size_t i = 0; i < a->n; i++) {
    double d = (double)a->v[i] - b->v[i];
    num += d * d;
    den += (double)b->v[i] * b->v[i];
  }
  lua_pushnumber(L, den > 0 ? sqrt(num / den) : sqrt(num));
  return 1;
}

static int t_tostring(lua_State *L) {
  fk_lua_tensor *t = fk_lua_tensor_check(L, 1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "tensor f32 [");
  for (int i = 0; i < t->ndim; i++) {
    char n[32];
    snprintf(n, sizeof n, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    luaL_addstring(&b, n);
  }
  luaL_addstring(&b, "]");
  luaL_pushresult(&b);
  return 1;
}

/* funky.tensor.load(file, name): any float or integer tensor, as float32. */
/*** funky.tensor.load(path, name)
 * Reads one tensor of a .safetensors file; any float or integer dtype, converted to float32.
 * @param path string the .safetensors file
 * @param name string the tensor's name in the file
 * @return tensor the tensor
 * @error "PATH: no tensor named 'NAME'", "PATH: 'NAME' has more than 8 dimensions", or a message
 *   naming what is wrong with the file
 * @error sandboxed recipe: "sandbox: a recipe may read only under its own folder ..."
 */
static int t_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
  fk_lua_check_path(L, path, 0);
  fk_err e = {0};
  fk_st_file *f;
  if (fk_st_open(path, &f, &e)) return fk_lua_raise(L, &e);
  const fk_st_tensor *st = fk_st_find(f, name);
  float *v = NULL;
  if (!st)
    fk_err_set(&e, FK_EUSER, "%s: no tensor named '%s'", path, name);
  else
    fk_st_to_f32(st, &v, &e);
  if (e.code) {
    fk_st_close(f);
    return fk_lua_raise(L, &e);
  }
  if (st->ndim > FK_LUA_TENSOR_DIMS) {
    free(v);
    fk_st_close(f);
    return luaL_error(L, "%s: '%s' has more than 8 dimensions", path, name);
  }
  fk_lua_tensor *t = fk_lua_tensor_new(L, st->ndim, st->shape);
  memcpy(t->v, v, t->n * sizeof(float));
  free(v);
  fk_st_close(f);
  return 1;
}

void fk_lua_tensor_register(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"shape", t_shape}, {"dtype", t_dtype}, {"numel", t_numel},         {"save", t_save},
      {"table", t_table}, {"stats", t_stats}, {"rel_error", t_rel_error}, {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__tostring", t_tostring}, {NULL, NULL}};
  fk_lua_new_class(L, FK_LUA_TENSOR, methods, meta);
}

/*** @module funky.tensor
 * Tensors as Lua values (see the `tensor` type): for inspecting, saving and comparing what the
 * networks take and give.
 */
int fk_lua_open_tensor(lua_State *L) {
  fk_lua_tensor_register(L);
  lua_newtable(L);
  lua_pushcfunction(L, t_load);
  lua_setfield(L, -2, "load");
  return 1;
}
