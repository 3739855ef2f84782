/*
 * rbac_prop_test: a randomized property test.  Many random worlds (roles
 * with wildcard patterns, nested groups with cycles, assignments over a
 * scope tree, deny assignments with exclusions), each queried many times;
 * every decision of the evaluator is compared with a plain reference
 * written here, which shares no code with it: it walks group membership
 * with a fresh search per query, matches patterns by recursion and
 * compares scopes segment by segment.
 *
 * Besides the allow/deny answer, the reason must be a true witness: the
 * assignment named must grant the action to the principal at the scope,
 * the deny assignment named must apply, and "no grant" must mean that
 * nothing grants.  Effective permissions are compared as sets.
 *
 * The seed is printed on failure; RBAC_PROP_SEED=N replays one.
 */
#include "rbac.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NU 12 /* users */
#define NG 8  /* groups */
#define NA 3  /* apps */
#define NP (NU + NG + NA)
#define MAXL 4  /* patterns per list */
#define MAXR 8  /* roles */
#define MAXAS 24
#define MAXD 4
#define WORLDS 400
#define QUERIES 250

/* ---- a world ---------------------------------------------------------- */

struct plist {
	char v[MAXL][40];
	int n;
};

struct role {
	char id[16], name[16];
	struct plist l[4]; /* actions, notActions, dataActions, notDataActions */
};

struct asg {
	char id[16];
	int role, principal;
	char scope[64];
};

struct deny {
	char id[16];
	int everyone;
	int prins[3], n_prins;
	int excl[2], n_excl;
	struct plist l[4];
	char scope[64];
};

struct world {
	struct role roles[MAXR];
	int n_roles;
	struct asg asgs[MAXAS];
	int n_asgs;
	struct deny denies[MAXD];
	int n_denies;
	unsigned char member[NP][NP]; /* member[m][g]: m is a direct member of group g */
};

static unsigned long long rng;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static int ptype(int p)
{
	return p < NU ? RBAC_PRINCIPAL_USER : p < NU + NG ? RBAC_PRINCIPAL_GROUP : RBAC_PRINCIPAL_APP;
}

static void pid(int p, char *out, size_t cap)
{
	if (p < NU)
		snprintf(out, cap, "u%d", p);
	else if (p < NU + NG)
		snprintf(out, cap, "g%d", p - NU);
	else
		snprintf(out, cap, "app%d", p - NU - NG);
}

static const char *const provs[] = {"p", "q", "pq"};
static const char *const types[] = {"x", "y", "xy"};
static const char *const ops[] = {"read", "write", "delete", "action"};
static const char *const segs[] = {"a", "b", "ab", "c"};

static void rand_action(char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s/%s", provs[rnd(3)], types[rnd(3)], ops[rnd(4)]);
}

static void rand_pattern(char *out, size_t cap)
{
	char a[40];

	rand_action(a, sizeof(a));
	switch (rnd(10)) {
	case 0:
		snprintf(out, cap, "*");
		break;
	case 1:
		snprintf(out, cap, "*/%s", ops[rnd(4)]);
		break;
	case 2:
		snprintf(out, cap, "%s/*", provs[rnd(3)]);
		break;
	case 3:
		snprintf(out, cap, "%s/%s/*", provs[rnd(3)], types[rnd(3)]);
		break;
	case 4:
		snprintf(out, cap, "*%s*", types[rnd(3)]);
		break;
	case 5:
		snprintf(out, cap, "%s/*/%s", provs[rnd(3)], ops[rnd(4)]);
		break;
	case 6:
		snprintf(out, cap, "*e");
		break;
	case 7: /* upper case */
		snprintf(out, cap, "%s", a);
		for (char *c = out; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		break;
	default:
		snprintf(out, cap, "%s", a);
		break;
	}
}

static void rand_list(struct plist *l, int max)
{
	l->n = (int)rnd((unsigned)max + 1);
	for (int i = 0; i < l->n; i++)
		rand_pattern(l->v[i], sizeof(l->v[i]));
}

static void rand_scope(char *out, size_t cap, int maxdepth, int mixcase)
{
	int depth = (int)rnd((unsigned)maxdepth + 1);
	size_t n = 0;

	out[0] = '\0';
	if (depth == 0) {
		snprintf(out, cap, "/");
		return;
	}
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(out + n, cap - n, "/%s", segs[rnd(4)]);
	if (mixcase && rnd(4) == 0)
		for (char *c = out; *c; c++)
			*c = (char)toupper((unsigned char)*c);
}

static void rand_world(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->n_roles = 1 + (int)rnd(MAXR);
	for (int i = 0; i < w->n_roles; i++) {
		snprintf(w->roles[i].id, sizeof(w->roles[i].id), "r%d", i);
		snprintf(w->roles[i].name, sizeof(w->roles[i].name), "Role %d", i);
		rand_list(&w->roles[i].l[0], MAXL);
		rand_list(&w->roles[i].l[1], 2);
		rand_list(&w->roles[i].l[2], 2);
		rand_list(&w->roles[i].l[3], 1);
	}
	w->n_asgs = (int)rnd(MAXAS + 1);
	for (int i = 0; i < w->n_asgs; i++) {
		struct asg *a = &w->asgs[i];
		snprintf(a->id, sizeof(a->id), "as%d", i);
		a->role = (int)rnd((unsigned)w->n_roles);
		a->principal = (int)rnd(NP);
		rand_scope(a->scope, sizeof(a->scope), 3, 1);
	}
	w->n_denies = (int)rnd(MAXD + 1);
	for (int i = 0; i < w->n_denies; i++) {
		struct deny *d = &w->denies[i];
		snprintf(d->id, sizeof(d->id), "d%d", i);
		d->everyone = rnd(3) == 0;
		d->n_prins = d->everyone ? (int)rnd(2) : 1 + (int)rnd(3);
		for (int k = 0; k < d->n_prins; k++)
			d->prins[k] = (int)rnd(NP);
		d->n_excl = (int)rnd(3);
		for (int k = 0; k < d->n_excl; k++)
			d->excl[k] = (int)rnd(NP);
		rand_list(&d->l[0], 2);
		rand_list(&d->l[1], 1);
		rand_list(&d->l[2], 2);
		rand_list(&d->l[3], 1);
		rand_scope(d->scope, sizeof(d->scope), 3, 1);
	}
	/* memberships: users and groups into groups; cycles welcome */
	for (int e = (int)rnd(3 * NG); e > 0; e--) {
		int m = (int)rnd(NU + NG), g = NU + (int)rnd(NG);
		if (m != g)
			w->member[m][g] = 1;
	}
}

/* ---- the reference ----------------------------------------------------- */

static void lower(const char *s, char *out, size_t cap)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < cap; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
}

/* Recursive glob on lowercase strings. */
static int ref_glob(const char *p, const char *s)
{
	if (*p == '\0')
		return *s == '\0';
	if (*p == '*')
		return ref_glob(p + 1, s) || (*s != '\0' && ref_glob(p, s + 1));
	return *s == *p && ref_glob(p + 1, s + 1);
}

static int ref_any(const struct plist *l, const char *action)
{
	char p[64], a[64];

	lower(action, a, sizeof(a));
	for (int i = 0; i < l->n; i++) {
		lower(l->v[i], p, sizeof(p));
		if (ref_glob(p, a))
			return 1;
	}
	return 0;
}

static int ref_grants(const struct plist *l, const char *action, int data)
{
	int k = data ? 2 : 0;

	return ref_any(&l[k], action) && !ref_any(&l[k + 1], action);
}

/* scope at or below parent, segment by segment, ignoring case */
static int ref_within(const char *scope, const char *parent)
{
	char s[128], p[128], *sv, *pv, *st, *pt;

	lower(scope, s, sizeof(s));
	lower(parent, p, sizeof(p));
	pt = strtok_r(p, "/", &pv);
	st = strtok_r(s, "/", &sv);
	for (; pt != NULL; pt = strtok_r(NULL, "/", &pv), st = strtok_r(NULL, "/", &sv))
		if (st == NULL || strcmp(st, pt) != 0)
			return 0;
	return 1;
}

/* closure[x] = 1 if principal p is x or a member of x, transitively (p < 0: unknown). */
static void ref_closure(const struct world *w, int p, unsigned char *closure)
{
	int changed = 1;

	memset(closure, 0, NP);
	if (p < 0)
		return;
	closure[p] = 1;
	while (changed) {
		changed = 0;
		for (int m = 0; m < NP; m++)
			for (int g = 0; g < NP; g++)
				if (closure[m] && w->member[m][g] && !closure[g])
					closure[g] = 1, changed = 1;
	}
}

static int ref_deny_applies(const struct deny *d, const unsigned char *closure,
			    const char *action, const char *scope, int data)
{
	int named = d->everyone;

	for (int k = 0; k < d->n_prins; k++)
		named |= closure[d->prins[k]];
	for (int k = 0; k < d->n_excl; k++)
		if (closure[d->excl[k]])
			return 0;
	return named && ref_within(scope, d->scope) && ref_grants(d->l, action, data);
}

static int ref_asg_grants(const struct world *w, const struct asg *a,
			  const unsigned char *closure, const char *action, const char *scope,
			  int data)
{
	return closure[a->principal] && ref_within(scope, a->scope) &&
	       ref_grants(w->roles[a->role].l, action, data);
}

/* ---- the same world through the evaluator ------------------------------ */

static struct rbac_index *build(const struct world *w)
{
	struct rbac_builder *b = rbac_builder_new(NULL);
	static const char *const root[] = {"/"};
	char ids[NP][16];
	struct err err = {0};
	struct rbac_index *idx;

	for (int p = 0; p < NP; p++)
		pid(p, ids[p], sizeof(ids[p]));
	for (int i = 0; i < w->n_roles; i++) {
		const struct role *r = &w->roles[i];
		const char *v[4][MAXL];
		struct rbac_role_def def = {0};
		def.id = r->id;
		def.name = r->name;
		for (int k = 0; k < 4; k++)
			for (int j = 0; j < r->l[k].n; j++)
				v[k][j] = r->l[k].v[j];
		def.actions = v[0];
		def.n_actions = (size_t)r->l[0].n;
		def.not_actions = v[1];
		def.n_not_actions = (size_t)r->l[1].n;
		def.data_actions = v[2];
		def.n_data_actions = (size_t)r->l[2].n;
		def.not_data_actions = v[3];
		def.n_not_data_actions = (size_t)r->l[3].n;
		def.assignable_scopes = root;
		def.n_assignable_scopes = 1;
		ck_assert_msg(rbac_builder_add_role(b, &def, &err) == 0, "%s", err.msg);
	}
	for (int i = 0; i < w->n_asgs; i++) {
		const struct asg *a = &w->asgs[i];
		struct rbac_assignment_def def = {
			a->id, w->roles[a->role].id,
			{(enum rbac_principal_type)ptype(a->principal), ids[a->principal]}, a->scope};
		ck_assert_msg(rbac_builder_add_assignment(b, &def, &err) == 0, "%s", err.msg);
	}
	for (int i = 0; i < w->n_denies; i++) {
		const struct deny *d = &w->denies[i];
		struct rbac_principal_ref prins[4], excl[2];
		const char *v[4][MAXL];
		struct rbac_deny_def def = {0};
		size_t np = 0;
		if (d->everyone)
			prins[np++] = (struct rbac_principal_ref){RBAC_PRINCIPAL_EVERYONE, NULL};
		for (int k = 0; k < d->n_prins; k++)
			prins[np++] = (struct rbac_principal_ref){
				(enum rbac_principal_type)ptype(d->prins[k]), ids[d->prins[k]]};
		for (int k = 0; k < d->n_excl; k++)
			excl[k] = (struct rbac_principal_ref){
				(enum rbac_principal_type)ptype(d->excl[k]), ids[d->excl[k]]};
		for (int k = 0; k < 4; k++)
			for (int j = 0; j < d->l[k].n; j++)
				v[k][j] = d->l[k].v[j];
		def.id = d->id;
		def.name = d->id;
		def.scope = d->scope;
		def.principals = prins;
		def.n_principals = np;
		def.excluded = excl;
		def.n_excluded = (size_t)d->n_excl;
		def.actions = v[0];
		def.n_actions = (size_t)d->l[0].n;
		def.not_actions = v[1];
		def.n_not_actions = (size_t)d->l[1].n;
		def.data_actions = v[2];
		def.n_data_actions = (size_t)d->l[2].n;
		def.not_data_actions = v[3];
		def.n_not_data_actions = (size_t)d->l[3].n;
		ck_assert_msg(rbac_builder_add_deny(b, &def, &err) == 0, "%s", err.msg);
	}
	for (int m = 0; m < NP; m++)
		for (int g = 0; g < NP; g++)
			if (w->member[m][g]) {
				struct rbac_principal_ref ref = {
					(enum rbac_principal_type)ptype(m), ids[m]};
				ck_assert_int_eq(rbac_builder_add_member(b, ref, ids[g], &err), 0);
			}
	idx = rbac_builder_build(b, &err);
	ck_assert_msg(idx != NULL, "build: %s", err.msg);
	rbac_builder_free(b);
	return idx;
}

static int find_asg(const struct world *w, const char *id)
{
	for (int i = 0; i < w->n_asgs; i++)
		if (strcmp(w->asgs[i].id, id) == 0)
			return i;
	return -1;
}

static int find_deny(const struct world *w, const char *id)
{
	for (int i = 0; i < w->n_denies; i++)
		if (strcmp(w->denies[i].id, id) == 0)
			return i;
	return -1;
}

struct eff {
	unsigned char asg[MAXAS], deny[MAXD];
	const struct world *w;
};

static int eff_grant(void *ctx, const struct rbac_grant *g)
{
	struct eff *e = ctx;
	int i = find_asg(e->w, g->assignment_id);

	ck_assert_int_ge(i, 0);
	ck_assert_msg(!e->asg[i], "assignment %s listed twice", g->assignment_id);
	e->asg[i] = 1;
	return 0;
}

static int eff_deny(void *ctx, const struct rbac_deny_info *d)
{
	struct eff *e = ctx;
	int i = find_deny(e->w, d->deny_id);

	ck_assert_int_ge(i, 0);
	ck_assert_msg(!e->deny[i], "deny %s listed twice", d->deny_id);
	e->deny[i] = 1;
	return 0;
}

static unsigned long long seed_base;

START_TEST(random_worlds)
{
	struct world *w = malloc(sizeof(*w));
	long checks = 0, allows = 0, denies = 0;

	for (int world = 0; world < WORLDS; world++) {
		unsigned long long seed = seed_base + (unsigned long long)world;
		struct rbac_index *idx;

		rng = seed * 0x9E3779B97F4A7C15ULL | 1; /* replay: RBAC_PROP_SEED=seed */
		rand_world(w);
		idx = build(w);
		for (int q = 0; q < QUERIES; q++) {
			unsigned char closure[NP];
			char id[16], action[40], scope[64];
			int p = (int)rnd(NP + 2), type, data = (int)rnd(2), ref_allowed, any_deny = 0;
			struct rbac_decision dec;
			struct rbac_request req;
			struct err err = {0};
			struct eff e = {{0}, {0}, w};

			if (p < NP) {
				type = ptype(p);
				pid(p, id, sizeof(id));
				if (rnd(5) == 0) /* the same principal asked under another type */
					type = (type + 1) % 3, p = -1;
			} else {
				type = (int)rnd(3);
				snprintf(id, sizeof(id), "stranger%d", p);
				p = -1;
			}
			if (rnd(4) == 0)
				for (char *c = id; *c; c++)
					*c = (char)toupper((unsigned char)*c);
			rand_action(action, sizeof(action));
			if (rnd(4) == 0)
				for (char *c = action; *c; c++)
					*c = (char)toupper((unsigned char)*c);
			rand_scope(scope, sizeof(scope), 5, 1);

			ref_closure(w, p, closure);
			for (int i = 0; i < w->n_denies; i++)
				any_deny |= ref_deny_applies(&w->denies[i], closure, action, scope,
							     data);
			ref_allowed = 0;
			for (int i = 0; !any_deny && i < w->n_asgs; i++)
				ref_allowed |= ref_asg_grants(w, &w->asgs[i], closure, action, scope,
							      data);

			req = (struct rbac_request){(enum rbac_principal_type)type, id, action, scope,
						    data};
			ck_assert_msg(rbac_check(idx, &req, &dec, &err) == 0, "seed %llu: %s", seed,
				      err.msg);
			ck_assert_msg(dec.allowed == ref_allowed,
				      "seed %llu query %d: %s %s %s %s data=%d: evaluator %d, "
				      "reference %d",
				      seed, q, rbac_principal_type_name((enum rbac_principal_type)type),
				      id, action, scope, data, dec.allowed, ref_allowed);
			/* the reason is a true witness */
			if (dec.reason == RBAC_REASON_DENY) {
				int i = find_deny(w, dec.deny_id);
				ck_assert_msg(i >= 0 && ref_deny_applies(&w->denies[i], closure, action,
									 scope, data),
					      "seed %llu query %d: deny %s does not apply", seed, q,
					      dec.deny_id);
			} else {
				ck_assert_msg(!any_deny, "seed %llu query %d: a deny applies but the "
							 "reason does not say so",
					      seed, q);
			}
			if (dec.reason == RBAC_REASON_ASSIGNMENT) {
				int i = find_asg(w, dec.assignment_id);
				ck_assert_msg(i >= 0 && ref_asg_grants(w, &w->asgs[i], closure, action,
								       scope, data),
					      "seed %llu query %d: assignment %s does not grant", seed,
					      q, dec.assignment_id);
				ck_assert_str_eq(dec.role_id, w->roles[w->asgs[i].role].id);
				ck_assert_str_eq(dec.assignment_scope, w->asgs[i].scope);
			}
			checks++;
			allows += dec.allowed;
			denies += dec.reason == RBAC_REASON_DENY;

			/* effective permissions as sets */
			ck_assert_int_eq(rbac_effective(idx, (enum rbac_principal_type)type, id, scope,
							eff_grant, eff_deny, &e, &err),
					 0);
			for (int i = 0; i < w->n_asgs; i++) {
				int want = closure[w->asgs[i].principal] &&
					   ref_within(scope, w->asgs[i].scope);
				ck_assert_msg(e.asg[i] == want,
					      "seed %llu query %d: effective lists %s: %d, want %d",
					      seed, q, w->asgs[i].id, e.asg[i], want);
			}
			for (int i = 0; i < w->n_denies; i++) {
				const struct deny *d = &w->denies[i];
				int named = d->everyone, excluded = 0;
				for (int k = 0; k < d->n_prins; k++)
					named |= closure[d->prins[k]];
				for (int k = 0; k < d->n_excl; k++)
					excluded |= closure[d->excl[k]];
				ck_assert_msg(e.deny[i] ==
						      (named && !excluded && ref_within(scope, d->scope)),
					      "seed %llu query %d: effective deny %s", seed, q, d->id);
			}
		}
		rbac_index_free(idx);
	}
	free(w);
	/* the worlds must exercise both answers and the denies, or the test proves little */
	ck_assert_msg(allows > checks / 50 && allows < checks - checks / 50,
		      "allows %ld of %ld checks", allows, checks);
	ck_assert_msg(denies > checks / 200, "deny reasons %ld of %ld", denies, checks);
	printf("rbac_prop: %ld checks, %ld allowed, %ld denied by a deny assignment (seed %llu)\n",
	       checks, allows, denies, seed_base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rbac_prop");
	TCase *tc = tcase_create("property");
	const char *env = getenv("RBAC_PROP_SEED");
	SRunner *sr;
	int failed;

	seed_base = env != NULL ? strtoull(env, NULL, 10) : (unsigned long long)time(NULL);
	tcase_add_test(tc, random_worlds);
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
