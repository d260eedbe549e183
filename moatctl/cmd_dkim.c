/*
 * cmd_dkim - "moatctl dkim": the DKIM signing keys. keygen makes a key as
 * docker-mailserver does (`setup config dkim`: rspamadm dkim_keygen, its
 * file names and defaults) and prints its DNS record; list shows the keys
 * moat-contentfilter would use; check asks DNS whether each is published
 * as it should be; import maps the keys of a DMS rspamd/dkim directory or
 * an OpenDKIM KeyTable into the dkim_keys table.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/dkim.h"
#include "auth/dkim_keys.h"
#include "auth/dkim_sign.h"
#include "cmd.h"
#include "core/evloop.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "dns/dns.h"

static int usage(void)
{
	fprintf(stderr,
	        "usage: moatctl dkim keygen DOMAIN [--selector SEL] [--type rsa|ed25519] [--bits N]"
	        " [--force]\n"
	        "       moatctl dkim list\n"
	        "       moatctl dkim check [DOMAIN...]\n"
	        "       moatctl dkim import [--dry-run] DIR\n");
	return 2;
}

/* ---- keygen ---------------------------------------------------------------- */

/* Write text to path with mode, owned by run_as when we may; 0, or 1 (logged). */
static int write_key(const char *path, const char *text, size_t len, mode_t mode,
                     const struct passwd *pw, int force)
{
	int fd;

	if (force)
		unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		msg_error("%s: %s%s", path, strerror(errno),
		          errno == EEXIST ? " (--force replaces it)" : "");
		return 1;
	}
	if (pw && fchown(fd, pw->pw_uid, pw->pw_gid) < 0 && geteuid() == 0)
		msg_warn("%s: cannot give it to %s: %s", path, pw->pw_name, strerror(errno));
	if (fchmod(fd, mode) < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0) {
		msg_error("%s: %s", path, strerror(errno));
		return 1;
	}
	return 0;
}

/* The record as a zone-file snippet, in strings of at most 255 bytes (RFC 1035 3.3). */
static void zone_snippet(struct sbuf *out, const char *selector, const char *rec)
{
	const char *p = strstr(rec, "p=");
	size_t head = p ? (size_t)(p - rec) : strlen(rec);

	sbuf_printf(out, "%s._domainkey IN TXT ( \"%.*s\"\n", selector, (int)head, rec);
	for (rec += head; *rec;) {
		size_t n = strlen(rec) > 255 ? 255 : strlen(rec);

		sbuf_printf(out, "\t\"%.*s\"\n", (int)n, rec);
		rec += n;
	}
	sbuf_puts(out, ") ;\n");
}

static EVP_PKEY *generate(int ed, int bits, struct sbuf *priv)
{
	EVP_PKEY *pk = ed ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
	                  : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	if (pk == NULL)
		return NULL;
	if (ed) {
		/* As rspamadm writes it: base64 of seed and public key (libsodium's form). */
		unsigned char raw[64];
		char b64[96];
		size_t n = 32, m = 32;

		EVP_PKEY_get_raw_private_key(pk, raw, &n);
		EVP_PKEY_get_raw_public_key(pk, raw + 32, &m);
		EVP_EncodeBlock((unsigned char *)b64, raw, 64);
		sbuf_printf(priv, "%s\n", b64);
		OPENSSL_cleanse(raw, sizeof(raw));
	} else {
		BIO *b = BIO_new(BIO_s_mem());
		char *data;
		long n;

		PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
		n = BIO_get_mem_data(b, &data);
		sbuf_append(priv, data, (size_t)n);
		BIO_free(b);
	}
	return pk;
}

static int keygen(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"selector", required_argument, NULL, 's'},
	    {"type", required_argument, NULL, 't'},
	    {"bits", required_argument, NULL, 'b'},
	    {"force", no_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	const char *sel = "mail", *type = "rsa", *dir = conf_str(ctl->cf, "dkim_key_directory");
	const char *user = conf_str(ctl->cf, "run_as");
	char name[PATH_MAX + 32], base[PATH_MAX], domain[DKIM_DOMAIN_MAX + 1];
	struct dkim_signkey key = {0};
	struct passwd *pw = *user ? getpwnam(user) : NULL;
	struct sbuf priv, rec, out;
	int bits = 2048, force = 0, c, rc = 1, ed;

	optind = 0; /* glibc: start over, permuting again */
	while ((c = getopt_long(argc, argv, "s:t:b:f", opts, NULL)) != -1) {
		if (c == 's')
			sel = optarg;
		else if (c == 't')
			type = optarg;
		else if (c == 'b')
			bits = atoi(optarg);
		else if (c == 'f')
			force = 1;
		else
			return usage();
	}
	if (optind != argc - 1)
		return usage();
	ed = strcmp(type, "ed25519") == 0;
	if (!ed && strcmp(type, "rsa") != 0)
		return ctl_usage("dkim keygen: --type is rsa or ed25519");
	if (!ed && (bits < 1024 || bits > 8192))
		return ctl_usage("dkim keygen: --bits is 1024 to 8192 (DMS: 1024, 2048, 4096)");
	if (!*sel || strpbrk(sel, "-/. ") || strlen(sel) > DKIM_SELECTOR_MAX)
		return ctl_usage(
		    "dkim keygen: a selector is one label without '-' (DMS's file names"
		    " end it at the first '-')");
	dkim_esld(argv[optind], strlen(argv[optind]), domain, sizeof(domain));
	if (strcmp(domain, argv[optind]) != 0)
		fprintf(stderr, "note: mail From %s is signed as %s (its registrable domain)\n",
		        argv[optind], domain);
	if (strpbrk(domain, "/ ") || !strchr(domain, '.'))
		return ctl_usage("dkim keygen: DOMAIN is a domain name such as example.com");
	if (mkdir(dir, 0750) == 0 && pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
		msg_warn("%s: cannot give it to %s: %s", dir, user, strerror(errno));
	if (ed)
		snprintf(base, sizeof(base), "%s/ed25519-%s-%s", dir, sel, domain);
	else
		snprintf(base, sizeof(base), "%s/rsa-%d-%s-%s", dir, bits, sel, domain);
	sbuf_init(&priv);
	sbuf_init(&rec);
	sbuf_init(&out);
	if ((key.pkey = generate(ed, bits, &priv)) == NULL) {
		msg_error("cannot make the key");
		goto done;
	}
	key.k = ed ? DKIM_KEY_ED25519 : DKIM_KEY_RSA;
	dkim_signkey_record(&key, &rec);
	zone_snippet(&out, sel, sbuf_cstr(&rec));
	snprintf(name, sizeof(name), "%s.private.txt", base);
	if (write_key(name, priv.data, priv.len, 0640, pw, force) != 0)
		goto done;
	printf("private key: %s (0640, %s)\n", name, pw ? pw->pw_name : "this user");
	snprintf(name, sizeof(name), "%s.public.txt", base);
	rc = write_key(name, out.data, out.len, 0644, pw, 1);
	snprintf(name, sizeof(name), "%s.public.dns.txt", base);
	sbuf_putc(&rec, '\n');
	rc |= write_key(name, rec.data, rec.len, 0644, pw, 1);
	rec.len--;
	printf("publish as %s._domainkey.%s:\n%s\none line:\n%s\n", sel, domain, sbuf_cstr(&out),
	       sbuf_cstr(&rec));
done:
	OPENSSL_cleanse(priv.data, priv.len);
	dkim_signkey_clear(&key);
	sbuf_free(&priv);
	sbuf_free(&rec);
	sbuf_free(&out);
	return rc;
}

/* ---- the keys in use ------------------------------------------------------ */

/* The key store as moat-contentfilter configures it: directory and dkim_keys rows. */
static struct dkim_keys *keys_now(struct ctl *ctl)
{
	sqlite3 *db = ctl_db(ctl);
	sqlite3_stmt *st = ctl_prepare(db, "SELECT domain, selector, path FROM dkim_keys");
	struct dkim_keys *ks = dkim_keys_new();
	char **d = NULL, **s = NULL, **p = NULL;
	int n = 0;

	while (st && n < DKIM_KEYS_MAX && sqlite3_step(st) == SQLITE_ROW) {
		d = xrealloc(d, (size_t)(n + 1) * sizeof(*d));
		s = xrealloc(s, (size_t)(n + 1) * sizeof(*s));
		p = xrealloc(p, (size_t)(n + 1) * sizeof(*p));
		d[n] = xstrdup((const char *)sqlite3_column_text(st, 0));
		s[n] = xstrdup((const char *)sqlite3_column_text(st, 1));
		p[n] = xstrdup((const char *)sqlite3_column_text(st, 2));
		n++;
	}
	sqlite3_finalize(st);
	/* The daemon's log lines are not wanted here: list and check say it all. */
	dkim_keys_quiet(ks);
	dkim_keys_configure(ks, conf_str(ctl->cf, "dkim_key_directory"), (const char *const *)d,
	                    (const char *const *)s, (const char *const *)p, n);
	for (int i = 0; i < n; i++) {
		free(d[i]);
		free(s[i]);
		free(p[i]);
	}
	free(d);
	free(s);
	free(p);
	return ks;
}

static void list_one(void *arg, const struct dkim_keyent *e)
{
	(*(int *)arg)++;
	printf("%s\t%s\t%s\t%d\t%s\t%s\t%s\n", ctl_show(e->domain), ctl_show(e->selector),
	       e->key.pkey ? (e->key.k == DKIM_KEY_RSA ? "rsa" : "ed25519") : "-",
	       e->key.pkey ? e->key.bits : 0, e->from_table ? "table" : "directory",
	       ctl_show(e->path), e->key.pkey ? "ok" : ctl_show(e->error));
}

static int list(struct ctl *ctl)
{
	struct dkim_keys *ks = keys_now(ctl);
	int n = 0;

	printf("domain\tselector\ttype\tbits\tfrom\tpath\tstate\n");
	dkim_keys_each(ks, list_one, &n);
	if (n == 0)
		fprintf(stderr, "no keys in %s or the dkim_keys table: nothing is signed\n",
		        conf_str(ctl->cf, "dkim_key_directory"));
	dkim_keys_free(ks);
	return 0;
}

/* ---- check ------------------------------------------------------------------ */

struct probe {
	struct dkim_keyent e; /* key.pkey referenced */
	enum dkim_dns st;
	char txt[DKIM_TAGLIST_MAX + 1];
	int done;
};

struct checking {
	struct probe *p;
	int n, cap, left;
	char **domains;
	int ndomains;
	struct evloop *ev;
};

static void take_one(void *arg, const struct dkim_keyent *e)
{
	struct checking *ck = arg;
	int want = ck->ndomains == 0;

	for (int i = 0; i < ck->ndomains && !want; i++)
		want = strcasecmp(ck->domains[i], e->domain) == 0;
	if (!want)
		return;
	if (ck->n == ck->cap)
		ck->p = xrealloc(ck->p, (size_t)(ck->cap = ck->cap * 2 + 8) * sizeof(*ck->p));
	memset(&ck->p[ck->n], 0, sizeof(ck->p[0]));
	ck->p[ck->n].e = *e;
	dkim_signkey_copy(&ck->p[ck->n].e.key, &e->key);
	ck->n++;
}

static void on_txt(void *arg, enum dkim_dns st, const char *txt, size_t len)
{
	struct probe *p = arg;

	p->st = st;
	snprintf(p->txt, sizeof(p->txt), "%.*s", (int)len, txt);
}

/* A published RSA key's size, from its SubjectPublicKeyInfo; 0 if unknown. */
static int rsa_bits(const struct dkim_key *k)
{
	const unsigned char *q = k->p;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &q, (long)k->plen);
	int bits = pk ? EVP_PKEY_get_bits(pk) : 0;

	EVP_PKEY_free(pk);
	return bits;
}

/* One verdict line; 0 when ok. */
static int judge(const struct probe *p)
{
	struct dkim_key rec;
	char err[200];
	const char *what = "ok";

	printf("%s._domainkey.%s\t", ctl_show(p->e.selector), ctl_show(p->e.domain));
	if (p->e.key.pkey == NULL && strstr(p->e.error, "bits (1024 to 8192"))
		what = "too short";
	else if (p->e.key.pkey == NULL)
		what = "unusable private key";
	else if (p->st == DKIM_DNS_TEMPFAIL)
		what = "no answer from DNS";
	else if (p->st == DKIM_DNS_NOTFOUND)
		what = "missing";
	else if (dkim_key_parse(p->txt, strlen(p->txt), &rec, err, sizeof(err)) < 0)
		what = "malformed";
	else if (rec.revoked)
		what = "revoked";
	else if (!dkim_signkey_matches(&p->e.key, &rec))
		what = "mismatched";
	else if (rec.k == DKIM_KEY_RSA && rsa_bits(&rec) < 1024)
		what = "too short";
	printf("%s", what);
	if (p->e.key.pkey == NULL)
		printf(": %s", ctl_show(p->e.error));
	else if (strcmp(what, "malformed") == 0)
		printf(": %s", err);
	else if (strcmp(what, "missing") == 0 || strcmp(what, "mismatched") == 0)
		printf(": publish the record moatctl dkim keygen printed (%s)",
		       ctl_show(p->e.path));
	printf("\n");
	return strcmp(what, "ok") != 0;
}

static void lookup_done(void *arg, enum dkim_dns st, const char *txt, size_t len);

struct waiter {
	struct checking *ck;
	struct probe *p;
};

static void lookup_done(void *arg, enum dkim_dns st, const char *txt, size_t len)
{
	struct waiter *w = arg;

	on_txt(w->p, st, txt, len);
	w->p->done = 1;
	if (--w->ck->left == 0)
		evloop_stop(w->ck->ev);
	free(w);
}

static int check(struct ctl *ctl, int argc, char **argv)
{
	struct dkim_keys *ks = keys_now(ctl);
	struct checking ck = {.domains = argv + 1, .ndomains = argc - 1};
	struct dkim_resolver r;
	struct dns_params dp;
	struct dns *dns = NULL;
	char err[512];
	int bad = 0;

	dkim_keys_each(ks, take_one, &ck);
	dkim_keys_free(ks);
	if (ck.n == 0) {
		fprintf(stderr, "no keys%s\n", argc > 1 ? " for those domains" : "");
		return 1;
	}
	dns_params_from_conf(ctl->cf, &dp);
	dp.cache_size = 0;
	ck.ev = evloop_new();
	if (ck.ev == NULL || (dns = dns_new(ck.ev, &dp, err, sizeof(err))) == NULL) {
		msg_error("%s", ck.ev ? err : "no event loop");
		evloop_free(ck.ev);
		return 1;
	}
	dkim_resolver_dns(&r, dns);
	ck.left = ck.n;
	for (int i = 0; i < ck.n; i++) {
		struct waiter *w = xmalloc(sizeof(*w));
		char name[DKIM_SELECTOR_MAX + DKIM_DOMAIN_MAX + 16];

		w->ck = &ck;
		w->p = &ck.p[i];
		snprintf(name, sizeof(name), "%s._domainkey.%s", ck.p[i].e.selector,
		         ck.p[i].e.domain);
		r.lookup(r.ctx, name, lookup_done, w);
	}
	if (ck.left > 0)
		evloop_run(ck.ev);
	for (int i = 0; i < ck.n; i++) {
		bad |= judge(&ck.p[i]);
		dkim_signkey_clear(&ck.p[i].e.key);
	}
	dns_free(dns);
	evloop_free(ck.ev);
	free(ck.p);
	return bad;
}

/* ---- import ----------------------------------------------------------------- */

struct row {
	char domain[DKIM_DOMAIN_MAX + 1], selector[DKIM_SELECTOR_MAX + 1], path[PATH_MAX];
};

/* DMS's rspamd/dkim directory: its *.private.txt files. */
static int dms_rows(const char *dir, struct row **rows, int *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && *n < DKIM_KEYS_MAX) {
		struct row r;
		char path[PATH_MAX];

		if (dkim_keys_dms_name(de->d_name, r.domain, sizeof(r.domain), r.selector,
		                       sizeof(r.selector)) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (realpath(path, r.path) == NULL)
			continue;
		*rows = xrealloc(*rows, (size_t)(*n + 1) * sizeof(**rows));
		(*rows)[(*n)++] = r;
	}
	closedir(d);
	return 0;
}

/*
 * An OpenDKIM KeyTable: "NAME DOMAIN:SELECTOR:PATH" per line. DMS writes the
 * container's paths (/etc/opendkim/keys/DOMAIN/SELECTOR.private); one that does
 * not exist here is looked for under DIR/keys/DOMAIN/.
 */
static int keytable_rows(const char *dir, FILE *fp, struct row **rows, int *n)
{
	char line[4096];
	int lineno = 0, bad = 0;

	while (fgets(line, sizeof(line), fp) && *n < DKIM_KEYS_MAX) {
		char *v, *dom, *sel, *path, alt[PATH_MAX];
		struct row r;

		lineno++;
		line[strcspn(line, "\r\n#")] = '\0';
		v = line + strspn(line, " \t");
		if (*v == '\0')
			continue;
		v += strcspn(v, " \t");
		v += strspn(v, " \t");
		dom = strtok(v, ":");
		sel = strtok(NULL, ":");
		path = strtok(NULL, " \t");
		if (!dom || !sel || !path || strlen(dom) > DKIM_DOMAIN_MAX ||
		    strlen(sel) > DKIM_SELECTOR_MAX) {
			msg_error("KeyTable, line %d: not NAME DOMAIN:SELECTOR:PATH", lineno);
			bad = 1;
			continue;
		}
		snprintf(r.domain, sizeof(r.domain), "%s", dom);
		snprintf(r.selector, sizeof(r.selector), "%s", sel);
		if (access(path, F_OK) != 0) {
			const char *slash = strrchr(path, '/');

			snprintf(alt, sizeof(alt), "%s/keys/%s/%s", dir, dom,
			         slash ? slash + 1 : path);
			path = alt;
		}
		if (realpath(path, r.path) == NULL) {
			msg_error("KeyTable, line %d: %s: %s", lineno, path, strerror(errno));
			bad = 1;
			continue;
		}
		*rows = xrealloc(*rows, (size_t)(*n + 1) * sizeof(**rows));
		(*rows)[(*n)++] = r;
	}
	return bad ? -1 : 0;
}

static int import(struct ctl *ctl, int argc, char **argv)
{
	int dry = argc > 1 && strcmp(argv[1], "--dry-run") == 0, n = 0, bad = 0;
	const char *dir = argc == 2 + dry ? argv[1 + dry] : NULL;
	struct row *rows = NULL;
	char kt[PATH_MAX];
	FILE *fp;
	sqlite3 *db;
	sqlite3_stmt *st;

	if (dir == NULL)
		return usage();
	snprintf(kt, sizeof(kt), "%s/KeyTable", dir);
	if ((fp = fopen(kt, "r")) != NULL) {
		bad = keytable_rows(dir, fp, &rows, &n) < 0;
		fclose(fp);
	} else if (dms_rows(dir, &rows, &n) < 0) {
		msg_error("%s: %s", dir, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct dkim_signkey k;
		char err[256];

		if (dkim_keys_load(rows[i].path, &k, err, sizeof(err)) < 0) {
			msg_error("%s: %s", rows[i].path, err);
			bad = 1;
			continue;
		}
		printf("%s %s selector %s (%s, %d bits): %s\n", dry ? "would map" : "mapping",
		       rows[i].domain, rows[i].selector, k.k == DKIM_KEY_RSA ? "rsa" : "ed25519",
		       k.bits, rows[i].path);
		dkim_signkey_clear(&k);
	}
	if (n == 0) {
		msg_error("%s: no KeyTable and no DMS key files (*.private.txt)", dir);
		bad = 1;
	}
	if (bad || dry) {
		printf("%s\n", bad ? "nothing imported" : "dry run: nothing written");
		free(rows);
		return bad;
	}
	db = ctl_db(ctl);
	sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	st = ctl_prepare(db, "INSERT OR REPLACE INTO dkim_keys (domain, selector, path)"
	                     " VALUES (?, ?, ?)");
	for (int i = 0; st && i < n && !bad; i++) {
		sqlite3_bind_text(st, 1, rows[i].domain, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, rows[i].selector, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, rows[i].path, -1, SQLITE_STATIC);
		bad = sqlite3_step(st) != SQLITE_DONE;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (st == NULL || bad) {
		msg_error("dkim import: %s; nothing imported", sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		free(rows);
		return 1;
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	printf("%d key%s imported; moat-contentfilter uses them after a reload (SIGHUP)\n", n,
	       n == 1 ? "" : "s");
	free(rows);
	return 0;
}

int cmd_dkim(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "keygen") == 0)
		return keygen(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return list(ctl);
	if (strcmp(argv[1], "check") == 0)
		return check(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return import(ctl, argc - 1, argv + 1);
	return usage();
}
