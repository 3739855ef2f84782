/*
 * token_world: the role data behind bench/token's /authz/check rows.
 *
 *   token_world STORE TENANT OUTDIR [--users N] [--groups N] [--projects N]
 *               [--assignments N] [--denies N] [--checks N] [--batch N] [--seed N]
 *
 * Fills an existing tenant of a real store (made by idpctl, so the built-in
 * roles are seeded) with a mid-size organisation, deterministically from
 * --seed: users, groups nested four to a parent with every user in two of
 * them, six custom roles over customer actions, role assignments at every
 * depth of a /projects/pN/envs/E/resources/rN scope tree (most of them to
 * groups, as admins assign), and deny assignments: everyone but one group
 * kept from a project's secrets, departments kept off production.  Then writes the request bodies
 * the wrk scripts send:
 *
 *   OUTDIR/checks.txt   one /authz/check body per line (one check)
 *   OUTDIR/batch.txt    one body per line, {"checks": [--batch checks]}
 *
 * Checks ask about random users, actions and leaf scopes, so they land on
 * allows through users and nested groups, denies and plain "nothing
 * granted" in proportions set by the data, not picked by hand.  Writes go
 * straight through dir.h in one transaction; the checked, audited path
 * (idpctl, the admin API) is what the tests exercise, not what this times.
 */
#include "dir.h"
#include "err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct world_cfg {
	long users, groups, projects, assignments, denies, checks, batch;
	uint64_t seed;
};

static uint64_t world_rng;

/* xorshift64*: reproducible across runs and machines. */
static uint64_t world_next(void)
{
	world_rng ^= world_rng >> 12;
	world_rng ^= world_rng << 25;
	world_rng ^= world_rng >> 27;
	return world_rng * 0x2545F4914F6CDD1DULL;
}

static long world_rnd(long n)
{
	return (long)(world_next() % (uint64_t)n);
}

static void world_die(const char *what, const struct err *err)
{
	fprintf(stderr, "token_world: %s: %s\n", what, err->msg);
	exit(1);
}

static void *world_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		fprintf(stderr, "token_world: out of memory\n");
		exit(1);
	}
	return p;
}

/* Customer actions: what apps of the tenant ask about. */
static const char *const world_actions[] = {
        "docs/files/read",  "docs/files/write",      "docs/files/delete", "docs/folders/read",
        "ci/pipelines/run", "ci/pipelines/read",     "ci/runners/read",   "kv/secrets/read",
        "kv/secrets/write", "billing/invoices/read", "net/vnets/write",   "net/vnets/read",
};
#define WORLD_NACTIONS (sizeof(world_actions) / sizeof(world_actions[0]))

static const char *const world_envs[] = {"dev", "test", "prod"};

struct world_role {
	const char *name, *actions, *not_actions;
};

static const struct world_role world_roles[] = {
        {"Docs Reader", "[\"docs/files/read\",\"docs/folders/read\"]", "[]"},
        {"Docs Editor", "[\"docs/*\"]", "[\"docs/files/delete\"]"},
        {"Build Operator", "[\"ci/pipelines/*\",\"ci/runners/read\"]", "[]"},
        {"Secrets Officer", "[\"kv/secrets/*\"]", "[]"},
        {"Network Contributor", "[\"net/*\"]", "[\"net/vnets/delete\"]"},
        {"Project Viewer", "[\"*/read\"]", "[\"kv/*\"]"},
};
#define WORLD_NROLES (sizeof(world_roles) / sizeof(world_roles[0]))

/* A scope at a random depth: /projects/pN[/envs/E[/resources/rN]] (or / now and then). */
static void world_scope(const struct world_cfg *c, char *out, size_t cap, int leaf)
{
	long p = world_rnd(c->projects);
	int depth = leaf ? 3 : (int)world_rnd(100) < 2 ? 0 : 1 + (int)world_rnd(3);

	if (depth == 0)
		snprintf(out, cap, "/");
	else if (depth == 1)
		snprintf(out, cap, "/projects/p%ld", p);
	else if (depth == 2)
		snprintf(out, cap, "/projects/p%ld/envs/%s", p, world_envs[world_rnd(3)]);
	else
		snprintf(out, cap, "/projects/p%ld/envs/%s/resources/r%ld", p,
		         world_envs[world_rnd(3)], world_rnd(10));
}

static void world_fill(struct dir *d, const char *tid, const struct world_cfg *c,
                       char (*uid)[DIR_ID_MAX])
{
	char(*gid)[DIR_ID_MAX] = world_calloc((size_t)c->groups, DIR_ID_MAX);
	char rid[WORLD_NROLES][DIR_ID_MAX];
	struct dir_role *role = world_calloc(1, sizeof(*role));
	struct dir_deny_assignment *x = world_calloc(1, sizeof(*x));
	struct err err = {0};

	if (dir_begin(d, &err) != 0)
		world_die("begin", &err);
	for (long u = 0; u < c->users; u++) {
		struct dir_user du;
		memset(&du, 0, sizeof(du));
		snprintf(du.upn, sizeof(du.upn), "user%ld@bench.test", u);
		du.enabled = 1;
		if (dir_user_create(d, tid, &du, NULL, &err) != 0)
			world_die("user", &err);
		memcpy(uid[u], du.id, DIR_ID_MAX);
	}
	for (long g = 0; g < c->groups; g++) {
		struct dir_group dg;
		memset(&dg, 0, sizeof(dg));
		snprintf(dg.name, sizeof(dg.name), "group%ld", g);
		if (dir_group_create(d, tid, &dg, &err) != 0)
			world_die("group", &err);
		memcpy(gid[g], dg.id, DIR_ID_MAX);
		/* a tree four wide: group g sits in group (g - 1) / 4 */
		if (g > 0 && dir_group_add_member(d, tid, gid[(g - 1) / 4], DIR_MEMBER_GROUP,
		                                  gid[g], &err) != 0)
			world_die("nest", &err);
	}
	for (long u = 0; u < c->users; u++)
		for (int k = 0; k < 2; k++)
			if (dir_group_add_member(d, tid, gid[world_rnd(c->groups)], DIR_MEMBER_USER,
			                         uid[u], &err) != 0)
				world_die("member", &err);
	for (size_t i = 0; i < WORLD_NROLES; i++) {
		memset(role, 0, sizeof(*role));
		snprintf(role->name, sizeof(role->name), "%s", world_roles[i].name);
		snprintf(role->actions, sizeof(role->actions), "%s", world_roles[i].actions);
		snprintf(role->not_actions, sizeof(role->not_actions), "%s",
		         world_roles[i].not_actions);
		if (dir_role_create(d, tid, role, &err) != 0)
			world_die("role", &err);
		memcpy(rid[i], role->id, DIR_ID_MAX);
	}
	for (long i = 0; i < c->assignments; i++) {
		struct dir_role_assignment a;
		int to_group = world_rnd(10) < 7;
		memset(&a, 0, sizeof(a));
		memcpy(a.role_id, rid[world_rnd((long)WORLD_NROLES)], DIR_ID_MAX);
		a.principal_type = to_group ? DIR_PRINCIPAL_GROUP : DIR_PRINCIPAL_USER;
		memcpy(a.principal_id,
		       to_group ? gid[world_rnd(c->groups)] : uid[world_rnd(c->users)], DIR_ID_MAX);
		world_scope(c, a.scope, sizeof(a.scope), 0);
		/* the generator may repeat (role, principal, scope): the store keeps one */
		if (dir_role_assignment_create(d, tid, &a, &err) != 0 && err.code != ERR_EXISTS)
			world_die("assignment", &err);
	}
	for (long i = 0; i < c->denies; i++) {
		long p = world_rnd(c->projects), top = c->groups > 20 ? 20 : c->groups - 1;
		memset(x, 0, sizeof(x[0]));
		snprintf(x->name, sizeof(x->name), "deny%ld", i);
		if (i % 2 == 0) {
			/* nobody writes secrets in this project, but one group of admins */
			snprintf(x->scope, sizeof(x->scope), "/projects/p%ld", p);
			snprintf(x->principals, sizeof(x->principals), "[{\"type\":\"everyone\"}]");
			snprintf(x->excluded_principals, sizeof(x->excluded_principals),
			         "[{\"type\":\"group\",\"id\":\"%s\"}]", gid[world_rnd(c->groups)]);
			snprintf(x->actions, sizeof(x->actions), "[\"kv/*\"]");
		} else {
			/* a department (a group near the top of the tree) keeps off production */
			snprintf(x->scope, sizeof(x->scope), "/projects/p%ld/envs/prod", p);
			snprintf(x->principals, sizeof(x->principals),
			         "[{\"type\":\"group\",\"id\":\"%s\"}]",
			         gid[top > 0 ? 1 + world_rnd(top) : 0]);
			snprintf(x->excluded_principals, sizeof(x->excluded_principals), "[]");
			snprintf(x->actions, sizeof(x->actions),
			         "[\"docs/files/delete\",\"net/*/write\"]");
		}
		if (dir_deny_create(d, tid, x, &err) != 0)
			world_die("deny", &err);
	}
	if (dir_commit(d, &err) != 0)
		world_die("commit", &err);
	free(gid);
	free(role);
	free(x);
}

/* One check as a JSON object (ids, actions and scopes need no escaping). */
static void world_check(FILE *f, const struct world_cfg *c, char (*uid)[DIR_ID_MAX])
{
	char scope[DIR_SCOPE_MAX];

	world_scope(c, scope, sizeof(scope), 1);
	fprintf(f,
	        "{\"principalType\":\"user\",\"principalId\":\"%s\",\"action\":\"%s\",\"scope\":\"%"
	        "s\"}",
	        uid[world_rnd(c->users)], world_actions[world_rnd((long)WORLD_NACTIONS)], scope);
}

static void world_requests(const char *outdir, const struct world_cfg *c, char (*uid)[DIR_ID_MAX])
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/checks.txt", outdir);
	if ((f = fopen(path, "we")) == NULL) {
		perror(path);
		exit(1);
	}
	for (long i = 0; i < c->checks; i++) {
		world_check(f, c, uid);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/batch.txt", outdir);
	if ((f = fopen(path, "we")) == NULL) {
		perror(path);
		exit(1);
	}
	/* as many checks in batches as single ones, so both rows see the same mix */
	for (long i = 0; i < (c->checks + c->batch - 1) / c->batch; i++) {
		fputs("{\"checks\":[", f);
		for (long k = 0; k < c->batch; k++) {
			if (k > 0)
				fputc(',', f);
			world_check(f, c, uid);
		}
		fputs("]}\n", f);
	}
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static int world_usage(void)
{
	fprintf(stderr,
	        "usage: token_world STORE TENANT OUTDIR [--users N] [--groups N] "
	        "[--projects N]\n"
	        "                   [--assignments N] [--denies N] [--checks N] [--batch N] "
	        "[--seed N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct world_cfg c = {10000, 200, 100, 2000, 20, 10000, 100, 42};
	struct dir_options o;
	struct dir_tenant t;
	struct err err = {0};
	struct dir *d;
	char(*uid)[DIR_ID_MAX];

	if (argc < 4)
		return world_usage();
	for (int i = 4; i < argc; i++) {
		const char *opt = argv[i];
		long v;
		char *end;
		if (i + 1 >= argc)
			return world_usage();
		v = strtol(argv[++i], &end, 10);
		if (*end != '\0' || v < 1 || v > 10000000)
			return world_usage();
		if (strcmp(opt, "--users") == 0)
			c.users = v;
		else if (strcmp(opt, "--groups") == 0)
			c.groups = v;
		else if (strcmp(opt, "--projects") == 0)
			c.projects = v;
		else if (strcmp(opt, "--assignments") == 0)
			c.assignments = v;
		else if (strcmp(opt, "--denies") == 0)
			c.denies = v;
		else if (strcmp(opt, "--checks") == 0)
			c.checks = v;
		else if (strcmp(opt, "--batch") == 0 && v <= 1000)
			c.batch = v;
		else if (strcmp(opt, "--seed") == 0)
			c.seed = (uint64_t)v;
		else
			return world_usage();
	}
	world_rng = c.seed * 0x9E3779B97F4A7C15ULL + 1;
	memset(&o, 0, sizeof(o));
	o.path = argv[1];
	if ((d = dir_open(&o, &err)) == NULL)
		world_die(argv[1], &err);
	if (dir_tenant_get_by_name(d, argv[2], &t, &err) != 0)
		world_die(argv[2], &err);
	uid = world_calloc((size_t)c.users, DIR_ID_MAX);
	world_fill(d, t.id, &c, uid);
	dir_close(d);
	world_requests(argv[3], &c, uid);
	free(uid);
	printf("%ld users, %ld groups (nested 4 wide), %zu custom roles, %ld assignments, "
	       "%ld deny assignments\n",
	       c.users, c.groups, WORLD_NROLES, c.assignments, c.denies);
	return 0;
}
