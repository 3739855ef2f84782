/*
 * rbac_eval_test: the evaluator's semantics, table-driven, on an index
 * built in memory (the evaluator has no I/O; rbac_store_test covers the
 * store side).
 *
 * One fixture tenant exercises everything: wildcards at the start, middle
 * and end; notActions; control against data actions; inheritance down a
 * scope tree and not up or sideways; groups nested three deep and two
 * groups in a cycle; deny assignments naming everyone, a user, a group,
 * with excluded users and groups; the four built-in roles; case; and
 * malformed input.  Every row of the table checks the decision and that
 * the reason names the expected assignment or deny assignment.
 */
#include "rbac.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define U    RBAC_PRINCIPAL_USER
#define G    RBAC_PRINCIPAL_GROUP
#define A    RBAC_PRINCIPAL_APP
#define E    RBAC_PRINCIPAL_EVERYONE

static struct rbac_index *idx;

static const char *const all_scopes[] = {"/"};

struct role_row {
	const char *id, *name;
	const char *const *act;
	size_t n_act;
	const char *const *not_act;
	size_t n_not_act;
	const char *const *data;
	size_t n_data;
	const char *const *not_data;
	size_t n_not_data;
};

static const char *const r_reader_act[] = {"*/read"};
static const char *const r_writer_act[] = {"Proj/*"};
static const char *const r_writer_not[] = {"proj/secrets/*"};
static const char *const r_data_data[] = {"store/blobs/*"};
static const char *const r_data_not[] = {"store/blobs/delete"};
static const char *const r_mixed[] = {"a/b/c"};
static const char *const r_mid_act[] = {"idp/*s/read"};
static const char *const r_keys_act[] = {"vault/keys/*"};
static const char *const r_keys_data[] = {"vault/keys/sign"};

#define L(x) x, N(x)
static const struct role_row custom_roles[] = {
	{"r-reader", "Custom Reader", L(r_reader_act), NULL, 0, NULL, 0, NULL, 0},
	{"r-writer", "Project Writer", L(r_writer_act), L(r_writer_not), NULL, 0, NULL, 0},
	{"r-data", "Blob Data", NULL, 0, NULL, 0, L(r_data_data), L(r_data_not)},
	{"r-mixed", "Mixed", L(r_mixed), NULL, 0, L(r_mixed), NULL, 0},
	{"r-mid", "Middle Wildcard", L(r_mid_act), NULL, 0, NULL, 0, NULL, 0},
	{"r-keys", "Key User", L(r_keys_act), NULL, 0, L(r_keys_data), NULL, 0},
};

struct asg_row {
	const char *id, *role;
	enum rbac_principal_type type;
	const char *principal, *scope;
};

static const struct asg_row asgs[] = {
	{"a-u1-reader", "r-reader", U, "u1", "/projects/p1"},
	{"a-g1-writer", "r-writer", G, "g1", "/projects"},
	{"a-app-data", "r-data", A, "app1", "/"},
	{"a-u3-owner", "b-owner", U, "u3", "/owner"},
	{"a-u4-contrib", "b-contributor", U, "u4", "/"},
	{"a-u5-reader", "b-reader", U, "u5", "/"},
	{"a-u6-uaa", "b-uaa", U, "u6", "/"},
	{"a-ga-mid", "r-mid", G, "gA", "/"},
	{"a-u8-mixed", "r-mixed", U, "u8", "/m"},
	{"a-u9-keys", "r-keys", U, "u9", "/Vaults/V1"},
	{"a-g3-reader", "r-reader", G, "g3", "/deep/x"},
};

struct member_row {
	enum rbac_principal_type type;
	const char *member, *group;
};

static const struct member_row members[] = {
	{U, "u2", "g3"}, {G, "g3", "g2"}, {G, "g2", "g1"}, /* u2 in g3 in g2 in g1 */
	{U, "u7", "gB"}, {G, "gA", "gB"}, {G, "gB", "gA"}, /* cycle */
	{U, "u10", "g2"},                                  /* u10 in g2 (so in g1) */
	{U, "u11", "g3"},
};

static const char *const d_all[] = {"*"};
static const char *const d_reads[] = {"*/read"};
static const char *const d_public[] = {"proj/public/read"};
static const char *const d_blob_write[] = {"store/blobs/write"};
static const char *const d_mid[] = {"idp/groups/read"};

static const struct rbac_principal_ref d1_prins[] = {{E, NULL}};
static const struct rbac_principal_ref d1_excl[] = {{G, "g2"}};
static const struct rbac_principal_ref d2_prins[] = {{U, "u1"}};
static const struct rbac_principal_ref d3_prins[] = {{G, "g3"}};
static const struct rbac_principal_ref d3_excl[] = {{U, "u11"}};
static const struct rbac_principal_ref d4_prins[] = {{G, "gB"}};

static void build_fixture(void)
{
	struct rbac_builder *b;
	struct err err = {0};

	b = rbac_builder_new(&err);
	ck_assert_ptr_nonnull(b);
	for (int i = 0; i < RBAC_BUILTIN_COUNT; i++) {
		static const char *const ids[] = {"b-owner", "b-contributor", "b-reader", "b-uaa"};
		const struct rbac_builtin_def *bd = rbac_builtin((enum rbac_builtin)i);
		struct rbac_role_def r = {0};
		r.id = ids[i];
		r.name = bd->name;
		r.builtin = 1;
		r.actions = bd->actions;
		r.n_actions = bd->n_actions;
		r.not_actions = bd->not_actions;
		r.n_not_actions = bd->n_not_actions;
		r.assignable_scopes = all_scopes;
		r.n_assignable_scopes = 1;
		ck_assert_int_eq(rbac_builder_add_role(b, &r, &err), 0);
	}
	for (size_t i = 0; i < N(custom_roles); i++) {
		const struct role_row *x = &custom_roles[i];
		struct rbac_role_def r = {x->id,	 x->name,     0,	     x->act,
					  x->n_act,	 x->not_act,  x->n_not_act,  x->data,
					  x->n_data,	 x->not_data, x->n_not_data, all_scopes,
					  1};
		ck_assert_msg(rbac_builder_add_role(b, &r, &err) == 0, "%s", err.msg);
	}
	for (size_t i = 0; i < N(asgs); i++) {
		struct rbac_assignment_def a = {asgs[i].id, asgs[i].role,
						{asgs[i].type, asgs[i].principal}, asgs[i].scope};
		ck_assert_msg(rbac_builder_add_assignment(b, &a, &err) == 0, "%s", err.msg);
	}
	for (size_t i = 0; i < N(members); i++) {
		struct rbac_principal_ref m = {members[i].type, members[i].member};
		ck_assert_int_eq(rbac_builder_add_member(b, m, members[i].group, &err), 0);
	}
	{
		struct rbac_deny_def d[4] = {{0}};
		d[0] = (struct rbac_deny_def){"d-locked", "locked for all but g2",
					      "/projects/p1/locked", L(d1_prins), L(d1_excl),
					      L(d_all), NULL, 0, NULL, 0, NULL, 0};
		d[1] = (struct rbac_deny_def){"d-u1-reads", "no reads for u1 in sub",
					      "/projects/p1/sub", L(d2_prins), NULL, 0, L(d_reads),
					      L(d_public), NULL, 0, NULL, 0};
		d[2] = (struct rbac_deny_def){"d-g3-blobwrite", "g3 cannot write blobs", "/",
					      L(d3_prins), L(d3_excl), NULL, 0, NULL, 0,
					      L(d_blob_write), NULL, 0};
		d[3] = (struct rbac_deny_def){"d-gb-groups", "gB cannot read groups", "/g",
					      L(d4_prins), NULL, 0, L(d_mid), NULL, 0, NULL, 0,
					      NULL, 0};
		for (int i = 0; i < 4; i++)
			ck_assert_msg(rbac_builder_add_deny(b, &d[i], &err) == 0, "%s", err.msg);
	}
	idx = rbac_builder_build(b, &err);
	ck_assert_msg(idx != NULL, "build: %s", err.msg);
	rbac_builder_free(b);
}

static void setup(void)
{
	build_fixture();
}

static void teardown(void)
{
	rbac_index_free(idx);
	idx = NULL;
}

struct case_row {
	enum rbac_principal_type type;
	const char *principal, *action, *scope;
	int data;
	int allowed;
	enum rbac_reason reason;
	const char *why_id; /* assignment or deny id expected in the reason */
};

#define ALLOW(id) 1, RBAC_REASON_ASSIGNMENT, id
#define DENY(id)  0, RBAC_REASON_DENY, id
#define NONE      0, RBAC_REASON_NO_GRANT, NULL

static const struct case_row cases[] = {
	/* wildcards: */
	{U, "u1", "proj/docs/read", "/projects/p1", 0, ALLOW("a-u1-reader")},
	{U, "u1", "x/y/read", "/projects/p1", 0, ALLOW("a-u1-reader")},
	{U, "u1", "a/b/c/d/read", "/projects/p1", 0, ALLOW("a-u1-reader")},
	{U, "u1", "proj/docs/readall", "/projects/p1", 0, NONE},
	{U, "u1", "proj/docs/write", "/projects/p1", 0, NONE},
	{U, "u1", "proj/read/write", "/projects/p1", 0, NONE},
	{G, "gA", "idp/users/read", "/", 0, ALLOW("a-ga-mid")},
	{G, "gA", "idp/groups/read", "/", 0, ALLOW("a-ga-mid")},
	{G, "gA", "idp/user/read", "/", 0, NONE},
	{G, "gA", "idp/users/write", "/", 0, NONE},
	{G, "gA", "idp/s/read", "/", 0, ALLOW("a-ga-mid")}, /* "*" may match nothing */
	/* inheritance: down, never up or sideways */
	{U, "u1", "proj/docs/read", "/projects/p1/a/b/c", 0, ALLOW("a-u1-reader")},
	{U, "u1", "proj/docs/read", "/projects", 0, NONE},
	{U, "u1", "proj/docs/read", "/", 0, NONE},
	{U, "u1", "proj/docs/read", "/projects/p2", 0, NONE},
	{U, "u1", "proj/docs/read", "/projects/p10", 0, NONE},
	{U, "u1", "proj/docs/read", "/projects/p1x/y", 0, NONE},
	{U, "u1", "proj/docs/read", "/other/projects/p1", 0, NONE},
	/* notActions subtract, through nested groups (u2 in g3 in g2 in g1) */
	{U, "u2", "proj/docs/write", "/projects/p9", 0, ALLOW("a-g1-writer")},
	{U, "u2", "proj/secrets/read", "/projects/p9", 0, NONE},
	{U, "u2", "proj/secretsx/read", "/projects/p9", 0, ALLOW("a-g1-writer")},
	{U, "u2", "proj/docs/write", "/", 0, NONE},
	{G, "g2", "proj/docs/write", "/projects", 0, ALLOW("a-g1-writer")},
	{G, "g1", "proj/docs/write", "/projects/x", 0, ALLOW("a-g1-writer")},
	{U, "u10", "proj/docs/write", "/projects/p9", 0, ALLOW("a-g1-writer")},
	/* a group's assignment does not reach its parents */
	{G, "g2", "proj/docs/read", "/deep/x", 0, NONE},
	{U, "u2", "proj/docs/read", "/deep/x/y", 0, ALLOW("a-g3-reader")},
	{U, "u10", "proj/docs/read", "/deep/x/y", 0, NONE},
	/* the cycle gA <-> gB: u7 in gB reaches gA */
	{U, "u7", "idp/users/read", "/z", 0, ALLOW("a-ga-mid")},
	{G, "gB", "idp/users/read", "/z", 0, ALLOW("a-ga-mid")},
	/* control against data actions */
	{A, "app1", "store/blobs/read", "/c1", 1, ALLOW("a-app-data")},
	{A, "app1", "store/blobs/read", "/c1", 0, NONE},
	{A, "app1", "store/blobs/delete", "/c1", 1, NONE},
	{U, "u8", "a/b/c", "/m", 0, ALLOW("a-u8-mixed")},
	{U, "u8", "a/b/c", "/m/n", 1, ALLOW("a-u8-mixed")},
	{U, "u9", "vault/keys/sign", "/vaults/v1", 1, ALLOW("a-u9-keys")},
	{U, "u9", "vault/keys/encrypt", "/vaults/v1", 1, NONE},
	{U, "u9", "vault/keys/encrypt", "/vaults/v1", 0, ALLOW("a-u9-keys")},
	/* types: an app id asked as a user is unknown */
	{U, "app1", "store/blobs/read", "/", 1, NONE},
	{A, "nobody", "x/y/read", "/", 0, NONE},
	/* case: actions, scopes and ids ignore ASCII case */
	{U, "U1", "PROJ/Docs/READ", "/Projects/P1", 0, ALLOW("a-u1-reader")},
	{U, "u9", "Vault/Keys/Sign", "/VAULTS/v1/k", 1, ALLOW("a-u9-keys")},
	{U, "u2", "PROJ/SECRETS/read", "/projects/p9", 0, NONE},
	/* deny assignments win; exclusions; notActions in denies */
	{U, "u1", "proj/docs/read", "/projects/p1/locked", 0, DENY("d-locked")},
	{U, "u1", "proj/docs/read", "/projects/p1/locked/deeper", 0, DENY("d-locked")},
	{U, "u2", "proj/docs/write", "/projects/p1/locked", 0, ALLOW("a-g1-writer")},
	{U, "u10", "proj/docs/write", "/projects/p1/locked", 0, ALLOW("a-g1-writer")},
	{U, "u4", "idp/users/write", "/projects/p1/locked", 0, DENY("d-locked")},
	{U, "u4", "idp/users/write", "/projects/p1/locked", 1, NONE}, /* deny has no dataActions */
	{U, "u5", "x/y/read", "/projects/p1/lockedx", 0, ALLOW("a-u5-reader")},
	{U, "nobody", "x/y/read", "/projects/p1/locked", 0, DENY("d-locked")},
	{U, "u1", "proj/docs/read", "/projects/p1/sub", 0, DENY("d-u1-reads")},
	{U, "u1", "proj/public/read", "/projects/p1/sub", 0, ALLOW("a-u1-reader")},
	{U, "u1", "proj/docs/read", "/projects/p1/subx", 0, ALLOW("a-u1-reader")},
	{U, "u1", "proj/docs/read", "/projects/p1", 0, ALLOW("a-u1-reader")},
	{U, "u2", "store/blobs/write", "/a", 1, DENY("d-g3-blobwrite")},
	{U, "u11", "store/blobs/write", "/a", 1, NONE},
	{U, "u7", "idp/groups/read", "/g/h", 0, DENY("d-gb-groups")},
	{U, "u7", "idp/users/read", "/g/h", 0, ALLOW("a-ga-mid")},
	{G, "gA", "idp/groups/read", "/g", 0, DENY("d-gb-groups")}, /* gA is in gB too */
	/* built-in roles: Owner */
	{U, "u3", "idp/roleAssignments/write", "/owner", 0, ALLOW("a-u3-owner")},
	{U, "u3", "any/thing/delete", "/owner/x", 0, ALLOW("a-u3-owner")},
	{U, "u3", "store/blobs/read", "/owner", 1, NONE},
	{U, "u3", "idp/users/read", "/", 0, NONE},
	/* Contributor */
	{U, "u4", "idp/users/write", "/", 0, ALLOW("a-u4-contrib")},
	{U, "u4", "idp/users/delete", "/u", 0, ALLOW("a-u4-contrib")},
	{U, "u4", "idp/roleAssignments/read", "/", 0, ALLOW("a-u4-contrib")},
	{U, "u4", "idp/roleAssignments/write", "/", 0, NONE},
	{U, "u4", "idp/roleAssignments/delete", "/", 0, NONE},
	{U, "u4", "idp/roleDefinitions/write", "/", 0, NONE},
	{U, "u4", "idp/roleDefinitions/delete", "/", 0, NONE},
	{U, "u4", "idp/denyAssignments/write", "/", 0, NONE},
	{U, "u4", "idp/denyAssignments/delete", "/", 0, NONE},
	{U, "u4", "IDP/ROLEASSIGNMENTS/WRITE", "/", 0, NONE},
	{U, "u4", "store/blobs/read", "/", 1, NONE},
	/* Reader */
	{U, "u5", "idp/users/read", "/", 0, ALLOW("a-u5-reader")},
	{U, "u5", "idp/roleAssignments/read", "/x", 0, ALLOW("a-u5-reader")},
	{U, "u5", "idp/users/write", "/", 0, NONE},
	{U, "u5", "idp/users/readx", "/", 0, NONE},
	{U, "u5", "store/blobs/read", "/", 1, NONE},
	/* User Access Administrator */
	{U, "u6", "idp/roleAssignments/write", "/", 0, ALLOW("a-u6-uaa")},
	{U, "u6", "idp/roleAssignments/delete", "/", 0, ALLOW("a-u6-uaa")},
	{U, "u6", "idp/roleDefinitions/write", "/", 0, ALLOW("a-u6-uaa")},
	{U, "u6", "idp/denyAssignments/write", "/", 0, ALLOW("a-u6-uaa")},
	{U, "u6", "idp/users/read", "/", 0, ALLOW("a-u6-uaa")},
	{U, "u6", "idp/users/write", "/", 0, NONE},
	{U, "u6", "idp/groups/delete", "/", 0, NONE},
};

START_TEST(table)
{
	const struct case_row *c = &cases[_i];
	struct rbac_request req = {c->type, c->principal, c->action, c->scope, c->data};
	struct rbac_decision d;
	struct err err = {0};
	char why[512];

	ck_assert_msg(rbac_check(idx, &req, &d, &err) == 0, "row %d: %s", _i, err.msg);
	rbac_decision_text(&d, why, sizeof(why));
	ck_assert_msg(d.allowed == c->allowed && d.reason == c->reason,
		      "row %d (%s %s %s %s data=%d): got %s", _i,
		      rbac_principal_type_name(c->type), c->principal, c->action, c->scope, c->data,
		      why);
	if (c->reason == RBAC_REASON_ASSIGNMENT)
		ck_assert_msg(strcmp(d.assignment_id, c->why_id) == 0, "row %d: %s", _i, why);
	if (c->reason == RBAC_REASON_DENY)
		ck_assert_msg(strcmp(d.deny_id, c->why_id) == 0, "row %d: %s", _i, why);
}
END_TEST

START_TEST(reason_names_everything)
{
	struct rbac_request req = {U, "u2", "proj/docs/write", "/projects/p9/x", 0};
	struct rbac_decision d;
	char why[512];

	ck_assert_int_eq(rbac_check(idx, &req, &d, NULL), 0);
	ck_assert_int_eq(d.allowed, 1);
	ck_assert_str_eq(d.role_id, "r-writer");
	ck_assert_str_eq(d.role_name, "Project Writer");
	ck_assert_str_eq(d.assignment_scope, "/projects");
	ck_assert_int_eq(d.via_type, G);
	ck_assert_str_eq(d.via_id, "g1");
	rbac_decision_text(&d, why, sizeof(why));
	ck_assert_ptr_nonnull(strstr(why, "a-g1-writer"));
	ck_assert_ptr_nonnull(strstr(why, "Project Writer"));
	ck_assert_ptr_nonnull(strstr(why, "'/projects'"));
	ck_assert_ptr_nonnull(strstr(why, "group g1"));

	req.scope = "/projects/p1/locked";
	req.principal_id = "u1";
	ck_assert_int_eq(rbac_check(idx, &req, &d, NULL), 0);
	ck_assert_int_eq(d.allowed, 0);
	ck_assert_str_eq(d.deny_name, "locked for all but g2");
	ck_assert_str_eq(d.deny_scope, "/projects/p1/locked");
	ck_assert_ptr_nonnull(strstr(rbac_decision_text(&d, why, sizeof(why)), "d-locked"));

	req.scope = "/nowhere";
	ck_assert_int_eq(rbac_check(idx, &req, &d, NULL), 0);
	ck_assert_ptr_nonnull(strstr(rbac_decision_text(&d, why, sizeof(why)), "no role"));
}
END_TEST

/* ---- malformed input ---- */

static const char *const bad_patterns[] = {
	"",	     "/",	"a//b/c",    "/a/b/c",	 "a/b/c/",     "a/b",	  "ab",
	"a/b/c d",   "a/b/**",	"a/b/c\n",   "a/b/\xc3\xa9", "a/b/c?",	  "a\\b/c/d",
	"a/b/c;drop", "a/*//b",	"**",	     "a/b/c\t",	 "*/read/",    "//*",
};
static const char *const good_patterns[] = {
	"*", "*/read", "a/b/c", "idp/users/read", "Microsoft.Compute/virtualMachines/start/action",
	"a*", "*a", "a/*/c", "idp/*s/read", "my_prov-1.x/type/op",
};

START_TEST(malformed_patterns)
{
	struct err err = {0};
	char longp[400];

	for (size_t i = 0; i < N(bad_patterns); i++) {
		ck_assert_msg(rbac_pattern_check(bad_patterns[i], &err) == ERR_INVALID,
			      "accepted bad pattern #%zu", i);
		ck_assert_msg(err.msg[0] != '\0', "no message");
	}
	for (size_t i = 0; i < N(good_patterns); i++)
		ck_assert_msg(rbac_pattern_check(good_patterns[i], &err) == 0, "%s: %s",
			      good_patterns[i], err.msg);
	ck_assert_int_eq(rbac_pattern_check(NULL, &err), ERR_INVALID);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	longp[1] = '/';
	longp[3] = '/';
	ck_assert_int_eq(rbac_pattern_check(longp, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer"));
	ck_assert_int_eq(rbac_action_check("a/b/*", &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "only for patterns"));
	ck_assert_int_eq(rbac_pattern_check("a//b", &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "empty segment"));
}
END_TEST

static const char *const bad_scopes[] = {
	"",	 "a",	 "//",	   "/a/",    "/a//b", "/a/./b", "/a/../b", "/..",  "/a b",
	"/a\n",	 "/a*",	 "/a\\b",  "/\xff",  "/a/b/", "/.",	"x/y",	   "/a\t",
};

START_TEST(malformed_scopes)
{
	struct err err = {0};
	char deep[200] = "", longs[1100];

	for (size_t i = 0; i < N(bad_scopes); i++)
		ck_assert_msg(rbac_scope_check(bad_scopes[i], &err) == ERR_INVALID,
			      "accepted bad scope #%zu", i);
	ck_assert_int_eq(rbac_scope_check("/", &err), 0);
	ck_assert_int_eq(rbac_scope_check("/a.b/c-d/e_f/@x:1/~y", &err), 0);
	for (int i = 0; i <= RBAC_SCOPE_DEPTH_MAX; i++)
		strcat(deep, "/a");
	ck_assert_int_eq(rbac_scope_check(deep, &err), ERR_INVALID);
	deep[strlen(deep) - 2] = '\0';
	ck_assert_int_eq(rbac_scope_check(deep, &err), 0);
	longs[0] = '/';
	memset(longs + 1, 'x', sizeof(longs) - 2);
	longs[sizeof(longs) - 1] = '\0';
	ck_assert_int_eq(rbac_scope_check(longs, &err), ERR_INVALID);
}
END_TEST

START_TEST(malformed_checks)
{
	struct rbac_request req = {U, "u1", "proj/docs/read", "/projects/p1", 0};
	struct rbac_decision d;
	struct err err = {0};
	char longid[200];

	req.action = "proj/*/read";
	ck_assert_int_eq(rbac_check(idx, &req, &d, &err), ERR_INVALID);
	ck_assert_int_eq(d.allowed, 0);
	req.action = "proj//read";
	ck_assert_int_eq(rbac_check(idx, &req, &d, &err), ERR_INVALID);
	req.action = NULL;
	ck_assert_int_eq(rbac_check(idx, &req, &d, &err), ERR_INVALID);
	req.action = "proj/docs/read";
	req.scope = "projects/p1";
	ck_assert_int_eq(rbac_check(idx, &req, &d, &err), ERR_INVALID);
	ck_assert_int_eq(d.allowed, 0);
	req.scope = "/projects/p1/";
	ck_assert_int_eq(rbac_check(idx, &req, &d, &err), ERR_INVALID);
	req.scope = NULL;
	ck_assert_int_eq(rbac_check(idx, &req, &d, &err), ERR_INVALID);
	req.scope = "/projects/p1";
	req.principal_id = "";
	ck_assert_int_eq(rbac_check(idx, &req, &d, &err), ERR_INVALID);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	req.principal_id = longid;
	ck_assert_int_eq(rbac_check(idx, &req, &d, &err), ERR_INVALID);
	req.principal_id = "u1";
	req.principal_type = RBAC_PRINCIPAL_EVERYONE;
	ck_assert_int_eq(rbac_check(idx, &req, &d, &err), ERR_INVALID);
	req.principal_type = (enum rbac_principal_type)42;
	ck_assert_int_eq(rbac_check(idx, &req, &d, &err), ERR_INVALID);
	req.principal_type = U;
	ck_assert_int_eq(rbac_check(NULL, &req, &d, &err), ERR_INVALID);
	ck_assert_int_eq(rbac_check(idx, &req, &d, NULL), 0);
	ck_assert_int_eq(d.allowed, 1);
}
END_TEST

START_TEST(builder_errors)
{
	struct rbac_builder *b = rbac_builder_new(NULL);
	const char *const bad[] = {"a//b"};
	const char *const good[] = {"a/b/c"};
	const char *const bad_scope[] = {"x"};
	struct rbac_role_def r = {"r1", "R", 0, good, 1, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
	struct rbac_assignment_def a = {"a1", "nope", {U, "u1"}, "/"};
	struct rbac_deny_def d = {0};
	struct rbac_principal_ref everyone = {E, NULL};
	struct err err = {0};
	struct rbac_index *x;

	r.actions = bad;
	ck_assert_int_eq(rbac_builder_add_role(b, &r, &err), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "actions[0]"));
	r.actions = good;
	r.assignable_scopes = bad_scope;
	r.n_assignable_scopes = 1;
	ck_assert_int_eq(rbac_builder_add_role(b, &r, &err), ERR_INVALID);
	r.n_assignable_scopes = 0;
	r.name = "";
	ck_assert_int_eq(rbac_builder_add_role(b, &r, &err), ERR_INVALID);
	r.name = "R";
	r.id = "has space";
	ck_assert_int_eq(rbac_builder_add_role(b, &r, &err), ERR_INVALID);
	r.id = "r1";
	ck_assert_int_eq(rbac_builder_add_role(b, &r, &err), 0);
	a.scope = "nope";
	ck_assert_int_eq(rbac_builder_add_assignment(b, &a, &err), ERR_INVALID);
	a.scope = "/";
	a.principal.type = E;
	ck_assert_int_eq(rbac_builder_add_assignment(b, &a, &err), ERR_INVALID);
	a.principal.type = U;
	ck_assert_int_eq(rbac_builder_add_member(b, (struct rbac_principal_ref){A, "x"}, "g",
						 &err),
			 ERR_INVALID);
	d.id = "d1";
	d.name = "D";
	d.scope = "/";
	d.actions = good;
	d.n_actions = 1;
	ck_assert_int_eq(rbac_builder_add_deny(b, &d, &err), ERR_INVALID); /* no principal */
	d.principals = &everyone;
	d.n_principals = 1;
	d.excluded = &everyone;
	d.n_excluded = 1;
	ck_assert_int_eq(rbac_builder_add_deny(b, &d, &err), ERR_INVALID);
	d.n_excluded = 0;
	ck_assert_int_eq(rbac_builder_add_deny(b, &d, &err), 0);

	/* an unknown role */
	ck_assert_int_eq(rbac_builder_add_assignment(b, &a, &err), 0);
	x = rbac_builder_build(b, &err);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(err.code, ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	rbac_builder_free(b);

	/* a role id twice */
	b = rbac_builder_new(NULL);
	ck_assert_int_eq(rbac_builder_add_role(b, &r, &err), 0);
	ck_assert_int_eq(rbac_builder_add_role(b, &r, &err), 0);
	ck_assert_ptr_null(rbac_builder_build(b, &err));
	ck_assert_int_eq(err.code, ERR_EXISTS);
	rbac_builder_free(b);

	/* one id as a user and a group */
	b = rbac_builder_new(NULL);
	ck_assert_int_eq(rbac_builder_add_role(b, &r, &err), 0);
	a.role_id = "r1";
	ck_assert_int_eq(rbac_builder_add_assignment(b, &a, &err), 0);
	ck_assert_int_eq(rbac_builder_add_member(b, (struct rbac_principal_ref){G, "g"}, "u1",
						 &err),
			 0);
	ck_assert_ptr_null(rbac_builder_build(b, &err));
	ck_assert_int_eq(err.code, ERR_INVALID);
	rbac_builder_free(b);

	/* an empty index answers */
	b = rbac_builder_new(NULL);
	x = rbac_builder_build(b, &err);
	ck_assert_ptr_nonnull(x);
	{
		struct rbac_request req = {U, "u1", "a/b/c", "/x/y", 0};
		struct rbac_decision dd;
		ck_assert_int_eq(rbac_check(x, &req, &dd, &err), 0);
		ck_assert_int_eq(dd.allowed, 0);
		ck_assert_int_eq(dd.reason, RBAC_REASON_NO_GRANT);
	}
	rbac_index_free(x);
	rbac_builder_free(b);
}
END_TEST

static const struct {
	const char *pattern, *action;
	int match;
} globs[] = {
	{"*", "a/b/c", 1},	       {"*/read", "a/b/read", 1},     {"*/read", "a/b/reads", 0},
	{"a/*", "a/b/c", 1},	       {"a/*", "b/a/c", 0},	      {"a/*/c", "a/b/x/c", 1},
	{"a/*/c", "a/c", 0},	       {"*b*", "abc/d/e", 1},	      {"a*b*c", "aXXbYYc", 1},
	{"a*b*c", "aXXbYYd", 0},       {"A/B/C", "a/b/c", 1},	      {"a/b/c", "a/b/c/d", 0},
	{"a/b/c*", "a/b/c", 1},	       {"*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
	{"idp/*s/read", "idp/users/read", 1}, {"idp/*s/read", "idp/s/read", 1}, {"idp/*s/read", "idp/x/read", 0},
};

START_TEST(glob)
{
	for (size_t i = 0; i < N(globs); i++)
		ck_assert_msg(rbac_pattern_match(globs[i].pattern, globs[i].action) == globs[i].match,
			      "%s ~ %s", globs[i].pattern, globs[i].action);
	ck_assert_int_eq(rbac_scope_within("/a/b", "/a"), 1);
	ck_assert_int_eq(rbac_scope_within("/a/b", "/"), 1);
	ck_assert_int_eq(rbac_scope_within("/A/b", "/a"), 1);
	ck_assert_int_eq(rbac_scope_within("/a", "/a"), 1);
	ck_assert_int_eq(rbac_scope_within("/ab", "/a"), 0);
	ck_assert_int_eq(rbac_scope_within("/a", "/a/b"), 0);
	ck_assert_int_eq(rbac_scope_within("/", "/a"), 0);
}
END_TEST

struct collect {
	char ids[32][64];
	int n, denies;
};

static int collect_grant(void *ctx, const struct rbac_grant *g)
{
	struct collect *c = ctx;

	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s", g->assignment_id);
	return 0;
}

static int collect_deny(void *ctx, const struct rbac_deny_info *d)
{
	struct collect *c = ctx;

	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s", d->deny_id);
	c->denies++;
	return 0;
}

START_TEST(effective)
{
	struct collect c = {0};
	struct err err = {0};

	/* u2 in g3 in g2 in g1: writer from g1 at /projects, reader from g3 at /deep/x */
	ck_assert_int_eq(rbac_effective(idx, U, "u2", "/projects/p1/locked", collect_grant,
					collect_deny, &c, &err),
			 0);
	ck_assert_int_eq(c.n, 2);
	ck_assert_str_eq(c.ids[0], "a-g1-writer");
	ck_assert_str_eq(c.ids[1], "d-g3-blobwrite"); /* d-locked excludes g2, u2 is in it */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(rbac_effective(idx, U, "u2", NULL, collect_grant, collect_deny, &c, &err),
			 0);
	ck_assert_int_eq(c.n, 3);
	ck_assert_str_eq(c.ids[0], "a-g3-reader"); /* nearest group first */
	ck_assert_str_eq(c.ids[1], "a-g1-writer");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(rbac_effective(idx, U, "u1", "/projects/p1/sub/x", collect_grant,
					collect_deny, &c, &err),
			 0);
	ck_assert_int_eq(c.n, 2);
	ck_assert_str_eq(c.ids[0], "a-u1-reader");
	ck_assert_str_eq(c.ids[1], "d-u1-reads");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(rbac_effective(idx, U, "u1", "/", collect_grant, collect_deny, &c, &err),
			 0);
	ck_assert_int_eq(c.n, 0);
	ck_assert_int_eq(rbac_effective(idx, U, "u1", "bad", collect_grant, NULL, &c, &err),
			 ERR_INVALID);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(rbac_effective(idx, U, "stranger", "/projects/p1/locked", collect_grant,
					collect_deny, &c, &err),
			 0);
	ck_assert_int_eq(c.denies, 1);
}
END_TEST

START_TEST(stats)
{
	struct rbac_index_stats s;

	rbac_index_stats(idx, &s);
	ck_assert_uint_eq(s.roles, RBAC_BUILTIN_COUNT + N(custom_roles));
	ck_assert_uint_eq(s.assignments, N(asgs));
	ck_assert_uint_eq(s.denies, 4);
	ck_assert_uint_eq(s.memberships, N(members));
	ck_assert_uint_gt(s.bytes, 0);
	for (int i = 0; i < RBAC_BUILTIN_COUNT; i++)
		ck_assert_ptr_nonnull(rbac_builtin((enum rbac_builtin)i));
	ck_assert_ptr_null(rbac_builtin(RBAC_BUILTIN_COUNT));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rbac_eval");
	TCase *tc = tcase_create("semantics");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, table, 0, (int)N(cases));
	tcase_add_test(tc, reason_names_everything);
	tcase_add_test(tc, malformed_patterns);
	tcase_add_test(tc, malformed_scopes);
	tcase_add_test(tc, malformed_checks);
	tcase_add_test(tc, builder_errors);
	tcase_add_test(tc, glob);
	tcase_add_test(tc, effective);
	tcase_add_test(tc, stats);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
