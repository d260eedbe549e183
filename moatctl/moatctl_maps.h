/*
 * moatctl_maps - "moatctl maps": the allow and block lists moat-policyd
 * uses (view maps_status) and asking it to check them all now.
 */
#ifndef MOAT_MOATCTL_MAPS_H
#define MOAT_MOATCTL_MAPS_H

#include <sqlite3.h>

/* moatctl maps [list | refresh]; argv[0] is "maps". Exit status. */
int moatctl_maps(sqlite3 *db, int argc, char **argv);

#endif
