/*
 * mbox - the messages in files, mbox files and directories, as moatctl
 * takes them: a file is one message or an mbox ("From " lines between
 * messages, as mboxrd/mboxo writers leave them); a directory is walked in
 * name order (dot files skipped), depth first.
 */
#ifndef MOAT_MBOX_H
#define MOAT_MBOX_H

#include <stddef.h>

/* Called once per message: name is "PATH" or "PATH#N" inside an mbox; 0, or -1 to stop. */
typedef int (*mbox_fn)(void *arg, const char *name, const char *p, size_t len);

/* Whether p starts an mbox separator line "From sender Www Mmm ...". */
int mbox_separator(const char *p, size_t len);
/*
 * Each message under path, at most limit bytes of each (the rest is cut).
 * Returns 0, 1 if a file could not be read (logged, the walk goes on), or
 * -1 when fn stopped it.
 */
int mbox_walk(const char *path, size_t limit, mbox_fn fn, void *arg);

#endif
