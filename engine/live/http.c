#include "live/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Copies [s, end) into out (n bytes); 0 when it does not fit. */
static int copy_span(char *out, size_t n, const char *s, const char *end) {
  size_t len = (size_t)(end - s);
  if (len >= n) return 0;
  memcpy(out, s, len);
  out[len] = '\0';
  return 1;
}

int fk_live_http_parse(const char *buf, size_t len, fk_live_request *rq) {
  memset(rq, 0, sizeof *rq);
  const char *end = NULL;
  for (size_t i = 0; i + 3 < len; i++)
    if (!memcmp(buf + i, "\r\n\r\n", 4)) {
      end = buf + i + 2; /* keep the last header's CRLF */
      break;
    }
  if (!end) return len >= FK_LIVE_HTTP_MAX_REQUEST ? -1 : 0;
  /* request line: METHOD SP target SP HTTP/1.x CRLF (strstr stops at the
   * blank line found above at the latest: the buffer has no NUL at its end) */
  const char *eol = strstr(buf, "\r\n");
  if (!eol || eol > end) return -1; /* a NUL byte in the request line */
  const char *sp1 = memchr(buf, ' ', (size_t)(eol - buf));
  if (!sp1 || !copy_span(rq->method, sizeof rq->method, buf, sp1)) return -1;
  const char *target = sp1 + 1;
  const char *sp2 = memchr(target, ' ', (size_t)(eol - target));
  if (!sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) || target[0] != '/') return -1;
  const char *q = memchr(target, '?', (size_t)(sp2 - target));
  if (!copy_span(rq->path, sizeof rq->path, target, q ? q : sp2)) return -1;
  if (q && !copy_span(rq->query, sizeof rq->query, q + 1, sp2)) return -1;
  /* headers: only Host matters */
  for (const char *line = eol + 2; line < end;) {
    const char *next = strstr(line, "\r\n");
    if (!next || next > end) break;
    if ((size_t)(next - line) > 5 && !strncasecmp(line, "host:", 5)) {
      const char *v = line + 5;
      while (v < next && (*v == ' ' || *v == '\t')) v++;
      const char *stop = v;
      if (*v == '[') { /* [::1]:port */
        while (stop < next && *stop != ']') stop++;
        if (stop < next) stop++;
      } else {
        while (stop < next && *stop != ':') stop++;
      }
      if (!copy_span(rq->host, sizeof rq->host, v, stop)) return -1;
    }
    line = next + 2;
  }
  return 1;
}

int fk_live_http_open(fk_live_http *h, int port, fk_live_handler fn, void *ctx, fk_err *e) {
  memset(h, 0, sizeof *h);
  for (int i = 0; i < FK_LIVE_HTTP_MAX_CONN; i++) h->conn[i].fd = -1;
  h->handler = fn;
  h->ctx = ctx;
  h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (h->fd < 0)
    return fk_err_set(e, FK_EINTERNAL, "live: cannot create a socket: %s", strerror(errno));
  int one = 1;
  /* a restarted live server gets its port back at once */
  if (setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    int err = errno;
    fk_live_http_close(h);
    return fk_err_set(e, FK_EINTERNAL, "live: setsockopt(SO_REUSEADDR): %s", strerror(err));
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* never other machines */
  if (bind(h->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(h->fd, 16) != 0) {
    int err = errno;
    fk_live_http_close(h);
    return fk_err_set(e, FK_EUSER, "live: cannot listen on 127.0.0.1:%d: %s%s", port, strerror(err),
                      err == EADDRINUSE ? "; pick another --port, or --port 0 for any free one"
                                        : "");
  }
  socklen_t len = sizeof a;
  if (getsockname(h->fd, (struct sockaddr *)&a, &len) != 0) {
    int err = errno;
    fk_live_http_close(h);
    return fk_err_set(e, FK_EINTERNAL, "live: getsockname: %s", strerror(err));
  }
  h->port = ntohs(a.sin_port);
  return FK_OK;
}

static void drop(fk_live_http *h, int c) {
  fk_live_conn *k = &h->conn[c];
  if (k->fd >= 0) close(k->fd);
  k->fd = -1;
  k->in_len = 0;
  k->stream = k->replied = 0;
  fk_live_buf_free(&k->out);
}

void fk_live_http_close(fk_live_http *h) {
  for (int i = 0; i < FK_LIVE_HTTP_MAX_CONN; i++) drop(h, i);
  if (h->fd >= 0) close(h->fd);
  h->fd = -1;
}

/* Writes what the socket takes now; drops the connection on an error or
 * once a reply is fully sent. */
static void flush(fk_live_http *h, int c) {
  fk_live_conn *k = &h->conn[c];
  while (k->out.len) {
    /* MSG_NOSIGNAL: a closed tab must not kill the server with SIGPIPE */
    ssize_t n = send(k->fd, k->out.p, k->out.len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      drop(h, c);
      return;
    }
    fk_live_buf_consume(&k->out, (size_t)n);
  }
  if (k->replied && !k->stream) drop(h, c);
}

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 503: return "Service Unavailable";
  default: return "Error";
  }
}

void fk_live_http_reply(fk_live_http *h, int c, int status, const char *type, const void *body,
                        size_t len) {
  fk_live_conn *k = &h->conn[c];
  fk_err e = {0};
  if (fk_live_buf_printf(&k->out, &e,
                         "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                         "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                         status, reason(status), type, len) ||
      fk_live_buf_add(&k->out, body, len, &e)) {
    fprintf(stderr, "funky live: dropped a request: %s\n", e.msg);
    drop(h, c);
    return;
  }
  k->replied = 1;
  flush(h, c);
}

static int add_event(fk_live_conn *k, const char *data, fk_err *e) {
  return fk_live_buf_printf(&k->out, e, "data: %s\n\n", data);
}

void fk_live_http_stream(fk_live_http *h, int c, const char *data) {
  fk_live_conn *k = &h->conn[c];
  fk_err e = {0};
  if (fk_live_buf_printf(&k->out, &e,
                         "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         "Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\n"
                         "retry: 500\n\n") ||
      add_event(k, data, &e)) {
    fprintf(stderr, "funky live: dropped an event stream: %s\n", e.msg);
    drop(h, c);
    return;
  }
  k->stream = k->replied = 1;
  flush(h, c);
}

void fk_live_http_broadcast(fk_live_http *h, const char *data) {
  for (int c = 0; c < FK_LIVE_HTTP_MAX_CONN; c++) {
    fk_live_conn *k = &h->conn[c];
    if (k->fd < 0 || !k->stream) continue;
    fk_err e = {0};
    if (k->out.len > FK_LIVE_HTTP_MAX_BACKLOG || add_event(k, data, &e)) {
      drop(h, c); /* a stalled page: it reconnects and gets the current state */
      continue;
    }
    flush(h, c);
  }
}

int fk_live_http_streams(const fk_live_http *h) {
  int n = 0;
  for (int c = 0; c < FK_LIVE_HTTP_MAX_CONN; c++) n += h->conn[c].fd >= 0 && h->conn[c].stream;
  return n;
}

size_t fk_live_http_pollfds(const fk_live_http *h, struct pollfd *p) {
  size_t n = 0;
  p[n++] = (struct pollfd){.fd = h->fd, .events = POLLIN};
  for (int c = 0; c < FK_LIVE_HTTP_MAX_CONN; c++) {
    const fk_live_conn *k = &h->conn[c];
    if (k->fd < 0) continue;
    short ev = POLLIN; /* streams too: their closing shows as readable */
    if (k->out.len) ev |= POLLOUT;
    p[n++] = (struct pollfd){.fd = k->fd, .events = ev};
  }
  return n;
}

static void accept_all(fk_live_http *h) {
  for (;;) {
    int fd = accept(h->fd, NULL, NULL);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
        fprintf(stderr, "funky live: accept failed: %s\n", strerror(errno));
      return;
    }
    /* accept4 is not POSIX: set the flags after */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
      fprintf(stderr, "funky live: cannot make a connection non-blocking: %s\n", strerror(errno));
      close(fd);
      continue;
    }
    int c = 0;
    while (c < FK_LIVE_HTTP_MAX_CONN && h->conn[c].fd >= 0) c++;
    if (c == FK_LIVE_HTTP_MAX_CONN) {
      /* too many tabs: refuse this one rather than stall the others */
      static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n";
      if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL) < 0) { /* closing anyway */
      }
      close(fd);
      continue;
    }
    h->conn[c].fd = fd;
    h->conn[c].in_len = 0;
  }
}

static int host_ok(const char *host) {
  return !*host || !strcmp(host, "127.0.0.1") || !strcmp(host, "localhost") ||
         !strcmp(host, "[::1]");
}

static void read_request(fk_live_http *h, int c) {
  fk_live_conn *k = &h->conn[c];
  for (;;) {
    if (k->stream || k->replied) { /* nothing more is expected: discard, notice a close */
      char sink[512];
      ssize_t n = recv(k->fd, sink, sizeof sink, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        drop(h, c);
      if (n <= 0) return;
      continue;
    }
    size_t room = sizeof k->in - k->in_len;
    ssize_t n = recv(k->fd, k->in + k->in_len, room, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      drop(h, c);
      return;
    }
    k->in_len += (size_t)n;
    fk_live_request rq;
    int rc = fk_live_http_parse(k->in, k->in_len, &rq);
    if (rc == 0) continue;
    if (rc < 0) {
      static const char msg[] = "malformed or oversized request\n";
      fk_live_http_reply(h, c, 400, "text/plain", msg, sizeof msg - 1);
    } else if (!host_ok(rq.host)) {
      static const char msg[] = "the live page answers to 127.0.0.1 and localhost only\n";
      fk_live_http_reply(h, c, 403, "text/plain", msg, sizeof msg - 1);
    } else {
      h->handler(h->ctx, h, c, &rq);
    }
    if (h->conn[c].fd < 0) return; /* answered and closed already */
  }
}

void fk_live_http_service(fk_live_http *h, const struct pollfd *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!p[i].revents) continue;
    if (p[i].fd == h->fd) {
      accept_all(h);
      continue;
    }
    int c = 0;
    while (c < FK_LIVE_HTTP_MAX_CONN && h->conn[c].fd != p[i].fd) c++;
    if (c == FK_LIVE_HTTP_MAX_CONN) continue; /* closed by an earlier entry */
    if (p[i].revents & (POLLERR | POLLNVAL)) {
      drop(h, c);
      continue;
    }
    if (p[i].revents & POLLOUT) flush(h, c);
    if (h->conn[c].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP))) read_request(h, c);
  }
}
