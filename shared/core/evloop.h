/*
 * evloop - a small epoll event loop.
 *
 * Level-triggered: a callback that does not drain its fd is called again
 * on the next round, which keeps one busy client from starving the rest.
 * Handles removed during a round are freed only after the round, so a
 * callback may close any fd, its own included. Tick hooks run before each
 * wait and say how long the loop may sleep (timers of c-ares, idle sweeps).
 */
#ifndef MOAT_EVLOOP_H
#define MOAT_EVLOOP_H

#include <sys/epoll.h>

struct evloop;
struct evhandle;

/* Called with the epoll events that fired (EPOLLIN, EPOLLOUT, EPOLLERR...). */
typedef void evloop_fn(int fd, unsigned events, void *arg);
/* Called before each wait; returns the most ms to sleep (-1 = no limit). */
typedef int evloop_tick_fn(void *arg);

/* New loop; NULL with errno on failure. */
struct evloop *evloop_new(void);
/* Free the loop and all handles (not the fds). */
void evloop_free(struct evloop *ev);
/* Watch fd for events; NULL on failure (errno set). */
struct evhandle *evloop_add(struct evloop *ev, int fd, unsigned events, evloop_fn *fn, void *arg);
/* Change the events watched. */
int evloop_mod(struct evloop *ev, struct evhandle *h, unsigned events);
/* Stop watching (the caller closes the fd afterwards). */
void evloop_del(struct evloop *ev, struct evhandle *h);
/* Add a hook run before every wait (at most 8). */
int evloop_tick(struct evloop *ev, evloop_tick_fn *fn, void *arg);
/* Remove a hook (its owner is going away). */
void evloop_untick(struct evloop *ev, evloop_tick_fn *fn, void *arg);
/* Run until evloop_stop(); 0, or -1 on an epoll failure. */
int evloop_run(struct evloop *ev);
/* Make evloop_run() return after the current round. */
void evloop_stop(struct evloop *ev);

#endif
