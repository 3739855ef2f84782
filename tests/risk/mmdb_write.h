/*
 * mmdb_write: a small writer of MaxMind DB files (format 2.0) in the
 * GeoLite2-City shape, so that tests and the benchmark build the geo
 * databases they look up with libmaxminddb.  Debian ships no writer, and a
 * real GeoLite2 file is neither free to ship nor small.
 *
 * An IPv6 tree with 32-bit records; IPv4 networks live under ::/96, where
 * libmaxminddb looks IPv4 addresses up.  A network added inside an earlier,
 * wider one takes precedence for its addresses.
 */
#ifndef IDP_MMDB_WRITE_H
#define IDP_MMDB_WRITE_H

struct mmdb_writer;

struct mmdb_writer *mmdb_writer_new(void);
void mmdb_writer_free(struct mmdb_writer *w);

/*
 * Map a network ("81.2.69.0/24", "2001:db8::/32") to a place.  city may be
 * NULL (a record without one), accuracy_km 0 (none).  0, or -1 if the
 * network does not parse.
 */
int mmdb_writer_add(struct mmdb_writer *w, const char *cidr, const char *country, const char *city,
                    double lat, double lon, int accuracy_km);

/* Write the database to path; 0 or -1. */
int mmdb_writer_save(struct mmdb_writer *w, const char *path);

/*
 * Load "CIDR COUNTRY LAT LON [CITY...]" lines ('#' comments) from spec
 * into w; 0, or -1 naming the line on stderr.
 */
int mmdb_writer_load_spec(struct mmdb_writer *w, const char *spec_path);

#endif
