/* song:features{ fps = 15, bands = { {20, 150}, {150, 2000}, ... } } -> a
 * table of per-frame arrays (index k + 1 for video frame k): rms, onset,
 * bands[b], beat_index, beat_phase, bar_phase; and onset_times, beats
 * (seconds), tempo (BPM), count, fps. */
#include <stdlib.h>

#include "audio/features.h"
#include "lua/fk_lua.h"

static void push_floats(lua_State *L, const float *v, size_t n, size_t stride) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushnumber(L, v[i * stride]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/*** @type features
 * What song:features returns: per-frame arrays (element k + 1 for video frame k, `count` of
 * them) and song-wide beat information. Onset strength follows librosa's onset_strength
 * defaults (mel spectral flux, n_fft 2048, hop 512).
 * @field count integer number of frames: every chunk starting inside the audio (one more than
 *   song:frames when the last chunk is shorter than its window)
 * @field fps number video frames per second
 * @field rms number[] RMS of each frame's samples, 0..1 for samples in -1..1
 * @field onset number[] onset strength, 0..1 (1 at the song's strongest onset)
 * @field bands number[][] bands[b][k + 1]: energy of band b (mean power over its bins), 0..1,
 *   each band divided by its maximum over the song
 * @field beat_index integer[] number (from 0) of the last beat at or before the frame, -1
 *   before the first
 * @field beat_phase number[] 0 at a beat rising to 1 before the next (extrapolated at the ends;
 *   all 0 without beats)
 * @field bar_phase number[] the same over bars of 4 beats, the first beat opening a bar
 * @field onset_times number[] times of the picked onsets in seconds
 * @field beats number[] beat times in seconds
 * @field tempo number estimated tempo in BPM, 60..200; 0 when no pulse was found (then no beats)
 */
/*** song:features([opts])
 * Per-frame audio features at the video frame rate: loudness, onset strength, band energies,
 * and a beat grid (beat tracking, tempo estimate). Array element k + 1 belongs to video frame k.
 * @param opts? table options, all optional
 * @field fps? number video frames per second, (0, 1000]; default 15
 * @field bands? number[][] frequency bands {{low_hz, high_hz}, ...} in Hz, low < high, for
 *   `bands`; default none
 * @return features the feature arrays
 * @error bad argument #1 field 'fps' "must be > 0 (frames per second)", field 'bands' "must be a
 *   list of {low_hz, high_hz}"
 * @error "fps must be in (0, 1000]", "band B must be {low_hz, high_hz} with low < high"
 * @error "song is closed"
 */
static int song_features(lua_State *L) {
  fk_lua_song *s = luaL_checkudata(L, 1, FK_LUA_SONG);
  if (!s->song.samples) return luaL_error(L, "song is closed");
  int t = lua_istable(L, 2) ? 2 : 0;
  double fps = fk_lua_num_field(L, t, 2, "fps", 15);
  if (!(fps > 0)) fk_lua_field_error(L, 2, "fps", "must be > 0 (frames per second)");
  size_t n_bands = 0;
  fk_band *bands = NULL;
  if (t) {
    lua_getfield(L, t, "bands");
    if (lua_istable(L, -1)) {
      n_bands = fk_lua_rawlen(L, -1);
      bands = lua_newuserdata(L, (n_bands ? n_bands : 1) * sizeof *bands); /* freed by the GC */
      for (size_t i = 0; i < n_bands; i++) {
        lua_rawgeti(L, -2, (int)i + 1);
        if (!lua_istable(L, -1))
          fk_lua_field_error(L, 2, "bands", "must be a list of {low_hz, high_hz}");
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1))
          fk_lua_field_error(L, 2, "bands", "must be a list of {low_hz, high_hz}");
        bands[i].lo_hz = lua_tonumber(L, -2);
        bands[i].hi_hz = lua_tonumber(L, -1);
        lua_pop(L, 3);
      }
    } else if (!lua_isnil(L, -1)) {
      fk_lua_field_error(L, 2, "bands", "must be a list of {low_hz, high_hz}");
    }
  }
  fk_features_cfg cfg = {.fps = fps, .bands = bands, .n_bands = n_bands};
  fk_features f;
  fk_err e = {0};
  if (fk_features_compute(&s->song, &cfg, &f, &e)) return fk_lua_raise(L, &e);
  lua_createtable(L, 0, 12);
  lua_pushnumber(L, fps);
  lua_setfield(L, -2, "fps");
  lua_pushinteger(L, (lua_Integer)f.n_frames);
  lua_setfield(L, -2, "count");
  lua_pushnumber(L, f.tempo);
  lua_setfield(L, -2, "tempo");
  push_floats(L, f.rms, f.n_frames, 1);
  lua_setfield(L, -2, "rms");
  push_floats(L, f.onset, f.n_frames, 1);
  lua_setfield(L, -2, "onset");
  push_floats(L, f.beat_phase, f.n_frames, 1);
  lua_setfield(L, -2, "beat_phase");
  push_floats(L, f.bar_phase, f.n_frames, 1);
  lua_setfield(L, -2, "bar_phase");
  lua_createtable(L, (int)f.n_frames, 0);
  for (size_t i = 0; i < f.n_frames; i++) {
    lua_pushinteger(L, f.beat_index[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "beat_index");
  lua_createtable(L, (int)n_bands, 0);
  for (size_t b = 0; b < n_bands; b++) {
    push_floats(L, f.bands + b, f.n_frames, n_bands);
    lua_rawseti(L, -2, (lua_Integer)b + 1);
  }
  lua_setfield(L, -2, "bands");
  lua_createtable(L, (int)f.n_onsets, 0);
  for (size_t i = 0; i < f.n_onsets; i++) {
    lua_pushnumber(L, f.onset_times[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "onset_times");
  lua_createtable(L, (int)f.n_beats, 0);
  for (size_t i = 0; i < f.n_beats; i++) {
    lua_pushnumber(L, f.beats[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "beats");
  fk_features_free(&f);
  return 1;
}

void fk_lua_features_register(lua_State *L) {
  luaL_getmetatable(L, FK_LUA_SONG);
  /* fk_lua_new_class keeps methods in "methods" when the class has its own
   * __index function (songs do, for their fields) and in __index otherwise. */
  lua_getfield(L, -1, "methods");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, -1, "__index");
  }
  if (lua_istable(L, -1)) {
    lua_pushcfunction(L, song_features);
    lua_setfield(L, -2, "features");
  }
  lua_pop(L, 2);
}
