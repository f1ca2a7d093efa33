/* Shared conventions of the Lua bindings (one file per module, l_*.c).
 *
 * - Bad arguments raise luaL_argerror naming the argument or field.
 * - Engine errors (fk_err) raise through fk_lua_raise, which remembers
 *   whether the error was internal so the CLI can pick the exit status.
 * - Handles are full userdata with __gc, __close, __tostring; the metatable
 *   names are the FK_LUA_* constants below.
 * - The same sources build against Lua 5.4 and LuaJIT (5.1 API + 5.2 bits);
 *   the few differences live in this header. */
#ifndef FK_LUA_FK_LUA_H
#define FK_LUA_FK_LUA_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>

#include "core/error.h"
#include "image/colour.h"
#include "image/image.h"

#if LUA_VERSION_NUM < 502
#define fk_lua_rawlen(L, i) lua_objlen(L, i)
#define lua_absindex(L, i) ((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) : lua_gettop(L) + (i) + 1)
#else
#define fk_lua_rawlen(L, i) lua_rawlen(L, i)
#endif

#define FK_LUA_FLOATS "funky.floats"
#define FK_LUA_IMAGE "funky.image"
#define FK_LUA_SONG "funky.song"
#define FK_LUA_FRAMES "funky.frames"
#define FK_LUA_FRAME "funky.frame"
#define FK_LUA_BINS "funky.bins"
#define FK_LUA_TENSOR "funky.tensor"
#define FK_LUA_SD "funky.sd"
#define FK_LUA_INTERP "funky.interp"

#include "audio/audio.h"

/* Song userdata (FK_LUA_SONG): the decoded audio. */
typedef struct fk_lua_song {
  fk_song song;
} fk_lua_song;

/* Per-state context, kept in the registry (no global mutable state). */
#define FK_LUA_MAX_ROOTS 16
typedef struct fk_lua_ctx {
  int internal_error; /* set when an internal (exit status 2) error was raised */
  /* the sandbox (sandbox.c): off for `funky run` and --trust */
  int sandboxed;
  int depth;           /* nesting of fk_lua_pcall, to reset the budget per entry */
  double budget, used; /* instructions per call from C */
  size_t mem_limit;    /* bytes of Lua heap */
  int killed;          /* over budget: every further instruction raises */
  char kill_msg[256];
  char read_roots[FK_LUA_MAX_ROOTS][4096]; /* real paths readable under */
  int n_read_roots;
  char write_root[4096]; /* real path writable under ("" = nowhere) */
} fk_lua_ctx;

fk_lua_ctx *fk_lua_ctx_get(lua_State *L);
/* Caps the Lua heap of L (Lua 5.4; LuaJIT's is watched by the sandbox). */
void fk_lua_set_heap_limit(lua_State *L, size_t bytes);

/* Raises e's message as a Lua error (with the caller's position). */
int fk_lua_raise(lua_State *L, const fk_err *e);

/* Table-field helpers for option tables at stack index t. The *_field
 * functions raise "bad argument #arg (field 'name' ...)" on a wrong type. */
double fk_lua_num_field(lua_State *L, int t, int arg, const char *name, double dflt);
int64_t fk_lua_int_field(lua_State *L, int t, int arg, const char *name, int64_t dflt);
const char *fk_lua_str_field(lua_State *L, int t, int arg, const char *name, const char *dflt);
/* Raises argerror naming field `name` of argument arg. */
int fk_lua_field_error(lua_State *L, int arg, const char *name, const char *msg);
/* Checks an integer argument (rejects non-integral numbers). */
int64_t fk_lua_check_int(lua_State *L, int arg);

/* Float arrays (spectra, amplitudes): 1-based indexing, #, :take(bins),
 * :max(), :sum(), :mean(), :table(). A spectrum also knows its FFT length
 * and sample rate (to resolve bins given in Hz or log-spaced) and `peak`,
 * the song's largest magnitude, for "global" normalisation (0 if unknown). */
typedef struct fk_lua_floats {
  size_t n;
  double peak;
  size_t n_window; /* FFT length, 0 when not a spectrum */
  int rate;
  float v[]; /* flexible array */
} fk_lua_floats;
fk_lua_floats *fk_lua_floats_new(lua_State *L, size_t n, double peak);
fk_lua_floats *fk_lua_floats_check(lua_State *L, int idx);
/* A float array argument or a Lua table of numbers. A table is converted
 * into a new float array pushed on the stack (then the call pushes one
 * value); a float array is returned as is (nothing pushed). *pushed says which. */
fk_lua_floats *fk_lua_floats_arg(lua_State *L, int idx, const char *what, int *pushed);

/* Bin mappings (funky.bins.*, or a Lua table of FFT bin numbers, 0 = DC),
 * resolved against an FFT of n_window samples at rate. Band mappings give
 * pairs (first, last bin) per band and *bands = 1. The returned array lives
 * in the mapping's userdata, or in a new userdata pushed for a table
 * argument (*pushed = 1). */
int fk_lua_bins_resolve(lua_State *L, int idx, size_t n_window, int rate, const int64_t **bins,
                        size_t *n, int *bands, int *pushed);

void fk_lua_floats_register(lua_State *L);
int fk_lua_floats_ctor(lua_State *L);

/* Images. push takes ownership of img's pixels. */
fk_image *fk_lua_image_push(lua_State *L, fk_image *img);
fk_image *fk_lua_image_check(lua_State *L, int idx);

/* Colour schemes: a scheme name or a function (bin, count) -> r, g, b in
 * [0, 1]. The returned fn/ctx stay valid while the argument is on the stack. */
typedef struct fk_lua_colour {
  lua_State *L;
  int fn_index; /* stack index of the Lua function, 0 for a named scheme */
  int scheme;
  int failed;
} fk_lua_colour;
void fk_lua_colour_arg(lua_State *L, int idx, const char *field, int arg, fk_lua_colour *c,
                       fk_colour_fn *fn);
/* After drawing with a Lua colour function: re-raises its error, if any. */
void fk_lua_colour_finish(lua_State *L, fk_lua_colour *c);
/* Reads the option table's `colour` (at t), runs draw(cfg) with it (fn and
 * ctx point into cfg), re-raises a colour function's error, and pushes
 * the image: the common tail of funky.noise.field and funky.draw.pie. */
int fk_lua_draw_coloured(lua_State *L, int t, fk_colour_fn *fn, void **ctx,
                         int (*draw)(void *cfg, fk_image *img, fk_err *e), void *cfg);
/* The ctx to pass along with fn. */
void *fk_lua_colour_ctx(fk_lua_colour *c);
/* Reads an optional {r, g, b} field of the option table at t into rgb. */
void fk_lua_rgb_field(lua_State *L, int t, int arg, const char *name, float rgb[3]);
/* Reads `size = {w, h}` of the option table at t, within the image limits. */
void fk_lua_size_field(lua_State *L, int t, int arg, int *w, int *h);

/* Tensors (funky.tensor): float32 values in host memory, row-major. */
#define FK_LUA_TENSOR_DIMS 8
typedef struct fk_lua_tensor {
  int ndim;
  int64_t shape[FK_LUA_TENSOR_DIMS];
  size_t n;
  float v[];
} fk_lua_tensor;
fk_lua_tensor *fk_lua_tensor_new(lua_State *L, int ndim, const int64_t *shape);
fk_lua_tensor *fk_lua_tensor_check(lua_State *L, int idx);
void fk_lua_tensor_register(lua_State *L);

/* Registers a metatable with methods (used as __index) and metamethods. */
void fk_lua_new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                      const luaL_Reg *meta);

/* Module openers: each pushes its module table. */
int fk_lua_open_audio(lua_State *L);
int fk_lua_open_bins(lua_State *L);
int fk_lua_open_image(lua_State *L);
int fk_lua_open_noise(lua_State *L);
int fk_lua_open_draw(lua_State *L);
int fk_lua_open_colour(lua_State *L);
int fk_lua_open_tensor(lua_State *L);
int fk_lua_open_sd(lua_State *L);
int fk_lua_open_interp(lua_State *L);
/* Adds song:features{...} to the song class (l_features.c). */
void fk_lua_features_register(lua_State *L);

/* The recipe sandbox. Scripts loaded with fk_lua_run_file after this see
 * only base/string/table/math/utf8 and the funky modules, text chunks
 * only; an instruction budget per call from C ends runaway loops (a pcall
 * cannot swallow it) and the heap has a limit. read_roots and write_root
 * are folders (need not exist yet for writes). */
typedef struct fk_lua_sandbox_opts {
  double instructions; /* per call from C; 0: default 2e9 */
  size_t memory;       /* bytes; 0: default 2 GiB */
  const char *read_roots[FK_LUA_MAX_ROOTS];
  int n_read_roots;
  const char *write_root;
} fk_lua_sandbox_opts;
int fk_lua_sandbox(lua_State *L, const fk_lua_sandbox_opts *o, fk_err *e);
/* Raises a Lua error unless the sandbox allows reading (write = 0) or
 * writing path. Call before opening any file for a script. */
void fk_lua_check_path(lua_State *L, const char *path, int write);
/* Pushes the script's global `name` (from the sandbox's environment when
 * sandboxed). */
void fk_lua_script_global(lua_State *L, const char *name);
/* luaL_loadfile for a script in the sandbox (text only, its environment). */
int fk_lua_sandbox_load(lua_State *L, const char *path);

/* Creates a state with the standard libraries and `require "funky"`. */
lua_State *fk_lua_new_state(fk_err *e);
void fk_lua_close_state(lua_State *L);
/* Runs a file with args as `arg` and `...`; on error fills e with the
 * message and traceback. */
int fk_lua_run_file(lua_State *L, const char *path, int argc, char **argv, fk_err *e);
/* Protected call of the function below nargs args, with traceback. */
int fk_lua_pcall(lua_State *L, int nargs, int nresults, fk_err *e);

#endif
