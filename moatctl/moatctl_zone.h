/*
 * moatctl_zone - "moatctl zone": the DNS lists (RFC 5782) of both daemons,
 * the rows of dnsbl_zones, dnsbl_codes and their symbols (sql/003-dnsbl.sql),
 * listed, added, switched on or off and deleted without writing SQL.
 */
#ifndef MOAT_MOATCTL_ZONE_H
#define MOAT_MOATCTL_ZONE_H

#include <sqlite3.h>

/* moatctl zone list|codes|add|enable|disable|delete ...; argv[0] is "zone". Exit status. */
int moatctl_zone(sqlite3 *db, int argc, char **argv);

#endif
