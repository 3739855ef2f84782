/*
 * dir_test: the directory store, on real SQLite files in a temp directory.
 */
#define _GNU_SOURCE
#include "dir.h"
#include "testutil.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Cheap argon2 parameters: the tests hash hundreds of passwords. */
#define FAST_ARGON2 {1, 64, 1}

static const char *tmp;
static char db_path[600];
static struct dir *d;
static int64_t now = 1790000000;

static struct dir *open_store(const char *path, struct err *err)
{
	struct dir_options o = {0};

	o.path = path;
	o.argon2 = (struct dir_argon2)FAST_ARGON2;
	o.clock.now = tu_clock;
	o.clock.ctx = &now;
	return dir_open(&o, err);
}

static void setup(void)
{
	struct err err = {0};

	tmp = tu_tmpdir();
	snprintf(db_path, sizeof(db_path), "%s/store.db", tmp);
	d = open_store(db_path, &err);
	ck_assert_msg(d != NULL, "open: %s", err.msg);
}

static void teardown(void)
{
	struct err err = {0};

	/* whatever a test did, the store it leaves must be sound */
	if (d != NULL)
		ck_assert_msg(dir_integrity_check(d, &err) == 0, "%s", err.msg);
	dir_close(d);
	d = NULL;
	tu_rmtree(tmp);
}

static void make_tenant(const char *name, struct dir_tenant *t)
{
	struct err err = {0};

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	ck_assert_msg(dir_tenant_create(d, t, &err) == 0, "tenant: %s", err.msg);
}

static void make_user(const char *tenant_id, const char *upn, const char *password,
		      struct dir_user *u)
{
	struct err err = {0};

	memset(u, 0, sizeof(*u));
	snprintf(u->upn, sizeof(u->upn), "%s", upn);
	snprintf(u->display_name, sizeof(u->display_name), "User %s", upn);
	u->enabled = 1;
	ck_assert_msg(dir_user_create(d, tenant_id, u, password, &err) == 0, "user %s: %s", upn,
		      err.msg);
}

static void make_group(const char *tenant_id, const char *name, struct dir_group *g)
{
	struct err err = {0};

	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	ck_assert_msg(dir_group_create(d, tenant_id, g, &err) == 0, "group %s: %s", name,
		      err.msg);
}

/* ---- CRUD ---- */

START_TEST(tenant_crud)
{
	struct dir_tenant t, got;
	struct err err = {0};

	make_tenant("acme", &t);
	ck_assert_str_eq(t.display_name, "acme");
	ck_assert_int_eq(dir_tenant_get_by_name(d, "acme", &got, &err), 0);
	ck_assert_str_eq(got.id, t.id);
	ck_assert_int_eq(dir_tenant_create(d, &t, &err), ERR_EXISTS);
	strcpy(t.name, "Bad Name");
	ck_assert_int_eq(dir_tenant_create(d, &t, &err), ERR_INVALID);
	strcpy(t.name, "-lead");
	ck_assert_int_eq(dir_tenant_create(d, &t, &err), ERR_INVALID);
	strcpy(got.display_name, "Acme Corporation");
	got.mfa_required = 1;
	ck_assert_int_eq(dir_tenant_update(d, &got, &err), 0);
	ck_assert_int_eq(dir_tenant_get(d, got.id, &t, &err), 0);
	ck_assert_str_eq(t.display_name, "Acme Corporation");
	ck_assert_int_eq(t.mfa_required, 1);
	ck_assert_int_eq(dir_tenant_purge(d, t.id, &err), 0);
	ck_assert_int_eq(dir_tenant_get(d, t.id, &got, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_tenant_purge(d, t.id, &err), ERR_NOT_FOUND);
}
END_TEST

static int count_users(void *ctx, const struct dir_user *u)
{
	(void)u;
	(*(int *)ctx)++;
	return 0;
}

START_TEST(user_crud_and_password)
{
	struct dir_tenant t;
	struct dir_user u, got;
	struct err err = {0};
	int n = 0;

	make_tenant("acme", &t);
	make_user(t.id, "alice@acme.test", "correct horse", &u);
	ck_assert_uint_eq(strlen(u.id), 36);
	ck_assert_int_eq(u.created_at, now);
	ck_assert_int_eq(dir_user_get(d, t.id, u.id, &got, &err), 0);
	ck_assert_str_eq(got.upn, "alice@acme.test");
	ck_assert_str_eq(got.display_name, "User alice@acme.test");
	ck_assert_int_eq(got.has_password, 1);
	ck_assert_int_eq(got.source, DIR_SOURCE_CLOUD);

	ck_assert_int_eq(dir_user_check_password(d, t.id, u.id, "correct horse", &err), 0);
	ck_assert_int_eq(dir_user_check_password(d, t.id, u.id, "wrong horse", &err), ERR_DENIED);
	ck_assert_int_eq(dir_user_check_password(d, t.id, u.id, "", &err), ERR_DENIED);

	now += 10;
	strcpy(got.surname, "Liddell");
	strcpy(got.upn, "alice.liddell@acme.test");
	got.enabled = 0;
	ck_assert_int_eq(dir_user_update(d, t.id, &got, &err), 0);
	ck_assert_int_eq(dir_user_get_by_upn(d, t.id, "ALICE.LIDDELL@acme.test", &u, &err), 0);
	ck_assert_str_eq(u.surname, "Liddell");
	ck_assert_int_eq(u.enabled, 0);
	ck_assert_int_eq(u.updated_at, now);
	ck_assert_int_eq(dir_user_get_by_upn(d, t.id, "alice@acme.test", &u, &err), ERR_NOT_FOUND);

	/* bad input is refused with a reason, never truncated */
	memset(&u, 0, sizeof(u));
	strcpy(u.upn, "no-at-sign");
	ck_assert_int_eq(dir_user_create(d, t.id, &u, NULL, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "name@domain"));
	strcpy(u.upn, "ok@acme.test");
	strcpy(u.display_name, "bad\nname");
	ck_assert_int_eq(dir_user_create(d, t.id, &u, NULL, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "control characters"));
	strcpy(u.display_name, "bad \xff utf8");
	ck_assert_int_eq(dir_user_create(d, t.id, &u, NULL, &err), ERR_INVALID);
	memset(u.display_name, 'a', sizeof(u.display_name));
	ck_assert_int_eq(dir_user_create(d, t.id, &u, NULL, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer than"));
	memset(&u, 0, sizeof(u));
	strcpy(u.upn, "ldap@acme.test");
	u.source = DIR_SOURCE_LDAP; /* needs an anchor */
	ck_assert_int_eq(dir_user_create(d, t.id, &u, NULL, &err), ERR_INVALID);
	char longpw[DIR_PASSWORD_MAX + 2];
	memset(longpw, 'p', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	u.source = DIR_SOURCE_CLOUD;
	ck_assert_int_eq(dir_user_create(d, t.id, &u, longpw, &err), ERR_INVALID);

	ck_assert_int_eq(dir_user_list(d, t.id, NULL, count_users, &n, &err), 0);
	ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(password_rehash_on_new_parameters)
{
	struct dir_tenant t;
	struct dir_user u;
	struct dir_options o = {0};
	struct err err = {0};
	char *before, *after;
	size_t len;

	make_tenant("acme", &t);
	make_user(t.id, "alice@acme.test", "pw-one-two", &u);
	dir_close(d);
	o.path = db_path;
	o.argon2 = (struct dir_argon2){2, 128, 1};
	d = dir_open(&o, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dir_checkpoint(d, &err), 0);
	before = tu_read_file(db_path, &len);
	ck_assert_ptr_nonnull(memmem(before, len, "m=64,t=1,p=1", 12));
	ck_assert_int_eq(dir_user_check_password(d, t.id, u.id, "pw-one-two", &err), 0);
	ck_assert_int_eq(dir_checkpoint(d, &err), 0);
	after = tu_read_file(db_path, &len);
	ck_assert_ptr_nonnull(memmem(after, len, "m=128,t=2,p=1", 13));
	ck_assert_ptr_null(memmem(after, len, "m=64,t=1,p=1", 12)); /* secure_delete */
	ck_assert_int_eq(dir_user_check_password(d, t.id, u.id, "pw-one-two", &err), 0);
	free(before);
	free(after);
}
END_TEST

START_TEST(upn_unique_per_tenant_any_case)
{
	struct dir_tenant a, b;
	struct dir_user u, v;
	struct err err = {0};

	make_tenant("a", &a);
	make_tenant("b", &b);
	make_user(a.id, "Alice@Example.com", NULL, &u);
	memset(&v, 0, sizeof(v));
	strcpy(v.upn, "aLiCe@example.COM");
	ck_assert_int_eq(dir_user_create(d, a.id, &v, NULL, &err), ERR_EXISTS);
	/* another tenant may use the same name */
	make_user(b.id, "alice@example.com", NULL, &v);
	/* case folding beyond ASCII */
	make_user(a.id, "\xc3\x84rger@example.com", NULL, &v); /* Ärger */
	memset(&v, 0, sizeof(v));
	strcpy(v.upn, "\xc3\xa4rger@example.com"); /* ärger */
	ck_assert_int_eq(dir_user_create(d, a.id, &v, NULL, &err), ERR_EXISTS);
	ck_assert_int_eq(dir_user_get_by_upn(d, a.id, "\xc3\xa4RGER@EXAMPLE.COM", &v, &err), 0);
	/* renaming onto a taken name fails too */
	make_user(a.id, "bob@example.com", NULL, &v);
	strcpy(v.upn, "ALICE@example.com");
	ck_assert_int_eq(dir_user_update(d, a.id, &v, &err), ERR_EXISTS);
	/* a soft-deleted user frees its name; restoring it then conflicts */
	ck_assert_int_eq(dir_user_soft_delete(d, a.id, u.id, &err), 0);
	make_user(a.id, "alice@example.com", NULL, &v);
	ck_assert_int_eq(dir_user_restore(d, a.id, u.id, &err), ERR_EXISTS);
	ck_assert_int_eq(dir_user_purge(d, a.id, v.id, &err), 0);
	ck_assert_int_eq(dir_user_restore(d, a.id, u.id, &err), 0);
	ck_assert_int_eq(dir_user_get_by_upn(d, a.id, "alice@example.com", &v, &err), 0);
	ck_assert_str_eq(v.id, u.id);
}
END_TEST

/* ---- isolation ---- */

static int collect_groups(void *ctx, const struct dir_group *g)
{
	char *names = ctx;
	strcat(names, g->name);
	strcat(names, ",");
	return 0;
}

START_TEST(cross_tenant_isolation)
{
	struct dir_tenant a, b;
	struct dir_user ua, ub, got;
	struct dir_group ga, gb, ggot;
	struct dir_app app, agot;
	struct err err = {0};
	char names[256] = "";

	make_tenant("a", &a);
	make_tenant("b", &b);
	make_user(a.id, "alice@a.test", "alice-pw", &ua);
	make_user(b.id, "bob@b.test", "bob-pw", &ub);
	make_group(a.id, "ga", &ga);
	make_group(b.id, "gb", &gb);
	memset(&app, 0, sizeof(app));
	strcpy(app.name, "app-a");
	strcpy(app.redirect_uris[0], "https://app.a.test/cb");
	app.n_redirect_uris = 1;
	app.grants = DIR_GRANT_AUTHORIZATION_CODE;
	ck_assert_int_eq(dir_app_create(d, a.id, &app, &err), 0);

	/* reading by id */
	ck_assert_int_eq(dir_user_get(d, b.id, ua.id, &got, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_user_get_by_upn(d, b.id, "alice@a.test", &got, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_group_get(d, b.id, ga.id, &ggot, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_app_get(d, b.id, app.id, &agot, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_app_get_by_client_id(d, b.id, app.client_id, &agot, &err),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(dir_user_check_password(d, b.id, ua.id, "alice-pw", &err), ERR_NOT_FOUND);
	/* updating */
	strcpy(ua.display_name, "hijacked");
	ck_assert_int_eq(dir_user_update(d, b.id, &ua, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_user_set_password(d, b.id, ua.id, "x", &err), ERR_NOT_FOUND);
	strcpy(ga.name, "hijacked");
	ck_assert_int_eq(dir_group_update(d, b.id, &ga, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_app_set_secret_hash(d, b.id, app.id,
						 "0000000000000000000000000000000000000000000000000"
						 "000000000000000",
						 &err),
			 ERR_NOT_FOUND);
	/* deleting */
	ck_assert_int_eq(dir_user_soft_delete(d, b.id, ua.id, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_user_purge(d, b.id, ua.id, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_group_soft_delete(d, b.id, ga.id, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_group_purge(d, b.id, ga.id, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_app_delete(d, b.id, app.id, &err), ERR_NOT_FOUND);
	/* membership across tenants, in every direction */
	ck_assert_int_eq(dir_group_add_member(d, b.id, gb.id, DIR_MEMBER_USER, ua.id, &err),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(dir_group_add_member(d, a.id, ga.id, DIR_MEMBER_USER, ub.id, &err),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(dir_group_add_member(d, b.id, ga.id, DIR_MEMBER_USER, ua.id, &err),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(dir_group_add_member(d, a.id, ga.id, DIR_MEMBER_GROUP, gb.id, &err),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(dir_group_add_member(d, a.id, ga.id, DIR_MEMBER_USER, ua.id, &err), 0);
	ck_assert_int_eq(dir_group_remove_member(d, b.id, ga.id, DIR_MEMBER_USER, ua.id, &err),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(dir_member_of(d, b.id, DIR_MEMBER_USER, ua.id, collect_groups, names,
				       &err),
			 0);
	ck_assert_str_eq(names, "");

	/* and tenant A is untouched */
	ck_assert_int_eq(dir_user_get(d, a.id, ua.id, &got, &err), 0);
	ck_assert_str_eq(got.display_name, "User alice@a.test");
	ck_assert_int_eq(dir_user_check_password(d, a.id, ua.id, "alice-pw", &err), 0);
	ck_assert_int_eq(dir_group_get(d, a.id, ga.id, &ggot, &err), 0);
	ck_assert_str_eq(ggot.name, "ga");
	ck_assert_int_eq(dir_member_of(d, a.id, DIR_MEMBER_USER, ua.id, collect_groups, names,
				       &err),
			 0);
	ck_assert_str_eq(names, "ga,");
}
END_TEST

/* A raw SQL statement, expected to be refused with a message containing want. */
static void raw_refused(sqlite3 *raw, const char *sql, const char *want)
{
	char *msg = NULL;
	int rc = sqlite3_exec(raw, sql, NULL, NULL, &msg);

	ck_assert_msg(rc != SQLITE_OK, "not refused: %s", sql);
	ck_assert_msg(msg != NULL && strstr(msg, want) != NULL, "%s: got '%s', want '%s'", sql,
		      msg ? msg : "", want);
	sqlite3_free(msg);
}

/*
 * Memberships hold rids since schema 10, which carry no tenant: the schema
 * still refuses, below the API, a membership linking two tenants' objects
 * or an object moved to another tenant.
 */
START_TEST(cross_tenant_membership_refused_by_the_schema)
{
	struct dir_tenant a, b;
	struct dir_user ua, ub;
	struct dir_group ga, gb;
	struct err err = {0};
	char sql[512];
	sqlite3 *raw;

	make_tenant("a", &a);
	make_tenant("b", &b);
	make_user(a.id, "alice@a.test", NULL, &ua);
	make_user(b.id, "bob@b.test", NULL, &ub);
	make_group(a.id, "ga", &ga);
	make_group(b.id, "gb", &gb);
	ck_assert_int_eq(dir_group_add_member(d, b.id, gb.id, DIR_MEMBER_USER, ua.id, &err),
			 ERR_NOT_FOUND);
	ck_assert_str_eq(err.msg, "no such group or user in this tenant");
	ck_assert_int_eq(dir_group_add_member(d, a.id, ga.id, DIR_MEMBER_USER, ua.id, &err), 0);
	ck_assert_int_eq(sqlite3_open(db_path, &raw), SQLITE_OK);
	sqlite3_busy_timeout(raw, 5000);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA foreign_keys=ON", NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO group_member_users (group_rid, user_rid) SELECT g.rid, u.rid "
		 "FROM groups g, users u WHERE g.id = '%s' AND u.id = '%s'",
		 ga.id, ub.id);
	raw_refused(raw, sql, "membership across tenants");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO group_member_groups (group_rid, member_rid) SELECT g.rid, c.rid "
		 "FROM groups g, groups c WHERE g.id = '%s' AND c.id = '%s'",
		 gb.id, ga.id);
	raw_refused(raw, sql, "membership across tenants");
	snprintf(sql, sizeof(sql),
		 "UPDATE group_member_users SET user_rid = (SELECT rid FROM users WHERE id = '%s')",
		 ub.id);
	raw_refused(raw, sql, "membership across tenants");
	snprintf(sql, sizeof(sql), "UPDATE users SET tenant_id = '%s' WHERE id = '%s'", b.id,
		 ua.id);
	raw_refused(raw, sql, "cannot change");
	snprintf(sql, sizeof(sql), "UPDATE groups SET tenant_id = '%s' WHERE id = '%s'", b.id,
		 ga.id);
	raw_refused(raw, sql, "cannot change");
	/* a rid that names nothing: the foreign key */
	raw_refused(raw, "INSERT INTO group_member_users (group_rid, user_rid) VALUES (-1, -1)",
		    "FOREIGN KEY");
	sqlite3_close(raw);
}
END_TEST

/* ---- groups ---- */

START_TEST(nested_groups_with_a_cycle)
{
	struct dir_tenant t;
	struct dir_user u;
	struct dir_group g1, g2, g3, lone;
	struct err err = {0};
	char names[256] = "";

	make_tenant("acme", &t);
	make_user(t.id, "u@acme.test", NULL, &u);
	make_group(t.id, "g1", &g1);
	make_group(t.id, "g2", &g2);
	make_group(t.id, "g3", &g3);
	make_group(t.id, "lone", &lone);
	/* u in g3; g3 in g2; g2 in g1; g1 in g3: a cycle */
	ck_assert_int_eq(dir_group_add_member(d, t.id, g3.id, DIR_MEMBER_USER, u.id, &err), 0);
	ck_assert_int_eq(dir_group_add_member(d, t.id, g2.id, DIR_MEMBER_GROUP, g3.id, &err), 0);
	ck_assert_int_eq(dir_group_add_member(d, t.id, g1.id, DIR_MEMBER_GROUP, g2.id, &err), 0);
	ck_assert_int_eq(dir_group_add_member(d, t.id, g3.id, DIR_MEMBER_GROUP, g1.id, &err), 0);
	ck_assert_int_eq(dir_group_add_member(d, t.id, g3.id, DIR_MEMBER_GROUP, g1.id, &err), 0);
	ck_assert_int_eq(dir_group_add_member(d, t.id, g1.id, DIR_MEMBER_GROUP, g1.id, &err),
			 ERR_INVALID);
	ck_assert_int_eq(dir_member_of(d, t.id, DIR_MEMBER_USER, u.id, collect_groups, names,
				       &err),
			 0);
	ck_assert_str_eq(names, "g1,g2,g3,");
	names[0] = '\0';
	ck_assert_int_eq(dir_member_of(d, t.id, DIR_MEMBER_GROUP, g1.id, collect_groups, names,
				       &err),
			 0);
	ck_assert_str_eq(names, "g2,g3,");
	/* a soft-deleted group stops the walk */
	ck_assert_int_eq(dir_group_soft_delete(d, t.id, g2.id, &err), 0);
	names[0] = '\0';
	ck_assert_int_eq(dir_member_of(d, t.id, DIR_MEMBER_USER, u.id, collect_groups, names,
				       &err),
			 0);
	ck_assert_str_eq(names, "g3,");
	ck_assert_int_eq(dir_group_restore(d, t.id, g2.id, &err), 0);
	/* removing a link breaks the chain */
	ck_assert_int_eq(dir_group_remove_member(d, t.id, g2.id, DIR_MEMBER_GROUP, g3.id, &err),
			 0);
	ck_assert_int_eq(dir_group_remove_member(d, t.id, g2.id, DIR_MEMBER_GROUP, g3.id, &err),
			 ERR_NOT_FOUND);
	names[0] = '\0';
	ck_assert_int_eq(dir_member_of(d, t.id, DIR_MEMBER_USER, u.id, collect_groups, names,
				       &err),
			 0);
	ck_assert_str_eq(names, "g3,");
	/* group names are unique in any case */
	struct dir_group dup = {0};
	strcpy(dup.name, "G1");
	ck_assert_int_eq(dir_group_create(d, t.id, &dup, &err), ERR_EXISTS);
}
END_TEST

START_TEST(app_validation)
{
	struct dir_tenant t;
	struct dir_app a, got;
	struct err err = {0};
	static const char *const bad_uris[] = {"http://evil.test/cb", "https://a.test/cb#frag",
					       "javascript:alert(1)", "https://a.test/c b", "",
					       "https:///nohost", "ftp://a.test/"};

	make_tenant("acme", &t);
	memset(&a, 0, sizeof(a));
	strcpy(a.name, "portal");
	a.grants = DIR_GRANT_AUTHORIZATION_CODE | DIR_GRANT_CLIENT_CREDENTIALS;
	a.n_redirect_uris = 3;
	strcpy(a.redirect_uris[0], "https://portal.acme.test/callback");
	strcpy(a.redirect_uris[1], "http://127.0.0.1:8080/cb");
	strcpy(a.redirect_uris[2], "com.acme.app:/oauth");
	a.confidential = 1;
	ck_assert_int_eq(dir_app_create(d, t.id, &a, &err), ERR_INVALID); /* no secret hash */
	memset(a.secret_hash, 'a', 64);
	ck_assert_int_eq(dir_app_create(d, t.id, &a, &err), 0);
	ck_assert_int_eq(dir_app_get_by_client_id(d, t.id, a.client_id, &got, &err), 0);
	ck_assert_int_eq(got.n_redirect_uris, 3);
	ck_assert_str_eq(got.redirect_uris[2], "com.acme.app:/oauth");
	ck_assert_str_eq(got.token_alg, "RS256");
	for (size_t i = 0; i < sizeof(bad_uris) / sizeof(bad_uris[0]); i++) {
		strcpy(got.redirect_uris[0], bad_uris[i]);
		ck_assert_msg(dir_app_update(d, t.id, &got, &err) == ERR_INVALID, "accepted %s",
			      bad_uris[i]);
	}
	/* a public app cannot use client_credentials */
	memset(&a, 0, sizeof(a));
	strcpy(a.name, "spa");
	a.grants = DIR_GRANT_CLIENT_CREDENTIALS;
	ck_assert_int_eq(dir_app_create(d, t.id, &a, &err), ERR_INVALID);
	a.grants = DIR_GRANT_AUTHORIZATION_CODE;
	ck_assert_int_eq(dir_app_create(d, t.id, &a, &err), ERR_INVALID); /* no redirect URI */
	a.n_redirect_uris = 1;
	strcpy(a.redirect_uris[0], "https://spa.acme.test/");
	strcpy(a.token_alg, "HS256");
	ck_assert_int_eq(dir_app_create(d, t.id, &a, &err), ERR_INVALID);
	strcpy(a.token_alg, "ES256");
	ck_assert_int_eq(dir_app_create(d, t.id, &a, &err), 0);
	ck_assert_int_eq(dir_app_delete(d, t.id, a.id, &err), 0);
	ck_assert_int_eq(dir_app_get(d, t.id, a.id, &got, &err), ERR_NOT_FOUND);
}
END_TEST

/* ---- schema ---- */

START_TEST(migration_from_older_schema)
{
	struct dir_options o = {0};
	struct dir_tenant t;
	struct dir_user u, got;
	struct dir_app a;
	struct err err = {0};
	char path[700], sql[512], names[256];
	sqlite3 *raw;

	snprintf(path, sizeof(path), "%s/old.db", tmp);
	o.path = path;
	o.argon2 = (struct dir_argon2)FAST_ARGON2;
	o.target_version = 1;
	dir_close(d);
	d = dir_open(&o, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dir_schema_version(d), 1);
	make_tenant("old", &t);
	make_user(t.id, "kept@old.test", "kept-pw", &u);
	/* version 1 has no apps table */
	memset(&a, 0, sizeof(a));
	strcpy(a.name, "x");
	a.grants = DIR_GRANT_AUTHORIZATION_CODE;
	a.n_redirect_uris = 1;
	strcpy(a.redirect_uris[0], "https://x.test/");
	ck_assert_int_ne(dir_app_create(d, t.id, &a, &err), 0);
	dir_close(d);
	d = NULL;
	/* a group and a membership, in schema 1's columns */
	ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO groups (tenant_id, id, name, name_key, source, created_at, "
		 "updated_at) VALUES ('%s', 'g-old', 'old-group', 'old-group', 'cloud', 1, 1);"
		 "INSERT INTO group_member_users (group_id, user_id, tenant_id) VALUES "
		 "('g-old', '%s', '%s');",
		 t.id, u.id, t.id);
	ck_assert_int_eq(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);

	o.target_version = 0;
	d = dir_open(&o, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	ck_assert_int_eq(dir_schema_version(d), DIR_SCHEMA_VERSION);
	names[0] = '\0';
	ck_assert_int_eq(dir_member_of(d, t.id, DIR_MEMBER_USER, u.id, collect_groups, names,
				       &err),
			 0);
	ck_assert_str_eq(names, "old-group,");
	ck_assert_int_eq(dir_user_get(d, t.id, u.id, &got, &err), 0);
	ck_assert_str_eq(got.upn, "kept@old.test");
	ck_assert_int_eq(dir_user_check_password(d, t.id, u.id, "kept-pw", &err), 0);
	ck_assert_int_eq(dir_app_create(d, t.id, &a, &err), 0);
	ck_assert_int_eq(dir_integrity_check(d, &err), 0);
}
END_TEST

START_TEST(newer_schema_is_refused)
{
	struct err err = {0};
	sqlite3 *raw;

	dir_close(d);
	ck_assert_int_eq(sqlite3_open(db_path, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(raw);
	d = open_store(db_path, &err);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(err.code, ERR_VERSION);
	ck_assert_ptr_nonnull(strstr(err.msg, "schema version 99 is newer"));
	ck_assert_ptr_nonnull(strstr(err.msg, db_path));
}
END_TEST

START_TEST(corrupt_and_foreign_files_are_refused)
{
	struct err err = {0};
	char path[700];
	struct dir *x;
	sqlite3 *raw;
	FILE *f;

	snprintf(path, sizeof(path), "%s/garbage.db", tmp);
	ck_assert_int_eq(tu_write_file(path, "this is not a database at all, just some words "
					     "that go on for a while to fill a header...",
				       0600),
			 0);
	x = open_store(path, &err);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(err.code, ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a database"));

	/* another program's SQLite file */
	snprintf(path, sizeof(path), "%s/other.db", tmp);
	ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
	sqlite3_exec(raw, "CREATE TABLE t(x)", NULL, NULL, NULL);
	sqlite3_close(raw);
	x = open_store(path, &err);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(strstr(err.msg, "another program"));

	/* a store with damaged pages: open or the integrity check says so */
	struct dir_tenant t;
	struct dir_user u;
	make_tenant("acme", &t);
	for (int i = 0; i < 300; i++) {
		char upn[64];
		snprintf(upn, sizeof(upn), "user%03d@acme.test", i);
		make_user(t.id, upn, NULL, &u);
	}
	ck_assert_int_eq(dir_checkpoint(d, &err), 0);
	dir_close(d);
	d = NULL;
	f = fopen(db_path, "r+b");
	ck_assert_ptr_nonnull(f);
	/* smash the middle of the file: page headers and cells of the user tables */
	fseek(f, 0, SEEK_END);
	fseek(f, ftell(f) / 2 / 4096 * 4096, SEEK_SET);
	for (int i = 0; i < 3 * 4096; i++)
		fputc(0x5a, f);
	fclose(f);
	x = open_store(db_path, &err);
	if (x != NULL) {
		ck_assert_int_eq(dir_integrity_check(x, &err), ERR_CORRUPT);
		dir_close(x);
	} else {
		ck_assert_int_eq(err.code, ERR_CORRUPT);
	}
}
END_TEST

START_TEST(read_only_store)
{
	struct dir_options o = {0};
	struct dir_tenant t, got;
	struct err err = {0};
	char mnt[700], path[800];
	struct dir *x;

	make_tenant("acme", &t);
	ck_assert_int_eq(dir_checkpoint(d, &err), 0);
	dir_close(d);
	d = NULL;

	/* Opened read-only on purpose: reads work, writes fail clearly. */
	o.path = db_path;
	o.read_only = 1;
	x = dir_open(&o, &err);
	ck_assert_msg(x != NULL, "%s", err.msg);
	ck_assert_int_eq(dir_tenant_get(x, t.id, &got, &err), 0);
	strcpy(t.name, "another");
	ck_assert_int_eq(dir_tenant_create(x, &t, &err), ERR_READONLY);
	ck_assert_ptr_nonnull(strstr(err.msg, "read-only"));
	dir_close(x);

	/* On a read-only mount (when this process may mount): refused at open. */
	snprintf(mnt, sizeof(mnt), "%s/ro", tmp);
	mkdir(mnt, 0700);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=4m") != 0) {
		fprintf(stderr, "read_only_store: cannot mount tmpfs here; mount part skipped\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/store.db", mnt);
	d = open_store(path, &err);
	ck_assert_ptr_nonnull(d);
	make_tenant("x", &t);
	dir_close(d);
	d = NULL;
	ck_assert_int_eq(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	x = open_store(path, &err);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(err.code, ERR_READONLY);
	ck_assert_ptr_nonnull(strstr(err.msg, "read-only"));
	umount(mnt);
}
END_TEST

/* ---- purge ---- */

START_TEST(purge_removes_every_trace)
{
	struct dir_tenant t;
	struct dir_user u, keep;
	struct dir_group g;
	struct dir_audit a = {0};
	struct err err = {0};
	char wal[700];

	make_tenant("acme", &t);
	make_user(t.id, "zyxwvu-purge-me@acme.test", "purge-pw", &u);
	make_user(t.id, "keeper@acme.test", NULL, &keep);
	strcpy(u.display_name, "Quentin Purgatory-Xylophone");
	ck_assert_int_eq(dir_user_update(d, t.id, &u, &err), 0);
	make_group(t.id, "team", &g);
	ck_assert_int_eq(dir_group_add_member(d, t.id, g.id, DIR_MEMBER_USER, u.id, &err), 0);
	strcpy(a.actor, "admin@acme.test");
	strcpy(a.action, "user.update");
	strcpy(a.target_type, "user");
	strcpy(a.target_id, u.id);
	strcpy(a.summary, "renamed to Quentin Purgatory-Xylophone");
	ck_assert_int_eq(dir_audit_append(d, t.id, &a, &err), 0);
	ck_assert_int_eq(dir_checkpoint(d, &err), 0);
	/* the strings are there to begin with, or this test proves nothing */
	ck_assert(tu_file_contains(db_path, "zyxwvu-purge-me"));
	ck_assert(tu_file_contains(db_path, "Purgatory-Xylophone"));

	ck_assert_int_eq(dir_user_purge(d, t.id, u.id, &err), 0);
	ck_assert_int_eq(dir_user_get(d, t.id, u.id, &u, &err), ERR_NOT_FOUND);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	ck_assert(!tu_file_contains(db_path, "zyxwvu-purge-me"));
	ck_assert(!tu_file_contains(db_path, "Purgatory-Xylophone"));
	ck_assert(!tu_file_contains(wal, "zyxwvu-purge-me"));
	ck_assert(!tu_file_contains(wal, "Purgatory-Xylophone"));
	/* the audit record stays, with what it said redacted; the others are untouched */
	ck_assert_int_eq(dir_user_get(d, t.id, keep.id, &keep, &err), 0);
	ck_assert(tu_file_contains(db_path, "keeper@acme.test"));

	/* a tenant purge takes everything of it */
	ck_assert_int_eq(dir_tenant_purge(d, t.id, &err), 0);
	ck_assert(!tu_file_contains(db_path, "keeper@acme.test"));
	ck_assert(!tu_file_contains(db_path, "admin@acme.test"));
	ck_assert(!tu_file_contains(wal, "keeper@acme.test"));
	ck_assert_int_eq(dir_integrity_check(d, &err), 0);
}
END_TEST

/* ---- export ---- */

struct buf {
	char *p;
	size_t n, cap;
	int fail_after; /* make the writer fail after this many calls (0 = never) */
	int calls;
};

static int buf_write(void *ctx, const char *s, size_t n)
{
	struct buf *b = ctx;

	if (b->fail_after && ++b->calls > b->fail_after)
		return -1;
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

/* The export without its "exported_at" value, for comparisons. */
static char *strip_time(char *s)
{
	char *p = strstr(s, "\"exported_at\":");
	if (p != NULL) {
		char *end = strchr(p, ',');
		memmove(p, end, strlen(end) + 1);
	}
	return s;
}

START_TEST(export_round_trip)
{
	struct dir_tenant t, other;
	struct dir_user u;
	struct dir_group g1, g2;
	struct dir_app app;
	struct dir_audit a = {0};
	struct buf first = {0}, second = {0}, broken = {0};
	struct err err = {0};

	make_tenant("acme", &t);
	make_tenant("other", &other);
	make_user(t.id, "alice@acme.test", "alice-pw", &u);
	make_user(other.id, "eve@other.test", NULL, &u);
	make_user(t.id, "\xc3\xa9milie@acme.test", NULL, &u);
	make_group(t.id, "g1", &g1);
	make_group(t.id, "g2", &g2);
	ck_assert_int_eq(dir_group_add_member(d, t.id, g1.id, DIR_MEMBER_USER, u.id, &err), 0);
	ck_assert_int_eq(dir_group_add_member(d, t.id, g2.id, DIR_MEMBER_GROUP, g1.id, &err), 0);
	memset(&app, 0, sizeof(app));
	strcpy(app.name, "portal \"quoted\" \\ app");
	app.grants = DIR_GRANT_AUTHORIZATION_CODE;
	app.n_redirect_uris = 1;
	strcpy(app.redirect_uris[0], "https://portal.acme.test/cb");
	ck_assert_int_eq(dir_app_create(d, t.id, &app, &err), 0);
	strcpy(a.actor, "admin");
	strcpy(a.action, "app.create");
	ck_assert_int_eq(dir_audit_append(d, t.id, &a, &err), 0);

	ck_assert_int_eq(dir_export_tenant(d, t.id, buf_write, &first, &err), 0);
	ck_assert_ptr_nonnull(strstr(first.p, "alice@acme.test"));
	ck_assert_ptr_null(strstr(first.p, "eve@other.test")); /* only this tenant */
	ck_assert_ptr_nonnull(strstr(first.p, "$argon2id$"));
	ck_assert_ptr_null(strstr(first.p, "upn_key"));
	/* a failing writer aborts the export with an error */
	broken.fail_after = 3;
	ck_assert_int_eq(dir_export_tenant(d, t.id, buf_write, &broken, &err), ERR_IO);

	/* importing over the existing tenant is refused, all or nothing */
	ck_assert_int_eq(dir_import_tenant(d, first.p, first.n, &err), ERR_EXISTS);
	ck_assert_int_eq(dir_tenant_purge(d, t.id, &err), 0);
	ck_assert_int_eq(dir_import_tenant(d, first.p, first.n, &err), 0);
	ck_assert_int_eq(dir_export_tenant(d, t.id, buf_write, &second, &err), 0);
	ck_assert_str_eq(strip_time(first.p), strip_time(second.p));
	/* hashes came back: alice signs in with her password, émilie has none */
	ck_assert_int_eq(dir_user_check_password(d, t.id, u.id, "alice-pw", &err), ERR_DENIED);
	ck_assert_int_eq(dir_user_get_by_upn(d, t.id, "\xc3\x89MILIE@acme.test", &u, &err), 0);
	ck_assert_int_eq(dir_user_get_by_upn(d, t.id, "alice@acme.test", &u, &err), 0);
	ck_assert_int_eq(dir_user_check_password(d, t.id, u.id, "alice-pw", &err), 0);
	free(first.p);
	free(second.p);
	free(broken.p);
}
END_TEST

static int collect_members(void *ctx, const struct dir_member *m)
{
	char *names = ctx;
	strcat(names, m->name);
	strcat(names, ",");
	return 0;
}

static void raw_exec(sqlite3 *raw, const char *sql)
{
	char *msg = NULL;

	ck_assert_msg(sqlite3_exec(raw, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql,
		      msg ? msg : "");
	sqlite3_free(msg);
}

/*
 * Schema 10 rebuilds users and groups and moves memberships and sync
 * references to rids: everything a schema 9 store held is still there,
 * with its indexes and triggers, and every foreign key holds.
 */
START_TEST(migration_to_integer_keys)
{
	static const char *const expected[] = {
		"users_upn", "users_anchor", "users_source_dn_key", "users_source_uid_key",
		"groups_name", "groups_anchor", "groups_source_dn_key", "group_member_users_user",
		"group_member_groups_member", "sync_member_refs_key", "rbac_v_u_u", "rbac_v_u_d",
		"rbac_v_g_u", "rbac_v_g_d", "group_member_users_tenant",
		"group_member_groups_tenant", "users_tenant_fixed", "groups_tenant_fixed",
	};
	struct dir_options o = {0};
	struct dir_tenant t, other;
	struct dir_user u, v, w;
	struct dir_group g1, g2, h;
	struct err err = {0};
	struct buf out = {0};
	char path[700], sql[1024], names[512];
	int64_t v0, v1;
	sqlite3 *raw;

	snprintf(path, sizeof(path), "%s/nine.db", tmp);
	o.path = path;
	o.argon2 = (struct dir_argon2)FAST_ARGON2;
	o.clock.now = tu_clock;
	o.clock.ctx = &now;
	o.target_version = 9;
	dir_close(d);
	d = dir_open(&o, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	ck_assert_int_eq(dir_schema_version(d), 9);
	make_tenant("nine", &t);
	make_tenant("other", &other);
	make_user(t.id, "u@nine.test", "u-pw", &u);
	make_user(t.id, "v@nine.test", NULL, &v);
	make_user(other.id, "w@other.test", NULL, &w);
	make_group(t.id, "g1", &g1);
	make_group(t.id, "g2", &g2);
	make_group(other.id, "h", &h);
	dir_close(d);
	d = NULL;
	/* schema 9's memberships and references, as its code wrote them */
	ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
	raw_exec(raw, "PRAGMA foreign_keys=ON");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO group_member_users (tenant_id, group_id, user_id) VALUES "
		 "('%s', '%s', '%s'), ('%s', '%s', '%s'), ('%s', '%s', '%s');"
		 "INSERT INTO group_member_groups (tenant_id, group_id, member_id) VALUES "
		 "('%s', '%s', '%s');"
		 "INSERT INTO sync_member_refs (tenant_id, group_id, member_key) VALUES "
		 "('%s', '%s', 'dn:uid=u,ou=people'), ('%s', '%s', 'uid:v'), "
		 "('%s', '%s', 'dn:uid=w,ou=people');",
		 t.id, g1.id, u.id, t.id, g1.id, v.id, other.id, h.id, w.id, t.id, g2.id, g1.id,
		 t.id, g1.id, t.id, g1.id, other.id, h.id);
	raw_exec(raw, sql);
	sqlite3_close(raw);

	o.target_version = 0;
	d = dir_open(&o, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	ck_assert_int_eq(dir_schema_version(d), DIR_SCHEMA_VERSION);
	ck_assert_int_eq(dir_integrity_check(d, &err), 0);
	/* the memberships, by the API */
	names[0] = '\0';
	ck_assert_int_eq(dir_group_members(d, t.id, g1.id, collect_members, names, &err), 0);
	ck_assert_str_eq(names, "u@nine.test,v@nine.test,");
	names[0] = '\0';
	ck_assert_int_eq(dir_group_members(d, t.id, g2.id, collect_members, names, &err), 0);
	ck_assert_str_eq(names, "g1,");
	names[0] = '\0';
	ck_assert_int_eq(dir_member_of(d, t.id, DIR_MEMBER_USER, u.id, collect_groups, names,
				       &err),
			 0);
	ck_assert_str_eq(names, "g1,g2,");
	names[0] = '\0';
	ck_assert_int_eq(dir_group_members(d, other.id, h.id, collect_members, names, &err), 0);
	ck_assert_str_eq(names, "w@other.test,");
	ck_assert_int_eq(dir_user_check_password(d, t.id, u.id, "u-pw", &err), 0);
	/* the references, by the export (ids, never rids) */
	ck_assert_int_eq(dir_export_tenant(d, t.id, buf_write, &out, &err), 0);
	snprintf(sql, sizeof(sql),
		 "\"sync_member_refs\":[\n{\"group_id\":\"%s\",\"member_key\":\"dn:uid=u,ou=people\"},"
		 "\n{\"group_id\":\"%s\",\"member_key\":\"uid:v\"}]",
		 g1.id, g1.id);
	ck_assert_msg(strstr(out.p, sql) != NULL, "%s", out.p);
	ck_assert_ptr_null(strstr(out.p, "\"rid\""));
	ck_assert_ptr_null(strstr(out.p, "_rid\""));
	free(out.p);
	/* the indexes and triggers of the rebuilt tables */
	ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		sqlite3_stmt *st;
		ck_assert_int_eq(sqlite3_prepare_v2(raw,
						    "SELECT 1 FROM sqlite_schema WHERE name = ?1 AND "
						    "type IN ('index', 'trigger')",
						    -1, &st, NULL),
				 SQLITE_OK);
		sqlite3_bind_text(st, 1, expected[i], -1, SQLITE_STATIC);
		ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "no %s", expected[i]);
		sqlite3_finalize(st);
	}
	sqlite3_close(raw);
	/* a version bump per membership change, and deletes cascade */
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v0, &err), 0);
	ck_assert_int_eq(dir_group_remove_member(d, t.id, g1.id, DIR_MEMBER_USER, v.id, &err), 0);
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v1, &err), 0);
	ck_assert_int_gt(v1, v0);
	ck_assert_int_eq(dir_group_purge(d, t.id, g1.id, &err), 0);
	names[0] = '\0';
	ck_assert_int_eq(dir_group_members(d, t.id, g2.id, collect_members, names, &err), 0);
	ck_assert_str_eq(names, "");
	ck_assert_int_eq(dir_integrity_check(d, &err), 0);
}
END_TEST

START_TEST(import_rejects_bad_documents)
{
	static const struct {
		const char *doc, *expect;
	} cases[] = {
		{"not json", "line 1"},
		{"[]", "not an idp tenant export"},
		{"{\"format\":\"other\"}", "not an idp tenant export"},
		{"{\"format\":\"idp-tenant-export\",\"schema_version\":999,\"tenant\":{}}",
		 "newer idp"},
		{"{\"format\":\"idp-tenant-export\",\"schema_version\":2,\"tenant\":{\"id\":\"x\"}}",
		 "valid name"},
		{"{\"format\":\"idp-tenant-export\",\"schema_version\":2,\"tenant\":{\"id\":\"t1\","
		 "\"name\":\"t1\",\"display_name\":\"T\",\"created_at\":1,\"updated_at\":1},"
		 "\"users; DROP TABLE users\":[]}",
		 "unknown section"},
		{"{\"format\":\"idp-tenant-export\",\"schema_version\":2,\"tenant\":{\"id\":\"t1\","
		 "\"name\":\"t1\",\"display_name\":\"T\",\"created_at\":1,\"updated_at\":1},"
		 "\"users\":[{\"id\":\"u1\",\"upn\":\"a@b\",\"source\":\"cloud\",\"created_at\":1,"
		 "\"updated_at\":1,\"evil) VALUES(1);--\":1}]}",
		 "unknown column"},
		{"{\"format\":\"idp-tenant-export\",\"schema_version\":2,\"tenant\":{\"id\":\"t1\","
		 "\"name\":\"t1\",\"display_name\":\"T\",\"created_at\":1,\"updated_at\":1},"
		 "\"users\":[{\"id\":\"u1\",\"upn\":\"a@b\",\"source\":\"cloud\",\"created_at\":1,"
		 "\"updated_at\":1,\"upn_key\":\"zzz\"}]}",
		 "unknown column 'upn_key'"},
		{"{\"format\":\"idp-tenant-export\",\"schema_version\":2,\"tenant\":{\"id\":\"t1\","
		 "\"name\":\"t1\",\"display_name\":\"T\",\"created_at\":1,\"updated_at\":1},"
		 "\"users\":[{\"id\":\"u1\",\"upn\":{\"x\":1},\"source\":\"cloud\"}]}",
		 "expected text"},
		{"{\"format\":\"idp-tenant-export\",\"schema_version\":2,\"tenant\":{\"id\":\"t1\","
		 "\"name\":\"t1\",\"display_name\":\"T\",\"created_at\":1,\"updated_at\":1},"
		 "\"group_member_users\":[{\"group_id\":\"nope\",\"user_id\":\"nope\"}]}",
		 "group_member_users[0]: names a group or member not in this tenant"},
		{"{\"format\":\"idp-tenant-export\",\"format\":\"idp-tenant-export\"}", "duplicate"},
	};
	struct dir_tenant t;
	struct err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_int_ne(dir_import_tenant(d, cases[i].doc, strlen(cases[i].doc), &err), 0);
		if (strstr(err.msg, cases[i].expect) == NULL)
			ck_abort_msg("case %zu: got '%s', want '%s'", i, err.msg, cases[i].expect);
		/* nothing half-imported */
		ck_assert_int_eq(dir_tenant_get(d, "t1", &t, &err), ERR_NOT_FOUND);
	}
	ck_assert_int_eq(dir_integrity_check(d, &err), 0);
}
END_TEST

/* ---- concurrency ---- */

START_TEST(two_processes_writing_at_once)
{
	struct dir_tenant t;
	struct err err = {0};
	int n = 0, status;
	pid_t kids[2];

	make_tenant("acme", &t);
	/* Independent processes: none may inherit an open connection (SQLite forbids it). */
	dir_close(d);
	d = NULL;
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		ck_assert_int_ge(kids[k], 0);
		if (kids[k] == 0) {
			struct dir *mine = open_store(db_path, &err);
			if (mine == NULL)
				_exit(10);
			for (int i = 0; i < 150; i++) {
				struct dir_user u = {0};
				snprintf(u.upn, sizeof(u.upn), "p%d-u%d@acme.test", k, i);
				if (dir_user_create(mine, t.id, &u, NULL, &err) != 0)
					_exit(11);
				/* and some multi-statement transactions in between */
				if (i % 10 == 0) {
					struct dir_group g = {0};
					snprintf(g.name, sizeof(g.name), "p%d-g%d", k, i);
					if (dir_begin(mine, &err) != 0 ||
					    dir_group_create(mine, t.id, &g, &err) != 0 ||
					    dir_group_add_member(mine, t.id, g.id, DIR_MEMBER_USER,
								 u.id, &err) != 0 ||
					    dir_commit(mine, &err) != 0)
						_exit(12);
				}
			}
			dir_close(mine);
			_exit(0);
		}
	}
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: %d", k,
			      status);
	}
	d = open_store(db_path, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dir_user_list(d, t.id, NULL, count_users, &n, &err), 0);
	ck_assert_int_eq(n, 300);
	ck_assert_msg(dir_integrity_check(d, &err) == 0, "%s", err.msg);
}
END_TEST

START_TEST(soft_deleted_objects_are_purged_after_retention)
{
	struct dir_tenant t;
	struct dir_user old, recent, live;
	struct dir_group g;
	struct err err = {0};
	int n = -1;

	make_tenant("acme", &t);
	make_user(t.id, "old-gone-xq7@acme.test", NULL, &old);
	make_user(t.id, "recent@acme.test", NULL, &recent);
	make_user(t.id, "live@acme.test", NULL, &live);
	make_group(t.id, "old-group-zz9", &g);
	ck_assert_int_eq(dir_user_soft_delete(d, t.id, old.id, &err), 0);
	ck_assert_int_eq(dir_group_soft_delete(d, t.id, g.id, &err), 0);
	now += 31 * 86400;
	ck_assert_int_eq(dir_user_soft_delete(d, t.id, recent.id, &err), 0);
	ck_assert_int_eq(dir_purge_deleted(d, now - 30 * 86400, &n, &err), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(dir_user_get(d, t.id, old.id, &old, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_group_get(d, t.id, g.id, &g, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_user_get(d, t.id, recent.id, &recent, &err), 0);
	ck_assert_int_eq(dir_user_get(d, t.id, live.id, &live, &err), 0);
	ck_assert(!tu_file_contains(db_path, "old-gone-xq7"));
	ck_assert(!tu_file_contains(db_path, "old-group-zz9"));
}
END_TEST

START_TEST(transactions_roll_back)
{
	struct dir_tenant t;
	struct dir_user u;
	struct err err = {0};
	int n = 0;

	make_tenant("acme", &t);
	ck_assert_int_eq(dir_begin(d, &err), 0);
	make_user(t.id, "gone@acme.test", NULL, &u);
	ck_assert_int_eq(dir_begin(d, &err), ERR_INVALID); /* no nesting of explicit ones */
	dir_rollback(d);
	ck_assert_int_eq(dir_user_list(d, t.id, NULL, count_users, &n, &err), 0);
	ck_assert_int_eq(n, 0);
	/* a failing call inside a transaction leaves the rest of it intact */
	ck_assert_int_eq(dir_begin(d, &err), 0);
	make_user(t.id, "kept@acme.test", NULL, &u);
	ck_assert_int_eq(dir_user_purge(d, t.id, "no-such-id", &err), ERR_NOT_FOUND);
	ck_assert_int_eq(dir_commit(d, &err), 0);
	ck_assert_int_eq(dir_user_get_by_upn(d, t.id, "kept@acme.test", &u, &err), 0);
}
END_TEST

/* The checkpointer thread copies the log into the database file; nothing is lost. */
START_TEST(checkpoints_from_a_thread)
{
	struct dir_tenant t;
	struct dir_user u;
	struct err err = {0};
	struct stat st0, st;
	struct dir *r;
	char wal[700];
	int n = 0;

	make_tenant("acme", &t);
	ck_assert_int_eq(stat(db_path, &st0), 0);
	ck_assert_msg(dir_ckpt_start(d, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(dir_ckpt_start(d, &err), 0); /* once is enough */
	/* past the checkpointer's wake threshold (4 MB of log): a user is ~300 bytes of it */
	for (int b = 0; b < 4; b++) {
		ck_assert_int_eq(dir_begin(d, &err), 0);
		for (int i = 0; i < 10000; i++) {
			char upn[64];
			snprintf(upn, sizeof(upn), "u%d.%d@acme.test", b, i);
			make_user(t.id, upn, NULL, &u);
		}
		ck_assert_int_eq(dir_commit(d, &err), 0);
	}
	/* the log reaches the database file while the writer does nothing */
	for (int i = 0; i < 500 && (stat(db_path, &st), st.st_size <= st0.st_size); i++)
		usleep(10000);
	ck_assert_int_gt(st.st_size, st0.st_size);
	r = open_store(db_path, &err);
	ck_assert_msg(r != NULL, "%s", err.msg);
	ck_assert_int_eq(dir_user_list(r, t.id, NULL, count_users, &n, &err), 0);
	ck_assert_int_eq(n, 40000);
	dir_close(r);
	dir_ckpt_stop(d);
	dir_ckpt_stop(d);
	/* back to automatic checkpoints; close leaves no log behind */
	ck_assert_int_eq(dir_begin(d, &err), 0);
	make_user(t.id, "last@acme.test", NULL, &u);
	ck_assert_int_eq(dir_commit(d, &err), 0);
	dir_close(d);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	ck_assert_int_ne(access(wal, F_OK), 0);
	d = open_store(db_path, &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	n = 0;
	ck_assert_int_eq(dir_user_list(d, t.id, NULL, count_users, &n, &err), 0);
	ck_assert_int_eq(n, 40001);
	/* and a handle closed with the thread running stops it */
	ck_assert_int_eq(dir_ckpt_start(d, &err), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("directory");
	TCase *tc = tcase_create("store");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, tenant_crud);
	tcase_add_test(tc, user_crud_and_password);
	tcase_add_test(tc, password_rehash_on_new_parameters);
	tcase_add_test(tc, upn_unique_per_tenant_any_case);
	tcase_add_test(tc, cross_tenant_isolation);
	tcase_add_test(tc, cross_tenant_membership_refused_by_the_schema);
	tcase_add_test(tc, nested_groups_with_a_cycle);
	tcase_add_test(tc, app_validation);
	tcase_add_test(tc, migration_from_older_schema);
	tcase_add_test(tc, migration_to_integer_keys);
	tcase_add_test(tc, newer_schema_is_refused);
	tcase_add_test(tc, corrupt_and_foreign_files_are_refused);
	tcase_add_test(tc, read_only_store);
	tcase_add_test(tc, purge_removes_every_trace);
	tcase_add_test(tc, export_round_trip);
	tcase_add_test(tc, import_rejects_bad_documents);
	tcase_add_test(tc, two_processes_writing_at_once);
	tcase_add_test(tc, soft_deleted_objects_are_purged_after_retention);
	tcase_add_test(tc, transactions_roll_back);
	tcase_add_test(tc, checkpoints_from_a_thread);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
