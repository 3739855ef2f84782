/*
 * rbac_bench: what the benchmark's files share: the generated tenant and
 * small helpers.  See rbac_bench.c.
 */
#ifndef IDP_RBAC_BENCH_H
#define IDP_RBAC_BENCH_H

#include "rbac.h"
#include "rbac_store.h"

#include <stddef.h>

struct cfg {
	long users, groups, apps, roles, assignments, denies, checks, casbin_requests;
	unsigned long long seed;
	const char *store, *casbin_dir;
};

struct plist {
	char **v;
	int n;
};

struct role {
	char id[24], name[32];
	int builtin;
	struct plist l[4]; /* actions, notActions, dataActions, notDataActions */
};

struct asg {
	char id[24];
	int role;
	int ptype; /* enum rbac_principal_type */
	long principal;
	char scope[96];
};

struct deny {
	char id[24], name[32];
	int everyone;
	int ptype[2];
	long prin[2];
	int n_prin;
	int xtype[2];
	long excl[2];
	int n_excl;
	struct plist l[4];
	char scope[96];
};

struct tenant {
	struct role *roles;
	struct asg *asgs;
	struct deny *denies;
	long *group_parent; /* -1 at the top level */
	int *group_level;
	long (*user_groups)[2];
	/* assignments per principal, for shaping requests */
	long *asg_first_u, *asg_first_g, *asg_first_a, *asg_list_u, *asg_list_g, *asg_list_a;
};

struct request {
	int ptype;
	long principal;
	char action[64];
	char scope[96];
	int data;
};

/*
 * A request ready to check, its strings inline: a server checks a request
 * it has just parsed, so its bytes are in cache; here the list is read in
 * order, which the prefetcher streams, instead of from scattered heap.
 */
struct prepared {
	struct rbac_request req;
	char id[32];
	char action[64];
	char scope[96];
};

/* Helpers that exit on failure (rbac_bench.c). */
char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t size);
void plist_add(struct plist *l, const char *s);
/* The synthetic id of principal i of a type: u123, g45, app6. */
void pid(int type, long i, char *out, size_t cap);
double now_s(void);
void die(const char *what, const struct err *err);

/* Write the tenant into a store; the seconds it took (rbac_bench_store.c). */
double fill_store(const struct cfg *c, const struct tenant *t, struct dir *d,
		  const char *tenant_id);

/* The tenant, requests and our answers for casbin_bench.mjs (rbac_bench_casbin.c). */
void casbin_export(const struct cfg *c, const struct tenant *t, const struct prepared *pr,
		   const struct rbac_decision *dec, long nreq);

#endif
