/*
 * geo: where an address is, from a GeoLite2-City-format database
 * (libmaxminddb), and how far apart two places are.
 *
 * The database is opened once (memory-mapped, read-only) and looked up
 * from any number of threads at once.  It is optional: without one, a
 * sign-in has no place, and the detections that need one (impossible
 * travel, new country) stay silent rather than guess.
 */
#ifndef IDP_GEO_H
#define IDP_GEO_H

#include <stddef.h>

struct err;
struct geo;

struct geo_place {
	char country[8]; /* ISO 3166-1 alpha-2, e.g. "GB"; "" if unknown */
	char city[64];   /* English name, cut at a character boundary; "" if unknown */
	double lat, lon; /* degrees */
	int has_location;
	int accuracy_km; /* the database's accuracy radius; 0 if it gives none */
};

/*
 * Open the database at path.  Refuses a file that is not a MaxMind DB, one
 * whose records are not maps, or a corrupt one, with err saying which.
 * Returns the handle (close with geo_close) or NULL.
 */
struct geo *geo_open(const char *path, struct err *err);

/* Close; NULL is fine. */
void geo_close(struct geo *g);

/*
 * Look up a numeric IPv4 or IPv6 address.  0 with out filled when the
 * database knows the address (out may then still lack a city or a
 * location); ERR_NOT_FOUND when it does not, ERR_INVALID when ip is not a
 * numeric address, ERR_CORRUPT when the database is damaged there.
 */
int geo_lookup(const struct geo *g, const char *ip, struct geo_place *out);

/* "GeoLite2-City built 2026-11-24" for the start-up log line, into buf. */
const char *geo_describe(const struct geo *g, char *buf, size_t cap);

/* Great-circle distance in km between two points given in degrees. */
double geo_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif
