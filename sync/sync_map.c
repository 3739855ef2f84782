/*
 * sync_map: templates, entries, DN keys, and the mapping of an entry to a
 * cloud user or group.  See sync_map.h.
 */
#include "sync_map.h"

#include "err.h"
#include "sync_config.h"
#include "utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SYNC_TEMPLATE_MAX_PARTS 16

struct sync_template_part {
	int is_attr;
	char *text; /* literal text, or the attribute name */
};

struct sync_template {
	size_t n;
	struct sync_template_part parts[SYNC_TEMPLATE_MAX_PARTS];
};

void sync_template_free(struct sync_template *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->parts[i].text);
	free(t);
}

/* An attribute description without options: a name (letter, then letters, digits, '-') or an OID. */
static int sync_attr_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return 0;
	if (isdigit((unsigned char)s[0])) {
		for (size_t i = 0; i < len; i++)
			if (!isdigit((unsigned char)s[i]) && s[i] != '.')
				return 0;
		return 1;
	}
	if (!isalpha((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static int sync_template_add(struct sync_template *t, int is_attr, const char *s, size_t len)
{
	char *copy;

	if (len == 0)
		return 0;
	if (!is_attr && t->n > 0 && !t->parts[t->n - 1].is_attr) {
		/* extend the previous literal */
		size_t old = strlen(t->parts[t->n - 1].text);
		copy = realloc(t->parts[t->n - 1].text, old + len + 1);
		if (copy == NULL)
			return -1;
		memcpy(copy + old, s, len);
		copy[old + len] = '\0';
		t->parts[t->n - 1].text = copy;
		return 0;
	}
	if (t->n == SYNC_TEMPLATE_MAX_PARTS || (copy = strndup(s, len)) == NULL)
		return -1;
	t->parts[t->n].is_attr = is_attr;
	t->parts[t->n].text = copy;
	t->n++;
	return 0;
}

struct sync_template *sync_template_parse(const char *text, char *why, size_t whylen)
{
	struct sync_template *t = calloc(1, sizeof(*t));
	const char *p = text;

	if (t == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (!utf8_valid(text, strlen(text)) || !utf8_printable(text)) {
		snprintf(why, whylen, "not printable UTF-8");
		goto fail;
	}
	while (*p != '\0') {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			if (sync_template_add(t, 0, p, 1) != 0)
				goto toolong;
			p += 2;
		} else if (*p == '{') {
			const char *end = strchr(p + 1, '}');
			if (end == NULL) {
				snprintf(why, whylen, "'{' without its '}'");
				goto fail;
			}
			if (!sync_attr_name_ok(p + 1, (size_t)(end - p - 1))) {
				snprintf(why, whylen, "'{%.*s}' is not an attribute name",
					 (int)(end - p - 1 > 40 ? 40 : end - p - 1), p + 1);
				goto fail;
			}
			if (sync_template_add(t, 1, p + 1, (size_t)(end - p - 1)) != 0)
				goto toolong;
			p = end + 1;
		} else if (*p == '}') {
			snprintf(why, whylen, "'}' without its '{' (write '}}' for a brace)");
			goto fail;
		} else {
			size_t n = strcspn(p, "{}");
			if (sync_template_add(t, 0, p, n) != 0)
				goto toolong;
			p += n;
		}
	}
	return t;
toolong:
	snprintf(why, whylen, "more than %d parts", SYNC_TEMPLATE_MAX_PARTS);
fail:
	sync_template_free(t);
	return NULL;
}

int sync_template_check(const char *text, char *why, size_t whylen)
{
	struct sync_template *t = sync_template_parse(text, why, whylen);

	if (t == NULL)
		return -1;
	sync_template_free(t);
	return 0;
}

/* Check one value as text that may be stored: UTF-8, no NUL, no control characters. */
static int sync_value_text_ok(const struct berval *v, const char *attr, struct err *err)
{
	if (!utf8_valid(v->bv_val, v->bv_len)) {
		for (size_t i = 0; i < v->bv_len; i++)
			if (v->bv_val[i] == '\0')
				return err_set(err, ERR_INVALID,
					       "attribute '%s' has a binary value (%lu bytes)", attr,
					       (unsigned long)v->bv_len);
		return err_set(err, ERR_INVALID, "attribute '%s' is not valid UTF-8", attr);
	}
	for (size_t i = 0; i < v->bv_len; i++) {
		unsigned char c = (unsigned char)v->bv_val[i];
		/* C1 controls too (U+0080..U+009F, 0xC2 0x80..0x9F): the store refuses them
		 * (found by tests/fuzz/fuzz_ldap_map) */
		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && i + 1 < v->bv_len && (unsigned char)v->bv_val[i + 1] >= 0x80 &&
		     (unsigned char)v->bv_val[i + 1] <= 0x9f))
			return err_set(err, ERR_INVALID,
				       "attribute '%s' contains control characters", attr);
	}
	return 0;
}

/*
 * Expand t with the first value of each attribute into out (capacity cap).
 * A missing attribute is an error when required, else expands to nothing;
 * the result is trimmed of surrounding spaces.
 */
static int sync_template_expand(const struct sync_template *t, const struct sync_entry *e,
				const char *field, int required, char *out, size_t cap,
				struct err *err)
{
	size_t len = 0, start = 0;

	out[0] = '\0';
	if (t == NULL)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		const char *s = t->parts[i].text;
		size_t n = strlen(s);
		if (t->parts[i].is_attr) {
			struct berval **v = sync_entry_values(e, s);
			if (v == NULL || v[0] == NULL) {
				if (required)
					return err_set(err, ERR_INVALID,
						       "attribute '%s' (for the %s) is missing", s,
						       field);
				continue;
			}
			if (sync_value_text_ok(v[0], s, err) != 0)
				return err->code;
			n = v[0]->bv_len;
			if (len + n >= cap)
				return err_set(err, ERR_INVALID,
					       "attribute '%s' makes the %s longer than %zu bytes",
					       s, field, cap - 1);
			memcpy(out + len, v[0]->bv_val, n);
		} else {
			if (len + n >= cap)
				return err_set(err, ERR_INVALID, "the %s is longer than %zu bytes",
					       field, cap - 1);
			memcpy(out + len, s, n);
		}
		len += n;
	}
	out[len] = '\0';
	while (len > 0 && out[len - 1] == ' ')
		out[--len] = '\0';
	while (out[start] == ' ')
		start++;
	if (start > 0)
		memmove(out, out + start, len - start + 1);
	if (required && out[0] == '\0')
		return err_set(err, ERR_INVALID, "the %s is empty", field);
	return 0;
}

/* ---- entries ---- */

static void sync_ahead_free(struct sync_ahead *a);

/* Free e's attributes only (in a block, they go with it). */
static void sync_entry_attrs_free(struct sync_entry *e)
{
	for (size_t i = 0; e->block == NULL && i < e->n; i++) {
		ldap_memfree(e->attrs[i].name);
		ldap_value_free_len(e->attrs[i].vals);
	}
	if (e->block == NULL)
		free(e->attrs);
	e->attrs = NULL;
	e->n = e->cap = 0;
}

void sync_entry_clear(struct sync_entry *e)
{
	if (e->dn != NULL && e->block == NULL)
		ldap_memfree(e->dn);
	sync_entry_attrs_free(e);
	sync_ahead_free(e->ahead);
	free(e->block);
	memset(e, 0, sizeof(*e));
}

struct berval **sync_entry_values(const struct sync_entry *e, const char *attr)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcasecmp(e->attrs[i].name, attr) == 0)
			return e->attrs[i].vals;
	return NULL;
}

int sync_uuid_format(const struct berval *raw, char out[DIR_ANCHOR_MAX])
{
	const unsigned char *b = (const unsigned char *)raw->bv_val;

	if (raw->bv_len != 16)
		return -1;
	snprintf(out, DIR_ANCHOR_MAX,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
	return 0;
}

/* An entryUUID attribute value in text form: 36 characters, hex and dashes. */
static int sync_uuid_text(const struct berval *v, char out[DIR_ANCHOR_MAX])
{
	if (v->bv_len != 36)
		return -1;
	for (size_t i = 0; i < 36; i++) {
		char c = v->bv_val[i];
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? c != '-' : !isxdigit((unsigned char)c))
			return -1;
		out[i] = (char)tolower((unsigned char)c);
	}
	out[36] = '\0';
	return 0;
}

/* An attribute as libldap hands it out: borrowed from the message until it is freed. */
struct sync_raw_attr {
	struct berval name;
	BerVarray vals; /* allocated array of borrowed values */
};

/*
 * Copy dn and the attributes into one allocation laid out as e expects
 * (the attribute array, the value pointer arrays, the values' bervals,
 * then the bytes), so that an entry costs one malloc and one free instead
 * of four per attribute and one per value: allocation was a third of the
 * page reader's time.
 */
static int sync_entry_pack(const struct berval *dn, const struct sync_raw_attr *raw, size_t n,
			   struct sync_entry *e)
{
	size_t nvals = 0, bytes = dn->bv_len + 1, size;
	struct berval **ptrs, *bvs;
	char *block, *text;

	for (size_t i = 0; i < n; i++) {
		bytes += raw[i].name.bv_len + 1;
		for (size_t v = 0; raw[i].vals != NULL && raw[i].vals[v].bv_val != NULL; v++) {
			nvals++;
			bytes += raw[i].vals[v].bv_len + 1;
		}
	}
	size = n * sizeof(struct sync_attr) + (nvals + n) * sizeof(struct berval *) +
	       nvals * sizeof(struct berval) + bytes;
	if ((block = malloc(size)) == NULL)
		return -1;
	e->block = block;
	e->attrs = (struct sync_attr *)(void *)block;
	e->n = e->cap = n;
	ptrs = (struct berval **)(void *)(block + n * sizeof(struct sync_attr));
	bvs = (struct berval *)(void *)(ptrs + nvals + n);
	text = (char *)(bvs + nvals);
	memcpy(text, dn->bv_val, dn->bv_len);
	text[dn->bv_len] = '\0';
	e->dn = text;
	text += dn->bv_len + 1;
	for (size_t i = 0; i < n; i++) {
		e->attrs[i].name = text;
		memcpy(text, raw[i].name.bv_val, raw[i].name.bv_len);
		text[raw[i].name.bv_len] = '\0';
		text += raw[i].name.bv_len + 1;
		e->attrs[i].vals = ptrs;
		for (size_t v = 0; raw[i].vals != NULL && raw[i].vals[v].bv_val != NULL; v++) {
			bvs->bv_val = text;
			bvs->bv_len = raw[i].vals[v].bv_len;
			memcpy(text, raw[i].vals[v].bv_val, bvs->bv_len);
			text[bvs->bv_len] = '\0';
			text += bvs->bv_len + 1;
			*ptrs++ = bvs++;
		}
		*ptrs++ = NULL;
	}
	return 0;
}

int sync_entry_read(LDAP *ld, LDAPMessage *msg, const struct berval *uuid16,
		    struct sync_entry *e, struct err *err)
{
	struct sync_raw_attr local[16], *raw = local;
	size_t n = 0, cap = sizeof(local) / sizeof(*local);
	BerElement *ber = NULL;
	struct berval dn;
	int rc = 0;

	/* the anchor first: an entry that does not decode is still known by it */
	if (uuid16 != NULL && sync_uuid_format(uuid16, e->uuid) != 0)
		return err_set(err, ERR_INVALID, "a sync state without a 16-byte UUID");
	if (ldap_get_dn_ber(ld, msg, &ber, &dn) != LDAP_SUCCESS || dn.bv_val == NULL) {
		if (ber != NULL)
			ber_free(ber, 0);
		return err_set(err, ERR_INVALID, "an entry without a DN");
	}
	for (;;) {
		struct sync_raw_attr a = {{0, NULL}, NULL};
		if (ldap_get_attribute_ber(ld, msg, ber, &a.name, &a.vals) != LDAP_SUCCESS) {
			rc = err_set(err, ERR_INVALID, "%.300s: an entry that does not decode",
				     dn.bv_val);
			break;
		}
		if (a.name.bv_val == NULL)
			break;
		if (n == cap) {
			struct sync_raw_attr *v = malloc(cap * 2 * sizeof(*v));
			if (v == NULL) {
				ber_memfree(a.vals);
				rc = err_set(err, ERR_INTERNAL, "out of memory");
				break;
			}
			memcpy(v, raw, n * sizeof(*v));
			if (raw != local)
				free(raw);
			raw = v;
			cap *= 2;
		}
		raw[n++] = a;
	}
	if (rc == 0 && sync_entry_pack(&dn, raw, n, e) != 0)
		rc = err_set(err, ERR_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++)
		ber_memfree(raw[i].vals);
	if (raw != local)
		free(raw);
	ber_free(ber, 0);
	if (rc != 0)
		return rc;
	if (uuid16 == NULL) {
		struct berval **u = sync_entry_values(e, "entryUUID");
		if (u == NULL || u[0] == NULL)
			return err_set(err, ERR_INVALID,
				       "no entryUUID (the anchor): is the account allowed to read "
				       "operational attributes?");
		if (sync_uuid_text(u[0], e->uuid) != 0)
			return err_set(err, ERR_INVALID, "entryUUID is not a UUID");
	}
	return 0;
}

/* ---- keys ---- */

/* Length of dn without a trailing "#'0101'B" optional UID (nameAndOptionalUID). */
static size_t sync_dn_strip_uid(const char *dn, size_t len)
{
	size_t i;

	if (len < 4 || dn[len - 1] != 'B' || dn[len - 2] != '\'')
		return len;
	for (i = len - 3; i > 0 && (dn[i] == '0' || dn[i] == '1'); i--)
		;
	if (i >= 1 && dn[i] == '\'' && dn[i - 1] == '#')
		return i - 1;
	return len;
}

/*
 * 1 if dn (len bytes) is a DN that libldap's normalization would give back
 * unchanged: RDNs "type=value" joined by "," with no space around either;
 * a type a letter then letters, digits or "-"; a value of letters, digits
 * and " .-_@", neither empty nor starting or ending with a space.  Most
 * DNs are; they skip the parser (20% of the page reader's time).  The
 * unit tests hold this against ldap_dn_normalize() on random DNs.
 */
/* ASCII letters and digits, whatever the locale says. */
static int sync_ascii_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int sync_ascii_alnum(char c)
{
	return sync_ascii_alpha(c) || (c >= '0' && c <= '9');
}

int sync_dn_is_plain(const char *dn, size_t len)
{
	size_t i = 0, start;

	while (i < len) {
		if (!sync_ascii_alpha(dn[i]))
			return 0;
		while (i < len && (sync_ascii_alnum(dn[i]) || dn[i] == '-'))
			i++;
		if (i == len || dn[i] != '=')
			return 0;
		start = ++i;
		while (i < len && dn[i] != ',') {
			char c = dn[i];
			if (!sync_ascii_alnum(c) && c != ' ' && c != '.' && c != '-' && c != '_' &&
			    c != '@')
				return 0;
			i++;
		}
		if (i == start || dn[start] == ' ' || dn[i - 1] == ' ')
			return 0;
		if (i < len && ++i == len)
			return 0; /* a trailing "," */
	}
	return len > 0;
}

int sync_dn_key(const char *dn, size_t len, char *out, size_t cap, struct err *err)
{
	char *copy, *norm = NULL;
	int rc;

	len = sync_dn_strip_uid(dn, len);
	if (len == 0)
		return err_set(err, ERR_INVALID, "an empty DN");
	if (cap >= 4 && len < cap - 3 && sync_dn_is_plain(dn, len)) {
		/* already normal: fold it as it is (ASCII, so byte for byte) */
		memcpy(out, "dn:", 3);
		for (size_t i = 0; i < len; i++)
			out[3 + i] = dn[i] >= 'A' && dn[i] <= 'Z' ? (char)(dn[i] + 32) : dn[i];
		out[3 + len] = '\0';
		return 0;
	}
	if (memchr(dn, '\0', len) != NULL || !utf8_valid(dn, len))
		return err_set(err, ERR_INVALID, "a DN that is not UTF-8 text");
	if ((copy = strndup(dn, len)) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	rc = ldap_dn_normalize(copy, LDAP_DN_FORMAT_LDAP, &norm,
			       LDAP_DN_FORMAT_LDAPV3 | LDAP_DN_PRETTY);
	free(copy);
	if (rc != LDAP_SUCCESS || norm == NULL) {
		if (norm != NULL)
			ldap_memfree(norm);
		return err_set(err, ERR_INVALID, "not a DN: %s", ldap_err2string(rc));
	}
	/*
	 * libldap takes "cn=# anything" for an empty hex value and writes
	 * "cn=#", which is no DN: every such value would meet every other.
	 * What does not parse again is refused (found by
	 * tests/fuzz/fuzz_ldap_map); only values that start with '#' need it.
	 */
	if (strstr(norm, "=#") != NULL) {
		LDAPDN parsed = NULL;
		rc = ldap_str2dn(norm, &parsed, LDAP_DN_FORMAT_LDAPV3);
		ldap_dnfree(parsed);
		if (rc != LDAP_SUCCESS) {
			ldap_memfree(norm);
			return err_set(err, ERR_INVALID, "not a DN: a value after '#' is not hex");
		}
	}
	if (cap < 4) {
		ldap_memfree(norm);
		return err_set(err, ERR_INVALID, "no room for a DN key");
	}
	memcpy(out, "dn:", 3);
	rc = utf8_fold(norm, out + 3, cap - 3);
	ldap_memfree(norm);
	if (rc < 0)
		return err_set(err, ERR_INVALID, "a DN too long or not foldable");
	return 0;
}

/* "uid:" and the folded uid. */
static int sync_uid_key(const struct berval *v, char *out, size_t cap, struct err *err)
{
	char buf[DIR_SYNC_KEY_MAX];

	if (v->bv_len == 0 || v->bv_len >= sizeof(buf) || !utf8_valid(v->bv_val, v->bv_len))
		return err_set(err, ERR_INVALID, "a uid that is empty, too long or not UTF-8");
	memcpy(buf, v->bv_val, v->bv_len);
	buf[v->bv_len] = '\0';
	memcpy(out, "uid:", 4);
	if (utf8_fold(buf, out + 4, cap - 4) < 0)
		return err_set(err, ERR_INVALID, "a uid too long to fold");
	return 0;
}

/* ---- the mapping ---- */

static void sync_attrs_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void sync_map_free(struct sync_map *m)
{
	sync_template_free(m->upn);
	sync_template_free(m->display_name);
	sync_template_free(m->given_name);
	sync_template_free(m->surname);
	sync_template_free(m->mail);
	sync_template_free(m->group_name);
	sync_template_free(m->group_description);
	free(m->disabled_attr);
	sync_attrs_free(m->user_attrs);
	sync_attrs_free(m->group_attrs);
	memset(m, 0, sizeof(*m));
}

/* Append name to the NULL-terminated list *v unless it is there (any case). */
static int sync_attrs_add(char ***v, const char *name)
{
	size_t n = 0;
	char **nv;

	if (*v != NULL)
		for (; (*v)[n] != NULL; n++)
			if (strcasecmp((*v)[n], name) == 0)
				return 0;
	if ((nv = realloc(*v, (n + 2) * sizeof(*nv))) == NULL)
		return -1;
	*v = nv;
	if ((nv[n] = strdup(name)) == NULL)
		return -1;
	nv[n + 1] = NULL;
	return 0;
}

static int sync_attrs_add_template(char ***v, const struct sync_template *t)
{
	for (size_t i = 0; t != NULL && i < t->n; i++)
		if (t->parts[i].is_attr && sync_attrs_add(v, t->parts[i].text) != 0)
			return -1;
	return 0;
}

static struct sync_template *sync_map_compile(const char *text, const char *key,
					      struct err *err)
{
	char why[160];
	struct sync_template *t;

	if (text == NULL || *text == '\0')
		return NULL;
	if ((t = sync_template_parse(text, why, sizeof(why))) == NULL)
		err_set(err, ERR_INVALID, "[mapping] %s: %s", key, why);
	return t;
}

int sync_map_init(struct sync_map *m, const struct sync_config *cfg, struct err *err)
{
	static const char *const user_fixed[] = {"entryUUID", "uid", NULL};
	static const char *const group_fixed[] = {"entryUUID", "member", "uniqueMember",
						  "memberUid", NULL};

	memset(m, 0, sizeof(*m));
	err_clear(err);
	m->upn = sync_map_compile(cfg->map_upn, "upn", err);
	m->display_name = sync_map_compile(cfg->map_display_name, "display_name", err);
	m->given_name = sync_map_compile(cfg->map_given_name, "given_name", err);
	m->surname = sync_map_compile(cfg->map_surname, "surname", err);
	m->mail = sync_map_compile(cfg->map_mail, "mail", err);
	m->group_name = sync_map_compile(cfg->map_group_name, "group_name", err);
	m->group_description =
		sync_map_compile(cfg->map_group_description, "group_description", err);
	if (err->code != 0)
		return err->code;
	if (m->upn == NULL || m->group_name == NULL)
		return err_set(err, ERR_INVALID, "[mapping] upn and group_name are required");
	if (cfg->map_disabled != NULL && *cfg->map_disabled != '\0' &&
	    (m->disabled_attr = strdup(cfg->map_disabled)) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	for (size_t i = 0; user_fixed[i] != NULL; i++)
		if (sync_attrs_add(&m->user_attrs, user_fixed[i]) != 0)
			return err_set(err, ERR_INTERNAL, "out of memory");
	for (size_t i = 0; group_fixed[i] != NULL; i++)
		if (sync_attrs_add(&m->group_attrs, group_fixed[i]) != 0)
			return err_set(err, ERR_INTERNAL, "out of memory");
	if (sync_attrs_add_template(&m->user_attrs, m->upn) != 0 ||
	    sync_attrs_add_template(&m->user_attrs, m->display_name) != 0 ||
	    sync_attrs_add_template(&m->user_attrs, m->given_name) != 0 ||
	    sync_attrs_add_template(&m->user_attrs, m->surname) != 0 ||
	    sync_attrs_add_template(&m->user_attrs, m->mail) != 0 ||
	    (m->disabled_attr != NULL && sync_attrs_add(&m->user_attrs, m->disabled_attr) != 0) ||
	    sync_attrs_add_template(&m->group_attrs, m->group_name) != 0 ||
	    sync_attrs_add_template(&m->group_attrs, m->group_description) != 0)
		return err_set(err, ERR_INTERNAL, "out of memory");
	return 0;
}

int sync_map_user(const struct sync_map *m, const struct sync_entry *e, struct dir_user *u,
		  char dn_key[DIR_SYNC_KEY_MAX], char uid_key[DIR_SYNC_KEY_MAX], struct err *err)
{
	struct berval **uid;
	size_t dnlen;

	memset(u, 0, sizeof(*u));
	dn_key[0] = uid_key[0] = '\0';
	dnlen = strlen(e->dn);
	if (dnlen >= sizeof(u->source_dn))
		return err_set(err, ERR_INVALID, "the DN is longer than %zu bytes",
			       sizeof(u->source_dn) - 1);
	memcpy(u->source_dn, e->dn, dnlen + 1);
	memcpy(u->source_anchor, e->uuid, sizeof(u->source_anchor));
	if (sync_dn_key(e->dn, dnlen, dn_key, DIR_SYNC_KEY_MAX, err) != 0)
		return err->code;
	if ((uid = sync_entry_values(e, "uid")) != NULL && uid[0] != NULL &&
	    sync_uid_key(uid[0], uid_key, DIR_SYNC_KEY_MAX, err) != 0)
		return err->code;
	if (sync_template_expand(m->upn, e, "user principal name", 1, u->upn, sizeof(u->upn),
				 err) ||
	    sync_template_expand(m->display_name, e, "display name", 0, u->display_name,
				 sizeof(u->display_name), err) ||
	    sync_template_expand(m->given_name, e, "given name", 0, u->given_name,
				 sizeof(u->given_name), err) ||
	    sync_template_expand(m->surname, e, "surname", 0, u->surname, sizeof(u->surname),
				 err) ||
	    sync_template_expand(m->mail, e, "mail", 0, u->mail, sizeof(u->mail), err))
		return err->code;
	u->enabled = m->disabled_attr == NULL || sync_entry_values(e, m->disabled_attr) == NULL;
	u->source = DIR_SOURCE_LDAP;
	return 0;
}

void sync_members_free(struct sync_members *mk)
{
	for (size_t i = 0; i < mk->n; i++)
		free(mk->keys[i]);
	free(mk->keys);
	memset(mk, 0, sizeof(*mk));
}

static int sync_members_add(struct sync_members *mk, const char *key)
{
	if (mk->n == mk->cap) {
		size_t cap = mk->cap ? mk->cap * 2 : 64;
		char **v = realloc(mk->keys, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		mk->keys = v;
		mk->cap = cap;
	}
	if ((mk->keys[mk->n] = strdup(key)) == NULL)
		return -1;
	mk->n++;
	return 0;
}

int sync_map_group(const struct sync_map *m, const struct sync_entry *e, struct dir_group *g,
		   char dn_key[DIR_SYNC_KEY_MAX], struct sync_members *mk, struct err *err)
{
	static const char *const by_dn[] = {"member", "uniqueMember"};
	char key[DIR_SYNC_KEY_MAX];
	struct berval **v;
	size_t dnlen;

	memset(g, 0, sizeof(*g));
	sync_members_free(mk);
	dn_key[0] = '\0';
	dnlen = strlen(e->dn);
	if (dnlen >= sizeof(g->source_dn))
		return err_set(err, ERR_INVALID, "the DN is longer than %zu bytes",
			       sizeof(g->source_dn) - 1);
	memcpy(g->source_dn, e->dn, dnlen + 1);
	memcpy(g->source_anchor, e->uuid, sizeof(g->source_anchor));
	if (sync_dn_key(e->dn, dnlen, dn_key, DIR_SYNC_KEY_MAX, err) != 0)
		return err->code;
	if (sync_template_expand(m->group_name, e, "group name", 1, g->name, sizeof(g->name),
				 err) ||
	    sync_template_expand(m->group_description, e, "description", 0, g->description,
				 sizeof(g->description), err))
		return err->code;
	g->source = DIR_SOURCE_LDAP;
	for (size_t a = 0; a < 2; a++) {
		if ((v = sync_entry_values(e, by_dn[a])) == NULL)
			continue;
		for (size_t i = 0; v[i] != NULL; i++) {
			/* A member that is not a DN names nothing we can find: skip it. */
			if (sync_dn_key(v[i]->bv_val, v[i]->bv_len, key, sizeof(key), NULL) != 0) {
				mk->unparsable++;
				continue;
			}
			if (sync_members_add(mk, key) != 0)
				return err_set(err, ERR_INTERNAL, "out of memory");
		}
	}
	if ((v = sync_entry_values(e, "memberUid")) != NULL) {
		for (size_t i = 0; v[i] != NULL; i++) {
			if (sync_uid_key(v[i], key, sizeof(key), NULL) != 0) {
				mk->unparsable++;
				continue;
			}
			if (sync_members_add(mk, key) != 0)
				return err_set(err, ERR_INTERNAL, "out of memory");
		}
	}
	return 0;
}

/* ---- mapping ahead ---- */

/* The fields of a user, then of a group, in the order they are packed. */
enum { AHEAD_USER_FIELDS = 7, AHEAD_GROUP_FIELDS = 3 };

struct sync_ahead {
	enum dir_member_kind kind;
	int rc;       /* the mapping's: 0, or an err code */
	char *why;    /* its message when rc != 0 */
	char *packed; /* the fields, each NUL-terminated, one after the other (in a's block) */
	int enabled;  /* a user's */
	struct sync_members members; /* a group's */
};

static void sync_ahead_free(struct sync_ahead *a)
{
	if (a == NULL)
		return;
	free(a->why);
	sync_members_free(&a->members);
	free(a);
}

/*
 * A mapping ahead with n strings packed after it, in one allocation (two
 * per entry were a measurable part of the reader's time); NULL when out of
 * memory.
 */
static struct sync_ahead *sync_ahead_new(const char *const *f, size_t n)
{
	size_t len[AHEAD_USER_FIELDS], total = 0;
	struct sync_ahead *a;
	char *o;

	for (size_t i = 0; i < n; i++)
		total += (len[i] = strlen(f[i])) + 1;
	if ((a = calloc(1, sizeof(*a) + total)) == NULL)
		return NULL;
	a->packed = o = (char *)(a + 1);
	for (size_t i = 0; i < n; i++) {
		memcpy(o, f[i], len[i] + 1);
		o += len[i] + 1;
	}
	return a;
}

/* Unpack into n fields of capacities cap (each checked when mapped: they fit). */
static void sync_ahead_unpack(const char *p, char *const *f, const size_t *cap, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(p);
		if (len >= cap[i])
			len = cap[i] - 1;
		memcpy(f[i], p, len);
		f[i][len] = '\0';
		p += strlen(p) + 1;
	}
}

int sync_map_ahead(const struct sync_map *m, enum dir_member_kind kind, struct sync_entry *e,
		   struct err *err)
{
	struct sync_ahead *a;
	struct sync_members members = {0};
	char dn_key[DIR_SYNC_KEY_MAX], uid_key[DIR_SYNC_KEY_MAX];
	struct err why = {0};
	/*
	 * On the stack: a few KB allocated and freed per entry were most of
	 * the reader's malloc time (glibc consolidating its free chunks).
	 */
	union {
		struct dir_user u;
		struct dir_group g;
	} obj;
	int rc;

	if (kind == DIR_MEMBER_USER) {
		const char *f[AHEAD_USER_FIELDS] = {obj.u.upn,	   obj.u.display_name,
						    obj.u.given_name, obj.u.surname,
						    obj.u.mail,	   dn_key,
						    uid_key};
		rc = sync_map_user(m, e, &obj.u, dn_key, uid_key, &why);
		a = sync_ahead_new(f, rc == 0 ? AHEAD_USER_FIELDS : 0);
		if (a != NULL)
			a->enabled = rc == 0 ? obj.u.enabled : 0;
	} else {
		const char *f[AHEAD_GROUP_FIELDS] = {obj.g.name, obj.g.description, dn_key};
		rc = sync_map_group(m, e, &obj.g, dn_key, &members, &why);
		a = sync_ahead_new(f, rc == 0 ? AHEAD_GROUP_FIELDS : 0);
		if (a != NULL)
			a->members = members; /* the references change hands */
		else
			sync_members_free(&members);
	}
	if (a == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	a->kind = kind;
	a->rc = rc;
	if (rc == ERR_INTERNAL || (rc != 0 && (a->why = strdup(why.msg)) == NULL)) {
		sync_ahead_free(a);
		return err_set(err, ERR_INTERNAL, "out of memory");
	}
	sync_entry_attrs_free(e);
	e->ahead = a;
	return 0;
}

int sync_ahead_user(const struct sync_entry *e, struct dir_user *u,
		    char dn_key[DIR_SYNC_KEY_MAX], char uid_key[DIR_SYNC_KEY_MAX],
		    struct err *err)
{
	const struct sync_ahead *a = e->ahead;
	char *const f[AHEAD_USER_FIELDS] = {u->upn,  u->display_name, u->given_name, u->surname,
					    u->mail, dn_key,          uid_key};
	const size_t cap[AHEAD_USER_FIELDS] = {sizeof(u->upn),     sizeof(u->display_name),
					       sizeof(u->given_name), sizeof(u->surname),
					       sizeof(u->mail),       DIR_SYNC_KEY_MAX,
					       DIR_SYNC_KEY_MAX};
	size_t dn_len;

	/* Field by field, not a memset of the whole (2.5 KB) struct: once per user. */
	u->id[0] = u->tenant_id[0] = u->source_dn[0] = u->source_anchor[0] = '\0';
	u->upn[0] = u->display_name[0] = u->given_name[0] = u->surname[0] = u->mail[0] = '\0';
	u->mfa_required = u->has_password = 0;
	u->created_at = u->updated_at = u->deleted_at = 0;
	dn_key[0] = uid_key[0] = '\0';
	if (a == NULL || a->kind != DIR_MEMBER_USER)
		return err_set(err, ERR_INTERNAL, "the entry was not mapped as a user");
	if (a->rc != 0)
		return err_set(err, a->rc, "%s", a->why);
	/* the DN fits: sync_map_user() checked it */
	dn_len = strnlen(e->dn, sizeof(u->source_dn) - 1);
	memcpy(u->source_dn, e->dn, dn_len);
	u->source_dn[dn_len] = '\0';
	memcpy(u->source_anchor, e->uuid, sizeof(u->source_anchor));
	sync_ahead_unpack(a->packed, f, cap, AHEAD_USER_FIELDS);
	u->enabled = a->enabled;
	u->source = DIR_SOURCE_LDAP;
	return 0;
}

int sync_ahead_group(const struct sync_entry *e, struct dir_group *g,
		     char dn_key[DIR_SYNC_KEY_MAX], struct sync_members *mk, struct err *err)
{
	struct sync_ahead *a = e->ahead;
	char *const f[AHEAD_GROUP_FIELDS] = {g->name, g->description, dn_key};
	const size_t cap[AHEAD_GROUP_FIELDS] = {sizeof(g->name), sizeof(g->description),
						DIR_SYNC_KEY_MAX};

	memset(g, 0, sizeof(*g));
	sync_members_free(mk);
	dn_key[0] = '\0';
	if (a == NULL || a->kind != DIR_MEMBER_GROUP)
		return err_set(err, ERR_INTERNAL, "the entry was not mapped as a group");
	if (a->rc != 0)
		return err_set(err, a->rc, "%s", a->why);
	snprintf(g->source_dn, sizeof(g->source_dn), "%s", e->dn);
	memcpy(g->source_anchor, e->uuid, sizeof(g->source_anchor));
	sync_ahead_unpack(a->packed, f, cap, AHEAD_GROUP_FIELDS);
	g->source = DIR_SOURCE_LDAP;
	/* the references change hands */
	*mk = a->members;
	memset(&a->members, 0, sizeof(a->members));
	return 0;
}

int sync_dn_key_under(const char *key, const char *base)
{
	size_t k = strlen(key), b = strlen(base);

	if (strncmp(key, "dn:", 3) != 0 || strncmp(base, "dn:", 3) != 0 || b <= 3)
		return 0;
	if (k == b)
		return strcmp(key, base) == 0;
	return k > b && key[k - (b - 2)] == ',' && strcmp(key + k - (b - 3), base + 3) == 0;
}
