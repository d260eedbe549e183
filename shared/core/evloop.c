/*
 * evloop - epoll event loop; see evloop.h.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/evloop.h"
#include "core/mem.h"

#define EVLOOP_BATCH 256
#define EVLOOP_TICKS 8

struct evhandle {
	int fd;
	int dead;
	evloop_fn *fn;
	void *arg;
	struct evhandle *next_dead;
	struct evhandle *prev, *next;	/* live handles */
};

struct evloop {
	int epfd;
	int stop;
	struct evhandle *dead;
	struct evhandle *live;
	struct {
		evloop_tick_fn *fn;
		void *arg;
	} ticks[EVLOOP_TICKS];
	int nticks;
};

struct evloop *evloop_new(void)
{
	struct evloop *ev = xcalloc(1, sizeof(*ev));

	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0) {
		free(ev);
		return NULL;
	}
	return ev;
}

static void reap(struct evloop *ev)
{
	while (ev->dead) {
		struct evhandle *h = ev->dead;

		ev->dead = h->next_dead;
		free(h);
	}
}

void evloop_free(struct evloop *ev)
{
	if (ev == NULL)
		return;
	reap(ev);
	while (ev->live) {
		struct evhandle *h = ev->live;

		ev->live = h->next;
		free(h);
	}
	close(ev->epfd);
	free(ev);
}

struct evhandle *evloop_add(struct evloop *ev, int fd, unsigned events, evloop_fn *fn, void *arg)
{
	struct evhandle *h = xcalloc(1, sizeof(*h));
	struct epoll_event e = {.events = events, .data.ptr = h};

	h->fd = fd;
	h->fn = fn;
	h->arg = arg;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		free(h);
		return NULL;
	}
	h->next = ev->live;
	if (ev->live)
		ev->live->prev = h;
	ev->live = h;
	return h;
}

int evloop_mod(struct evloop *ev, struct evhandle *h, unsigned events)
{
	struct epoll_event e = {.events = events, .data.ptr = h};

	return epoll_ctl(ev->epfd, EPOLL_CTL_MOD, h->fd, &e);
}

void evloop_del(struct evloop *ev, struct evhandle *h)
{
	if (h == NULL || h->dead)
		return;
	epoll_ctl(ev->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	if (h->prev)
		h->prev->next = h->next;
	else
		ev->live = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->dead = 1;
	h->next_dead = ev->dead;
	ev->dead = h;
}

int evloop_tick(struct evloop *ev, evloop_tick_fn *fn, void *arg)
{
	if (ev->nticks == EVLOOP_TICKS)
		return -1;
	ev->ticks[ev->nticks].fn = fn;
	ev->ticks[ev->nticks].arg = arg;
	ev->nticks++;
	return 0;
}

void evloop_untick(struct evloop *ev, evloop_tick_fn *fn, void *arg)
{
	for (int i = 0; i < ev->nticks; i++) {
		if (ev->ticks[i].fn != fn || ev->ticks[i].arg != arg)
			continue;
		/* Inside a round, the hook after it waits for the next round: harmless. */
		memmove(&ev->ticks[i], &ev->ticks[i + 1],
			(size_t)(ev->nticks - i - 1) * sizeof(ev->ticks[0]));
		ev->nticks--;
		return;
	}
}

void evloop_stop(struct evloop *ev)
{
	ev->stop = 1;
}

int evloop_run(struct evloop *ev)
{
	struct epoll_event evs[EVLOOP_BATCH];

	ev->stop = 0;
	while (!ev->stop) {
		int timeout = -1, n;

		for (int i = 0; i < ev->nticks; i++) {
			int t = ev->ticks[i].fn(ev->ticks[i].arg);

			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		if (ev->stop)
			break;
		n = epoll_wait(ev->epfd, evs, EVLOOP_BATCH, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < n; i++) {
			struct evhandle *h = evs[i].data.ptr;

			if (!h->dead)
				h->fn(h->fd, evs[i].events, h->arg);
		}
		reap(ev);
	}
	return 0;
}
