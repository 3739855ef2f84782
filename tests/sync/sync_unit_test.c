/*
 * sync_unit_test: the parts of the sync that need no server: the
 * configuration, templates and mapping, DN keys, and the store calls that
 * apply synced objects (dir_sync.c) on a real SQLite file.
 */
#define _GNU_SOURCE
#include "dir.h"
#include "sync_config.h"
#include "sync_cookie.h"
#include "sync_map.h"
#include "testutil.h"
#include "utf8.h"

#include <check.h>
#include <lber.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration ---- */

static const char conf_base[] = "[ldap]\n"
				"uri = ldap://127.0.0.1:3389\n"
				"bind_dn = cn=sync,dc=x\n"
				"bind_password_file = /nonexistent\n"
				"[users]\n"
				"base = ou=people,dc=x\n"
				"[groups]\n"
				"base = ou=groups,dc=x\n"
				"[mapping]\n"
				"upn = {uid}@x.example\n"
				"[store]\n"
				"path = /tmp/x.db\n"
				"tenant = demo\n";

static int conf_try(const char *extra_ldap, const char *rest, struct sync_config *cfg,
		    struct err *err)
{
	char text[4096];
	const char *after = strstr(conf_base, "[users]");

	snprintf(text, sizeof(text), "%.*s%s%s%s", (int)(after - conf_base), conf_base,
		 extra_ldap != NULL ? extra_ldap : "", after, rest != NULL ? rest : "");
	return sync_config_load_string("test.conf", text, cfg, err);
}

START_TEST(config_defaults)
{
	struct sync_config cfg;
	struct err err = {0};
	char h1[65], h2[65];

	ck_assert_msg(conf_try(NULL, NULL, &cfg, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cfg.mode, SYNC_MODE_PERSIST);
	ck_assert_int_eq(cfg.delete_threshold, 500);
	ck_assert_int_eq(cfg.page_size, 1000);
	ck_assert_str_eq(cfg.connector, "ldap");
	ck_assert_str_eq(cfg.user_filter, "(objectClass=inetOrgPerson)");
	ck_assert_uint_eq(cfg.user_bases.n, 1);
	sync_config_scope_hash(&cfg, h1);
	sync_config_free(&cfg);
	/* the scope digest follows the filter */
	ck_assert(conf_try(NULL, "[sync]\nmode = poll\n", &cfg, &err) == 0);
	sync_config_scope_hash(&cfg, h2);
	ck_assert_str_eq(h1, h2);
	sync_config_free(&cfg);
	ck_assert(conf_try(NULL, "", &cfg, &err) == 0);
	free(cfg.user_filter);
	cfg.user_filter = strdup("(objectClass=person)");
	sync_config_scope_hash(&cfg, h2);
	ck_assert_str_ne(h1, h2);
	sync_config_free(&cfg);
}
END_TEST

START_TEST(config_errors)
{
	static const struct {
		const char *ldap, *rest, *needle;
	} cases[] = {
		{"colour = blue\n", NULL, "unknown key"},
		{NULL, "[sync]\nmode = sometimes\n", "not one of"},
		{NULL, "[sync]\ndelete_threshold = -1\n", "out of range"},
		{NULL, "[mapping2]\nx = y\n", "unknown section"},
		{"starttls = yes\n", NULL, NULL}, /* fine */
		{"insecure = maybe\n", NULL, "boolean"},
		{NULL, "[users]\nfilter = objectClass=person\n", "parentheses"},
		{NULL, "[users]\nfilter = (a=b))(b=c)\n", "unbalanced"},
		{NULL, "[store]\ntenant = again\n", "set twice"},
	};
	struct sync_config cfg;
	struct err err = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = conf_try(cases[i].ldap, cases[i].rest, &cfg, &err);
		if (cases[i].needle == NULL) {
			ck_assert_msg(rc == 0, "case %zu: %s", i, err.msg);
			sync_config_free(&cfg);
			continue;
		}
		ck_assert_msg(rc != 0, "case %zu accepted", i);
		ck_assert_msg(strstr(err.msg, cases[i].needle) != NULL, "case %zu: %s", i, err.msg);
	}
}
END_TEST

/* Whole files, to reach the checks that span keys. */
START_TEST(config_cross_checks)
{
	static const struct {
		const char *from, *to, *needle;
	} cases[] = {
		{"uri = ldap://127.0.0.1:3389", "uri = http://127.0.0.1", "ldap://"},
		{"uri = ldap://127.0.0.1:3389", "uri = ldap://10.1.2.3", "in the clear"},
		{"uri = ldap://127.0.0.1:3389", "uri = ldap://h/dc=x??sub", "only scheme"},
		{"base = ou=people,dc=x", "base = ou=people,dc=x\nbase = OU=Staff, ou=People,dc=X",
		 "overlap"},
		{"base = ou=people,dc=x", "base = not a dn", "distinguished"},
		{"upn = {uid}@x.example", "upn = {uid@x.example", "without its"},
		{"upn = {uid}@x.example", "upn = {u id}@x", "not an attribute"},
		{"upn = {uid}@x.example", "upn = x}", "without its"},
		{"tenant = demo", "tenant = Demo Tenant", "tenant"},
		{"bind_dn = cn=sync,dc=x", "bind_dn = ,,", "distinguished"},
	};
	struct sync_config cfg;
	struct err err = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[4096], *at;
		snprintf(text, sizeof(text), "%s", conf_base);
		at = strstr(text, cases[i].from);
		ck_assert(at != NULL);
		{
			char rest[4096];
			snprintf(rest, sizeof(rest), "%s", at + strlen(cases[i].from));
			snprintf(at, sizeof(text) - (size_t)(at - text), "%s%s", cases[i].to, rest);
		}
		ck_assert_msg(sync_config_load_string("t.conf", text, &cfg, &err) != 0,
			      "case %zu accepted", i);
		ck_assert_msg(strstr(err.msg, cases[i].needle) != NULL, "case %zu: %s", i, err.msg);
	}
	/* TLS makes a remote server fine; so does the explicit opt-out */
	{
		char text[4096];
		snprintf(text, sizeof(text), "%s", conf_base);
		memcpy(strstr(text, "ldap://127.0.0.1:3389"), "ldaps://10.1.2.3:636 ", 21);
		ck_assert_msg(sync_config_load_string("t.conf", text, &cfg, &err) == 0, "%s",
			      err.msg);
		sync_config_free(&cfg);
	}
}
END_TEST

/* ---- entries, templates, mapping ---- */

static void entry_add(struct sync_entry *e, const char *attr, const char *val, size_t len)
{
	struct berval **vals = NULL;
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(e->attrs[i].name, attr) == 0) {
			vals = e->attrs[i].vals;
			while (vals[n] != NULL)
				n++;
			vals = ber_memrealloc(vals, (n + 2) * sizeof(*vals));
			vals[n] = ber_str2bv(val, len, 1, NULL);
			vals[n + 1] = NULL;
			e->attrs[i].vals = vals;
			return;
		}
	}
	e->attrs = realloc(e->attrs, (e->n + 1) * sizeof(*e->attrs));
	e->attrs[e->n].name = ber_strdup(attr);
	vals = ber_memcalloc(2, sizeof(*vals));
	vals[0] = ber_str2bv(val, len, 1, NULL);
	e->attrs[e->n].vals = vals;
	e->n++;
	e->cap = e->n;
}

static void entry_init(struct sync_entry *e, const char *dn, const char *uuid)
{
	memset(e, 0, sizeof(*e));
	e->dn = ber_strdup(dn);
	snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
}

static struct sync_config map_cfg;
static struct sync_map map;

static void map_setup(void)
{
	struct err err = {0};

	ck_assert(conf_try(NULL, NULL, &map_cfg, &err) == 0);
	free(map_cfg.map_display_name);
	map_cfg.map_display_name = strdup("{givenName} {sn}");
	map_cfg.map_disabled = strdup("pwdAccountLockedTime");
	ck_assert_msg(sync_map_init(&map, &map_cfg, &err) == 0, "%s", err.msg);
}

static void map_teardown(void)
{
	sync_map_free(&map);
	sync_config_free(&map_cfg);
}

START_TEST(map_user)
{
	struct sync_entry e;
	struct dir_user u;
	char dk[DIR_SYNC_KEY_MAX], uk[DIR_SYNC_KEY_MAX];
	struct err err = {0};
	int found = 0;

	/* the searches ask for what the templates name, and the anchor */
	for (char **a = map.user_attrs; *a != NULL; a++)
		found += strcmp(*a, "entryUUID") == 0 || strcmp(*a, "givenName") == 0 ||
			 strcmp(*a, "pwdAccountLockedTime") == 0;
	ck_assert_int_eq(found, 3);

	entry_init(&e, "uid=Ada,OU=People, dc=x", "11111111-2222-3333-4444-555555555555");
	entry_add(&e, "uid", "Ada", 3);
	entry_add(&e, "givenName", "Ada", 3);
	entry_add(&e, "sn", "Lovelace", 8);
	entry_add(&e, "mail", "ada@x.example", 13);
	ck_assert_msg(sync_map_user(&map, &e, &u, dk, uk, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(u.upn, "Ada@x.example");
	ck_assert_str_eq(u.display_name, "Ada Lovelace");
	ck_assert_str_eq(u.mail, "ada@x.example");
	ck_assert_str_eq(u.source_dn, "uid=Ada,OU=People, dc=x");
	ck_assert_str_eq(dk, "dn:uid=ada,ou=people,dc=x");
	ck_assert_str_eq(uk, "uid:ada");
	ck_assert_int_eq(u.enabled, 1);

	/* disabled by the presence of the attribute */
	entry_add(&e, "pwdAccountLockedTime", "000001010000Z", 13);
	ck_assert(sync_map_user(&map, &e, &u, dk, uk, &err) == 0);
	ck_assert_int_eq(u.enabled, 0);
	sync_entry_clear(&e);

	/* a missing optional attribute leaves nothing behind, not "  Lovelace" */
	entry_init(&e, "uid=x,dc=x", "11111111-2222-3333-4444-555555555555");
	entry_add(&e, "uid", "x", 1);
	entry_add(&e, "sn", "Lovelace", 8);
	ck_assert(sync_map_user(&map, &e, &u, dk, uk, &err) == 0);
	ck_assert_str_eq(u.display_name, "Lovelace");
	sync_entry_clear(&e);
}
END_TEST

START_TEST(map_user_refusals)
{
	static const char bin[] = {'\xff', '\xd8', '\xff', '\0', 'J', 'F', 'I', 'F'};
	static const char bad[] = {'A', '\xc3', '(', 'B'};
	char longv[5000];
	struct sync_entry e;
	struct dir_user u;
	char dk[DIR_SYNC_KEY_MAX], uk[DIR_SYNC_KEY_MAX];
	struct err err = {0};

	/* the UPN's attribute missing */
	entry_init(&e, "cn=nouid,dc=x", "11111111-2222-3333-4444-555555555555");
	entry_add(&e, "sn", "x", 1);
	ck_assert_int_eq(sync_map_user(&map, &e, &u, dk, uk, &err), ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "'uid'") && strstr(err.msg, "missing"), "%s", err.msg);
	sync_entry_clear(&e);

	/* binary, invalid UTF-8, control characters, too long */
	entry_init(&e, "uid=a,dc=x", "11111111-2222-3333-4444-555555555555");
	entry_add(&e, "uid", "a", 1);
	entry_add(&e, "givenName", bin, sizeof(bin));
	ck_assert_int_eq(sync_map_user(&map, &e, &u, dk, uk, &err), ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "givenName") && strstr(err.msg, "binary"), "%s", err.msg);
	sync_entry_clear(&e);

	entry_init(&e, "uid=a,dc=x", "11111111-2222-3333-4444-555555555555");
	entry_add(&e, "uid", "a", 1);
	entry_add(&e, "sn", bad, sizeof(bad));
	ck_assert_int_eq(sync_map_user(&map, &e, &u, dk, uk, &err), ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "'sn'") && strstr(err.msg, "UTF-8"), "%s", err.msg);
	sync_entry_clear(&e);

	entry_init(&e, "uid=a,dc=x", "11111111-2222-3333-4444-555555555555");
	entry_add(&e, "uid", "a", 1);
	entry_add(&e, "mail", "a@x\nInjected: yes", 17);
	ck_assert_int_eq(sync_map_user(&map, &e, &u, dk, uk, &err), ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "control"), "%s", err.msg);
	sync_entry_clear(&e);

	memset(longv, 'x', sizeof(longv));
	entry_init(&e, "uid=a,dc=x", "11111111-2222-3333-4444-555555555555");
	entry_add(&e, "uid", "a", 1);
	entry_add(&e, "sn", longv, sizeof(longv));
	ck_assert_int_eq(sync_map_user(&map, &e, &u, dk, uk, &err), ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "longer than"), "%s", err.msg);
	sync_entry_clear(&e);

	/* a UPN template cannot be made longer than its field */
	entry_init(&e, "uid=a,dc=x", "11111111-2222-3333-4444-555555555555");
	entry_add(&e, "uid", longv, 300);
	ck_assert_int_eq(sync_map_user(&map, &e, &u, dk, uk, &err), ERR_INVALID);
	sync_entry_clear(&e);
}
END_TEST

START_TEST(map_group)
{
	struct sync_entry e;
	struct dir_group g;
	struct sync_members mk = {0};
	char dk[DIR_SYNC_KEY_MAX];
	struct err err = {0};

	entry_init(&e, "cn=Ops,ou=Groups,dc=x", "11111111-2222-3333-4444-555555555555");
	entry_add(&e, "cn", "Ops", 3);
	entry_add(&e, "description", "Operators", 9);
	entry_add(&e, "member", "UID=Ada , ou=people,DC=x", 24);
	entry_add(&e, "uniqueMember", "uid=ken,ou=people,dc=x#'0101'B", 30);
	entry_add(&e, "uniqueMember", "not a dn at all", 15);
	entry_add(&e, "memberUid", "Margaret", 8);
	ck_assert_msg(sync_map_group(&map, &e, &g, dk, &mk, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(g.name, "Ops");
	ck_assert_str_eq(g.description, "Operators");
	ck_assert_str_eq(dk, "dn:cn=ops,ou=groups,dc=x");
	ck_assert_uint_eq(mk.n, 3);
	ck_assert_str_eq(mk.keys[0], "dn:uid=ada,ou=people,dc=x");
	ck_assert_str_eq(mk.keys[1], "dn:uid=ken,ou=people,dc=x");
	ck_assert_str_eq(mk.keys[2], "uid:margaret");
	ck_assert_uint_eq(mk.unparsable, 1);
	sync_members_free(&mk);
	sync_entry_clear(&e);
}
END_TEST

/* Mapped ahead (in the page reader) gives what mapping in place gives, refusals included. */
START_TEST(map_ahead)
{
	struct sync_entry e, f;
	struct dir_user u, v;
	struct dir_group g, h;
	struct sync_members mk = {0}, ml = {0};
	char dk[DIR_SYNC_KEY_MAX], uk[DIR_SYNC_KEY_MAX], dk2[DIR_SYNC_KEY_MAX],
		uk2[DIR_SYNC_KEY_MAX];
	struct err err = {0}, err2 = {0};

	for (int twice = 0; twice < 2; twice++) {
		entry_init(&e, "uid=Ada,OU=People, dc=x", "11111111-2222-3333-4444-555555555555");
		entry_init(&f, "uid=Ada,OU=People, dc=x", "11111111-2222-3333-4444-555555555555");
		entry_add(&e, "uid", "Ada", 3);
		entry_add(&f, "uid", "Ada", 3);
		entry_add(&e, "givenName", "Ada", 3);
		entry_add(&f, "givenName", "Ada", 3);
		entry_add(&e, "sn", twice ? "Love\x01lace" : "Lovelace", 8 + (size_t)twice);
		entry_add(&f, "sn", twice ? "Love\x01lace" : "Lovelace", 8 + (size_t)twice);
		entry_add(&e, "pwdAccountLockedTime", "000001010000Z", 13);
		entry_add(&f, "pwdAccountLockedTime", "000001010000Z", 13);
		ck_assert_int_eq(sync_map_ahead(&map, DIR_MEMBER_USER, &f, &err2), 0);
		ck_assert_ptr_null(f.attrs); /* what waits in a page is the mapping only */
		ck_assert_int_eq(sync_ahead_user(&f, &v, dk2, uk2, &err2),
				 sync_map_user(&map, &e, &u, dk, uk, &err));
		if (twice) {
			ck_assert_int_eq(err2.code, ERR_INVALID);
			ck_assert_str_eq(err2.msg, err.msg);
		} else {
			/* field by field: past each string's end the bytes are not set */
			ck_assert_str_eq(v.id, u.id);
			ck_assert_str_eq(v.tenant_id, u.tenant_id);
			ck_assert_str_eq(v.upn, u.upn);
			ck_assert_str_eq(v.display_name, u.display_name);
			ck_assert_str_eq(v.given_name, u.given_name);
			ck_assert_str_eq(v.surname, u.surname);
			ck_assert_str_eq(v.mail, u.mail);
			ck_assert_str_eq(v.source_anchor, u.source_anchor);
			ck_assert_str_eq(v.source_dn, u.source_dn);
			ck_assert_int_eq(v.enabled, u.enabled);
			ck_assert_int_eq(v.mfa_required, u.mfa_required);
			ck_assert_int_eq(v.source, u.source);
			ck_assert_int_eq(v.has_password, u.has_password);
			ck_assert(v.created_at == u.created_at && v.updated_at == u.updated_at &&
				  v.deleted_at == u.deleted_at);
			ck_assert_str_eq(dk2, dk);
			ck_assert_str_eq(uk2, uk);
			ck_assert_int_eq(v.enabled, 0);
		}
		/* the wrong kind is refused, not misread */
		ck_assert_int_eq(sync_ahead_group(&f, &h, dk2, &ml, &err2), ERR_INTERNAL);
		sync_entry_clear(&e);
		sync_entry_clear(&f);
	}

	entry_init(&e, "cn=Ops,ou=Groups,dc=x", "11111111-2222-3333-4444-555555555555");
	entry_init(&f, "cn=Ops,ou=Groups,dc=x", "11111111-2222-3333-4444-555555555555");
	entry_add(&e, "cn", "Ops", 3);
	entry_add(&f, "cn", "Ops", 3);
	entry_add(&e, "member", "UID=Ada , ou=people,DC=x", 24);
	entry_add(&f, "member", "UID=Ada , ou=people,DC=x", 24);
	entry_add(&e, "memberUid", "Margaret", 8);
	entry_add(&f, "memberUid", "Margaret", 8);
	entry_add(&e, "uniqueMember", "not a dn at all", 15);
	entry_add(&f, "uniqueMember", "not a dn at all", 15);
	ck_assert_int_eq(sync_map_ahead(&map, DIR_MEMBER_GROUP, &f, &err2), 0);
	ck_assert_int_eq(sync_map_group(&map, &e, &g, dk, &mk, &err), 0);
	ck_assert_int_eq(sync_ahead_group(&f, &h, dk2, &ml, &err2), 0);
	ck_assert_int_eq(memcmp(&g, &h, sizeof(g)), 0);
	ck_assert_str_eq(dk2, dk);
	ck_assert_uint_eq(ml.n, mk.n);
	ck_assert_uint_eq(ml.unparsable, 1);
	for (size_t i = 0; i < mk.n; i++)
		ck_assert_str_eq(ml.keys[i], mk.keys[i]);
	sync_members_free(&mk);
	sync_members_free(&ml);
	sync_entry_clear(&e);
	sync_entry_clear(&f);
}
END_TEST

START_TEST(dn_keys)
{
	char a[DIR_SYNC_KEY_MAX], b[DIR_SYNC_KEY_MAX];
	struct err err = {0};

	/* one DN, several spellings */
	const char *s1 = "cn=Smith\\, John,ou=People,dc=x", *s2 = "CN=smith\\2C john, OU=people, DC=X";

	ck_assert(sync_dn_key(s1, strlen(s1), a, sizeof(a), &err) == 0);
	ck_assert(sync_dn_key(s2, strlen(s2), b, sizeof(b), &err) == 0);
	ck_assert_str_eq(a, b);
	ck_assert(sync_dn_key("cn=Ärger,dc=x", strlen("cn=Ärger,dc=x"), a, sizeof(a), &err) == 0);
	ck_assert(sync_dn_key("cn=ärger,dc=x", strlen("cn=ärger,dc=x"), b, sizeof(b), &err) == 0);
	ck_assert_str_eq(a, b);
	/* hostile input */
	ck_assert_int_eq(sync_dn_key("=,=,", 4, a, sizeof(a), &err), ERR_INVALID);
	ck_assert_int_eq(sync_dn_key("cn=a\0b", 6, a, sizeof(a), &err), ERR_INVALID);
	ck_assert_int_eq(sync_dn_key("cn=\xc3\x28", 5, a, sizeof(a), &err), ERR_INVALID);
	ck_assert_int_eq(sync_dn_key("", 0, a, sizeof(a), &err), ERR_INVALID);
	ck_assert_int_eq(sync_dn_key("cn=abc", 6, a, 5, &err), ERR_INVALID);
}
END_TEST

/*
 * sync_dn_key's fast path: a DN it takes as plain is one libldap gives back
 * unchanged, and the key is the same either way.  Random DNs from pieces
 * that are plain, nearly plain and not plain at all.
 */
START_TEST(dn_keys_fast_path)
{
	static const char *const types[] = {"cn", "CN", "uid", "ou", "dc", "x-y", "2.5.4.3", "c n",
					    "a1"};
	static const char *const chars[] = {"a", "Z", "0", " ", ".", "-", "_", "@", "=",
					    "+", "#", "\\", ";", "\"", "<", "\xc3\xa4", "*",
					    ",", "  "};
	unsigned seed = 12345;
	int plain = 0, other = 0;

	for (int n = 0; n < 100000; n++) {
		char dn[200] = "", key[DIR_SYNC_KEY_MAX], want[DIR_SYNC_KEY_MAX];
		char *norm = NULL;
		struct err err = {0};
		int rdns = 1 + (int)(rand_r(&seed) % 4), rc;
		for (int r = 0; r < rdns; r++) {
			int vlen = (int)(rand_r(&seed) % 6);
			if (r > 0)
				strcat(dn, rand_r(&seed) % 20 == 0 ? " , " : ",");
			strcat(dn, types[rand_r(&seed) % (sizeof(types) / sizeof(*types))]);
			strcat(dn, rand_r(&seed) % 20 == 0 ? " =" : "=");
			for (int v = 0; v < vlen; v++) {
				/* mostly the plain characters */
				size_t nk = rand_r(&seed) % 3 ? 8 : sizeof(chars) / sizeof(*chars);
				size_t k = (size_t)rand_r(&seed) % nk;
				strcat(dn, chars[k]);
			}
		}
		if (!sync_dn_is_plain(dn, strlen(dn))) {
			other++;
			continue;
		}
		plain++;
		rc = ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &norm,
				       LDAP_DN_FORMAT_LDAPV3 | LDAP_DN_PRETTY);
		ck_assert_msg(rc == LDAP_SUCCESS && norm != NULL && strcmp(norm, dn) == 0,
			      "[%s] is not plain: libldap gives [%s]", dn, norm ? norm : "(error)");
		strcpy(want, "dn:");
		ck_assert(utf8_fold(norm, want + 3, sizeof(want) - 3) >= 0);
		ldap_memfree(norm);
		ck_assert_msg(sync_dn_key(dn, strlen(dn), key, sizeof(key), &err) == 0, "%s",
			      err.msg);
		ck_assert_str_eq(key, want);
	}
	ck_assert_int_gt(plain, 5000);
	ck_assert_int_gt(other, 10000);
}
END_TEST

START_TEST(templates)
{
	char why[160];
	struct sync_template *t;

	ck_assert(sync_template_check("{uid}@x", why, sizeof(why)) == 0);
	ck_assert(sync_template_check("{{literal}} {cn}", why, sizeof(why)) == 0);
	ck_assert(sync_template_check("{1.2.3}", why, sizeof(why)) == 0);
	ck_assert(sync_template_check("{}", why, sizeof(why)) != 0);
	ck_assert(sync_template_check("{cn;lang-en}", why, sizeof(why)) != 0);
	ck_assert(sync_template_check("{a}{b}{c}{d}{e}{f}{g}{h}{i}{j}{k}{l}{m}{n}{o}{p}{q}", why,
				      sizeof(why)) != 0);
	ck_assert(sync_template_check("a\x01", why, sizeof(why)) != 0);
	t = sync_template_parse("x{cn}y", why, sizeof(why));
	ck_assert(t != NULL);
	sync_template_free(t);
}
END_TEST

/* ---- the stored cookie text ---- */

START_TEST(cookie_text)
{
	char bin[] = {'r', 'i', 'd', '\0', '\n', '\xff'};
	struct berval a = {3, strdup("abc")}, b = {0, NULL}, c = {sizeof(bin), NULL};
	struct berval *v[3] = {&a, &b, &c};
	char *text;
	static const char *const bad[] = {
		NULL,
		"",
		"idp-sync-cookie 1 other\nYWJj\n-\n-\n",
		"idp-sync-cookie 1 S\nYWJj\n-\n",           /* too few */
		"idp-sync-cookie 1 S\nYWJj\n-\n-\n-\n",    /* too many */
		"idp-sync-cookie 1 S\nYW=j\n-\n-\n",        /* not base64url */
		"idp-sync-cookie 1 S\nYWJj\n-\n-",           /* cut */
		"idp-sync-cookie 2 S\nYWJj\n-\n-\n",        /* another version */
	};

	c.bv_val = malloc(sizeof(bin));
	memcpy(c.bv_val, bin, sizeof(bin));
	text = sync_cookie_encode("S", v, 3);
	ck_assert_ptr_nonnull(text);
	free(a.bv_val);
	free(c.bv_val);
	a.bv_val = c.bv_val = NULL;
	a.bv_len = c.bv_len = 0;
	ck_assert_int_eq(sync_cookie_decode(text, "S", v, 3), 0);
	ck_assert(a.bv_len == 3 && memcmp(a.bv_val, "abc", 3) == 0);
	ck_assert_uint_eq(b.bv_len, 0);
	ck_assert(c.bv_len == sizeof(bin) && memcmp(c.bv_val, bin, sizeof(bin)) == 0);
	ck_assert_int_eq(sync_cookie_decode(text, "T", v, 3), -1);
	ck_assert_int_eq(sync_cookie_decode(text, "S", v, 2), -1);
	free(text);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sync_cookie_decode(bad[i], "S", v, 3) == -1, "case %zu accepted", i);
	free(a.bv_val);
	free(b.bv_val);
	free(c.bv_val);
}
END_TEST

/* The entries to read again ride after the cookies, and nothing else may. */
START_TEST(cookie_text_retries)
{
	struct berval a = {3, strdup("abc")};
	struct berval *v[1] = {&a};
	char *text = sync_cookie_encode("S", v, 1), anchor[64];
	const char *pos = NULL;
	int kind;
	static const char *const bad[] = {
		"idp-sync-cookie 1 S\nYWJj\nr 2 0a-b\n",  /* no such kind */
		"idp-sync-cookie 1 S\nYWJj\nr 0 a)(x\n",  /* not a UUID: a filter */
		"idp-sync-cookie 1 S\nYWJj\nr 0 0a-b",     /* cut */
		"idp-sync-cookie 1 S\nr 0 0a-b\nYWJj\n",  /* before the cookies */
	};

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(sync_cookie_retry_next(text, &pos, &kind, anchor, sizeof(anchor)), 0);
	ck_assert_int_eq(sync_cookie_retry_add(&text, 0, "0a1b-2c"), 0);
	ck_assert_int_eq(sync_cookie_retry_add(&text, 1, "FF-00"), 0);
	ck_assert_int_eq(sync_cookie_retry_add(&text, 0, "a)(uid=*"), -1);
	ck_assert_int_eq(sync_cookie_retry_add(&text, 2, "00"), -1);
	ck_assert_int_eq(sync_cookie_decode(text, "S", v, 1), 0);
	ck_assert(a.bv_len == 3 && memcmp(a.bv_val, "abc", 3) == 0);
	pos = NULL;
	ck_assert_int_eq(sync_cookie_retry_next(text, &pos, &kind, anchor, sizeof(anchor)), 1);
	ck_assert(kind == 0 && strcmp(anchor, "0a1b-2c") == 0);
	ck_assert_int_eq(sync_cookie_retry_next(text, &pos, &kind, anchor, sizeof(anchor)), 1);
	ck_assert(kind == 1 && strcmp(anchor, "FF-00") == 0);
	ck_assert_int_eq(sync_cookie_retry_next(text, &pos, &kind, anchor, sizeof(anchor)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sync_cookie_decode(bad[i], "S", v, 1) == -1, "case %zu accepted", i);
	free(text);
	free(a.bv_val);
}
END_TEST

/* Entries without a readable anchor, listed by DN after the "r" lines. */
START_TEST(cookie_text_unread)
{
	struct berval a = {3, strdup("abc")};
	struct berval *v[1] = {&a};
	char *text = sync_cookie_encode("S", v, 1), dn[1100], anchor[64], *longdn;
	const char *pos = NULL;
	int kind;
	static const char *const bad[] = {
		"idp-sync-cookie 1 S\nYWJj\nd 0 756\n",       /* odd */
		"idp-sync-cookie 1 S\nYWJj\nd 0 75ZZ\n",      /* not hex */
		"idp-sync-cookie 1 S\nYWJj\nd 0 7500\n",      /* a NUL in the DN */
		"idp-sync-cookie 1 S\nYWJj\nd 0 7A\n",        /* upper case */
		"idp-sync-cookie 1 S\nYWJj\nd 2 75\n",        /* no such kind */
		"idp-sync-cookie 1 S\nYWJj\nd 0 75\nr 0 0a\n", /* "r" after "d" */
		"idp-sync-cookie 1 S\nYWJj\nd 0 75",           /* cut */
	};

	ck_assert_int_eq(sync_cookie_retry_add(&text, 0, "0a1b-2c"), 0);
	ck_assert_int_eq(sync_cookie_unread_add(&text, 0, "uid=c2,ou=contractors,dc=x"), 0);
	ck_assert_int_eq(sync_cookie_unread_add(&text, 1, "cn=\xc3\xa9,ou=g\n,dc=x"), 0);
	ck_assert_int_eq(sync_cookie_unread_add(&text, 2, "cn=x"), -1);
	ck_assert_int_eq(sync_cookie_unread_add(&text, 0, ""), -1);
	longdn = malloc(1100);
	memset(longdn, 'a', 1099);
	longdn[1099] = '\0';
	ck_assert_int_eq(sync_cookie_unread_add(&text, 0, longdn), -1);
	free(longdn);
	ck_assert_int_eq(sync_cookie_decode(text, "S", v, 1), 0);
	ck_assert_int_eq(sync_cookie_retry_next(text, &pos, &kind, anchor, sizeof(anchor)), 1);
	ck_assert_int_eq(sync_cookie_retry_next(text, &pos, &kind, anchor, sizeof(anchor)), 0);
	pos = NULL;
	ck_assert_int_eq(sync_cookie_unread_next(text, &pos, &kind, dn, sizeof(dn)), 1);
	ck_assert(kind == 0 && strcmp(dn, "uid=c2,ou=contractors,dc=x") == 0);
	ck_assert_int_eq(sync_cookie_unread_next(text, &pos, &kind, dn, sizeof(dn)), 1);
	ck_assert(kind == 1 && strcmp(dn, "cn=\xc3\xa9,ou=g\n,dc=x") == 0);
	ck_assert_int_eq(sync_cookie_unread_next(text, &pos, &kind, dn, sizeof(dn)), 0);
	/* too small a buffer: not returned cut */
	pos = NULL;
	ck_assert_int_eq(sync_cookie_unread_next(text, &pos, &kind, dn, 5), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sync_cookie_decode(bad[i], "S", v, 1) == -1, "case %zu accepted", i);
	free(text);
	free(a.bv_val);
}
END_TEST

/* ---- the store side: dir_sync.c ---- */

static const char *tmp;
static struct dir *d;
static char tid[DIR_ID_MAX], other[DIR_ID_MAX];

/* A new store in the test's directory. */
static struct dir *store_file(const char *file)
{
	struct dir_options o = {0};
	struct err err = {0};
	struct dir *s;
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", tmp, file);
	o.path = path;
	o.argon2 = (struct dir_argon2){1, 64, 1};
	s = dir_open(&o, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	return s;
}

static void tenant_make(struct dir *s, const char *name, char id[DIR_ID_MAX])
{
	struct dir_tenant t;
	struct err err = {0};

	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", name);
	ck_assert_msg(dir_tenant_create(s, &t, &err) == 0, "%s", err.msg);
	memcpy(id, t.id, DIR_ID_MAX);
}

static void store_setup(void)
{
	tmp = tu_tmpdir();
	d = store_file("store.db");
	tenant_make(d, "acme", tid);
	tenant_make(d, "other", other);
}

static void store_teardown(void)
{
	struct err err = {0};

	ck_assert_msg(dir_integrity_check(d, &err) == 0, "%s", err.msg);
	dir_close(d);
	tu_rmtree(tmp);
}

/* Put a user named n (uid n, DN dn) with anchor "a-n" into store s. */
static int put_user_in(struct dir *s, const char *tenant, const char *n, const char *dn,
		       int mark, char *id)
{
	struct dir_user u;
	struct err err = {0};
	char dk[DIR_SYNC_KEY_MAX], uk[DIR_SYNC_KEY_MAX];
	int rc;

	memset(&u, 0, sizeof(u));
	snprintf(u.upn, sizeof(u.upn), "%s@x.example", n);
	snprintf(u.display_name, sizeof(u.display_name), "User %s", n);
	snprintf(u.source_anchor, sizeof(u.source_anchor), "a-%s", n);
	snprintf(u.source_dn, sizeof(u.source_dn), "%s", dn);
	u.enabled = 1;
	ck_assert(sync_dn_key(dn, strlen(dn), dk, sizeof(dk), &err) == 0);
	snprintf(uk, sizeof(uk), "uid:%s", n);
	rc = dir_sync_user_put(s, tenant, &u, dk, uk, mark, &err);
	ck_assert_msg(rc >= 0, "put user %s: %s", n, err.msg);
	if (id != NULL)
		strcpy(id, u.id);
	return rc;
}

static int put_user(const char *tenant, const char *n, const char *dn, int mark, char *id)
{
	return put_user_in(d, tenant, n, dn, mark, id);
}

static int put_group(const char *tenant, const char *n, const char *dn, const char *const *refs,
		     char *id)
{
	struct dir_group g;
	struct err err = {0};
	char dk[DIR_SYNC_KEY_MAX], *keys[16];
	size_t nk = 0;
	int rc;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", n);
	snprintf(g.source_anchor, sizeof(g.source_anchor), "g-%s", n);
	snprintf(g.source_dn, sizeof(g.source_dn), "%s", dn);
	ck_assert(sync_dn_key(dn, strlen(dn), dk, sizeof(dk), &err) == 0);
	for (; refs != NULL && refs[nk] != NULL; nk++) {
		char k[DIR_SYNC_KEY_MAX];
		if (strncmp(refs[nk], "uid:", 4) == 0)
			snprintf(k, sizeof(k), "%s", refs[nk]);
		else
			ck_assert(sync_dn_key(refs[nk], strlen(refs[nk]), k, sizeof(k), &err) == 0);
		keys[nk] = strdup(k);
	}
	rc = dir_sync_group_put(d, tenant, &g, dk, keys, nk, 0, &err);
	ck_assert_msg(rc >= 0, "put group %s: %s", n, err.msg);
	for (size_t i = 0; i < nk; i++)
		free(keys[i]);
	if (id != NULL)
		strcpy(id, g.id);
	return rc;
}

struct names {
	char buf[1024];
};

static int collect_name(void *ctx, const struct dir_member *m)
{
	struct names *n = ctx;
	size_t len = strlen(n->buf);

	snprintf(n->buf + len, sizeof(n->buf) - len, "%s%s", len ? "," : "", m->name);
	return 0;
}

/* The direct members of a group as "name,name" in the store's order (users, then groups). */
static const char *members(const char *tenant, const char *gid)
{
	static struct names n;
	struct err err = {0};

	n.buf[0] = '\0';
	ck_assert(dir_group_members(d, tenant, gid, collect_name, &n, &err) == 0);
	return n.buf;
}

/* The tenant's role-data version (the authorization index reloads when it moves). */
static int64_t version(const char *tenant)
{
	struct err err = {0};
	int64_t v = 0;

	ck_assert_msg(dir_role_data_version(d, tenant, &v, &err) == 0, "%s", err.msg);
	return v;
}

START_TEST(store_members_in_any_order)
{
	const char *refs[] = {"uid=ann,ou=p,dc=x", "uid=bob,ou=p,dc=x", "cn=sub,ou=g,dc=x",
			      "cn=top,ou=g,dc=x", NULL};
	const char *sub_refs[] = {"uid=bob,ou=p,dc=x", NULL};
	char top[DIR_ID_MAX], sub[DIR_ID_MAX];
	int64_t v, v_other = version(other);

	/* the group first: nothing resolves yet (and it names itself: ignored) */
	ck_assert_int_eq(put_group(tid, "top", "cn=top,ou=g,dc=x", refs, top), DIR_SYNC_ADDED);
	ck_assert_str_eq(members(tid, top), "");
	/* every membership change moves the role-data version, in its transaction */
	v = version(tid);
	put_user(tid, "ann", "uid=ann,ou=p,dc=x", 0, NULL);
	ck_assert_str_eq(members(tid, top), "ann@x.example");
	ck_assert_int_gt(version(tid), v);
	put_user(tid, "bob", "UID=Bob, OU=P,DC=X", 0, NULL);
	ck_assert_str_eq(members(tid, top), "ann@x.example,bob@x.example");
	v = version(tid);
	ck_assert_int_eq(put_group(tid, "sub", "cn=sub,ou=g,dc=x", sub_refs, sub),
			 DIR_SYNC_ADDED);
	ck_assert_str_eq(members(tid, top), "ann@x.example,bob@x.example,sub");
	ck_assert_str_eq(members(tid, sub), "bob@x.example");
	ck_assert_int_gt(version(tid), v);
	/* the same again changes nothing, the version included */
	v = version(tid);
	ck_assert_int_eq(put_group(tid, "top", "cn=top,ou=g,dc=x", refs, NULL),
			 DIR_SYNC_UNCHANGED);
	ck_assert_int_eq(put_user(tid, "ann", "uid=ann,ou=p,dc=x", 0, NULL), DIR_SYNC_UNCHANGED);
	ck_assert_int_eq(version(tid), v);
	/* a member dropped from the list */
	refs[1] = NULL;
	ck_assert_int_eq(put_group(tid, "top", "cn=top,ou=g,dc=x", refs, NULL), DIR_SYNC_UPDATED);
	ck_assert_str_eq(members(tid, top), "ann@x.example");
	ck_assert_int_gt(version(tid), v);
	/* another tenant's counter never moved */
	ck_assert_int_eq(version(other), v_other);
}
END_TEST

START_TEST(store_rename_and_uid)
{
	const char *by_dn[] = {"uid=ann,ou=p,dc=x", NULL};
	const char *by_uid[] = {"uid:ann", NULL};
	const char *both[] = {"uid=ann,ou=p,dc=x", "uid:ann", NULL};
	char g1[DIR_ID_MAX], g2[DIR_ID_MAX], g3[DIR_ID_MAX], ann[DIR_ID_MAX], ann2[DIR_ID_MAX];

	put_user(tid, "ann", "uid=ann,ou=p,dc=x", 0, ann);
	put_group(tid, "bydn", "cn=bydn,dc=x", by_dn, g1);
	put_group(tid, "byuid", "cn=byuid,dc=x", by_uid, g2);
	put_group(tid, "both", "cn=both,dc=x", both, g3);
	ck_assert_str_eq(members(tid, g1), "ann@x.example");
	ck_assert_str_eq(members(tid, g2), "ann@x.example");
	ck_assert_str_eq(members(tid, g3), "ann@x.example");

	/* moved: same anchor, same id; named by the old DN no more, by uid still */
	ck_assert_int_eq(put_user(tid, "ann", "uid=ann,ou=q,dc=x", 0, ann2), DIR_SYNC_UPDATED);
	ck_assert_str_eq(ann, ann2);
	ck_assert_str_eq(members(tid, g1), "");
	ck_assert_str_eq(members(tid, g2), "ann@x.example");
	ck_assert_str_eq(members(tid, g3), "ann@x.example");
	/* back where it was */
	put_user(tid, "ann", "uid=ann,ou=p,dc=x", 0, NULL);
	ck_assert_str_eq(members(tid, g1), "ann@x.example");
	/* the group drops one of two names: still a member */
	put_group(tid, "both", "cn=both,dc=x", by_uid, NULL);
	ck_assert_str_eq(members(tid, g3), "ann@x.example");
}
END_TEST

START_TEST(store_key_reused_and_delete)
{
	const char *refs[] = {"uid=ann,ou=p,dc=x", NULL};
	char g[DIR_ID_MAX], old[DIR_ID_MAX];
	struct dir_user u, nu;
	struct err err = {0};
	char dk[DIR_SYNC_KEY_MAX];

	put_user(tid, "ann", "uid=ann,ou=p,dc=x", 0, old);
	put_group(tid, "g", "cn=g,dc=x", refs, g);
	ck_assert_str_eq(members(tid, g), "ann@x.example");
	/*
	 * A new entry at the same DN, the old one's delete not applied yet:
	 * both are named by the group until the old one is.
	 */
	memset(&nu, 0, sizeof(nu));
	strcpy(nu.upn, "ann2@x.example");
	strcpy(nu.source_anchor, "a-ann-new");
	strcpy(nu.source_dn, "uid=ann,ou=p,dc=x");
	nu.enabled = 1;
	ck_assert(sync_dn_key(nu.source_dn, strlen(nu.source_dn), dk, sizeof(dk), &err) == 0);
	ck_assert(dir_sync_user_put(d, tid, &nu, dk, "uid:ann", 0, &err) == DIR_SYNC_ADDED);
	ck_assert_str_eq(members(tid, g), "ann2@x.example,ann@x.example");
	ck_assert_int_eq(dir_sync_delete(d, tid, DIR_MEMBER_USER, "a-ann", NULL, &err), 1);
	ck_assert_str_eq(members(tid, g), "ann2@x.example");
	/* deleting: soft, unlinked, counted once */
	ck_assert_int_eq(dir_sync_delete(d, tid, DIR_MEMBER_USER, "a-ann-new", NULL, &err), 1);
	ck_assert_int_eq(dir_sync_delete(d, tid, DIR_MEMBER_USER, "a-ann-new", NULL, &err), 0);
	ck_assert_int_eq(dir_sync_delete(d, tid, DIR_MEMBER_USER, "no-such", NULL, &err), 0);
	ck_assert_str_eq(members(tid, g), "");
	ck_assert(dir_user_get_by_anchor(d, tid, "a-ann-new", &u, &err) == 0);
	ck_assert(u.deleted_at != 0);
	/* the old entry back at that DN: restored, the same object, linked again */
	ck_assert_int_eq(put_user(tid, "ann", "uid=ann,ou=p,dc=x", 0, u.id), DIR_SYNC_ADDED);
	ck_assert_str_eq(u.id, old);
	ck_assert_str_eq(members(tid, g), "ann@x.example");
}
END_TEST

/* A first full sync: the probe, and the insert-first put falling back when the anchor exists. */
START_TEST(store_first_sync)
{
	const char *refs[] = {"uid=ann,ou=p,dc=x", NULL};
	char id[DIR_ID_MAX], again[DIR_ID_MAX], g[DIR_ID_MAX];
	struct dir_user cloud;
	struct err err = {0};

	ck_assert_int_eq(dir_sync_first(d, tid, &err), 1);
	/* cloud users are not synced ones */
	memset(&cloud, 0, sizeof(cloud));
	strcpy(cloud.upn, "cloud@x.example");
	cloud.enabled = 1;
	ck_assert(dir_user_create(d, tid, &cloud, NULL, &err) == 0);
	ck_assert_int_eq(dir_sync_first(d, tid, &err), 1);
	ck_assert_int_eq(put_user(tid, "ann", "uid=ann,ou=p,dc=x", DIR_SYNC_PUT_FIRST, id),
			 DIR_SYNC_ADDED);
	ck_assert_int_eq(dir_sync_first(d, tid, &err), 0);
	/* the same anchor again with the flag: found and left as it is */
	ck_assert_int_eq(put_user(tid, "ann", "uid=ann,ou=p,dc=x", DIR_SYNC_PUT_FIRST, again),
			 DIR_SYNC_UNCHANGED);
	ck_assert_str_eq(again, id);
	put_group(tid, "g", "cn=g,dc=x", refs, g);
	ck_assert_str_eq(members(tid, g), "ann@x.example");
	/* a deleted synced user still counts: a full sync must sweep */
	ck_assert_int_eq(dir_sync_delete(d, tid, DIR_MEMBER_USER, "a-ann", NULL, &err), 1);
	ck_assert_int_eq(dir_sync_first(d, tid, &err), 0);
	/* another tenant is not this one */
	ck_assert_int_eq(dir_sync_first(d, other, &err), 1);
}
END_TEST

static int count_user(void *ctx, const struct dir_user *u)
{
	(void)u;
	(*(int *)ctx)++;
	return 0;
}

/* Many users in one statement: all of them, or none and the caller puts them one by one. */
START_TEST(store_first_sync_many)
{
	/* 64, then 16 and 4 more: the sizes a page's end is put in */
	enum { ALL = DIR_SYNC_PUT_MANY + DIR_SYNC_PUT_MANY / 4 + DIR_SYNC_PUT_MANY / 16 };
	struct dir_user *u = calloc(ALL, sizeof(*u)), cloud, got;
	char(*dk)[DIR_SYNC_KEY_MAX] = calloc(ALL, sizeof(*dk));
	char(*uk)[DIR_SYNC_KEY_MAX] = calloc(ALL, sizeof(*uk));
	const size_t m = DIR_SYNC_PUT_MANY;
	int n = 0;
	const char *refs[] = {"uid=m7,ou=p,dc=x", "uid:m63", NULL};
	char g[DIR_ID_MAX];
	struct err err = {0};

	ck_assert(u != NULL && dk != NULL && uk != NULL);
	memset(&cloud, 0, sizeof(cloud));
	strcpy(cloud.upn, "M5@x.example");
	cloud.enabled = 1;
	ck_assert(dir_user_create(d, tid, &cloud, NULL, &err) == 0);
	for (int i = 0; i < ALL; i++) {
		snprintf(u[i].upn, sizeof(u[i].upn), "m%d@x.example", i);
		snprintf(u[i].display_name, sizeof(u[i].display_name), "Many %d", i);
		snprintf(u[i].source_anchor, sizeof(u[i].source_anchor), "a-m%d", i);
		snprintf(u[i].source_dn, sizeof(u[i].source_dn), "uid=m%d,ou=p,dc=x", i);
		u[i].enabled = i % 2;
		ck_assert(sync_dn_key(u[i].source_dn, strlen(u[i].source_dn), dk[i], sizeof(*dk),
				      &err) == 0);
		snprintf(uk[i], sizeof(*uk), "uid:m%d", i);
	}
	/* m5 is the cloud user's UPN in another case: nothing is written */
	ck_assert_int_eq(dir_sync_users_put_first(d, tid, u, dk, uk, m, &err), ERR_EXISTS);
	ck_assert_int_eq(dir_user_get_by_anchor(d, tid, "a-m0", &got, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_sync_first(d, tid, &err), 1);
	/* a value the store refuses: nothing either */
	strcpy(u[5].upn, "m5-ldap@x.example");
	strcpy(u[9].mail, "not a mail");
	ck_assert_int_eq(dir_sync_users_put_first(d, tid, u, dk, uk, m, &err), ERR_INVALID);
	ck_assert_int_eq(dir_sync_first(d, tid, &err), 1);
	u[9].mail[0] = '\0';
	ck_assert_msg(dir_sync_users_put_first(d, tid, u, dk, uk, m, &err) == 0, "%s", err.msg);
	/* other sizes: a quarter and a sixteenth; none else */
	ck_assert_int_eq(dir_sync_users_put_first(d, tid, u + m, dk + m, uk + m, 5, &err),
			 ERR_INTERNAL);
	ck_assert_msg(dir_sync_users_put_first(d, tid, u + m, dk + m, uk + m, m / 4, &err) == 0,
		      "%s", err.msg);
	ck_assert_msg(dir_sync_users_put_first(d, tid, u + m + m / 4, dk + m + m / 4,
					       uk + m + m / 4, m / 16, &err) == 0,
		      "%s", err.msg);
	ck_assert(dir_user_get_by_anchor(d, tid, "a-m83", &got, &err) == 0);
	ck_assert_str_eq(got.source_dn, "uid=m83,ou=p,dc=x");
	ck_assert_int_eq(dir_user_list(d, tid, NULL, count_user, &n, &err), 0);
	ck_assert_int_eq(n, ALL + 1); /* and the cloud user */
	/* as dir_sync_user_put() would have made them: fields, keys, membership */
	ck_assert(dir_user_get_by_anchor(d, tid, "a-m9", &got, &err) == 0);
	ck_assert_str_eq(got.id, u[9].id);
	ck_assert_str_eq(got.display_name, "Many 9");
	ck_assert_str_eq(got.source_dn, "uid=m9,ou=p,dc=x");
	ck_assert_int_eq(got.enabled, 1);
	ck_assert_int_eq(got.source, DIR_SOURCE_LDAP);
	ck_assert(dir_user_get_by_upn(d, tid, "M10@X.example", &got, &err) == 0);
	ck_assert_int_eq(got.enabled, 0);
	put_group(tid, "g", "cn=g,dc=x", refs, g);
	ck_assert_str_eq(members(tid, g), "m63@x.example,m7@x.example");
	/* the same anchor again, on its own: found and updated, not a second user */
	ck_assert_int_eq(put_user(tid, "m3", "uid=m3,ou=p,dc=x", DIR_SYNC_PUT_FIRST, NULL),
			 DIR_SYNC_UPDATED);
	free(u);
	free(dk);
	free(uk);
}
END_TEST

/*
 * Bulk mode (a first full sync): foreign keys are off on this connection
 * only while it is on, never inside a transaction, and a batch can tell
 * that its tenant was deleted meanwhile.
 */
START_TEST(store_bulk_mode)
{
	const char *refs[] = {"uid=ann,ou=p,dc=x", NULL};
	char g[DIR_ID_MAX];
	struct err err = {0};

	ck_assert(dir_begin(d, &err) == 0);
	ck_assert_int_eq(dir_sync_bulk(d, 1, &err), ERR_INTERNAL);
	dir_rollback(d);
	ck_assert_msg(dir_sync_bulk(d, 1, &err) == 0, "%s", err.msg);
	ck_assert(dir_begin(d, &err) == 0);
	ck_assert_msg(dir_sync_bulk_check(d, tid, &err) == 0, "%s", err.msg);
	put_user(tid, "ann", "uid=ann,ou=p,dc=x", DIR_SYNC_PUT_FIRST, NULL);
	put_group(tid, "g", "cn=g,dc=x", refs, g);
	ck_assert(dir_commit(d, &err) == 0);
	ck_assert_msg(dir_sync_bulk(d, 0, &err) == 0, "%s", err.msg);
	ck_assert_msg(dir_integrity_check(d, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(members(tid, g), "ann@x.example");
	/* back on: purging the other tenant cascades as usual */
	put_user(other, "bob", "uid=bob,ou=p,dc=x", DIR_SYNC_PUT_FIRST, NULL);
	ck_assert(dir_tenant_purge(d, other, &err) == 0);
	ck_assert_msg(dir_integrity_check(d, &err) == 0, "%s", err.msg);
	/* a deleted tenant: the next batch's check says so */
	ck_assert(dir_begin(d, &err) == 0);
	ck_assert_int_eq(dir_sync_bulk_check(d, other, &err), ERR_NOT_FOUND);
	ck_assert_str_eq(err.msg, "the tenant was deleted during the sync");
	dir_rollback(d);
}
END_TEST

/* While bulk mode is on nothing cascades: why each batch checks its tenant. */
START_TEST(store_bulk_mode_no_cascade)
{
	struct err err = {0};
	struct dir *b = store_file("bulk.db");
	char gone[DIR_ID_MAX];

	tenant_make(b, "gone", gone);
	ck_assert(dir_sync_bulk(b, 1, &err) == 0);
	put_user_in(b, gone, "ann", "uid=ann,ou=p,dc=x", 0, NULL);
	ck_assert(dir_tenant_purge(b, gone, &err) == 0);
	ck_assert_int_eq(dir_integrity_check(b, &err), ERR_CORRUPT);
	ck_assert_msg(strstr(err.msg, "foreign key") != NULL, "%s", err.msg);
	dir_close(b);
}
END_TEST

/* A delete said by one base's search leaves an entry that moved to another base. */
START_TEST(store_delete_scoped_to_base)
{
	char p[DIR_SYNC_KEY_MAX], q[DIR_SYNC_KEY_MAX];
	struct dir_user u;
	struct err err = {0};

	ck_assert(sync_dn_key("ou=p,dc=x", 9, p, sizeof(p), &err) == 0);
	ck_assert(sync_dn_key("ou=q,dc=x", 9, q, sizeof(q), &err) == 0);
	/* ann moved from ou=p to ou=q; ou=q's search put her there first */
	put_user(tid, "ann", "uid=ann,ou=q,dc=x", 0, NULL);
	ck_assert_int_eq(dir_sync_delete(d, tid, DIR_MEMBER_USER, "a-ann", p, &err), 0);
	ck_assert(dir_user_get_by_anchor(d, tid, "a-ann", &u, &err) == 0 && u.deleted_at == 0);
	/* the same through a gone mark of a refresh */
	ck_assert(dir_sync_marks_reset(d, &err) == 0);
	ck_assert(dir_sync_mark_gone(d, DIR_MEMBER_USER, "a-ann", p, &err) == 0);
	ck_assert_int_eq(dir_sync_apply_gone(d, tid, 1, &err), 0);
	/* gone from her own base: gone */
	ck_assert(dir_sync_mark_gone(d, DIR_MEMBER_USER, "a-ann", q, &err) == 0);
	ck_assert_int_eq(dir_sync_apply_gone(d, tid, 0, &err), 1);
	ck_assert(dir_user_get_by_anchor(d, tid, "a-ann", &u, &err) == 0 && u.deleted_at != 0);
	/* a base is not a prefix of a sibling's name: ou=q is not below ou=qq */
	put_user(tid, "bob", "uid=bob,ou=q,dc=x", 0, NULL);
	ck_assert(sync_dn_key("ou=qq,dc=x", 10, p, sizeof(p), &err) == 0);
	ck_assert_int_eq(dir_sync_delete(d, tid, DIR_MEMBER_USER, "a-bob", p, &err), 0);
	ck_assert_int_eq(dir_sync_delete(d, tid, DIR_MEMBER_USER, "a-bob", q, &err), 1);
}
END_TEST

/* One connector per tenant: a full sync of one would delete what another synced. */
START_TEST(store_one_connector_per_tenant)
{
	struct err err = {0};

	ck_assert_int_eq(dir_sync_claim(d, tid, "ldap", &err), 0);
	ck_assert_int_eq(dir_sync_claim(d, tid, "ldap", &err), 0);
	ck_assert_int_eq(dir_sync_claim(d, tid, "contractors", &err), ERR_EXISTS);
	ck_assert_msg(strstr(err.msg, "'ldap'") != NULL, "%s", err.msg);
	/* another tenant is free */
	ck_assert_int_eq(dir_sync_claim(d, other, "contractors", &err), 0);
}
END_TEST

START_TEST(store_restore_keeps_id)
{
	const char *refs[] = {"uid=ann,ou=p,dc=x", NULL};
	char g[DIR_ID_MAX], a1[DIR_ID_MAX], a2[DIR_ID_MAX];
	struct err err = {0};

	put_user(tid, "ann", "uid=ann,ou=p,dc=x", 0, a1);
	put_group(tid, "g", "cn=g,dc=x", refs, g);
	ck_assert_int_eq(dir_sync_delete(d, tid, DIR_MEMBER_USER, "a-ann", NULL, &err), 1);
	ck_assert_str_eq(members(tid, g), "");
	ck_assert_int_eq(put_user(tid, "ann", "uid=ann,ou=p,dc=x", 0, a2), DIR_SYNC_ADDED);
	ck_assert_str_eq(a1, a2);
	ck_assert_str_eq(members(tid, g), "ann@x.example");
}
END_TEST

START_TEST(store_sweep_and_marks)
{
	struct err err = {0};
	struct dir_user cloud;

	/* a cloud user and another tenant's synced user are out of any sweep */
	memset(&cloud, 0, sizeof(cloud));
	strcpy(cloud.upn, "cloud@x.example");
	cloud.enabled = 1;
	ck_assert(dir_user_create(d, tid, &cloud, NULL, &err) == 0);
	put_user(other, "ann", "uid=ann,ou=p,dc=x", 0, NULL);

	put_user(tid, "ann", "uid=ann,ou=p,dc=x", 0, NULL);
	put_user(tid, "bob", "uid=bob,ou=p,dc=x", 0, NULL);
	put_user(tid, "cid", "uid=cid,ou=q,dc=x", 0, NULL);
	ck_assert(dir_sync_marks_reset(d, &err) == 0);
	put_user(tid, "ann", "uid=ann,ou=p,dc=x", 1, NULL);
	/* under ou=p only bob is unseen; everywhere bob and cid */
	{
		char base[DIR_SYNC_KEY_MAX];
		ck_assert(sync_dn_key("ou=p,dc=x", 9, base, sizeof(base), &err) == 0);
		ck_assert_int_eq(dir_sync_sweep(d, tid, DIR_MEMBER_USER, base, 1, &err), 1);
	}
	ck_assert_int_eq(dir_sync_sweep(d, tid, DIR_MEMBER_USER, NULL, 1, &err), 2);
	ck_assert_int_eq(dir_sync_sweep(d, tid, DIR_MEMBER_USER, NULL, 0, &err), 2);
	ck_assert_int_eq(dir_sync_sweep(d, tid, DIR_MEMBER_USER, NULL, 1, &err), 0);
	{
		struct dir_user u;
		ck_assert(dir_user_get(d, tid, cloud.id, &u, &err) == 0 && u.deleted_at == 0);
		ck_assert(dir_user_get_by_anchor(d, other, "a-ann", &u, &err) == 0 &&
			  u.deleted_at == 0);
		ck_assert(dir_user_get_by_anchor(d, tid, "a-bob", &u, &err) == 0 &&
			  u.deleted_at != 0);
	}
	/* gone marks: counted, applied; seen afterwards takes one back */
	ck_assert(dir_sync_marks_reset(d, &err) == 0);
	ck_assert(dir_sync_mark(d, DIR_SYNC_GONE, DIR_MEMBER_USER, "a-ann", &err) == 0);
	ck_assert(dir_sync_mark(d, DIR_SYNC_GONE, DIR_MEMBER_USER, "a-bob", &err) == 0);
	ck_assert(dir_sync_mark(d, DIR_SYNC_GONE, DIR_MEMBER_USER, "never-seen", &err) == 0);
	ck_assert_int_eq(dir_sync_apply_gone(d, tid, 1, &err), 1);
	ck_assert(dir_sync_mark(d, DIR_SYNC_SEEN, DIR_MEMBER_USER, "a-ann", &err) == 0);
	ck_assert_int_eq(dir_sync_apply_gone(d, tid, 1, &err), 0);
}
END_TEST

static int count_cycle(void *ctx, const struct dir_sync_cycle *c)
{
	(void)c;
	(*(int *)ctx)++;
	return 0;
}

static int first_cycle(void *ctx, const struct dir_sync_cycle *c)
{
	*(struct dir_sync_cycle *)ctx = *c;
	return 1;
}

START_TEST(store_state_and_cycles)
{
	struct err err = {0};
	struct dir_sync_cycle c;
	char *cookie = NULL;
	int64_t full = -1;
	int n = 0;

	ck_assert_int_eq(dir_sync_state_get(d, tid, "ldap", &cookie, &full, &err), ERR_NOT_FOUND);
	ck_assert(dir_sync_state_set(d, tid, "ldap", "c1", 1, &err) == 0);
	ck_assert(dir_sync_state_set(d, tid, "ldap", "c2", 0, &err) == 0);
	ck_assert(dir_sync_state_get(d, tid, "ldap", &cookie, &full, &err) == 0);
	ck_assert_str_eq(cookie, "c2");
	ck_assert(full > 0);
	free(cookie);
	ck_assert_int_eq(dir_sync_state_get(d, other, "ldap", &cookie, &full, &err),
			 ERR_NOT_FOUND);
	ck_assert(dir_sync_state_set(d, tid, "ldap", NULL, 0, &err) == 0);
	ck_assert(dir_sync_state_get(d, tid, "ldap", &cookie, &full, &err) == 0);
	ck_assert_ptr_null(cookie);

	for (int i = 0; i < 1005; i++) {
		memset(&c, 0, sizeof(c));
		strcpy(c.connector, "ldap");
		strcpy(c.kind, "delta");
		ck_assert(dir_sync_cycle_start(d, tid, &c, &err) == 0);
	}
	c.added = 7;
	strcpy(c.status, "ok");
	strcpy(c.message, "line\nbreak and a tab\t");
	c.finished_at = c.started_at + 1;
	ck_assert(dir_sync_cycle_save(d, tid, &c, &err) == 0);
	/* 1005 started, the newest 1000 kept, one of them finished */
	ck_assert_int_eq(dir_sync_cycle_interrupted(d, tid, "ldap", &err), 999);
	ck_assert(dir_sync_cycle_list(d, tid, "ldap", 0, count_cycle, &n, &err) == 0);
	ck_assert_int_eq(n, 1000);
	ck_assert(dir_sync_cycle_list(d, tid, "ldap", 1, first_cycle, &c, &err) == 1);
	ck_assert_int_eq(c.added, 7);
	ck_assert_str_eq(c.status, "ok");
	ck_assert_str_eq(c.message, "line break and a tab ");
	/* another tenant sees none of it */
	n = 0;
	ck_assert(dir_sync_cycle_list(d, other, "ldap", 0, count_cycle, &n, &err) == 0);
	ck_assert_int_eq(n, 0);
}
END_TEST

static Suite *sync_unit_suite(void)
{
	Suite *s = suite_create("sync-unit");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, config_errors);
	tcase_add_test(tc, config_cross_checks);
	suite_add_tcase(s, tc);
	tc = tcase_create("map");
	tcase_add_checked_fixture(tc, map_setup, map_teardown);
	tcase_add_test(tc, map_user);
	tcase_add_test(tc, map_user_refusals);
	tcase_add_test(tc, map_group);
	tcase_add_test(tc, map_ahead);
	tcase_add_test(tc, dn_keys);
	tcase_add_test(tc, dn_keys_fast_path);
	tcase_add_test(tc, templates);
	tcase_add_test(tc, cookie_text);
	tcase_add_test(tc, cookie_text_retries);
	tcase_add_test(tc, cookie_text_unread);
	suite_add_tcase(s, tc);
	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_add_test(tc, store_members_in_any_order);
	tcase_add_test(tc, store_rename_and_uid);
	tcase_add_test(tc, store_key_reused_and_delete);
	tcase_add_test(tc, store_restore_keeps_id);
	tcase_add_test(tc, store_first_sync);
	tcase_add_test(tc, store_first_sync_many);
	tcase_add_test(tc, store_bulk_mode);
	tcase_add_test(tc, store_bulk_mode_no_cascade);
	tcase_add_test(tc, store_one_connector_per_tenant);
	tcase_add_test(tc, store_delete_scoped_to_base);
	tcase_add_test(tc, store_sweep_and_marks);
	tcase_add_test(tc, store_state_and_cycles);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sync_unit_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
