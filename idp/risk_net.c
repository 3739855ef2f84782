/*
 * risk_net: sets of networks (the admin's list of anonymous and malicious
 * networks, the trusted proxies) and the client address behind proxies.
 *
 * Every address is held as 128 bits, IPv4 as ::ffff:a.b.c.d, so one sorted
 * array of [low, high] ranges serves both families.  Ranges may overlap (a
 * /16 and a /24 inside it); a running maximum of the high ends lets a
 * lookup walk back only over ranges that can still contain the address.
 */
#include "risk_internal.h"

#include "err.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RISK_NETS_MAX_LINE 512
#define RISK_NETS_MAX      2000000

struct risk_net {
	unsigned char lo[16], hi[16];
	unsigned char maxhi[16]; /* the largest hi of this and every earlier range */
	int level;
	int prefix; /* length in the 128-bit space */
	char category[16];
	char label[65];
	char cidr[64];
};

struct risk_nets {
	struct risk_net *v;
	size_t n, cap;
};

/* Parse a numeric address into 128 bits; 4 or 6 (the family), or 0. */
static int risk_ip_bits(const char *s, unsigned char out[16])
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return 4;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		memcpy(out, &a6, 16);
		return IN6_IS_ADDR_V4MAPPED(&a6) ? 4 : 6;
	}
	return 0;
}

struct risk_nets *risk_nets_new(void)
{
	return calloc(1, sizeof(struct risk_nets));
}

void risk_nets_free(struct risk_nets *n)
{
	if (n == NULL)
		return;
	free(n->v);
	free(n);
}

size_t risk_nets_count(const struct risk_nets *n)
{
	return n != NULL ? n->n : 0;
}

int risk_nets_add(struct risk_nets *n, const char *cidr, int level, const char *category,
                  const char *label, struct err *err)
{
	char addr[64];
	const char *slash = strchr(cidr, '/');
	unsigned char bits[16];
	struct risk_net *e;
	long len;
	int fam, plen;

	if (strlen(cidr) >= sizeof(addr))
		return err_set(err, ERR_INVALID, "'%.40s...' is too long for a network", cidr);
	snprintf(addr, sizeof(addr), "%s", cidr);
	if (slash != NULL)
		addr[slash - cidr] = '\0';
	if ((fam = risk_ip_bits(addr, bits)) == 0)
		return err_set(err, ERR_INVALID, "'%s' is not a numeric IPv4 or IPv6 address",
		               addr);
	if (slash != NULL) {
		char *end;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || !isdigit((unsigned char)slash[1]) || *end != '\0' ||
		    errno != 0 || len < 0 || len > (fam == 4 ? 32 : 128))
			return err_set(err, ERR_INVALID, "'%s': prefix length must be 0..%d", cidr,
			               fam == 4 ? 32 : 128);
	} else {
		len = fam == 4 ? 32 : 128;
	}
	plen = (int)len + (fam == 4 ? 96 : 0);
	/* host bits set is almost always a typo: 10.1.2.3/8 meant 10.0.0.0/8? */
	for (int i = plen; i < 128; i++)
		if (bits[i / 8] & (0x80 >> (i % 8)))
			return err_set(err, ERR_INVALID,
			               "'%s' has host bits set (the network would be written "
			               "differently)",
			               cidr);
	if (label != NULL && (strlen(label) > 64 || !utf8_printable(label)))
		return err_set(err, ERR_INVALID, "label: at most 64 printable characters");
	if (n->n >= RISK_NETS_MAX)
		return err_set(err, ERR_LIMIT, "more than %d networks", RISK_NETS_MAX);
	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 64;
		struct risk_net *v = realloc(n->v, cap * sizeof(*v));
		if (v == NULL)
			return err_set(err, ERR_INTERNAL, "out of memory");
		n->v = v;
		n->cap = cap;
	}
	e = &n->v[n->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->lo, bits, 16);
	memcpy(e->hi, bits, 16);
	for (int i = plen; i < 128; i++)
		e->hi[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	e->level = level;
	e->prefix = plen;
	snprintf(e->category, sizeof(e->category), "%s", category != NULL ? category : "");
	snprintf(e->label, sizeof(e->label), "%s", label != NULL ? label : "");
	snprintf(e->cidr, sizeof(e->cidr), "%s/%ld", addr, len);
	return 0;
}

static int risk_net_cmp(const void *a, const void *b)
{
	const struct risk_net *x = a, *y = b;
	int c = memcmp(x->lo, y->lo, 16);

	return c != 0 ? c : x->prefix - y->prefix;
}

void risk_nets_finish(struct risk_nets *n)
{
	if (n == NULL || n->n == 0)
		return;
	qsort(n->v, n->n, sizeof(n->v[0]), risk_net_cmp);
	memcpy(n->v[0].maxhi, n->v[0].hi, 16);
	for (size_t i = 1; i < n->n; i++)
		memcpy(n->v[i].maxhi,
		       memcmp(n->v[i].hi, n->v[i - 1].maxhi, 16) > 0 ? n->v[i].hi
		                                                     : n->v[i - 1].maxhi,
		       16);
}

int risk_nets_find(const struct risk_nets *n, const char *ip, struct risk_net_match *out)
{
	unsigned char a[16];
	const struct risk_net *best = NULL;
	size_t lo = 0, hi;

	if (n == NULL || n->n == 0 || risk_ip_bits(ip, a) == 0)
		return 0;
	/* the last range starting at or below the address */
	hi = n->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(n->v[mid].lo, a, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0;) {
		const struct risk_net *e = &n->v[i];
		if (memcmp(e->maxhi, a, 16) < 0)
			break; /* nothing at or before i reaches the address */
		if (memcmp(e->hi, a, 16) >= 0 &&
		    (best == NULL || e->level > best->level ||
		     (e->level == best->level && e->prefix > best->prefix)))
			best = e;
	}
	if (best == NULL)
		return 0;
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		snprintf(out->cidr, sizeof(out->cidr), "%s", best->cidr);
		out->level = best->level;
		snprintf(out->category, sizeof(out->category), "%s", best->category);
		snprintf(out->label, sizeof(out->label), "%s", best->label);
	}
	return 1;
}

struct risk_nets *risk_nets_load(const char *path, struct err *err)
{
	struct risk_nets *n = risk_nets_new();
	char line[RISK_NETS_MAX_LINE + 2];
	FILE *f = NULL;
	int lineno = 0;

	if (n == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	if ((f = fopen(path, "re")) == NULL) {
		err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
		goto fail;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *cidr, *cat, *label, *end;
		int level = DIR_RISK_MEDIUM;
		size_t len = strlen(line);

		lineno++;
		if (len > RISK_NETS_MAX_LINE || (len > 0 && line[len - 1] != '\n' && !feof(f))) {
			err_set(err, ERR_INVALID, "%s:%d: line longer than %d bytes", path, lineno,
			        RISK_NETS_MAX_LINE);
			goto fail;
		}
		if (!utf8_valid(line, len)) {
			err_set(err, ERR_INVALID, "%s:%d: not UTF-8 text", path, lineno);
			goto fail;
		}
		line[strcspn(line, "#\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			continue;
		cidr = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		cat = *p != '\0' ? p : NULL;
		if (cat != NULL) {
			p += strcspn(p, " \t");
			if (*p != '\0')
				*p++ = '\0';
			while (*p == ' ' || *p == '\t')
				p++;
		}
		label = *p != '\0' ? p : NULL;
		if (label != NULL) {
			end = label + strlen(label);
			while (end > label && (end[-1] == ' ' || end[-1] == '\t'))
				*--end = '\0';
		}
		if (cat == NULL || strcmp(cat, "anonymous") == 0) {
			level = DIR_RISK_MEDIUM;
			cat = "anonymous";
		} else if (strcmp(cat, "malicious") == 0) {
			level = DIR_RISK_HIGH;
		} else {
			err_set(err, ERR_INVALID,
			        "%s:%d: category '%.40s' is neither anonymous nor malicious", path,
			        lineno, cat);
			goto fail;
		}
		if (risk_nets_add(n, cidr, level, cat, label, err) != 0) {
			err_prefix(err, "%s:%d", path, lineno);
			goto fail;
		}
	}
	if (ferror(f)) {
		err_set(err, ERR_IO, "%s: read error", path);
		goto fail;
	}
	fclose(f);
	risk_nets_finish(n);
	return n;
fail:
	if (f != NULL)
		fclose(f);
	risk_nets_free(n);
	return NULL;
}

void risk_ip_network(const char *ip, char *out, size_t cap)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int fam = risk_ip_bits(ip, a);

	if (fam == 4) {
		snprintf(out, cap, "%u.%u.%u.0/24", a[12], a[13], a[14]);
	} else if (fam == 6) {
		memset(a + 6, 0, 10);
		inet_ntop(AF_INET6, a, text, sizeof(text));
		snprintf(out, cap, "%s/48", text);
	} else {
		snprintf(out, cap, "?");
	}
}

/* Copy the numeric address at s (n bytes, trimmed) into out if it is one; 1 if so. */
static int risk_xff_entry(const char *s, size_t n, char *out, size_t cap)
{
	unsigned char bits[16];
	char buf[INET6_ADDRSTRLEN + 8];

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (risk_ip_bits(buf, bits) == 0)
		return 0;
	snprintf(out, cap, "%s", buf);
	return 1;
}

void risk_nets_client_ip(const struct risk_nets *trusted, const char *peer, const char *xff,
                         char *out, size_t cap)
{
	char cur[INET6_ADDRSTRLEN + 8];
	size_t end;

	snprintf(cur, sizeof(cur), "%s", peer);
	if (xff == NULL || trusted == NULL || !risk_nets_find(trusted, cur, NULL)) {
		snprintf(out, cap, "%s", cur);
		return;
	}
	/* right to left: each hop was added by the one after it, trusted so far */
	end = strlen(xff);
	while (end > 0) {
		size_t start = end;
		char hop[INET6_ADDRSTRLEN + 8];
		while (start > 0 && xff[start - 1] != ',')
			start--;
		if (!risk_xff_entry(xff + start, end - start, hop, sizeof(hop)))
			break; /* garbage: believe nothing left of it */
		snprintf(cur, sizeof(cur), "%s", hop);
		if (!risk_nets_find(trusted, cur, NULL))
			break;
		end = start > 0 ? start - 1 : 0;
	}
	snprintf(out, cap, "%s", cur);
}
