/*
 * mmdb_write: see mmdb_write.h.  The layout, from the MaxMind DB spec:
 * the search tree (node_count nodes of two 32-bit big-endian records: a
 * node number, node_count for "no data", or node_count + 16 + the offset of
 * a record in the data section), 16 zero bytes, the data section, then
 * "\xAB\xCD\xEFMaxMind.com" and the metadata map.
 */
#include "mmdb_write.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rec_kind { REC_EMPTY, REC_NODE, REC_DATA };

struct rec {
	enum rec_kind kind;
	uint32_t v; /* node index or data offset */
};

struct node {
	struct rec r[2];
};

struct mmdb_writer {
	struct node *nodes;
	size_t n, cap;
	unsigned char *data;
	size_t dlen, dcap;
	int failed;
};

static void put(struct mmdb_writer *w, const void *p, size_t n)
{
	if (w->dlen + n > w->dcap) {
		size_t cap = w->dcap ? w->dcap * 2 : 4096;
		while (cap < w->dlen + n)
			cap *= 2;
		unsigned char *d = realloc(w->data, cap);
		if (d == NULL) {
			w->failed = 1;
			return;
		}
		w->data = d;
		w->dcap = cap;
	}
	memcpy(w->data + w->dlen, p, n);
	w->dlen += n;
}

static void put_byte(struct mmdb_writer *w, unsigned b)
{
	unsigned char c = (unsigned char)b;
	put(w, &c, 1);
}

/* A control byte (and extended type, and size bytes) for type and size. */
static void put_ctrl(struct mmdb_writer *w, unsigned type, size_t size)
{
	unsigned sizebits;

	sizebits = size < 29 ? (unsigned)size : size < 285 ? 29 : size < 65821 ? 30 : 31;
	put_byte(w, ((type <= 7 ? type : 0) << 5) | sizebits);
	if (type > 7)
		put_byte(w, type - 7);
	if (sizebits == 29) {
		put_byte(w, (unsigned)(size - 29));
	} else if (sizebits == 30) {
		put_byte(w, (unsigned)((size - 285) >> 8));
		put_byte(w, (unsigned)((size - 285) & 0xff));
	} else if (sizebits == 31) {
		size_t s = size - 65821;
		put_byte(w, (unsigned)(s >> 16) & 0xff);
		put_byte(w, (unsigned)(s >> 8) & 0xff);
		put_byte(w, (unsigned)s & 0xff);
	}
}

static void put_str(struct mmdb_writer *w, const char *s)
{
	put_ctrl(w, 2, strlen(s));
	put(w, s, strlen(s));
}

static void put_uint(struct mmdb_writer *w, unsigned type, uint64_t v)
{
	unsigned char b[8];
	size_t n = 0;

	for (uint64_t x = v; x != 0; x >>= 8)
		n++;
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	put_ctrl(w, type, n);
	put(w, b, n);
}

static void put_double(struct mmdb_writer *w, double d)
{
	unsigned char b[8];
	uint64_t u;

	memcpy(&u, &d, 8);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(u >> (56 - 8 * i));
	put_ctrl(w, 3, 8);
	put(w, b, 8);
}

struct mmdb_writer *mmdb_writer_new(void)
{
	struct mmdb_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->nodes = calloc(64, sizeof(*w->nodes));
	w->cap = 64;
	w->n = 1; /* the root */
	if (w->nodes == NULL) {
		free(w);
		return NULL;
	}
	return w;
}

void mmdb_writer_free(struct mmdb_writer *w)
{
	if (w == NULL)
		return;
	free(w->nodes);
	free(w->data);
	free(w);
}

static uint32_t new_node(struct mmdb_writer *w, struct rec fill)
{
	if (w->n == w->cap) {
		struct node *nn = realloc(w->nodes, w->cap * 2 * sizeof(*nn));
		if (nn == NULL) {
			w->failed = 1;
			return 0;
		}
		w->nodes = nn;
		w->cap *= 2;
	}
	w->nodes[w->n].r[0] = w->nodes[w->n].r[1] = fill;
	return (uint32_t)w->n++;
}

/* Fill every empty record under node i with data (a wider network under narrower ones). */
static void fill_empty(struct mmdb_writer *w, uint32_t i, struct rec data)
{
	for (int b = 0; b < 2; b++) {
		struct rec r = w->nodes[i].r[b];
		if (r.kind == REC_EMPTY)
			w->nodes[i].r[b] = data;
		else if (r.kind == REC_NODE)
			fill_empty(w, r.v, data);
	}
}

int mmdb_writer_add(struct mmdb_writer *w, const char *cidr, const char *country, const char *city,
                    double lat, double lon, int accuracy_km)
{
	unsigned char a[16];
	char addr[64];
	const char *slash = strchr(cidr, '/');
	struct rec data;
	uint32_t node = 0;
	int plen, len;

	snprintf(addr, sizeof(addr), "%s", cidr);
	if (slash != NULL && (size_t)(slash - cidr) < sizeof(addr))
		addr[slash - cidr] = '\0';
	memset(a, 0, sizeof(a));
	if (inet_pton(AF_INET, addr, a + 12) == 1) {
		len = slash != NULL ? atoi(slash + 1) : 32;
		if (len < 0 || len > 32)
			return -1;
		plen = 96 + len;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		len = slash != NULL ? atoi(slash + 1) : 128;
		if (len < 1 || len > 128)
			return -1;
		plen = len;
	} else {
		return -1;
	}
	/* the record, in the data section */
	data.kind = REC_DATA;
	data.v = (uint32_t)w->dlen;
	put_ctrl(w, 7, city != NULL ? 3 : 2);
	if (city != NULL) {
		put_str(w, "city");
		put_ctrl(w, 7, 1);
		put_str(w, "names");
		put_ctrl(w, 7, 1);
		put_str(w, "en");
		put_str(w, city);
	}
	put_str(w, "country");
	put_ctrl(w, 7, 1);
	put_str(w, "iso_code");
	put_str(w, country);
	put_str(w, "location");
	put_ctrl(w, 7, accuracy_km > 0 ? 3 : 2);
	put_str(w, "latitude");
	put_double(w, lat);
	put_str(w, "longitude");
	put_double(w, lon);
	if (accuracy_km > 0) {
		put_str(w, "accuracy_radius");
		put_uint(w, 5, (uint64_t)accuracy_km);
	}
	for (int d = 0; d < plen; d++) {
		int bit = (a[d / 8] >> (7 - d % 8)) & 1;
		struct rec *r = &w->nodes[node].r[bit];
		if (d == plen - 1) {
			if (r->kind == REC_NODE)
				fill_empty(w, r->v, data);
			else
				*r = data;
			break;
		}
		if (r->kind != REC_NODE) {
			struct rec fill = *r; /* a wider network's data is pushed down */
			uint32_t child = new_node(w, fill);
			if (w->failed)
				return -1;
			r = &w->nodes[node].r[bit]; /* the array may have moved */
			r->kind = REC_NODE;
			r->v = child;
		}
		node = r->v;
	}
	return w->failed ? -1 : 0;
}

static uint32_t rec_value(const struct mmdb_writer *w, struct rec r)
{
	switch (r.kind) {
	case REC_NODE:
		return r.v;
	case REC_DATA:
		return (uint32_t)w->n + 16 + r.v;
	default:
		return (uint32_t)w->n;
	}
}

int mmdb_writer_save(struct mmdb_writer *w, const char *path)
{
	static const unsigned char marker[] = "\xab\xcd\xefMaxMind.com";
	struct mmdb_writer meta;
	unsigned char zero[16] = {0};
	FILE *f;
	int ok;

	if (w->failed)
		return -1;
	memset(&meta, 0, sizeof(meta));
	put_ctrl(&meta, 7, 9);
	put_str(&meta, "binary_format_major_version");
	put_uint(&meta, 5, 2);
	put_str(&meta, "binary_format_minor_version");
	put_uint(&meta, 5, 0);
	put_str(&meta, "build_epoch");
	put_uint(&meta, 9, 1764000000);
	put_str(&meta, "database_type");
	put_str(&meta, "GeoLite2-City");
	put_str(&meta, "description");
	put_ctrl(&meta, 7, 1);
	put_str(&meta, "en");
	put_str(&meta, "idp test geo database");
	put_str(&meta, "ip_version");
	put_uint(&meta, 5, 6);
	put_str(&meta, "languages");
	put_ctrl(&meta, 11, 1);
	put_str(&meta, "en");
	put_str(&meta, "node_count");
	put_uint(&meta, 6, w->n);
	put_str(&meta, "record_size");
	put_uint(&meta, 5, 32);
	if (meta.failed || (f = fopen(path, "wb")) == NULL) {
		free(meta.data);
		return -1;
	}
	ok = 1;
	for (size_t i = 0; ok && i < w->n; i++) {
		unsigned char b[8];
		for (int k = 0; k < 2; k++) {
			uint32_t v = rec_value(w, w->nodes[i].r[k]);
			b[4 * k] = (unsigned char)(v >> 24);
			b[4 * k + 1] = (unsigned char)(v >> 16);
			b[4 * k + 2] = (unsigned char)(v >> 8);
			b[4 * k + 3] = (unsigned char)v;
		}
		ok = fwrite(b, 1, 8, f) == 8;
	}
	ok = ok && fwrite(zero, 1, 16, f) == 16;
	ok = ok && (w->dlen == 0 || fwrite(w->data, 1, w->dlen, f) == w->dlen);
	ok = ok && fwrite(marker, 1, sizeof(marker) - 1, f) == sizeof(marker) - 1;
	ok = ok && fwrite(meta.data, 1, meta.dlen, f) == meta.dlen;
	free(meta.data);
	return fclose(f) == 0 && ok ? 0 : -1;
}

int mmdb_writer_load_spec(struct mmdb_writer *w, const char *spec_path)
{
	char line[512], cidr[64], cc[8], city[256];
	FILE *f = fopen(spec_path, "re");
	int lineno = 0, rc = 0;
	double lat, lon;

	if (f == NULL) {
		perror(spec_path);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		int n, used = 0;
		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		if (line[strspn(line, " \t")] == '\0')
			continue;
		city[0] = '\0';
		n = sscanf(line, "%63s %7s %lf %lf %n", cidr, cc, &lat, &lon, &used);
		if (n < 4) {
			fprintf(stderr, "%s:%d: expected CIDR COUNTRY LAT LON [CITY]\n", spec_path,
			        lineno);
			rc = -1;
			break;
		}
		snprintf(city, sizeof(city), "%s", line + used);
		if (mmdb_writer_add(w, cidr, cc, city[0] ? city : NULL, lat, lon, 20) != 0) {
			fprintf(stderr, "%s:%d: bad network '%s'\n", spec_path, lineno, cidr);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}
