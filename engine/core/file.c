#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fk_file_read(const char *path, char **data, size_t *len, fk_err *e) {
  FILE *f = fopen(path, "rb");
  if (!f) return fk_err_set(e, FK_EUSER, "cannot open '%s': %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    return fk_err_oom(e, path, cap);
  }
  for (;;) {
    if (n + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        fclose(f);
        return fk_err_oom(e, path, cap * 2);
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return fk_err_set(e, FK_EUSER, "cannot read '%s': I/O error", path);
  }
  buf[n] = '\0';
  *data = buf;
  if (len) *len = n;
  return FK_OK;
}

int fk_file_write_atomic(const char *path, const void *data, size_t len, fk_err *e) {
  char dir[4096], tmp[4200];
  fk_path_dir(path, dir, sizeof dir);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  int n = snprintf(tmp, sizeof tmp, "%s/.%s.tmpXXXXXX", dir, base);
  if (n < 0 || (size_t)n >= sizeof tmp) return fk_err_set(e, FK_EUSER, "path too long: '%s'", path);
  int fd = mkstemp(tmp);
  if (fd < 0)
    return fk_err_set(e, FK_EUSER, "cannot write in '%s': %s; choose a writable --out folder", dir,
                      strerror(errno));
  const char *p = data;
  size_t left = len;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int err = errno;
      close(fd);
      unlink(tmp);
      return fk_err_set(e, FK_EUSER, "cannot write '%s': %s (disk full?)", path, strerror(err));
    }
    p += w;
    left -= (size_t)w;
  }
  /* Default file permissions instead of mkstemp's 0600. */
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  if (fsync(fd) != 0 || close(fd) != 0) {
    int err = errno;
    unlink(tmp);
    return fk_err_set(e, FK_EUSER, "cannot flush '%s': %s", path, strerror(err));
  }
  if (rename(tmp, path) != 0) {
    int err = errno;
    unlink(tmp);
    return fk_err_set(e, FK_EUSER, "cannot rename '%s' to '%s': %s", tmp, path, strerror(err));
  }
  return FK_OK;
}

int fk_file_mkdirs(const char *dir, fk_err *e) {
  char buf[4096];
  size_t n = strlen(dir);
  if (n == 0) return FK_OK;
  if (n >= sizeof buf) return fk_err_set(e, FK_EUSER, "folder name too long: '%s'", dir);
  memcpy(buf, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char c = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return fk_err_set(e, FK_EUSER, "cannot create folder '%s': %s; choose a writable --out", buf,
                        strerror(errno));
    buf[i] = c;
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return fk_err_set(e, FK_EUSER, "'%s' exists but is not a folder; choose another --out", dir);
  if (access(dir, W_OK) != 0)
    return fk_err_set(e, FK_EUSER, "folder '%s' is not writable; choose another --out", dir);
  return FK_OK;
}

int fk_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int fk_path_join(char *out, size_t n, const char *dir, const char *name, fk_err *e) {
  int w = snprintf(out, n, "%s/%s", dir, name);
  if (w < 0 || (size_t)w >= n) return fk_err_set(e, FK_EUSER, "path too long: '%s/%s'", dir, name);
  return FK_OK;
}

void fk_path_dir(const char *path, char *out, size_t n) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(out, n, ".");
  } else if (slash == path) {
    snprintf(out, n, "/");
  } else {
    snprintf(out, n, "%.*s", (int)(slash - path), path);
  }
}

void fk_path_stem(const char *path, char *out, size_t n) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  snprintf(out, n, "%.*s", (int)len, base);
}
