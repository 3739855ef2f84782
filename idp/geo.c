/*
 * geo: libmaxminddb underneath.
 *
 * Text from the database is checked like any input: a name that is not
 * valid UTF-8 or holds control characters is dropped, a long one is cut at
 * a character boundary.  Coordinates outside the globe are dropped too.
 */
#include "geo.h"

#include "err.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <math.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct geo {
	MMDB_s mmdb;
};

struct geo *geo_open(const char *path, struct err *err)
{
	struct geo *g = calloc(1, sizeof(*g));
	int rc;

	if (g == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	rc = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
	if (rc != MMDB_SUCCESS) {
		err_set(err, rc == MMDB_FILE_OPEN_ERROR ? ERR_IO : ERR_CORRUPT,
		        "%s: not a usable GeoIP database: %s", path, MMDB_strerror(rc));
		free(g);
		return NULL;
	}
	if (g->mmdb.metadata.ip_version != 4 && g->mmdb.metadata.ip_version != 6) {
		err_set(err, ERR_CORRUPT, "%s: ip_version %u is neither 4 nor 6", path,
		        (unsigned)g->mmdb.metadata.ip_version);
		MMDB_close(&g->mmdb);
		free(g);
		return NULL;
	}
	return g;
}

void geo_close(struct geo *g)
{
	if (g == NULL)
		return;
	MMDB_close(&g->mmdb);
	free(g);
}

/* Copy a database string into dst (cap), cut at a UTF-8 boundary; "" if unfit. */
static void geo_text(const MMDB_entry_data_s *v, char *dst, size_t cap)
{
	size_t n;

	dst[0] = '\0';
	if (!v->has_data || v->type != MMDB_DATA_TYPE_UTF8_STRING || cap == 0)
		return;
	n = v->data_size < cap - 1 ? v->data_size : cap - 1;
	/* back off to the start of a character */
	while (n > 0 && n < v->data_size && ((unsigned char)v->utf8_string[n] & 0xc0) == 0x80)
		n--;
	memcpy(dst, v->utf8_string, n);
	dst[n] = '\0';
	if (!utf8_valid(dst, n) || !utf8_printable(dst))
		dst[0] = '\0';
}

static double geo_number(const MMDB_entry_data_s *v, int *ok)
{
	*ok = v->has_data;
	if (!v->has_data)
		return 0;
	switch (v->type) {
	case MMDB_DATA_TYPE_DOUBLE:
		return v->double_value;
	case MMDB_DATA_TYPE_FLOAT:
		return (double)v->float_value;
	case MMDB_DATA_TYPE_UINT16:
		return v->uint16;
	case MMDB_DATA_TYPE_UINT32:
		return v->uint32;
	case MMDB_DATA_TYPE_INT32:
		return v->int32;
	default:
		*ok = 0;
		return 0;
	}
}

int geo_lookup(const struct geo *g, const char *ip, struct geo_place *out)
{
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	const struct sockaddr *sa;
	MMDB_lookup_result_s res;
	MMDB_entry_data_s v;
	int mmdb_err = MMDB_SUCCESS, ok_lat, ok_lon, ok;
	double lat, lon, acc;

	memset(out, 0, sizeof(*out));
	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	/* numeric only: never a name lookup in the sign-in path */
	if (inet_pton(AF_INET, ip, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		sa = (const struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, ip, &a6.sin6_addr) == 1 &&
	           IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
		/* ::ffff:a.b.c.d is an IPv4 client seen through an IPv6 socket */
		a4.sin_family = AF_INET;
		memcpy(&a4.sin_addr, &a6.sin6_addr.s6_addr[12], 4);
		sa = (const struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, ip, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		if (g->mmdb.metadata.ip_version == 4)
			return ERR_NOT_FOUND;
		sa = (const struct sockaddr *)&a6;
	} else {
		return ERR_INVALID;
	}
	res = MMDB_lookup_sockaddr(&g->mmdb, sa, &mmdb_err);
	if (mmdb_err != MMDB_SUCCESS)
		return mmdb_err == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR ? ERR_NOT_FOUND
		                                                           : ERR_CORRUPT;
	if (!res.found_entry)
		return ERR_NOT_FOUND;
	if (MMDB_get_value(&res.entry, &v, "country", "iso_code", NULL) == MMDB_SUCCESS)
		geo_text(&v, out->country, sizeof(out->country));
	if (out->country[0] == '\0' &&
	    MMDB_get_value(&res.entry, &v, "registered_country", "iso_code", NULL) == MMDB_SUCCESS)
		geo_text(&v, out->country, sizeof(out->country));
	if (MMDB_get_value(&res.entry, &v, "city", "names", "en", NULL) == MMDB_SUCCESS)
		geo_text(&v, out->city, sizeof(out->city));
	if (MMDB_get_value(&res.entry, &v, "location", "latitude", NULL) != MMDB_SUCCESS)
		v.has_data = false;
	lat = geo_number(&v, &ok_lat);
	if (MMDB_get_value(&res.entry, &v, "location", "longitude", NULL) != MMDB_SUCCESS)
		v.has_data = false;
	lon = geo_number(&v, &ok_lon);
	if (ok_lat && ok_lon && isfinite(lat) && isfinite(lon) && fabs(lat) <= 90 &&
	    fabs(lon) <= 180) {
		out->lat = lat;
		out->lon = lon;
		out->has_location = 1;
	}
	if (MMDB_get_value(&res.entry, &v, "location", "accuracy_radius", NULL) != MMDB_SUCCESS)
		v.has_data = false;
	acc = geo_number(&v, &ok);
	if (ok && acc > 0 && acc < 20000)
		out->accuracy_km = (int)acc;
	return 0;
}

const char *geo_describe(const struct geo *g, char *buf, size_t cap)
{
	time_t t = (time_t)g->mmdb.metadata.build_epoch;
	char when[16] = "?";
	struct tm tm;

	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
	snprintf(buf, cap, "%.64s built %s",
	         g->mmdb.metadata.database_type != NULL ? g->mmdb.metadata.database_type : "?",
	         when);
	return buf;
}

double geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	const double r = 6371.0088, rad = M_PI / 180.0; /* mean Earth radius */
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
	           cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);

	if (a > 1)
		a = 1;
	return 2 * r * atan2(sqrt(a), sqrt(1 - a));
}
