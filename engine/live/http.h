/* A minimal HTTP/1.1 server for the live page: bound to 127.0.0.1 only,
 * non-blocking sockets serviced from the caller's poll() loop (the render
 * loop owns the thread), one request per connection (Connection: close),
 * and server-sent event streams that stay open and get every broadcast.
 * Requests whose Host is not 127.0.0.1 or localhost are refused, so a web
 * page cannot reach the server by DNS rebinding. */
#ifndef FK_LIVE_HTTP_H
#define FK_LIVE_HTTP_H

#include <poll.h>
#include <stddef.h>

#include "core/error.h"
#include "live/buf.h"

#define FK_LIVE_HTTP_MAX_CONN 32
#define FK_LIVE_HTTP_MAX_REQUEST 8192
/* An event stream whose reader lags this far behind is dropped (the
 * browser's EventSource reconnects and gets the current state). */
#define FK_LIVE_HTTP_MAX_BACKLOG (4u << 20)

typedef struct fk_live_request {
  char method[8];
  char path[1024];  /* without the query */
  char query[1024]; /* after '?', "" when none */
  char host[256];   /* the Host header without the port */
} fk_live_request;

/* Parses the request head in buf (len bytes): 1 once it is complete (the
 * blank line arrived), 0 when more is needed, -1 when it is malformed. */
int fk_live_http_parse(const char *buf, size_t len, fk_live_request *rq);

typedef struct fk_live_conn {
  int fd; /* -1: a free slot */
  char in[FK_LIVE_HTTP_MAX_REQUEST];
  size_t in_len;
  fk_live_buf out;
  int stream;  /* a server-sent event stream: stays open */
  int replied; /* a reply is queued: close once it is sent */
} fk_live_conn;

typedef struct fk_live_http fk_live_http;
/* Answers one request on connection c with fk_live_http_reply or
 * fk_live_http_stream. */
typedef void (*fk_live_handler)(void *ctx, fk_live_http *h, int c, const fk_live_request *rq);

struct fk_live_http {
  int fd; /* the listening socket */
  int port;
  fk_live_conn conn[FK_LIVE_HTTP_MAX_CONN];
  fk_live_handler handler;
  void *ctx;
};

/* Listens on 127.0.0.1:port (0: a free port, then in h->port). */
int fk_live_http_open(fk_live_http *h, int port, fk_live_handler fn, void *ctx, fk_err *e);
void fk_live_http_close(fk_live_http *h);
/* Fills p (room for 1 + FK_LIVE_HTTP_MAX_CONN) with what to poll; returns
 * how many. */
size_t fk_live_http_pollfds(const fk_live_http *h, struct pollfd *p);
/* Accepts, reads, answers and writes after poll() filled p[0..n). */
void fk_live_http_service(fk_live_http *h, const struct pollfd *p, size_t n);
/* Queues a whole response (status 200, 404, ...) and closes after it. */
void fk_live_http_reply(fk_live_http *h, int c, int status, const char *type, const void *body,
                        size_t len);
/* Turns connection c into an event stream, first sending data. */
void fk_live_http_stream(fk_live_http *h, int c, const char *data);
/* Sends data (one line of text, e.g. JSON) as an event to every stream. */
void fk_live_http_broadcast(fk_live_http *h, const char *data);
/* Open event streams (pages watching). */
int fk_live_http_streams(const fk_live_http *h);

#endif
