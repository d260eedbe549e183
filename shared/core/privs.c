/*
 * privs - privilege drop and ownership of state and sockets; see privs.h.
 *
 * The state directory belongs to run_as, so a compromised daemon could
 * put a symbolic or hard link where the database was, hoping that the
 * next start as root gives the link's target away. Files are therefore
 * opened without following links and changed only when they are plain
 * files with one link (fchown on what was opened, not on a name).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/privs.h"

/* "FILE, line N: " when the setting came from moat.conf, else "" (a default or -o says itself). */
static const char *file_line(const struct conf *cf, const char *name, char *buf, size_t len)
{
	const char *o = conf_origin(cf, name);

	if (!conf_is_set(cf, name) || strncmp(o, "-o ", 3) == 0)
		return "";
	snprintf(buf, len, "%s: ", o);
	return buf;
}

static int socket_group(const struct conf *cf, struct privs *p, char *err, size_t errlen)
{
	const char *name = conf_str(cf, "unix_socket_group");
	struct group *gr;

	p->sock_group_explicit = conf_is_set(cf, "unix_socket_group") && *name;
	if (*name == '\0')
		return 0;
	if ((gr = getgrnam(name)) != NULL) {
		p->sock_group = 1;
		p->sock_gid = gr->gr_gid;
		return 0;
	}
	if (p->sock_group_explicit) {
		char where[320];

		snprintf(err, errlen, "%sunix_socket_group = %s: no such group",
		         file_line(cf, "unix_socket_group", where, sizeof(where)), name);
		return -1;
	}
	return 0;	/* the default, postfix, on a box without Postfix */
}

int privs_init(const struct conf *cf, struct privs *p, char *err, size_t errlen)
{
	const char *name = conf_str(cf, "run_as");
	struct passwd *pw;

	memset(p, 0, sizeof(*p));
	/* conf checked it: octal, at most 0777. */
	p->sock_mode = (mode_t)conf_num(cf, "unix_socket_mode");
	if (socket_group(cf, p, err, errlen) < 0)
		return -1;
	p->uid = geteuid();
	p->gid = getegid();
	if (p->uid != 0) {
		pw = getpwuid(p->uid);
		snprintf(p->user, sizeof(p->user), "%s", pw ? pw->pw_name : "?");
		if (conf_is_set(cf, "run_as") && strcmp(p->user, name) != 0)
			msg_info("not started as root: running as %s, not as run_as = %s", p->user,
				 name);
		return 0;
	}
	if (*name == '\0' || (pw = getpwnam(name)) == NULL) {
		char where[320];

		snprintf(err, errlen,
		         "%srun_as = %s: no such user; create it with \"useradd --system"
		         " --home-dir /nonexistent --shell /usr/sbin/nologin %s\" or set run_as"
		         " in moat.conf",
		         file_line(cf, "run_as", where, sizeof(where)), name,
		         *name ? name : "moat");
		return -1;
	}
	snprintf(p->user, sizeof(p->user), "%s", pw->pw_name);
	if (pw->pw_uid == 0) {
		msg_warn("running as root (run_as = %s): a flaw in handling mail would give"
			 " away the whole system; use an unprivileged user", name);
		return 0;
	}
	p->drop = 1;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	return 0;
}

/*
 * Whether dir holds only the database's files: a directory with anything
 * else in it (state_directory = /var/lib by mistake) is not ours to give.
 */
static int only_db_files(const char *dir, const char *dbname)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int ok = 1;

	if (d == NULL)
		return 0;
	while (ok && (e = readdir(d)) != NULL)
		ok = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		     strncmp(e->d_name, dbname, strlen(dbname)) == 0;
	closedir(d);
	return ok;
}

/* The state directory: give it to the user unless others may write to it (/tmp). */
static int own_dir(const char *dir, const char *dbname, const struct privs *p, char *err,
		   size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		snprintf(err, errlen, "cannot stat %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || (st.st_mode & S_IWOTH) ||
	    (st.st_uid == p->uid && st.st_gid == p->gid))
		return 0;
	if (!only_db_files(dir, dbname)) {
		snprintf(err, errlen,
			 "%s holds other files than moat's: not giving it to %s; choose a"
			 " directory of its own, or chown it yourself",
			 dir, p->user);
		return -1;
	}
	if (lchown(dir, p->uid, p->gid) < 0) {
		snprintf(err, errlen, "cannot give %s to %s: %s", dir, p->user, strerror(errno));
		return -1;
	}
	msg_info("gave %s to user %s", dir, p->user);
	return 0;
}

/* A database file (or its -wal/-shm): only a plain file with one link. */
static int own_file(const char *path, const struct privs *p, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return 0;	/* no such file yet */
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		snprintf(err, errlen, "%s is not a plain file with one link; not giving it to %s",
			 path, p->user);
		return -1;
	}
	if ((st.st_uid != p->uid || st.st_gid != p->gid) && fchown(fd, p->uid, p->gid) < 0) {
		snprintf(err, errlen, "cannot give %s to %s: %s", path, p->user, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int privs_own_state(const struct conf *cf, const struct privs *p, char *err, size_t errlen)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	const char *db = conf_str(cf, "database_path");
	char *dbdir = xstrdup(db), *dbbase = xstrdup(db), path[4200];
	int rc;

	if (!p->drop) {
		free(dbdir);
		free(dbbase);
		return 0;
	}
	rc = own_dir(conf_str(cf, "state_directory"), basename(dbbase), p, err, errlen);
	if (rc == 0)
		rc = own_dir(dirname(dbdir), basename(dbbase), p, err, errlen);
	free(dbdir);
	free(dbbase);
	for (size_t i = 0; rc == 0 && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", db, suffixes[i]);
		rc = own_file(path, p, err, errlen);
	}
	return rc;
}

int privs_socket(const struct privs *p, const char *path, char *err, size_t errlen)
{
	struct stat st;
	uid_t uid = p->drop ? p->uid : (uid_t)-1;
	gid_t gid = p->sock_group ? p->sock_gid : p->drop ? p->gid : (gid_t)-1;

	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: not a socket after binding it", path);
		return -1;
	}
	if (chmod(path, p->sock_mode) < 0) {
		snprintf(err, errlen, "cannot set mode of %s: %s", path, strerror(errno));
		return -1;
	}
	if (lchown(path, uid, gid) < 0) {
		/* Not root, and not in the group: an error only if the admin asked for it. */
		if (p->sock_group_explicit || p->drop) {
			snprintf(err, errlen, "cannot give %s to group %lu: %s", path,
				 (unsigned long)gid, strerror(errno));
			return -1;
		}
		msg_warn("cannot give %s to the postfix group (%s); Postfix may be unable to"
			 " connect: set unix_socket_group", path, strerror(errno));
	}
	return 0;
}

int privs_drop(const struct privs *p, char *err, size_t errlen)
{
	gid_t groups[4];
	int n;

	if (!p->drop)
		return 0;
	if (setgroups(1, &p->gid) < 0 || setgid(p->gid) < 0 || setuid(p->uid) < 0) {
		snprintf(err, errlen, "cannot become user %s: %s", p->user, strerror(errno));
		return -1;
	}
	/* Trust, but verify: a half-done drop must not go unnoticed. */
	n = getgroups(4, groups);
	if (getuid() != p->uid || geteuid() != p->uid || getgid() != p->gid ||
	    getegid() != p->gid || n != 1 || groups[0] != p->gid || setuid(0) == 0) {
		snprintf(err, errlen, "dropping privileges to %s did not take", p->user);
		return -1;
	}
	msg_info("running as user %s (uid %lu, gid %lu)", p->user, (unsigned long)p->uid,
		 (unsigned long)p->gid);
	return 0;
}
