/*
 * fuzz_ldap_map: from an LDAP entry to a cloud user or group (sync_map.h),
 * as the sync daemon maps what an on-premises directory sends: attribute
 * templates, DN keys (normalized, folded), uid keys, member references.
 *
 * Input, line by line (LDIF-like, so seeds read as directory entries):
 *
 *     upn template            e.g. {uid}@example.com
 *     display name template   e.g. {givenName} {sn}
 *     group name template     e.g. {cn}
 *     disabled attribute      e.g. nsAccountLock (may be empty)
 *     DN
 *     attr: value             any number; "attr:: BASE64" for raw bytes
 *
 * The entry is built as sync_entry_read() would leave it (values in
 * bervals, allocated by the LDAP library's allocator) and mapped both as a
 * user and as a group.
 *
 * Properties: what maps is storable (the store's own text rules: UTF-8,
 * no control characters, within the field sizes, no surrounding spaces,
 * a user principal name and group name never empty); a DN key starts with
 * "dn:" and normalizing and folding it again changes nothing (so two
 * spellings of one DN meet); every member value is either a key or
 * counted unparsable; the anchor is the entry's.
 */
#include "fuzz.h"

#include <strings.h>

#include "dir.h"
#include "err.h"
#include "sync_config.h"
#include "sync_map.h"
#include "utf8.h"

#include <lber.h>
#include <ldap.h>

#define FZ_UUID "0f8e9c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"

/* Standard base64 (LDIF "attr:: ..."); the decoded length or -1. */
static long fz_b64(const char *s, size_t n, char *out)
{
	static const char tbl[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0;
	int bits = 0;
	long o = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p;
		if (s[i] == '=' || s[i] == ' ')
			continue;
		if (s[i] == '\0' || (p = strchr(tbl, s[i])) == NULL)
			return -1;
		acc = acc << 6 | (unsigned)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return o;
}

/* Add one value of attribute name to e, as sync_entry_read() would have. */
static void fz_add(struct sync_entry *e, const char *name, const char *val, size_t len)
{
	struct berval **vals = NULL, *bv;
	size_t i, n = 0;

	for (i = 0; i < e->n; i++)
		if (strcasecmp(e->attrs[i].name, name) == 0)
			break;
	if (i == e->n) {
		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 8;
			e->attrs = realloc(e->attrs, e->cap * sizeof(*e->attrs));
			if (e->attrs == NULL)
				abort();
		}
		e->attrs[e->n].name = ber_strdup(name);
		e->attrs[e->n].vals = NULL;
		e->n++;
	}
	if (e->attrs[i].vals != NULL)
		while (e->attrs[i].vals[n] != NULL)
			n++;
	vals = ber_memrealloc(e->attrs[i].vals, (n + 2) * sizeof(*vals));
	bv = ber_mem2bv(val, len, 1, NULL);
	if (vals == NULL || bv == NULL || e->attrs[i].name == NULL)
		abort();
	vals[n] = bv;
	vals[n + 1] = NULL;
	e->attrs[i].vals = vals;
}

/* Storable as the store stores text: what dir_check_text() asks, and trimmed. */
static void fz_text(const char *what, const char *s, size_t cap, int required)
{
	size_t n = strlen(s);

	FUZZ_ASSERT(n < cap, "%s of %zu bytes in a field of %zu", what, n, cap);
	FUZZ_ASSERT(!required || n > 0, "an empty %s", what);
	FUZZ_ASSERT(utf8_valid(s, n) && utf8_printable(s), "%s is not printable UTF-8", what);
	FUZZ_ASSERT(n == 0 || (s[0] != ' ' && s[n - 1] != ' '), "%s keeps surrounding spaces",
	            what);
}

/* A DN key is "dn:" and a normalized, folded DN that normalizes to itself. */
static void fz_dn_key(const char *key)
{
	char again[DIR_SYNC_KEY_MAX];
	struct err err = {0};

	FUZZ_ASSERT(strncmp(key, "dn:", 3) == 0, "a DN key without dn: '%s'", key);
	FUZZ_ASSERT(utf8_valid(key, strlen(key)), "a DN key that is not UTF-8");
	FUZZ_ASSERT(sync_dn_key(key + 3, strlen(key + 3), again, sizeof(again), &err) == 0,
	            "a DN key does not parse as a DN: '%s': %s", key, err.msg);
	FUZZ_ASSERT(strcmp(again, key) == 0, "a DN key is not stable: '%s' then '%s'", key, again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	char *upn = fuzz_next(&in, '\n', NULL), *display = fuzz_next(&in, '\n', NULL);
	char *gname = fuzz_next(&in, '\n', NULL), *disabled = fuzz_next(&in, '\n', NULL);
	char *dn = fuzz_next(&in, '\n', NULL);
	char dn_key[DIR_SYNC_KEY_MAX], uid_key[DIR_SYNC_KEY_MAX];
	struct sync_config cfg;
	struct sync_entry e;
	struct sync_map m;
	struct sync_members mk;
	struct dir_user u;
	struct dir_group g;
	struct err err = {0};
	size_t members = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(&e, 0, sizeof(e));
	memset(&mk, 0, sizeof(mk));
	cfg.map_upn = upn;
	cfg.map_display_name = display;
	cfg.map_group_name = gname;
	cfg.map_group_description = "{description}";
	cfg.map_mail = "{mail}";
	cfg.map_disabled = disabled;
	if (sync_map_init(&m, &cfg, &err) != 0) {
		char why[160];
		FUZZ_ASSERT(err.msg[0] != '\0', "a refused mapping without a reason");
		/* the config check says the same about the templates */
		FUZZ_ASSERT(*upn == '\0' || *gname == '\0' ||
		                    sync_template_check(upn, why, sizeof(why)) != 0 ||
		                    sync_template_check(display, why, sizeof(why)) != 0 ||
		                    sync_template_check(gname, why, sizeof(why)) != 0,
		            "init refused templates the check accepts: %s", err.msg);
		sync_map_free(&m);
		goto out;
	}
	e.dn = ber_strdup(dn);
	snprintf(e.uuid, sizeof(e.uuid), "%s", FZ_UUID);
	while (in.n > 0) {
		size_t len;
		char *line = fuzz_next(&in, '\n', &len), *colon = strchr(line, ':');
		if (colon != NULL && colon > line) {
			*colon = '\0';
			int added = 0;
			if (colon[1] == ':') {
				char *raw = malloc(len + 1);
				long n = raw != NULL ? fz_b64(colon + 2, strlen(colon + 2), raw)
				                     : -1;
				if (n >= 0)
					fz_add(&e, line, raw, (size_t)n), added = 1;
				free(raw);
			} else {
				const char *v = colon + 1 + (colon[1] == ' ');
				/* the value runs to the end of the line, NULs included */
				fz_add(&e, line, v, len - (size_t)(v - line));
				added = 1;
			}
			if (added && (strcasecmp(line, "member") == 0 ||
			              strcasecmp(line, "uniqueMember") == 0 ||
			              strcasecmp(line, "memberUid") == 0))
				members++;
		}
		free(line);
	}

	if (sync_map_user(&m, &e, &u, dn_key, uid_key, &err) == 0) {
		fz_text("upn", u.upn, sizeof(u.upn), 1);
		fz_text("display name", u.display_name, sizeof(u.display_name), 0);
		fz_text("mail", u.mail, sizeof(u.mail), 0);
		FUZZ_ASSERT(strcmp(u.source_anchor, FZ_UUID) == 0, "the anchor changed");
		FUZZ_ASSERT(u.source == DIR_SOURCE_LDAP, "a synced user not marked as synced");
		FUZZ_ASSERT(strcmp(u.source_dn, e.dn) == 0, "the DN changed");
		fz_dn_key(dn_key);
		FUZZ_ASSERT(uid_key[0] == '\0' || strncmp(uid_key, "uid:", 4) == 0,
		            "a uid key without uid:");
	} else {
		FUZZ_ASSERT(err.code == ERR_INVALID && err.msg[0] != '\0', "a silent refusal %d",
		            err.code);
	}
	err_clear(&err);
	if (sync_map_group(&m, &e, &g, dn_key, &mk, &err) == 0) {
		fz_text("group name", g.name, sizeof(g.name), 1);
		fz_text("description", g.description, sizeof(g.description), 0);
		fz_dn_key(dn_key);
		FUZZ_ASSERT(mk.n + mk.unparsable == members,
		            "%zu members became %zu keys and %zu "
		            "unparsable",
		            members, mk.n, mk.unparsable);
		for (size_t i = 0; i < mk.n; i++) {
			if (strncmp(mk.keys[i], "uid:", 4) == 0)
				continue;
			fz_dn_key(mk.keys[i]);
		}
	} else {
		FUZZ_ASSERT(err.code == ERR_INVALID && err.msg[0] != '\0', "a silent refusal %d",
		            err.code);
	}
	sync_members_free(&mk);
	sync_map_free(&m);
	sync_entry_clear(&e);
out:
	free(upn);
	free(display);
	free(gname);
	free(disabled);
	free(dn);
	return 0;
}
