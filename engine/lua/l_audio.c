/* funky.audio: songs (decoded audio) and their frames. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lua/fk_lua.h"

#define FK_DEMO_BPM 100.0
#define FK_DEMO_SECONDS 20.0
#define FK_DEMO_RATE 44100

static fk_song *check_song(lua_State *L, int idx) {
  fk_lua_song *s = luaL_checkudata(L, idx, FK_LUA_SONG);
  if (!s->song.samples) luaL_error(L, "song is closed");
  return &s->song;
}

static fk_lua_song *new_song(lua_State *L) {
  fk_lua_song *s = lua_newuserdata(L, sizeof *s);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, FK_LUA_SONG);
  return s;
}

static int push_demo(lua_State *L, double bpm, double seconds, int rate, int64_t seed) {
  fk_lua_song *s = new_song(L);
  fk_err e = {0};
  if (fk_audio_demo(&s->song, rate, bpm, seconds, (uint64_t)seed, &e)) return fk_lua_raise(L, &e);
  return 1;
}

/* funky.audio.load(path): "demo" is the built-in demo track. */
/*** funky.audio.load(path)
 * Decodes a whole audio file: any format libsndfile reads (WAV, FLAC, Ogg, Opus, MP3). Stereo
 * and multichannel audio is mixed to mono; samples are floats in -1..1 at the file's rate.
 * @param path string file path, or "demo" for the built-in demo track (100 BPM, 20 s, 44100 Hz)
 * @return song the decoded song
 * @error "cannot open audio 'PATH': REASON; check the path", "audio 'PATH' is a folder, not a
 *   file", "cannot read audio 'PATH': REASON; use WAV, FLAC, Ogg, Opus or MP3", "audio 'PATH'
 *   holds no samples ..."
 * @error sandboxed recipe: "sandbox: a recipe may read only under its own folder ..."
 */
static int audio_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  if (strcmp(path, "demo")) fk_lua_check_path(L, path, 0);
  if (!strcmp(path, "demo")) return push_demo(L, FK_DEMO_BPM, FK_DEMO_SECONDS, FK_DEMO_RATE, 1);
  fk_lua_song *s = new_song(L);
  fk_err e = {0};
  if (fk_audio_load(path, &s->song, &e)) return fk_lua_raise(L, &e);
  return 1;
}

/* funky.audio.demo{ bpm = 100, seconds = 20, rate = 44100, seed = 1 } */
/*** funky.audio.demo([opts])
 * Synthesises a funk breakbeat (kick, snare, hi-hats, bass) at a known tempo: a test song whose
 * beats are known exactly (song.tempo is set).
 * @param opts? table options, all optional
 * @field bpm? number tempo in beats per minute, 40..300; default 100
 * @field seconds? number length in seconds, (0, 600]; default 20
 * @field rate? integer sample rate in Hz, 8000..192000; default 44100
 * @field seed? integer seed of the synthesis' randomness; default 1
 * @return song the demo song (mono)
 * @error bad argument #1 field 'bpm' "must be in 40..300", field 'seconds' "must be in (0, 600]",
 *   field 'rate' "must be in 8000..192000", or a field of the wrong type
 */
static int audio_demo(lua_State *L) {
  int t = lua_istable(L, 1) ? 1 : 0;
  double bpm = fk_lua_num_field(L, t, 1, "bpm", FK_DEMO_BPM);
  double seconds = fk_lua_num_field(L, t, 1, "seconds", FK_DEMO_SECONDS);
  int64_t rate = fk_lua_int_field(L, t, 1, "rate", FK_DEMO_RATE);
  int64_t seed = fk_lua_int_field(L, t, 1, "seed", 1);
  if (!(bpm >= 40 && bpm <= 300)) fk_lua_field_error(L, 1, "bpm", "must be in 40..300");
  if (!(seconds > 0 && seconds <= 600)) fk_lua_field_error(L, 1, "seconds", "must be in (0, 600]");
  if (rate < 8000 || rate > 192000) fk_lua_field_error(L, 1, "rate", "must be in 8000..192000");
  return push_demo(L, bpm, seconds, (int)rate, seed);
}

/* song:frames{ fps = 15, window = 0.05 } -> sequence of frames, each
 * { index = k (from 0), time = k / fps, spectrum = floats }. */
/*** @type frames
 * What song:frames returns: a Lua array of `frame` tables, frames[k + 1] for video frame k,
 * plus the analysis settings below.
 * @field [integer] frame frames[k + 1] is video frame k
 * @field fps number video frames per second
 * @field window number onset window in seconds
 * @field n_window integer onset window (FFT length) in samples, floor(window * rate)
 * @field n_bins integer bins per spectrum, n_window / 2 + 1
 * @field rate integer sample rate in Hz
 * @field peak number the largest magnitude of any bin in any frame (for "global" normalisation)
 */
/*** @type frame
 * One element of song:frames.
 * @field index integer frame number from 0 (as in the output file names)
 * @field time number start of the frame in seconds, index / fps
 * @field spectrum floats |rFFT| of the frame's onset window; spectrum[1] is bin 0 (DC), bin b is
 *   b * rate / n_window Hz
 */
/*** song:frames([opts])
 * Cuts the song into video frames and takes each frame's spectrum. Frame k (from 0) covers
 * samples [floor(k rate / fps), floor((k + 1) rate / fps)); its onset window is the first
 * floor(window rate) samples of that chunk (zero-padded if the chunk is shorter), and the
 * spectrum is the window's |rFFT| (no window function). A last partial chunk counts only if it
 * holds the whole window.
 * @param opts? table options, all optional
 * @field fps? number video frames per second, (0, 1000]; default 15
 * @field window? number onset window in seconds, (0, 10], at least 2 samples; default 0.05
 * @return frames the frames (frames[1] is frame 0)
 * @error bad argument #1 field 'fps' "must be > 0 (frames per second)", field 'window' "must be
 *   > 0 (seconds)"
 * @error "fps must be in (0, 1000]", "window must be in (0, 10] seconds", "window of W s is under
 *   2 samples at R Hz", "audio 'NAME' (D s) is shorter than one W s onset window ..."
 * @error "song is closed" (as for every song method)
 */
static int song_frames(lua_State *L) {
  fk_song *song = check_song(L, 1);
  int t = lua_istable(L, 2) ? 2 : 0;
  double fps = fk_lua_num_field(L, t, 2, "fps", 15);
  double window = fk_lua_num_field(L, t, 2, "window", 0.05);
  if (!(fps > 0)) fk_lua_field_error(L, 2, "fps", "must be > 0 (frames per second)");
  if (!(window > 0)) fk_lua_field_error(L, 2, "window", "must be > 0 (seconds)");
  fk_frames fr;
  fk_err e = {0};
  if (fk_audio_frames(song, fps, window, &fr, &e)) return fk_lua_raise(L, &e);
  lua_createtable(L, (int)fr.n_frames, 8);
  for (size_t k = 0; k < fr.n_frames; k++) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)k);
    lua_setfield(L, -2, "index");
    lua_pushnumber(L, (double)k / fps);
    lua_setfield(L, -2, "time");
    fk_lua_floats *f = fk_lua_floats_new(L, fr.n_bins, fr.peak);
    f->n_window = fr.n_window;
    f->rate = fr.rate;
    memcpy(f->v, fk_frames_spectrum(&fr, k), fr.n_bins * sizeof(float));
    lua_setfield(L, -2, "spectrum");
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  lua_pushnumber(L, fps);
  lua_setfield(L, -2, "fps");
  lua_pushnumber(L, window);
  lua_setfield(L, -2, "window");
  lua_pushinteger(L, (lua_Integer)fr.n_window);
  lua_setfield(L, -2, "n_window");
  lua_pushinteger(L, (lua_Integer)fr.n_bins);
  lua_setfield(L, -2, "n_bins");
  lua_pushinteger(L, fr.rate);
  lua_setfield(L, -2, "rate");
  lua_pushnumber(L, fr.peak);
  lua_setfield(L, -2, "peak");
  fk_frames_free(&fr);
  return 1;
}

/* song:save(path [, "float"]): WAV, 16-bit unless "float". */
/*** song:save(path [, format])
 * Writes the (mono) song as a WAV file, to a temporary name that is then renamed.
 * @param path string the WAV file to write; its folder must exist
 * @param format? string "pcm16" (16-bit integer, the default) or "float" (32-bit float)
 * @return boolean true
 * @error bad argument #2 "format must be \"pcm16\" or \"float\""
 * @error "cannot write WAV 'PATH': REASON", "cannot write in 'DIR': REASON"
 * @error sandboxed recipe: "sandbox: a recipe may write only under its output folder ..."
 */
static int song_save(lua_State *L) {
  fk_song *song = check_song(L, 1);
  const char *path = luaL_checkstring(L, 2);
  fk_lua_check_path(L, path, 1);
  const char *fmt = luaL_optstring(L, 3, "pcm16");
  if (strcmp(fmt, "pcm16") && strcmp(fmt, "float"))
    luaL_argerror(L, 3, "format must be \"pcm16\" or \"float\"");
  fk_err e = {0};
  if (fk_audio_save_wav(song, path, !strcmp(fmt, "float"), &e)) return fk_lua_raise(L, &e);
  lua_pushboolean(L, 1);
  return 1;
}

/* song:sample(i) -> the i-th mono sample (from 1), for tests and tools. */
/*** song:sample(i)
 * One mono sample, for tests and tools.
 * @param i integer sample number from 1, 1..song.samples
 * @return number the sample, nominally -1..1
 * @error bad argument #1 "sample index out of range"
 */
static int song_sample(lua_State *L) {
  fk_song *song = check_song(L, 1);
  int64_t i = fk_lua_check_int(L, 2);
  if (i < 1 || (uint64_t)i > song->n) luaL_argerror(L, 2, "sample index out of range");
  lua_pushnumber(L, song->samples[i - 1]);
  return 1;
}

/*** @type song
 * Decoded audio: mono float samples at the source's rate, from funky.audio.load or
 * funky.audio.demo. Freed when collected or by `<close>`; a closed song raises "song is closed".
 * @metatable funky.song
 * @field rate integer sample rate in Hz
 * @field channels integer channels of the source file (the samples are mixed to mono)
 * @field samples integer number of mono samples
 * @field duration number length in seconds (samples / rate)
 * @field name string the file name ("demo" for the demo)
 * @field tempo number? the known tempo in BPM (the demo's), else nil; song:features estimates one
 */
static int song_index(lua_State *L) {
  fk_lua_song *s = luaL_checkudata(L, 1, FK_LUA_SONG);
  const char *k = luaL_checkstring(L, 2);
  if (s->song.samples) {
    if (!strcmp(k, "rate")) return lua_pushinteger(L, s->song.rate), 1;
    if (!strcmp(k, "channels")) return lua_pushinteger(L, s->song.channels), 1;
    if (!strcmp(k, "samples")) return lua_pushinteger(L, (lua_Integer)s->song.n), 1;
    if (!strcmp(k, "duration")) return lua_pushnumber(L, fk_audio_duration(&s->song)), 1;
    if (!strcmp(k, "name")) return lua_pushstring(L, s->song.name), 1;
    if (!strcmp(k, "tempo")) {
      if (s->song.tempo > 0)
        lua_pushnumber(L, s->song.tempo);
      else
        lua_pushnil(L);
      return 1;
    }
  }
  luaL_getmetafield(L, 1, "methods");
  lua_getfield(L, -1, k);
  return 1;
}

static int song_gc(lua_State *L) {
  fk_lua_song *s = luaL_checkudata(L, 1, FK_LUA_SONG);
  fk_audio_free(&s->song);
  return 0;
}

static int song_tostring(lua_State *L) {
  fk_lua_song *s = luaL_checkudata(L, 1, FK_LUA_SONG);
  if (!s->song.samples) return lua_pushliteral(L, "song (closed)"), 1;
  char buf[400];
  snprintf(buf, sizeof buf, "song '%s' %.2f s %d Hz %d ch", s->song.name,
           fk_audio_duration(&s->song), s->song.rate, s->song.channels);
  lua_pushstring(L, buf);
  return 1;
}

/*** @module funky.audio
 * Audio: load or synthesise a song, cut it into per-frame spectra and features (see the `song`
 * type). Times are in seconds, frequencies in Hz.
 */
int fk_lua_open_audio(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"frames", song_frames}, {"save", song_save}, {"sample", song_sample}, {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__index", song_index},
                                  {"__gc", song_gc},
                                  {"__close", song_gc},
                                  {"__tostring", song_tostring},
                                  {NULL, NULL}};
  fk_lua_new_class(L, FK_LUA_SONG, methods, meta);
  fk_lua_features_register(L);
  static const luaL_Reg fns[] = {{"load", audio_load}, {"demo", audio_demo}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
