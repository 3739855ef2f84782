/*
 * rbac_store_test: role data in a real store (SQLite files in a temp
 * directory): built-in roles, checked and audited writes with clear errors,
 * the loader (nested groups, soft deletes, fail-closed on bad rows), the
 * role-data version kept by triggers, refresh of a holder, tenant purge and
 * export/import with role data.  Every test ends with an integrity check.
 */
#define _GNU_SOURCE
#include "rbac_store.h"
#include "testutil.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tmp;
static char db_path[600];
static struct dir *d;
static int64_t now = 1790000000;
static struct dir_tenant t, t2;
static struct dir_user alice, bob, carol, other;
static struct dir_group eng, staff, ops;
static struct dir_app app;
static const struct rbac_actor who = {"admin@acme.test", "192.0.2.1"};

static struct dir *open_store(void)
{
	struct dir_options o = {0};
	struct err err = {0};
	struct dir *x;

	o.path = db_path;
	o.argon2 = (struct dir_argon2){1, 64, 1};
	o.clock.now = tu_clock;
	o.clock.ctx = &now;
	x = dir_open(&o, &err);
	ck_assert_msg(x != NULL, "open: %s", err.msg);
	return x;
}

static void mk_user(const char *tenant_id, const char *upn, struct dir_user *u)
{
	struct err err = {0};

	memset(u, 0, sizeof(*u));
	snprintf(u->upn, sizeof(u->upn), "%s", upn);
	u->enabled = 1;
	ck_assert_msg(dir_user_create(d, tenant_id, u, NULL, &err) == 0, "%s", err.msg);
}

static void mk_group(const char *name, struct dir_group *g)
{
	struct err err = {0};

	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	ck_assert_msg(dir_group_create(d, t.id, g, &err) == 0, "%s", err.msg);
}

static void setup(void)
{
	struct err err = {0};

	tmp = tu_tmpdir();
	snprintf(db_path, sizeof(db_path), "%s/store.db", tmp);
	d = open_store();
	memset(&t, 0, sizeof(t));
	memset(&t2, 0, sizeof(t2));
	strcpy(t.name, "acme");
	strcpy(t2.name, "globex");
	ck_assert_int_eq(dir_tenant_create(d, &t, &err), 0);
	ck_assert_int_eq(dir_tenant_create(d, &t2, &err), 0);
	mk_user(t.id, "alice@acme.test", &alice);
	mk_user(t.id, "bob@acme.test", &bob);
	mk_user(t.id, "carol@acme.test", &carol);
	mk_user(t2.id, "other@globex.test", &other);
	mk_group("eng", &eng);
	mk_group("staff", &staff);
	mk_group("ops", &ops);
	/* alice in eng in staff in eng (a cycle); bob in ops */
	ck_assert_int_eq(dir_group_add_member(d, t.id, eng.id, DIR_MEMBER_USER, alice.id, &err), 0);
	ck_assert_int_eq(dir_group_add_member(d, t.id, staff.id, DIR_MEMBER_GROUP, eng.id, &err), 0);
	ck_assert_int_eq(dir_group_add_member(d, t.id, eng.id, DIR_MEMBER_GROUP, staff.id, &err), 0);
	ck_assert_int_eq(dir_group_add_member(d, t.id, ops.id, DIR_MEMBER_USER, bob.id, &err), 0);
	memset(&app, 0, sizeof(app));
	strcpy(app.name, "portal");
	strcpy(app.token_alg, "RS256");
	app.grants = DIR_GRANT_AUTHORIZATION_CODE;
	strcpy(app.redirect_uris[0], "https://portal.acme.test/cb");
	app.n_redirect_uris = 1;
	ck_assert_msg(dir_app_create(d, t.id, &app, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(rbac_store_seed_builtins(d, t.id, &err), 0);
}

static void teardown(void)
{
	struct err err = {0};

	if (d != NULL)
		ck_assert_msg(dir_integrity_check(d, &err) == 0, "%s", err.msg);
	dir_close(d);
	d = NULL;
	tu_rmtree(tmp);
}

static struct dir_role *role_new(const char *name, const char *actions, const char *data,
				 const char *scopes)
{
	struct dir_role *r = calloc(1, sizeof(*r));

	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->actions, sizeof(r->actions), "%s", actions);
	snprintf(r->data_actions, sizeof(r->data_actions), "%s", data);
	snprintf(r->assignable_scopes, sizeof(r->assignable_scopes), "%s", scopes);
	return r;
}

static int assign(const char *role_id, enum dir_principal_type type, const char *pid,
		  const char *scope, struct dir_role_assignment *out, struct err *err)
{
	struct dir_role_assignment a = {0};
	int rc;

	snprintf(a.role_id, sizeof(a.role_id), "%s", role_id);
	a.principal_type = type;
	snprintf(a.principal_id, sizeof(a.principal_id), "%s", pid);
	snprintf(a.scope, sizeof(a.scope), "%s", scope);
	rc = rbac_store_assignment_create(d, t.id, &who, &a, err);
	if (out != NULL)
		*out = a;
	return rc;
}

static char builtin_id[RBAC_BUILTIN_COUNT][DIR_ID_MAX];

static void builtin_ids(void)
{
	for (int i = 0; i < RBAC_BUILTIN_COUNT; i++)
		ck_assert_int_eq(rbac_store_builtin_id(t.id, (enum rbac_builtin)i, builtin_id[i]), 0);
}

static int decide(const struct rbac_index *idx, enum rbac_principal_type type, const char *id,
		  const char *action, const char *scope, int data, struct rbac_decision *out)
{
	struct rbac_request req = {type, id, action, scope, data};
	struct rbac_decision dd;
	struct err err = {0};

	if (out == NULL)
		out = &dd;
	ck_assert_msg(rbac_check(idx, &req, out, &err) == 0, "%s", err.msg);
	return out->allowed;
}

struct audit_count {
	const char *action;
	int n;
};

static int count_action(void *ctx, const struct dir_audit *a)
{
	struct audit_count *c = ctx;

	if (strcmp(a->action, c->action) == 0)
		c->n++;
	return 0;
}

/* How many audit records of this action the tenant has. */
static int audits(const char *tenant_id, const char *action)
{
	struct audit_count c = {action, 0};
	struct err err = {0};

	ck_assert_int_eq(dir_audit_list(d, tenant_id, 0, 0, count_action, &c, &err), 0);
	return c.n;
}

/* ---- built-ins ---- */

START_TEST(builtins_seeded_once_per_tenant)
{
	struct dir_role *r = calloc(1, sizeof(*r));
	char other_id[DIR_ID_MAX];
	struct err err = {0};

	builtin_ids();
	ck_assert_int_eq(audits(t.id, "role.seed"), RBAC_BUILTIN_COUNT);
	ck_assert_int_eq(rbac_store_seed_builtins(d, t.id, &err), 0);
	ck_assert_int_eq(audits(t.id, "role.seed"), RBAC_BUILTIN_COUNT); /* nothing changed */
	ck_assert_int_eq(rbac_store_role_find(d, t.id, "reader", r, &err), 0);
	ck_assert_str_eq(r->id, builtin_id[RBAC_BUILTIN_READER]);
	ck_assert_int_eq(r->builtin, 1);
	ck_assert_str_eq(r->actions, "[\"*/read\"]");
	ck_assert_int_eq(rbac_store_role_find(d, t.id, "acdd72a7-3385-48ef-bd42-f606fba81ae7", r,
					      &err),
			 0); /* the well-known id */
	ck_assert_str_eq(r->name, "Reader");
	ck_assert_int_eq(rbac_store_role_find(d, t.id, "Nope", r, &err), ERR_NOT_FOUND);
	/* another tenant's built-ins have other ids and are not visible here */
	ck_assert_int_eq(rbac_store_seed_builtins(d, t2.id, &err), 0);
	ck_assert_int_eq(rbac_store_builtin_id(t2.id, RBAC_BUILTIN_READER, other_id), 0);
	ck_assert_str_ne(other_id, builtin_id[RBAC_BUILTIN_READER]);
	ck_assert_int_eq(dir_role_get(d, t.id, other_id, r, &err), ERR_NOT_FOUND);
	/* read-only */
	ck_assert_int_eq(rbac_store_role_find(d, t.id, "Owner", r, &err), 0);
	strcpy(r->actions, "[\"x/y/z\"]");
	ck_assert_int_eq(rbac_store_role_update(d, t.id, &who, r, &err), ERR_DENIED);
	ck_assert_int_eq(rbac_store_role_delete(d, t.id, &who, r->id, &err), ERR_DENIED);
	/* a tampered built-in is put back by the next seeding */
	ck_assert_int_eq(dir_role_seed(d, t.id, r, &err), 0);
	ck_assert_int_eq(rbac_store_seed_builtins(d, t.id, &err), 0);
	ck_assert_int_eq(rbac_store_role_find(d, t.id, "Owner", r, &err), 0);
	ck_assert_str_eq(r->actions, "[\"*\"]");
	free(r);
}
END_TEST

/* ---- role definitions ---- */

START_TEST(role_errors)
{
	struct dir_role *r = role_new("Project Reader", "[\"proj/*/read\"]", "",
				      "[\"/projects\"]");
	struct err err = {0};

	ck_assert_msg(rbac_store_role_create(d, t.id, &who, r, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(audits(t.id, "role.create"), 1);
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_EXISTS);
	strcpy(r->name, "PROJECT READER");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_EXISTS);
	strcpy(r->name, "reader"); /* a built-in's name */
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_EXISTS);
	strcpy(r->name, "Other");
	strcpy(r->actions, "[\"proj//read\"]");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "actions[0]"));
	ck_assert_ptr_nonnull(strstr(err.msg, "empty segment"));
	strcpy(r->actions, "[\"ok/a/b\", \"bad pattern/x/y\"]");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "actions[1]"));
	strcpy(r->actions, "[]");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "grants nothing"));
	strcpy(r->actions, "{\"a\": 1}");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_INVALID);
	strcpy(r->actions, "[\"a/b/c\", 5]");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_INVALID);
	strcpy(r->actions, "[\"a/b/c\"");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_INVALID);
	strcpy(r->actions, "[\"a/b/c\"]");
	strcpy(r->assignable_scopes, "[\"projects\"]");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "assignableScopes[0]"));
	strcpy(r->assignable_scopes, "[]");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_INVALID);
	strcpy(r->assignable_scopes, "");
	strcpy(r->name, "bad\nname");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), ERR_INVALID);
	strcpy(r->name, "Other");
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), 0);
	ck_assert_str_eq(r->assignable_scopes, "[\"/\"]"); /* the default */
	ck_assert_int_eq(rbac_store_role_create(d, t2.id, &who, r, &err), 0); /* same name, other tenant */
	ck_assert_int_eq(audits(t.id, "role.create"), 2);
	free(r);
}
END_TEST

START_TEST(role_update_and_delete)
{
	struct dir_role *r = role_new("Ops", "[\"ops/*\"]", "", "[\"/a\", \"/b\"]");
	struct dir_role_assignment a;
	struct err err = {0};

	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), 0);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, alice.id, "/b/x", &a, &err), 0);
	/* narrowing the assignable scopes past an assignment is refused */
	strcpy(r->assignable_scopes, "[\"/a\"]");
	ck_assert_int_eq(rbac_store_role_update(d, t.id, &who, r, &err), ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(err.msg, "/b/x"));
	strcpy(r->assignable_scopes, "[\"/a\", \"/b/x\"]");
	ck_assert_int_eq(rbac_store_role_update(d, t.id, &who, r, &err), 0);
	strcpy(r->not_actions, "[\"ops/secrets/*\"]");
	strcpy(r->name, "Operator");
	ck_assert_int_eq(rbac_store_role_update(d, t.id, &who, r, &err), 0);
	ck_assert_int_eq(rbac_store_role_find(d, t.id, "operator", r, &err), 0);
	ck_assert_str_eq(r->not_actions, "[\"ops/secrets/*\"]");
	strcpy(r->actions, "[\"bad\"]");
	ck_assert_int_eq(rbac_store_role_update(d, t.id, &who, r, &err), ERR_INVALID);
	strcpy(r->actions, "[\"ops/*\"]");
	/* deleting an assigned role is refused, then allowed */
	ck_assert_int_eq(rbac_store_role_delete(d, t.id, &who, r->id, &err), ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(err.msg, "1 assignment"));
	ck_assert_int_eq(rbac_store_assignment_delete(d, t.id, &who, a.id, &err), 0);
	ck_assert_int_eq(rbac_store_assignment_delete(d, t.id, &who, a.id, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(rbac_store_role_delete(d, t.id, &who, r->id, &err), 0);
	ck_assert_int_eq(rbac_store_role_delete(d, t.id, &who, r->id, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(audits(t.id, "role.update"), 2);
	ck_assert_int_eq(audits(t.id, "role.delete"), 1);
	ck_assert_int_eq(audits(t.id, "role_assignment.delete"), 1);
	free(r);
}
END_TEST

/* ---- assignments ---- */

START_TEST(assignment_errors)
{
	struct dir_role *r = role_new("Projects", "[\"proj/*\"]", "", "[\"/projects\"]");
	struct dir_role *theirs = role_new("Theirs", "[\"x/*\"]", "", "");
	struct dir_role_assignment a;
	struct err err = {0};

	builtin_ids();
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), 0);
	ck_assert_int_eq(rbac_store_role_create(d, t2.id, &who, theirs, &err), 0);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, alice.id, "/projects/p1", &a, &err), 0);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, alice.id, "/projects/p1", NULL, &err),
			 ERR_EXISTS);
	ck_assert_int_eq(assign("no-such-role", DIR_PRINCIPAL_USER, alice.id, "/", NULL, &err),
			 ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "no role"));
	ck_assert_int_eq(assign(theirs->id, DIR_PRINCIPAL_USER, alice.id, "/", NULL, &err),
			 ERR_NOT_FOUND); /* another tenant's role */
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, "no-such-user", "/projects", NULL,
				&err),
			 ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "no live user"));
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, other.id, "/projects", NULL, &err),
			 ERR_NOT_FOUND); /* another tenant's user */
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_GROUP, alice.id, "/projects", NULL, &err),
			 ERR_NOT_FOUND); /* a user id given as a group */
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, alice.id, "/other", NULL, &err),
			 ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "outside the assignable scopes"));
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, alice.id, "/projectsX", NULL, &err),
			 ERR_INVALID);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, alice.id, "/projects//x", NULL, &err),
			 ERR_INVALID);
	ck_assert_int_eq(assign(r->id, (enum dir_principal_type)7, alice.id, "/projects", NULL,
				&err),
			 ERR_INVALID);
	ck_assert_int_eq(dir_user_soft_delete(d, t.id, bob.id, &err), 0);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, bob.id, "/projects", NULL, &err),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_GROUP, eng.id, "/projects", NULL, &err), 0);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_APP, app.id, "/projects/p2", NULL, &err), 0);
	ck_assert_int_eq(assign(builtin_id[RBAC_BUILTIN_READER], DIR_PRINCIPAL_USER, carol.id, "/",
				NULL, &err),
			 0);
	ck_assert_int_eq(audits(t.id, "role_assignment.create"), 4);
	free(r);
	free(theirs);
}
END_TEST

/* ---- deny assignments ---- */

START_TEST(deny_errors)
{
	struct dir_deny_assignment *x = calloc(1, sizeof(*x));
	struct err err = {0};

	strcpy(x->name, "no deletes");
	strcpy(x->scope, "/");
	strcpy(x->actions, "[\"*/delete\"]");
	ck_assert_int_eq(rbac_store_deny_create(d, t.id, &who, x, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "at least one principal"));
	snprintf(x->principals, sizeof(x->principals), "[{\"type\":\"user\",\"id\":\"%s\"}]",
		 other.id);
	ck_assert_int_eq(rbac_store_deny_create(d, t.id, &who, x, &err), ERR_NOT_FOUND);
	strcpy(x->principals, "[{\"type\":\"robot\",\"id\":\"x\"}]");
	ck_assert_int_eq(rbac_store_deny_create(d, t.id, &who, x, &err), ERR_INVALID);
	strcpy(x->principals, "[{\"type\":\"everyone\"}]");
	strcpy(x->excluded_principals, "[{\"type\":\"everyone\"}]");
	ck_assert_int_eq(rbac_store_deny_create(d, t.id, &who, x, &err), ERR_INVALID);
	snprintf(x->excluded_principals, sizeof(x->excluded_principals),
		 "[{\"type\":\"group\",\"id\":\"%s\"}]", ops.id);
	strcpy(x->actions, "[]");
	ck_assert_int_eq(rbac_store_deny_create(d, t.id, &who, x, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "denies nothing"));
	strcpy(x->actions, "[\"*/del ete\"]");
	ck_assert_int_eq(rbac_store_deny_create(d, t.id, &who, x, &err), ERR_INVALID);
	strcpy(x->actions, "[\"*/delete\"]");
	strcpy(x->scope, "/a/");
	ck_assert_int_eq(rbac_store_deny_create(d, t.id, &who, x, &err), ERR_INVALID);
	strcpy(x->scope, "/");
	ck_assert_msg(rbac_store_deny_create(d, t.id, &who, x, &err) == 0, "%s", err.msg);
	strcpy(x->scope, "/projects");
	ck_assert_int_eq(rbac_store_deny_update(d, t.id, &who, x, &err), 0);
	ck_assert_int_eq(dir_deny_get(d, t.id, x->id, x, &err), 0);
	ck_assert_str_eq(x->scope, "/projects");
	ck_assert_int_eq(rbac_store_deny_delete(d, t.id, &who, x->id, &err), 0);
	ck_assert_int_eq(rbac_store_deny_delete(d, t.id, &who, x->id, &err), ERR_NOT_FOUND);
	ck_assert_int_eq(audits(t.id, "deny_assignment.create"), 1);
	ck_assert_int_eq(audits(t.id, "deny_assignment.update"), 1);
	ck_assert_int_eq(audits(t.id, "deny_assignment.delete"), 1);
	free(x);
}
END_TEST

/* ---- the loader ---- */

START_TEST(load_and_decide)
{
	struct dir_role *r = role_new("Blob Reader", "[\"store/*/read\"]",
				      "[\"store/blobs/read\"]", "");
	struct dir_deny_assignment *x = calloc(1, sizeof(*x));
	struct rbac_load_stats st;
	struct rbac_decision dec;
	struct rbac_index *idx;
	struct err err = {0};

	builtin_ids();
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), 0);
	/* Reader for staff at the root: alice gets it through eng -> staff */
	ck_assert_int_eq(assign(builtin_id[RBAC_BUILTIN_READER], DIR_PRINCIPAL_GROUP, staff.id, "/",
				NULL, &err),
			 0);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_APP, app.id, "/c", NULL, &err), 0);
	ck_assert_int_eq(assign(builtin_id[RBAC_BUILTIN_CONTRIBUTOR], DIR_PRINCIPAL_GROUP, ops.id,
				"/", NULL, &err),
			 0);
	strcpy(x->name, "freeze");
	strcpy(x->scope, "/frozen");
	strcpy(x->principals, "[{\"type\":\"everyone\"}]");
	snprintf(x->excluded_principals, sizeof(x->excluded_principals),
		 "[{\"type\":\"user\",\"id\":\"%s\"}]", bob.id);
	strcpy(x->actions, "[\"*/write\"]");
	ck_assert_int_eq(rbac_store_deny_create(d, t.id, &who, x, &err), 0);

	idx = rbac_store_load(d, t.id, &st, &err);
	ck_assert_msg(idx != NULL, "%s", err.msg);
	ck_assert_uint_eq(st.roles, RBAC_BUILTIN_COUNT + 1);
	ck_assert_uint_eq(st.assignments, 3);
	ck_assert_uint_eq(st.denies, 1);
	ck_assert_uint_eq(st.memberships, 4);
	ck_assert_uint_eq(st.skipped, 0);
	ck_assert_int_gt(st.version, 0);

	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, alice.id, "idp/users/read", "/", 0, &dec),
			 1);
	ck_assert_str_eq(dec.via_id, staff.id);
	ck_assert_str_eq(dec.role_name, "Reader");
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, alice.id, "idp/users/write", "/", 0, NULL),
			 0);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, bob.id, "idp/users/write", "/x", 0, NULL),
			 1);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, bob.id, "idp/roleAssignments/write", "/",
				0, NULL),
			 0);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, bob.id, "idp/users/write", "/frozen/y", 0,
				NULL),
			 1); /* excluded from the freeze */
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_GROUP, ops.id, "idp/users/write", "/frozen/y",
				0, &dec),
			 0);
	ck_assert_int_eq(dec.reason, RBAC_REASON_DENY);
	ck_assert_str_eq(dec.deny_id, x->id);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_APP, app.id, "store/blobs/read", "/c/d", 1,
				NULL),
			 1);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_APP, app.id, "store/blobs/read", "/", 1, NULL),
			 0);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, carol.id, "idp/users/read", "/", 0, NULL),
			 0);
	rbac_index_free(idx);

	/* soft-deleting bob makes his group's grant inert; deleting staff cuts alice off */
	ck_assert_int_eq(dir_user_soft_delete(d, t.id, bob.id, &err), 0);
	ck_assert_int_eq(dir_group_soft_delete(d, t.id, staff.id, &err), 0);
	idx = rbac_store_load(d, t.id, &st, &err);
	ck_assert_ptr_nonnull(idx);
	ck_assert_uint_eq(st.inactive, 1);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, bob.id, "idp/users/write", "/x", 0, NULL),
			 0);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, alice.id, "idp/users/read", "/", 0, NULL),
			 0);
	rbac_index_free(idx);
	/* a purged group's assignments go with it */
	ck_assert_int_eq(dir_group_purge(d, t.id, ops.id, &err), 0);
	idx = rbac_store_load(d, t.id, &st, &err);
	ck_assert_uint_eq(st.assignments + st.inactive, 2);
	rbac_index_free(idx);
	free(r);
	free(x);
}
END_TEST

static void raw_sql(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
	sqlite3_close(db);
}

START_TEST(load_fails_closed)
{
	struct dir_role *r = role_new("Broken", "[\"a/b/c\"]", "", "");
	struct dir_deny_assignment *x = calloc(1, sizeof(*x));
	struct rbac_load_stats st;
	struct rbac_index *idx;
	struct err err = {0};
	char sql[512];

	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), 0);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, alice.id, "/", NULL, &err), 0);
	/* a role edited behind our back into nonsense grants nothing, and says so */
	snprintf(sql, sizeof(sql), "UPDATE role_definitions SET actions = '[\"a//b\"]' WHERE id = '%s'",
		 r->id);
	raw_sql(sql);
	idx = rbac_store_load(d, t.id, &st, &err);
	ck_assert_msg(idx != NULL, "%s", err.msg);
	ck_assert_uint_eq(st.skipped, 1);
	ck_assert_ptr_nonnull(strstr(st.first_skip, r->id));
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, alice.id, "a/b/c", "/", 0, NULL), 0);
	rbac_index_free(idx);
	/* a broken assignment scope is skipped */
	raw_sql("UPDATE role_assignments SET scope = 'nope'");
	idx = rbac_store_load(d, t.id, &st, &err);
	ck_assert_ptr_nonnull(idx);
	ck_assert_uint_eq(st.skipped, 2);
	rbac_index_free(idx);
	/* a deny that cannot be read stops the load */
	strcpy(x->name, "deny");
	strcpy(x->scope, "/");
	strcpy(x->principals, "[{\"type\":\"everyone\"}]");
	strcpy(x->actions, "[\"*\"]");
	ck_assert_int_eq(rbac_store_deny_create(d, t.id, &who, x, &err), 0);
	raw_sql("UPDATE deny_assignments SET actions = '[\"**\"]'");
	ck_assert_ptr_null(rbac_store_load(d, t.id, &st, &err));
	ck_assert_int_eq(err.code, ERR_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, x->id));
	raw_sql("UPDATE deny_assignments SET principals = 'garbage'");
	ck_assert_ptr_null(rbac_store_load(d, t.id, &st, &err));
	ck_assert_int_eq(err.code, ERR_CORRUPT);
	free(r);
	free(x);
}
END_TEST

/* ---- versions and refresh ---- */

START_TEST(version_and_refresh)
{
	struct dir_role *r = role_new("V", "[\"v/*\"]", "", "");
	struct rbac_holder *h = rbac_holder_new(NULL);
	const struct rbac_index *cur;
	struct dir_role_assignment a;
	struct err err = {0};
	int64_t v0, v1, v2, t2_version;

	ck_assert_int_eq(dir_role_data_version(d, t2.id, &t2_version, &err), 0);
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v0, &err), 0);
	ck_assert_int_gt(v0, 0);
	ck_assert_int_eq(rbac_store_refresh(d, t.id, h, 0, &err), 1); /* empty holder: load */
	ck_assert_int_eq(rbac_holder_version(h), v0);
	ck_assert_int_eq(rbac_store_refresh(d, t.id, h, 0, &err), 0); /* current */
	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), 0);
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v1, &err), 0);
	ck_assert_int_gt(v1, v0);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_GROUP, eng.id, "/", &a, &err), 0);
	ck_assert_int_eq(rbac_store_refresh(d, t.id, h, 0, &err), 1);
	cur = rbac_holder_acquire(h);
	ck_assert_int_eq(decide(cur, RBAC_PRINCIPAL_USER, carol.id, "v/x/y", "/", 0, NULL), 0);
	rbac_holder_release(h, cur);
	/* a membership change made by another connection (another process) is seen */
	{
		struct dir *d2 = open_store();
		ck_assert_int_eq(dir_group_add_member(d2, t.id, eng.id, DIR_MEMBER_USER, carol.id,
						      &err),
				 0);
		dir_close(d2);
	}
	ck_assert_int_eq(rbac_store_refresh(d, t.id, h, 0, &err), 1);
	cur = rbac_holder_acquire(h);
	ck_assert_int_eq(decide(cur, RBAC_PRINCIPAL_USER, carol.id, "v/x/y", "/", 0, NULL), 1);
	rbac_holder_release(h, cur);
	/* each kind of change moves the version */
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v1, &err), 0);
	ck_assert_int_eq(dir_user_soft_delete(d, t.id, carol.id, &err), 0);
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v2, &err), 0);
	ck_assert_int_gt(v2, v1);
	ck_assert_int_eq(dir_group_remove_member(d, t.id, eng.id, DIR_MEMBER_USER, alice.id, &err),
			 0);
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v1, &err), 0);
	ck_assert_int_gt(v1, v2);
	ck_assert_int_eq(rbac_store_assignment_delete(d, t.id, &who, a.id, &err), 0);
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v2, &err), 0);
	ck_assert_int_gt(v2, v1);
	/* unrelated changes do not */
	ck_assert_int_eq(dir_user_set_password(d, t.id, alice.id, "pw-123456", &err), 0);
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v1, &err), 0);
	ck_assert_int_eq(v1, v2);
	/* other tenants have their own counters */
	ck_assert_int_eq(dir_role_data_version(d, t2.id, &v1, &err), 0);
	ck_assert_int_eq(v1, t2_version);
	ck_assert_int_eq(rbac_store_refresh(d, t.id, h, 1, &err), 1); /* forced */
	rbac_holder_free(h);
	free(r);
}
END_TEST

/* ---- tenant purge, export and import ---- */

static int buf_write(void *ctx, const char *s, size_t n)
{
	struct {
		char *p;
		size_t n;
	} *b = ctx;
	char *more = realloc(b->p, b->n + n + 1);

	if (more == NULL)
		return -1;
	b->p = more;
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

START_TEST(purge_export_import)
{
	struct dir_role *r = role_new("Exported", "[\"e/x/*\"]", "", "");
	struct dir_deny_assignment *x = calloc(1, sizeof(*x));
	struct {
		char *p;
		size_t n;
	} buf = {NULL, 0};
	struct rbac_index *idx;
	struct err err = {0};
	int64_t v;

	ck_assert_int_eq(rbac_store_role_create(d, t.id, &who, r, &err), 0);
	ck_assert_int_eq(assign(r->id, DIR_PRINCIPAL_USER, alice.id, "/p", NULL, &err), 0);
	strcpy(x->name, "d");
	strcpy(x->scope, "/p/q");
	strcpy(x->principals, "[{\"type\":\"everyone\"}]");
	strcpy(x->actions, "[\"e/x/write\"]");
	ck_assert_int_eq(rbac_store_deny_create(d, t.id, &who, x, &err), 0);
	ck_assert_int_eq(dir_export_tenant(d, t.id, buf_write, &buf, &err), 0);
	ck_assert_ptr_nonnull(strstr(buf.p, "e/x/*"));
	ck_assert_int_eq(dir_tenant_purge(d, t.id, &err), 0);
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v, &err), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_msg(dir_import_tenant(d, buf.p, buf.n, &err) == 0, "%s", err.msg);
	idx = rbac_store_load(d, t.id, NULL, &err);
	ck_assert_msg(idx != NULL, "%s", err.msg);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, alice.id, "e/x/read", "/p/q", 0, NULL), 1);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, alice.id, "e/x/write", "/p/q", 0, NULL),
			 0);
	ck_assert_int_eq(decide(idx, RBAC_PRINCIPAL_USER, alice.id, "e/x/write", "/p", 0, NULL), 1);
	rbac_index_free(idx);
	ck_assert_int_eq(dir_role_data_version(d, t.id, &v, &err), 0);
	ck_assert_int_gt(v, 0);
	ck_assert_int_eq(rbac_store_seed_builtins(d, t.id, &err), 0);
	free(buf.p);
	free(r);
	free(x);
}
END_TEST

static int count_member_h(void *ctx, const struct dir_member *m)
{
	if (m->kind == DIR_MEMBER_GROUP && strcmp(m->name, "h") == 0)
		++*(int *)ctx;
	return 0;
}

START_TEST(migration_from_schema_2)
{
	char old_path[700];
	struct dir_options o = {0};
	struct dir_tenant x = {0};
	struct dir_group g = {0}, h = {0}, k = {0};
	struct err err = {0};
	struct dir *old;
	int64_t v0, v1;
	char sql[512];
	sqlite3 *raw;
	int n;

	snprintf(old_path, sizeof(old_path), "%s/old.db", tmp);
	o.path = old_path;
	o.target_version = 2;
	old = dir_open(&o, &err);
	ck_assert_msg(old != NULL, "%s", err.msg);
	strcpy(x.name, "before");
	ck_assert_int_eq(dir_tenant_create(old, &x, &err), 0);
	strcpy(g.name, "g");
	strcpy(h.name, "h");
	ck_assert_int_eq(dir_group_create(old, x.id, &g, &err), 0);
	ck_assert_int_eq(dir_group_create(old, x.id, &h, &err), 0);
	strcpy(k.name, "k");
	ck_assert_int_eq(dir_group_create(old, x.id, &k, &err), 0);
	dir_close(old);
	/* a membership in schema 2's columns (text ids): schema 10 turns it into rids */
	ck_assert_int_eq(sqlite3_open(old_path, &raw), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO group_member_groups (group_id, member_id, tenant_id) VALUES "
		 "('%s', '%s', '%s')",
		 k.id, h.id, x.id);
	ck_assert_int_eq(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	o.target_version = 0;
	old = dir_open(&o, &err);
	ck_assert_msg(old != NULL, "%s", err.msg);
	ck_assert_int_eq(dir_schema_version(old), DIR_SCHEMA_VERSION);
	ck_assert_int_eq(dir_role_data_version(old, x.id, &v0, &err), 0);
	ck_assert_int_gt(v0, 0); /* tenants made before the migration count too */
	n = 0;
	ck_assert_int_eq(dir_group_members(old, x.id, k.id, count_member_h, &n, &err), 0);
	ck_assert_int_eq(n, 1); /* the membership survived */
	ck_assert_int_eq(dir_group_add_member(old, x.id, g.id, DIR_MEMBER_GROUP, h.id, &err), 0);
	ck_assert_int_eq(dir_role_data_version(old, x.id, &v1, &err), 0);
	ck_assert_int_gt(v1, v0);
	ck_assert_int_eq(dir_integrity_check(old, &err), 0);
	dir_close(old);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rbac_store");
	TCase *tc = tcase_create("store");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, builtins_seeded_once_per_tenant);
	tcase_add_test(tc, role_errors);
	tcase_add_test(tc, role_update_and_delete);
	tcase_add_test(tc, assignment_errors);
	tcase_add_test(tc, deny_errors);
	tcase_add_test(tc, load_and_decide);
	tcase_add_test(tc, load_fails_closed);
	tcase_add_test(tc, version_and_refresh);
	tcase_add_test(tc, purge_export_import);
	tcase_add_test(tc, migration_from_schema_2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
