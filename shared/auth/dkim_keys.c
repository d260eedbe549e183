/*
 * dkim_keys - the signing keys by domain, re-read when their files change;
 * see dkim_keys.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/dkim_keys.h"
#include "core/log.h"
#include "core/mem.h"

struct ent {
	struct dkim_keyent e;
	struct stat st; /* of the file when read; st_ino 0: not read */
};

struct cand {
	char domain[DKIM_DOMAIN_MAX + 1];
	char selector[DKIM_SELECTOR_MAX + 1];
	char path[4096];
	int from_table;
};

struct dkim_keys {
	pthread_mutex_t mu;
	char *dir;
	struct cand *map; /* explicit entries */
	int nmap;
	struct ent *ent;
	int n;
	time_t checked;
	int quiet;
};

struct dkim_keys *dkim_keys_new(void)
{
	struct dkim_keys *ks = xcalloc(1, sizeof(*ks));

	pthread_mutex_init(&ks->mu, NULL);
	ks->dir = xstrdup("");
	return ks;
}

static void drop_all(struct dkim_keys *ks)
{
	for (int i = 0; i < ks->n; i++)
		dkim_signkey_clear(&ks->ent[i].e.key);
	free(ks->ent);
	ks->ent = NULL;
	ks->n = 0;
}

void dkim_keys_quiet(struct dkim_keys *ks)
{
	ks->quiet = 1;
}

void dkim_keys_free(struct dkim_keys *ks)
{
	if (ks == NULL)
		return;
	drop_all(ks);
	free(ks->map);
	free(ks->dir);
	pthread_mutex_destroy(&ks->mu);
	free(ks);
}

static int lower_copy(char *out, size_t size, const char *p, size_t len)
{
	if (len == 0 || len >= size)
		return -1;
	for (size_t i = 0; i < len; i++)
		out[i] = p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i];
	out[len] = '\0';
	return 0;
}

int dkim_keys_dms_name(const char *name, char *domain, size_t dsize, char *selector, size_t ssize)
{
	static const char suffix[] = ".private.txt";
	size_t len = strlen(name), slen;
	const char *p = name, *dash;

	if (len <= sizeof(suffix) - 1 || strcmp(name + len - (sizeof(suffix) - 1), suffix) != 0)
		return -1;
	len -= sizeof(suffix) - 1;
	if (strncmp(p, "rsa-", 4) == 0) {
		p += 4;
		if (*p < '0' || *p > '9')
			return -1;
		p += strspn(p, "0123456789");
		if (*p++ != '-')
			return -1;
	} else if (strncmp(p, "ed25519-", 8) == 0) {
		p += 8;
	} else {
		return -1;
	}
	if ((dash = memchr(p, '-', len - (size_t)(p - name))) == NULL)
		return -1;
	slen = (size_t)(dash - p);
	if (lower_copy(selector, ssize, p, slen) < 0)
		return -1;
	p = dash + 1;
	return lower_copy(domain, dsize, p, len - (size_t)(p - name));
}

int dkim_keys_load(const char *path, struct dkim_signkey *key, char *err, size_t errlen)
{
	char buf[DKIM_KEYFILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC), rc;

	key->pkey = NULL;
	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "group- or world-writable (mode %04o): chmod 0640 it",
		         (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	rc = dkim_signkey_parse(buf, len, key, err, errlen);
	OPENSSL_cleanse(buf, len);
	return rc;
}

/* The candidates: explicit entries first, then the directory's DMS-named files. */
static int candidates(struct dkim_keys *ks, struct cand **out)
{
	struct cand *c = xcalloc((size_t)ks->nmap + 1, sizeof(*c));
	int n = ks->nmap, cap = ks->nmap + 1;
	DIR *d;
	struct dirent *de;

	memcpy(c, ks->map, (size_t)ks->nmap * sizeof(*c));
	if (ks->dir[0] && (d = opendir(ks->dir)) != NULL) {
		while ((de = readdir(d)) != NULL && n < DKIM_KEYS_MAX) {
			struct cand x = {0};

			if (dkim_keys_dms_name(de->d_name, x.domain, sizeof(x.domain), x.selector,
			                       sizeof(x.selector)) < 0)
				continue;
			if (snprintf(x.path, sizeof(x.path), "%s/%s", ks->dir, de->d_name) >=
			    (int)sizeof(x.path))
				continue;
			if (n == cap)
				c = xrealloc(c, (size_t)(cap *= 2) * sizeof(*c));
			c[n++] = x;
		}
		closedir(d);
	}
	*out = c;
	return n;
}

static struct ent *find_old(struct ent *old, int nold, const struct cand *c)
{
	for (int i = 0; i < nold; i++)
		if (strcmp(old[i].e.path, c->path) == 0 &&
		    strcmp(old[i].e.domain, c->domain) == 0 &&
		    strcmp(old[i].e.selector, c->selector) == 0)
			return &old[i];
	return NULL;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_mode == b->st_mode;
}

static int taken(const struct ent *ent, int n, const struct cand *c)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ent[i].e.domain, c->domain) == 0 &&
		    strcmp(ent[i].e.selector, c->selector) == 0)
			return 1;
	return 0;
}

/* One candidate: the old entry when its file is unchanged, else the file read again. */
static void take(struct ent *e, struct ent *old, const struct cand *c, int force, int quiet)
{
	struct stat st;
	int ok = stat(c->path, &st) == 0;

	/* Unchanged, or still missing: nothing new to read or to say. */
	if (!force && old &&
	    ((ok && old->st.st_ino && same_file(&old->st, &st)) || (!ok && !old->st.st_ino))) {
		*e = *old;
		old->e.key.pkey = NULL;
		return;
	}
	memset(e, 0, sizeof(*e));
	snprintf(e->e.domain, sizeof(e->e.domain), "%s", c->domain);
	snprintf(e->e.selector, sizeof(e->e.selector), "%s", c->selector);
	snprintf(e->e.path, sizeof(e->e.path), "%s", c->path);
	e->e.from_table = c->from_table;
	if (ok)
		e->st = st;
	if (dkim_keys_load(c->path, &e->e.key, e->e.error, sizeof(e->e.error)) < 0) {
		if (!quiet)
			msg_warn("dkim: cannot use the key for %s selector %s, %s: %s; its mail goes out"
		         " unsigned",
		         c->domain, c->selector, c->path, e->e.error);
		return;
	}
	snprintf(e->e.key.domain, sizeof(e->e.key.domain), "%s", c->domain);
	snprintf(e->e.key.selector, sizeof(e->e.key.selector), "%s", c->selector);
	if (!quiet)
		msg_info("dkim: %s key for %s selector %s (%d bits) from %s",
	         e->e.key.k == DKIM_KEY_RSA ? "RSA" : "Ed25519", c->domain, c->selector,
	         e->e.key.bits, c->path);
}

static int by_name(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int d = strcmp(x->e.domain, y->e.domain);

	return d ? d : strcmp(x->e.selector, y->e.selector);
}

/* Look at the files again; under mu. */
static void refresh(struct dkim_keys *ks, int force)
{
	struct cand *c;
	int nc = candidates(ks, &c), n = 0;
	struct ent *ent = xcalloc((size_t)nc + 1, sizeof(*ent));

	for (int i = 0; i < nc; i++) {
		if (taken(ent, n, &c[i])) {
			if (force && !ks->quiet)
				msg_warn("dkim: %s: another key for %s selector %s is in use;"
				         " ignoring this one",
				         c[i].path, c[i].domain, c[i].selector);
			continue;
		}
		take(&ent[n++], find_old(ks->ent, ks->n, &c[i]), &c[i], force, ks->quiet);
	}
	for (int i = 0; i < ks->n; i++)
		if (ks->ent[i].e.key.pkey && !force && !ks->quiet)
			msg_info("dkim: the key for %s selector %s (%s) is gone or changed",
			         ks->ent[i].e.domain, ks->ent[i].e.selector, ks->ent[i].e.path);
	drop_all(ks);
	qsort(ent, (size_t)n, sizeof(*ent), by_name);
	ks->ent = ent;
	ks->n = n;
	ks->checked = time(NULL);
	free(c);
}

void dkim_keys_configure(struct dkim_keys *ks, const char *dir, const char *const *domains,
                         const char *const *selectors, const char *const *paths, int n)
{
	struct stat st;

	pthread_mutex_lock(&ks->mu);
	free(ks->dir);
	ks->dir = xstrdup(dir);
	free(ks->map);
	if (n > DKIM_KEYS_MAX)
		n = DKIM_KEYS_MAX;
	ks->map = xcalloc((size_t)n + 1, sizeof(*ks->map));
	ks->nmap = 0;
	for (int i = 0; i < n; i++) {
		struct cand *c = &ks->map[ks->nmap];

		if (lower_copy(c->domain, sizeof(c->domain), domains[i], strlen(domains[i])) < 0 ||
		    lower_copy(c->selector, sizeof(c->selector), selectors[i],
		               strlen(selectors[i])) < 0 ||
		    snprintf(c->path, sizeof(c->path), "%s", paths[i]) >= (int)sizeof(c->path)) {
			msg_warn("dkim: skipping the dkim_keys row for \"%.100s\": a field is empty"
			         " or too long",
			         domains[i]);
			continue;
		}
		c->from_table = 1;
		ks->nmap++;
	}
	if (dir[0] && stat(dir, &st) < 0 && !ks->quiet)
		msg_info("dkim: no key directory %s (%s)", dir, strerror(errno));
	refresh(ks, 1);
	pthread_mutex_unlock(&ks->mu);
}

int dkim_keys_get(struct dkim_keys *ks, const char *domain, struct dkim_signkey *out, int max)
{
	int got = 0;

	pthread_mutex_lock(&ks->mu);
	if (time(NULL) != ks->checked)
		refresh(ks, 0);
	for (int i = 0; i < ks->n && got < max; i++)
		if (ks->ent[i].e.key.pkey && strcmp(ks->ent[i].e.domain, domain) == 0)
			dkim_signkey_copy(&out[got++], &ks->ent[i].e.key);
	pthread_mutex_unlock(&ks->mu);
	return got;
}

void dkim_keys_each(struct dkim_keys *ks, void (*fn)(void *arg, const struct dkim_keyent *e),
                    void *arg)
{
	pthread_mutex_lock(&ks->mu);
	for (int i = 0; i < ks->n; i++)
		fn(arg, &ks->ent[i].e);
	pthread_mutex_unlock(&ks->mu);
}

int dkim_keys_usable(struct dkim_keys *ks)
{
	int n = 0;

	pthread_mutex_lock(&ks->mu);
	for (int i = 0; i < ks->n; i++)
		n += ks->ent[i].e.key.pkey != NULL;
	pthread_mutex_unlock(&ks->mu);
	return n;
}
