/* funky live without a browser: the folder watch (a save by rename seen,
 * other files ignored, the debounce, unchanged saves skipped), HTTP request
 * parsing, file:line in Lua error messages, JSON escaping. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/file.h"
#include "live/buf.h"
#include "live/http.h"
#include "live/live.h"
#include "live/watch.h"
#include "render/progress.h"

/* Saves text as an editor that writes a temporary file and renames it. */
static void save_by_rename(const char *dir, const char *name, const char *text) {
  char tmp[4400], path[4400];
  snprintf(tmp, sizeof tmp, "%s/.%s.swp", dir, name);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(tmp, "w");
  CHECK(f != NULL, "cannot write %s", tmp);
  if (!f) return;
  fputs(text, f);
  fclose(f);
  CHECK(rename(tmp, path) == 0, "cannot rename %s", tmp);
}

/* Waits up to ms for events and reads them. */
static void pump(fk_live_watch *w, int ms) {
  struct pollfd p = {.fd = w->fd, .events = POLLIN};
  fk_err e = {0};
  if (poll(&p, 1, ms) > 0) CHECK(fk_live_watch_read(w, fk_now(), &e) == 0, "read: %s", e.msg);
}

static void test_watch(const char *dir) {
  char path[4400];
  snprintf(path, sizeof path, "%s/recipe.lua", dir);
  unlink(path);
  fk_live_watch w;
  fk_err e = {0};
  CHECK(fk_live_watch_open(&w, path, 0.1, &e) == 0, "open: %s", e.msg);
  CHECK(fk_live_watch_timeout_ms(&w, fk_now()) == -1, "nothing pending at first");

  save_by_rename(dir, "recipe.lua", "-- one\n");
  pump(&w, 1000);
  CHECK(w.due > 0, "a save by rename arms the debounce");
  int changed = 1;
  fk_live_watch_check(&w, fk_now(), &changed);
  CHECK(!changed, "not before the debounce ends");
  int ms = fk_live_watch_timeout_ms(&w, fk_now());
  CHECK(ms > 0 && ms <= 101, "the debounce ends within 100 ms (%d)", ms);
  usleep(120000);
  fk_live_watch_check(&w, fk_now(), &changed);
  CHECK(changed, "the first version counts as a change");
  CHECK(w.due == 0, "the debounce is spent");

  /* the same bytes again: skipped */
  save_by_rename(dir, "recipe.lua", "-- one\n");
  pump(&w, 1000);
  usleep(120000);
  fk_live_watch_check(&w, fk_now(), &changed);
  CHECK(!changed && w.skipped == 1, "an unchanged save is skipped (skipped %u)", w.skipped);

  /* another file in the folder: no event for the recipe */
  save_by_rename(dir, "other.lua", "-- other\n");
  pump(&w, 200);
  CHECK(w.due == 0, "saving another file of the folder does not arm the debounce");

  /* written in place (nano): seen too */
  FILE *f = fopen(path, "w");
  CHECK(f != NULL, "cannot write %s", path);
  if (f) {
    fputs("-- two\n", f);
    fclose(f);
  }
  pump(&w, 1000);
  usleep(120000);
  pump(&w, 0);
  fk_live_watch_check(&w, fk_now(), &changed);
  CHECK(changed, "a save in place with new content is a change");
  fk_live_watch_close(&w);

  /* the debounce: events keep pushing the end out */
  fk_live_watch d = {.fd = -1, .debounce = 0.1};
  fk_live_watch_touch(&d, 10.0);
  fk_live_watch_touch(&d, 10.05);
  CHECK_NEAR(d.due, 10.15, 1e-9);
  CHECK(fk_live_watch_timeout_ms(&d, 10.1) == 51, "51 ms left, got %d",
        fk_live_watch_timeout_ms(&d, 10.1));
  CHECK(fk_live_watch_timeout_ms(&d, 10.2) == 0, "due");
  CHECK(fk_live_watch_hash("a", 1) != fk_live_watch_hash("b", 1), "hash");
}

static void test_parse(void) {
  fk_live_request rq;
  const char *full = "GET /frames/000012.png?k=abc HTTP/1.1\r\nHost: 127.0.0.1:8421\r\n"
                     "Accept: */*\r\n\r\n";
  CHECK(fk_live_http_parse(full, strlen(full), &rq) == 1, "complete request");
  CHECK(!strcmp(rq.method, "GET") && !strcmp(rq.path, "/frames/000012.png") &&
            !strcmp(rq.query, "k=abc") && !strcmp(rq.host, "127.0.0.1"),
        "parsed '%s' '%s' '%s' '%s'", rq.method, rq.path, rq.query, rq.host);
  CHECK(fk_live_http_parse(full, 30, &rq) == 0, "a partial request needs more");
  const char *bad = "GET\r\nHost: x\r\n\r\n";
  CHECK(fk_live_http_parse(bad, strlen(bad), &rq) == -1, "no target");
  const char *nohttp = "GET / SPDY\r\n\r\n";
  CHECK(fk_live_http_parse(nohttp, strlen(nohttp), &rq) == -1, "not HTTP/1.x");
  const char *v6 = "POST /playhead?frame=3 HTTP/1.1\r\nhost: [::1]:80\r\n\r\n";
  CHECK(fk_live_http_parse(v6, strlen(v6), &rq) == 1 && !strcmp(rq.host, "[::1]") &&
            !strcmp(rq.query, "frame=3"),
        "IPv6 host '%s'", rq.host);
  char big[FK_LIVE_HTTP_MAX_REQUEST];
  memset(big, 'a', sizeof big);
  memcpy(big, "GET /", 5);
  CHECK(fk_live_http_parse(big, sizeof big, &rq) == -1, "an oversized head is refused");
}

static void test_where(void) {
  char w[256];
  fk_live_error_where("scripts/x.lua:12: '=' expected near 'y'", "scripts/x.lua", w, sizeof w);
  CHECK(!strcmp(w, "scripts/x.lua:12"), "syntax error: '%s'", w);
  fk_live_error_where("lua/funky/recipe.lua:40: bad size\nstack traceback:\n\t[C]: in ?\n"
                      "\tlua/funky/recipe.lua:40: in function 'timeline'\n"
                      "\t/tmp/a/x.lua:7: in main chunk",
                      "/tmp/a/x.lua", w, sizeof w);
  CHECK(!strcmp(w, "/tmp/a/x.lua:7"), "the recipe's line wins over the library's: '%s'", w);
  fk_live_error_where("bad argument #1 to 'field'\n\t...long/path/x.lua:9: in function 'frame'",
                      "/very/long/path/x.lua", w, sizeof w);
  CHECK(!strcmp(w, "...long/path/x.lua:9"), "a shortened path: '%s'", w);
  fk_live_error_where("lua/funky/recipe.lua:40: bad", "x.lua", w, sizeof w);
  CHECK(!strcmp(w, "lua/funky/recipe.lua:40"), "another file when the recipe is not named: '%s'",
        w);
  fk_live_error_where("out of memory", "x.lua", w, sizeof w);
  CHECK(!strcmp(w, ""), "no place: '%s'", w);
  fk_live_error_where("notx.lua:3: y", "x.lua", w, sizeof w);
  CHECK(!strcmp(w, "notx.lua:3"), "a file ending in the name is not the recipe, but a fallback");
}

static void test_json(void) {
  fk_live_buf b = {0};
  fk_err e = {0};
  CHECK(fk_live_buf_json(&b, "a\"b\\c\nd\te\x01", &e) == 0, "%s", e.msg);
  CHECK(!strcmp(b.p, "\"a\\\"b\\\\c\\nd\\te\\u0001\""), "escaped: %s", b.p);
  fk_live_buf_consume(&b, 3);
  CHECK(b.len == strlen(b.p), "consume keeps the length");
  fk_live_buf_free(&b);
}

int main(void) {
  const char *tmp = getenv("TMP");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", tmp && *tmp ? tmp : "/tmp/funky-test-live");
  fk_err e = {0};
  CHECK(fk_file_mkdirs(dir, &e) == 0, "%s", e.msg);
  test_watch(dir);
  test_parse();
  test_where();
  test_json();
  return CHECK_DONE();
}
