/*
 * http - moat-controller's HTTP side on libmicrohttpd: a pool of
 * threads (epoll) reads requests within the limits of the settings
 * (header memory, body size after zstd decompression, idle and slow-client
 * timeout, connection count), judges access (access.h) before a body is
 * read, and hands complete requests to the endpoints (api.h).
 */
#ifndef MOAT_CTL_HTTP_H
#define MOAT_CTL_HTTP_H

#include <stddef.h>

struct conf;
struct http;

/* Serve on the bound socket lfd with cf's limits; NULL with err. */
struct http *http_start(const struct conf *cf, int lfd, char *err, size_t errlen);
/* Stop: requests under way finish first. */
void http_stop(struct http *h);

#endif
