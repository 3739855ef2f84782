/*
 * rbac_bench: the evaluator at the size of a large tenant.
 *
 * Generates one tenant (deterministically, from --seed): 100k users, 10k
 * groups nested 5 deep (each user in 2 groups), 1k apps, 500 roles (the 4
 * built-ins and 496 custom ones with wildcard patterns, some notActions
 * and data actions), 200k role assignments over a 6-level scope tree and
 * 1k deny assignments (a tenth of them on everyone, with exclusions).
 * Then measures, on one core:
 *
 *  - index build time (builder + build, from memory) and its memory;
 *  - checks per second over a fixed list of requests (half of them shaped
 *    to hit an assignment of the principal, so both answers are common),
 *    and p50/p99 latency from individually timed checks;
 *  - with --store FILE: the same tenant written into a real store, and the
 *    time and memory of rbac_store_load() from it;
 *  - with --casbin-dir DIR: the same data as a casbin model and policy
 *    (RBAC with domains), the requests and our answers, for casbin_bench.mjs
 *    (run.sh runs both and prints the ratio).
 *
 * Prints a table; never fails on time.
 *
 *   rbac_bench [--users N] [--groups N] [--apps N] [--roles N]
 *              [--assignments N] [--denies N] [--checks N] [--seed N]
 *              [--store FILE] [--casbin-dir DIR] [--casbin-requests N]
 */
#include "rbac_bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LEVELS      5  /* group nesting */
#define SCOPE_DEPTH 6
#define FANOUT      10
#define PROVIDERS   20
#define TYPES       10
#define NOPS        4

static const char *const ops[NOPS] = {"read", "write", "delete", "action"};
static const char *const seg_names[SCOPE_DEPTH] = {"sub", "rg", "res", "x", "y", "z"};

/* ---- random ------------------------------------------------------------ */

static unsigned long long rng_state;

static unsigned long long rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static long rnd(long n)
{
	return (long)(rng_next() % (unsigned long long)n);
}

/* ---- the generated tenant ---------------------------------------------- */

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		fprintf(stderr, "rbac_bench: out of memory\n");
		exit(1);
	}
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL) {
		fprintf(stderr, "rbac_bench: out of memory\n");
		exit(1);
	}
	return p;
}

void plist_add(struct plist *l, const char *s)
{
	l->v = realloc(l->v, (size_t)(l->n + 1) * sizeof(*l->v));
	if (l->v == NULL)
		exit(1);
	l->v[l->n++] = xstrdup(s);
}

void pid(int type, long i, char *out, size_t cap)
{
	snprintf(out, cap, "%s%ld", type == RBAC_PRINCIPAL_USER ? "u" : type == RBAC_PRINCIPAL_GROUP ? "g" : "app", i);
}

static void rand_scope(char *out, size_t cap, int depth)
{
	size_t n = 0;

	if (depth == 0) {
		snprintf(out, cap, "/");
		return;
	}
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(out + n, cap - n, "/%s%ld", seg_names[i], rnd(FANOUT));
}

/* Extend a scope with random segments down to full depth. */
static void extend_scope(const char *base, char *out, size_t cap)
{
	int depth = 0;
	size_t n;

	if (strcmp(base, "/") == 0) {
		rand_scope(out, cap, SCOPE_DEPTH);
		return;
	}
	for (const char *p = base; *p; p++)
		depth += *p == '/';
	n = (size_t)snprintf(out, cap, "%s", base);
	for (int i = depth; i < SCOPE_DEPTH; i++)
		n += (size_t)snprintf(out + n, cap - n, "/%s%ld", seg_names[i], rnd(FANOUT));
}

static int assignment_depth(void)
{
	long r = rnd(1000);

	return r < 5 ? 0 : r < 25 ? 1 : r < 125 ? 2 : r < 425 ? 3 : r < 775 ? 4 : r < 925 ? 5 : 6;
}

static void rand_action(char *out, size_t cap)
{
	snprintf(out, cap, "prov%ld/type%ld/%s", rnd(PROVIDERS), rnd(TYPES), ops[rnd(NOPS)]);
}

static void rand_pattern(char *out, size_t cap)
{
	long r = rnd(100), p = rnd(PROVIDERS), t = rnd(TYPES);

	if (r < 10)
		snprintf(out, cap, "prov%ld/*", p);
	else if (r < 50)
		snprintf(out, cap, "prov%ld/type%ld/*", p, t);
	else if (r < 85)
		snprintf(out, cap, "prov%ld/type%ld/%s", p, t, ops[rnd(NOPS)]);
	else if (r < 90)
		snprintf(out, cap, "*/read");
	else
		snprintf(out, cap, "prov%ld/*/read", p);
}

/*
 * A concrete action a pattern matches: each '*' (a whole segment in the
 * patterns generated here) replaced by vocabulary of the right shape.
 */
static void concrete(const char *pattern, char *out, size_t cap)
{
	char segs[3][32];
	int n = 0;
	size_t len = 0;
	const char *p = pattern;

	if (strcmp(pattern, "*") == 0) {
		rand_action(out, cap);
		return;
	}
	while (n < 3) {
		size_t k = strcspn(p, "/");
		snprintf(segs[n++], sizeof(segs[0]), "%.*s", (int)k, p);
		if (p[k] == '\0')
			break;
		p += k + 1;
	}
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		const char *piece = segs[i];
		char tmp[48];
		if (strcmp(segs[i], "*") == 0) {
			if (i == 0 && n == 2)
				snprintf(tmp, sizeof(tmp), "prov%ld/type%ld", rnd(PROVIDERS), rnd(TYPES));
			else if (i == 1 && n == 2)
				snprintf(tmp, sizeof(tmp), "type%ld/%s", rnd(TYPES), ops[rnd(NOPS)]);
			else if (i == 1)
				snprintf(tmp, sizeof(tmp), "type%ld", rnd(TYPES));
			else
				snprintf(tmp, sizeof(tmp), "%s", ops[rnd(NOPS)]);
			piece = tmp;
		}
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "/" : "", piece);
	}
}

static void gen_tenant(const struct cfg *c, struct tenant *t)
{
	long level_start[LEVELS + 1], per_level[LEVELS];

	t->roles = xcalloc((size_t)c->roles, sizeof(*t->roles));
	t->asgs = xcalloc((size_t)c->assignments, sizeof(*t->asgs));
	t->denies = xcalloc((size_t)c->denies, sizeof(*t->denies));
	t->group_parent = xcalloc((size_t)c->groups, sizeof(long));
	t->group_level = xcalloc((size_t)c->groups, sizeof(int));
	t->user_groups = xcalloc((size_t)c->users, sizeof(*t->user_groups));

	/* roles: the built-ins, then custom ones */
	for (long i = 0; i < c->roles; i++) {
		struct role *r = &t->roles[i];
		char p[64];
		if (i < RBAC_BUILTIN_COUNT) {
			const struct rbac_builtin_def *b = rbac_builtin((enum rbac_builtin)i);
			snprintf(r->id, sizeof(r->id), "builtin-%ld", i);
			snprintf(r->name, sizeof(r->name), "%s", b->name);
			r->builtin = 1;
			for (size_t k = 0; k < b->n_actions; k++)
				plist_add(&r->l[0], b->actions[k]);
			for (size_t k = 0; k < b->n_not_actions; k++)
				plist_add(&r->l[1], b->not_actions[k]);
			continue;
		}
		snprintf(r->id, sizeof(r->id), "role-%ld", i);
		snprintf(r->name, sizeof(r->name), "Custom Role %ld", i);
		for (long k = 2 + rnd(5); k > 0; k--) {
			rand_pattern(p, sizeof(p));
			plist_add(&r->l[0], p);
		}
		if (rnd(10) < 3) {
			snprintf(p, sizeof(p), "prov%ld/type%ld/delete", rnd(PROVIDERS), rnd(TYPES));
			plist_add(&r->l[1], p);
		}
		if (rnd(10) < 2) {
			snprintf(p, sizeof(p), "prov%ld/blobs/*", rnd(PROVIDERS));
			plist_add(&r->l[2], p);
			snprintf(p, sizeof(p), "prov%ld/blobs/delete", rnd(PROVIDERS));
			plist_add(&r->l[3], p);
		}
	}

	/* groups: 5 levels, each level 5 times the one above (16, 80, 400, 2000, rest) */
	per_level[0] = c->groups / 625 > 0 ? c->groups / 625 : 1;
	for (int l = 1; l < LEVELS; l++)
		per_level[l] = per_level[l - 1] * 5;
	per_level[LEVELS - 1] = c->groups;
	for (int l = 0; l < LEVELS - 1; l++)
		per_level[LEVELS - 1] -= per_level[l];
	level_start[0] = 0;
	for (int l = 0; l < LEVELS; l++)
		level_start[l + 1] = level_start[l] + per_level[l];
	for (int l = 0; l < LEVELS; l++)
		for (long g = level_start[l]; g < level_start[l + 1]; g++) {
			t->group_level[g] = l;
			t->group_parent[g] =
				l == 0 ? -1 : level_start[l - 1] + rnd(per_level[l - 1]);
		}
	/* users: two groups each, mostly deep ones */
	for (long u = 0; u < c->users; u++)
		for (int k = 0; k < 2; k++) {
			int l = rnd(10) < 7 ? LEVELS - 1 : (int)(2 + rnd(LEVELS - 2));
			t->user_groups[u][k] = level_start[l] + rnd(per_level[l]);
		}
	for (long u = 0; u < c->users; u++)
		if (t->user_groups[u][0] == t->user_groups[u][1])
			t->user_groups[u][1] = -1;

	/* assignments: 70% users, 25% groups, 5% apps; a tenth built-in roles */
	for (long i = 0; i < c->assignments; i++) {
		struct asg *a = &t->asgs[i];
		long r = rnd(100);
		snprintf(a->id, sizeof(a->id), "asg-%ld", i);
		if (rnd(10) == 0)
			a->role = rnd(100) < 70 ? RBAC_BUILTIN_READER : (int)rnd(RBAC_BUILTIN_COUNT);
		else
			a->role = (int)(RBAC_BUILTIN_COUNT + rnd(c->roles - RBAC_BUILTIN_COUNT));
		a->ptype = r < 70 ? RBAC_PRINCIPAL_USER : r < 95 ? RBAC_PRINCIPAL_GROUP
								 : RBAC_PRINCIPAL_APP;
		a->principal = rnd(a->ptype == RBAC_PRINCIPAL_USER    ? c->users
				   : a->ptype == RBAC_PRINCIPAL_GROUP ? c->groups
								      : c->apps);
		rand_scope(a->scope, sizeof(a->scope), assignment_depth());
	}

	/* deny assignments */
	for (long i = 0; i < c->denies; i++) {
		struct deny *d = &t->denies[i];
		char p[64];
		snprintf(d->id, sizeof(d->id), "deny-%ld", i);
		snprintf(d->name, sizeof(d->name), "Deny %ld", i);
		d->everyone = rnd(10) == 0;
		if (!d->everyone) {
			d->n_prin = 1;
			d->ptype[0] = rnd(2) ? RBAC_PRINCIPAL_USER : RBAC_PRINCIPAL_GROUP;
			d->prin[0] = rnd(d->ptype[0] == RBAC_PRINCIPAL_USER ? c->users : c->groups);
		}
		d->n_excl = d->everyone ? 1 + (int)rnd(2) : (int)rnd(2);
		for (int k = 0; k < d->n_excl; k++) {
			d->xtype[k] = RBAC_PRINCIPAL_GROUP;
			d->excl[k] = rnd(c->groups);
		}
		snprintf(p, sizeof(p), "prov%ld/type%ld/%s", rnd(PROVIDERS), rnd(TYPES),
			 rnd(2) ? "delete" : "write");
		plist_add(&d->l[0], rnd(20) == 0 ? "*/delete" : p);
		rand_scope(d->scope, sizeof(d->scope), (int)(2 + rnd(4)));
	}

	/* per-principal assignment lists */
	{
		long n[3] = {c->users, c->groups, c->apps};
		long **first[3] = {&t->asg_first_u, &t->asg_first_g, &t->asg_first_a};
		long **list[3] = {&t->asg_list_u, &t->asg_list_g, &t->asg_list_a};
		for (int k = 0; k < 3; k++) {
			long *f = xcalloc((size_t)n[k] + 2, sizeof(long)), *fill;
			long *l = xcalloc((size_t)c->assignments, sizeof(long));
			for (long i = 0; i < c->assignments; i++)
				if (t->asgs[i].ptype == k)
					f[t->asgs[i].principal + 1]++;
			for (long i = 0; i < n[k]; i++)
				f[i + 1] += f[i];
			fill = xcalloc((size_t)n[k] + 1, sizeof(long));
			for (long i = 0; i < c->assignments; i++)
				if (t->asgs[i].ptype == k) {
					long p = t->asgs[i].principal;
					l[f[p] + fill[p]++] = i;
				}
			free(fill);
			*first[k] = f;
			*list[k] = l;
		}
	}
}

/* Pick an assignment that reaches the principal (own or through groups), or -1. */
static long reaching_assignment(const struct tenant *t, int ptype, long p)
{
	long cand[64];
	int n = 0;

	if (ptype == RBAC_PRINCIPAL_APP) {
		for (long i = t->asg_first_a[p]; i < t->asg_first_a[p + 1] && n < 64; i++)
			cand[n++] = t->asg_list_a[i];
	} else {
		for (long i = t->asg_first_u[p]; i < t->asg_first_u[p + 1] && n < 64; i++)
			cand[n++] = t->asg_list_u[i];
		for (int k = 0; k < 2; k++)
			for (long g = t->user_groups[p][k]; g >= 0; g = t->group_parent[g])
				for (long i = t->asg_first_g[g]; i < t->asg_first_g[g + 1] && n < 64; i++)
					cand[n++] = t->asg_list_g[i];
	}
	return n == 0 ? -1 : cand[rnd(n)];
}

static void gen_requests(const struct cfg *c, const struct tenant *t, struct request *rq, long n)
{
	for (long i = 0; i < n; i++) {
		struct request *q = &rq[i];
		long a;
		q->ptype = rnd(10) == 0 ? RBAC_PRINCIPAL_APP : RBAC_PRINCIPAL_USER;
		q->principal = rnd(q->ptype == RBAC_PRINCIPAL_APP ? c->apps : c->users);
		q->data = 0;
		if (rnd(2) == 0 && (a = reaching_assignment(t, q->ptype, q->principal)) >= 0) {
			const struct role *r = &t->roles[t->asgs[a].role];
			extend_scope(t->asgs[a].scope, q->scope, sizeof(q->scope));
			if (r->l[2].n > 0 && rnd(4) == 0) {
				q->data = 1;
				concrete(r->l[2].v[rnd(r->l[2].n)], q->action, sizeof(q->action));
			} else {
				concrete(r->l[0].v[rnd(r->l[0].n)], q->action, sizeof(q->action));
			}
		} else {
			rand_scope(q->scope, sizeof(q->scope), SCOPE_DEPTH);
			rand_action(q->action, sizeof(q->action));
		}
	}
}

/* ---- building ---------------------------------------------------------- */

static struct rbac_index *build_index(const struct cfg *c, const struct tenant *t)
{
	struct rbac_builder *b = rbac_builder_new(NULL);
	static const char *const root[] = {"/"};
	struct rbac_index *idx;
	struct err err = {0};
	char id[32], gid[32];

	for (long i = 0; i < c->roles; i++) {
		const struct role *r = &t->roles[i];
		struct rbac_role_def def = {0};
		def.id = r->id;
		def.name = r->name;
		def.builtin = r->builtin;
		def.actions = (const char *const *)r->l[0].v;
		def.n_actions = (size_t)r->l[0].n;
		def.not_actions = (const char *const *)r->l[1].v;
		def.n_not_actions = (size_t)r->l[1].n;
		def.data_actions = (const char *const *)r->l[2].v;
		def.n_data_actions = (size_t)r->l[2].n;
		def.not_data_actions = (const char *const *)r->l[3].v;
		def.n_not_data_actions = (size_t)r->l[3].n;
		def.assignable_scopes = root;
		def.n_assignable_scopes = 1;
		if (rbac_builder_add_role(b, &def, &err) != 0)
			goto fail;
	}
	for (long i = 0; i < c->assignments; i++) {
		const struct asg *a = &t->asgs[i];
		struct rbac_assignment_def def = {a->id, t->roles[a->role].id,
						  {(enum rbac_principal_type)a->ptype, id}, a->scope};
		pid(a->ptype, a->principal, id, sizeof(id));
		if (rbac_builder_add_assignment(b, &def, &err) != 0)
			goto fail;
	}
	for (long i = 0; i < c->denies; i++) {
		const struct deny *d = &t->denies[i];
		struct rbac_principal_ref prins[2], excl[2];
		char pids[4][32];
		struct rbac_deny_def def = {0};
		size_t np = 0;
		if (d->everyone)
			prins[np++] = (struct rbac_principal_ref){RBAC_PRINCIPAL_EVERYONE, NULL};
		for (int k = 0; k < d->n_prin; k++) {
			pid(d->ptype[k], d->prin[k], pids[k], sizeof(pids[k]));
			prins[np++] = (struct rbac_principal_ref){(enum rbac_principal_type)d->ptype[k],
								  pids[k]};
		}
		for (int k = 0; k < d->n_excl; k++) {
			pid(d->xtype[k], d->excl[k], pids[2 + k], sizeof(pids[0]));
			excl[k] = (struct rbac_principal_ref){(enum rbac_principal_type)d->xtype[k],
							      pids[2 + k]};
		}
		def.id = d->id;
		def.name = d->name;
		def.scope = d->scope;
		def.principals = prins;
		def.n_principals = np;
		def.excluded = excl;
		def.n_excluded = (size_t)d->n_excl;
		def.actions = (const char *const *)d->l[0].v;
		def.n_actions = (size_t)d->l[0].n;
		if (rbac_builder_add_deny(b, &def, &err) != 0)
			goto fail;
	}
	for (long g = 0; g < c->groups; g++) {
		if (t->group_parent[g] < 0)
			continue;
		pid(RBAC_PRINCIPAL_GROUP, g, id, sizeof(id));
		pid(RBAC_PRINCIPAL_GROUP, t->group_parent[g], gid, sizeof(gid));
		if (rbac_builder_add_member(b, (struct rbac_principal_ref){RBAC_PRINCIPAL_GROUP, id},
					    gid, &err) != 0)
			goto fail;
	}
	for (long u = 0; u < c->users; u++)
		for (int k = 0; k < 2; k++) {
			if (t->user_groups[u][k] < 0)
				continue;
			pid(RBAC_PRINCIPAL_USER, u, id, sizeof(id));
			pid(RBAC_PRINCIPAL_GROUP, t->user_groups[u][k], gid, sizeof(gid));
			if (rbac_builder_add_member(
				    b, (struct rbac_principal_ref){RBAC_PRINCIPAL_USER, id}, gid,
				    &err) != 0)
				goto fail;
		}
	idx = rbac_builder_build(b, &err);
	rbac_builder_free(b);
	if (idx == NULL)
		goto fail;
	return idx;
fail:
	fprintf(stderr, "rbac_bench: build: %s\n", err.msg);
	exit(1);
}

/* ---- measuring --------------------------------------------------------- */

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: what a check costs, whatever else runs on the machine. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	long pages = 0, rss = 0;

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct cfg c = {100000, 10000, 1000, 500, 200000, 1000, 2000000, 2000, 42, NULL, NULL};
	struct tenant t = {0};
	struct rbac_index *idx;
	struct rbac_index_stats st;
	struct prepared *pr;
	struct rbac_decision *dec;
	double *lat, t0, c0, t_gen, t_build, t_checks, c_checks, cps;
	long nreq = 200000, rss0, rss1, allowed = 0, by_deny = 0;
	const long lat_samples = 200000;

	for (int i = 1; i < argc; i += 2) { /* every option takes a value */
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long *target = NULL;
		if (strcmp(o, "--users") == 0)
			target = &c.users;
		else if (strcmp(o, "--groups") == 0)
			target = &c.groups;
		else if (strcmp(o, "--apps") == 0)
			target = &c.apps;
		else if (strcmp(o, "--roles") == 0)
			target = &c.roles;
		else if (strcmp(o, "--assignments") == 0)
			target = &c.assignments;
		else if (strcmp(o, "--denies") == 0)
			target = &c.denies;
		else if (strcmp(o, "--checks") == 0)
			target = &c.checks;
		else if (strcmp(o, "--casbin-requests") == 0)
			target = &c.casbin_requests;
		if (v == NULL) {
			fprintf(stderr, "rbac_bench: %s needs a value\n", o);
			return 2;
		}
		if (target != NULL)
			*target = atol(v);
		else if (strcmp(o, "--seed") == 0)
			c.seed = strtoull(v, NULL, 10);
		else if (strcmp(o, "--store") == 0)
			c.store = v;
		else if (strcmp(o, "--casbin-dir") == 0)
			c.casbin_dir = v;
		else {
			fprintf(stderr, "rbac_bench: unknown option %s\n", o);
			return 2;
		}
	}
	if (c.users < 1 || c.groups < 625 || c.apps < 1 || c.roles <= RBAC_BUILTIN_COUNT ||
	    c.assignments < 1 || c.denies < 0 || c.checks < 1) {
		fprintf(stderr, "rbac_bench: need users, apps, assignments, checks >= 1, groups >= "
				"625, roles > %d\n",
			RBAC_BUILTIN_COUNT);
		return 2;
	}
	if (nreq > c.checks)
		nreq = c.checks;

	rng_state = c.seed * 0x9E3779B97F4A7C15ULL | 1;
	t0 = now_s();
	gen_tenant(&c, &t);
	pr = xcalloc((size_t)nreq, sizeof(*pr));
	{
		struct request *rq = xcalloc((size_t)nreq, sizeof(*rq));
		gen_requests(&c, &t, rq, nreq);
		for (long i = 0; i < nreq; i++) {
			pid(rq[i].ptype, rq[i].principal, pr[i].id, sizeof(pr[i].id));
			pr[i].req.principal_type = (enum rbac_principal_type)rq[i].ptype;
			pr[i].req.principal_id = pr[i].id;
			memcpy(pr[i].action, rq[i].action, sizeof(pr[i].action));
			memcpy(pr[i].scope, rq[i].scope, sizeof(pr[i].scope));
			pr[i].req.action = pr[i].action;
			pr[i].req.scope = pr[i].scope;
			pr[i].req.data_action = rq[i].data;
		}
		free(rq);
	}
	t_gen = now_s() - t0;

	rss0 = rss_kib();
	t0 = now_s();
	idx = build_index(&c, &t);
	t_build = now_s() - t0;
	rss1 = rss_kib();
	rbac_index_stats(idx, &st);

	/* correctness pass (and the answers casbin is compared with) */
	dec = xcalloc((size_t)nreq, sizeof(*dec));
	for (long i = 0; i < nreq; i++) {
		struct err err = {0};
		if (rbac_check(idx, &pr[i].req, &dec[i], &err) != 0) {
			fprintf(stderr, "rbac_bench: check: %s\n", err.msg);
			return 1;
		}
		allowed += dec[i].allowed;
		by_deny += dec[i].reason == RBAC_REASON_DENY;
	}

	/* throughput: c.checks checks cycling over the requests, one thread */
	{
		volatile long sink = 0;
		struct rbac_decision d;
		t0 = now_s();
		c0 = cpu_s();
		for (long i = 0, k = 0; i < c.checks; i++, k = k + 1 == nreq ? 0 : k + 1) {
			if (rbac_check(idx, &pr[k].req, &d, NULL) == 0)
				sink += d.allowed;
		}
		c_checks = cpu_s() - c0;
		t_checks = now_s() - t0;
		(void)sink;
	}
	cps = (double)c.checks / t_checks;

	/* latency: each check timed on its own (includes ~20-30 ns of clock reads) */
	lat = xcalloc((size_t)lat_samples, sizeof(*lat));
	for (long i = 0; i < lat_samples; i++) {
		struct rbac_decision d;
		struct timespec a, b;
		const struct prepared *p = &pr[(i * 7919) % nreq];
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (rbac_check(idx, &p->req, &d, NULL) != 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		lat[i] = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	}
	qsort(lat, (size_t)lat_samples, sizeof(*lat), cmp_double);

	printf("rbac_bench: 1 tenant, %ld users, %ld groups (%d levels), %ld apps, %ld roles, "
	       "%ld assignments (%d-level scope tree), %ld deny assignments\n",
	       c.users, c.groups, LEVELS, c.apps, c.roles, c.assignments, SCOPE_DEPTH, c.denies);
	printf("(data generated in %.2f s, seed %llu; %ld distinct requests, %.1f%% allowed, "
	       "%.1f%% denied by a deny assignment)\n\n",
	       t_gen, c.seed, nreq, 100.0 * (double)allowed / (double)nreq,
	       100.0 * (double)by_deny / (double)nreq);
	printf("| measure | value |\n|---|---|\n");
	printf("| index build from memory (builder + build) | %.3f s |\n", t_build);
	printf("| index memory (counted by the index) | %.1f MiB |\n",
	       (double)st.bytes / 1048576.0);
	printf("| process RSS growth during build | %.1f MiB |\n", (double)(rss1 - rss0) / 1024.0);
	printf("| principals / scope nodes in the index | %zu / %zu |\n", st.principals,
	       st.scope_nodes);
	printf("| checks, one thread | %ld in %.3f s |\n", c.checks, t_checks);
	printf("| **checks/s, one core** (wall clock) | **%.0f** |\n", cps);
	printf("| checks/s by the thread's CPU time (less noise on a shared machine) | %.0f |\n",
	       (double)c.checks / c_checks);
	printf("| latency p50 / p99 / max (%ld timed checks) | %.2f / %.2f / %.1f us |\n",
	       lat_samples, lat[lat_samples / 2] / 1000.0, lat[lat_samples * 99 / 100] / 1000.0,
	       lat[lat_samples - 1] / 1000.0);
	fflush(stdout);

	if (c.store != NULL) {
		struct dir_options o = {0};
		struct dir_tenant dt = {0};
		struct rbac_load_stats ls;
		struct rbac_index *loaded;
		struct err err = {0};
		double t_fill;
		long r0;
		struct dir *d;

		unlink(c.store);
		o.path = c.store;
		if ((d = dir_open(&o, &err)) == NULL)
			die("open store", &err);
		snprintf(dt.name, sizeof(dt.name), "bench");
		if (dir_tenant_create(d, &dt, &err) != 0)
			die("tenant", &err);
		t_fill = fill_store(&c, &t, d, dt.id);
		r0 = rss_kib();
		if ((loaded = rbac_store_load(d, dt.id, &ls, &err)) == NULL)
			die("load", &err);
		rbac_index_stats(loaded, &st);
		printf("| store written (users, groups, apps, memberships, role data) | %.2f s |\n",
		       t_fill);
		printf("| **index load from the store** (rbac_store_load) | **%.3f s** |\n",
		       ls.seconds);
		printf("| loaded: roles / assignments / denies / memberships | %zu / %zu / %zu / %zu "
		       "|\n",
		       ls.roles, ls.assignments, ls.denies, ls.memberships);
		printf("| loaded index memory / RSS growth | %.1f / %.1f MiB |\n",
		       (double)st.bytes / 1048576.0, (double)(rss_kib() - r0) / 1024.0);
		rbac_index_free(loaded);
		dir_close(d);
	}
	if (c.casbin_dir != NULL) {
		long n = c.casbin_requests < nreq ? c.casbin_requests : nreq;
		FILE *f;
		char path[1024];
		casbin_export(&c, &t, pr, dec, n);
		snprintf(path, sizeof(path), "%s/ours.txt", c.casbin_dir);
		if ((f = fopen(path, "we")) != NULL) {
			fprintf(f, "%.0f %.3f %.3f\n", cps, lat[lat_samples / 2] / 1000.0,
				lat[lat_samples * 99 / 100] / 1000.0);
			fclose(f);
		}
	}
	rbac_index_free(idx);
	return 0;
}
