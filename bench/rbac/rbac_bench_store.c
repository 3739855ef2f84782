/*
 * rbac_bench_store: the generated tenant written into a real store, so the
 * benchmark can time rbac_store_load() at full size.  Writes go straight to
 * the directory (dir_*) in batches of 20k per transaction; rbac_store's
 * checks are the CLI's and the API's business, not the benchmark's.
 */
#include "rbac_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the store ---------------------------------------------------------- */

void die(const char *what, const struct err *err)
{
	fprintf(stderr, "rbac_bench: %s: %s\n", what, err->msg);
	exit(1);
}

static void json_list(const struct plist *l, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "[");

	for (int i = 0; i < l->n; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s\"%s\"", i ? "," : "", l->v[i]);
	snprintf(out + n, cap - n, "]");
}

/* Write the tenant into a fresh store; returns the seconds it took. */
double fill_store(const struct cfg *c, const struct tenant *t, struct dir *d,
			 const char *tenant_id)
{
	char (*uid)[DIR_ID_MAX] = xcalloc((size_t)c->users, DIR_ID_MAX);
	char (*gid)[DIR_ID_MAX] = xcalloc((size_t)c->groups, DIR_ID_MAX);
	char (*aid)[DIR_ID_MAX] = xcalloc((size_t)c->apps, DIR_ID_MAX);
	char (*rid)[DIR_ID_MAX] = xcalloc((size_t)c->roles, DIR_ID_MAX);
	struct dir_role *role = xcalloc(1, sizeof(*role));
	struct dir_deny_assignment *x = xcalloc(1, sizeof(*x));
	struct err err = {0};
	double t0 = now_s();
	long done = 0;

	if (rbac_store_seed_builtins(d, tenant_id, &err) != 0)
		die("seed", &err);
	if (dir_begin(d, &err) != 0)
		die("begin", &err);
#define BATCH()                                                                                    \
	do {                                                                                       \
		if (++done % 20000 == 0 &&                                                         \
		    (dir_commit(d, &err) != 0 || dir_begin(d, &err) != 0))                         \
			die("commit", &err);                                                       \
	} while (0)
	for (long u = 0; u < c->users; u++) {
		struct dir_user du = {0};
		snprintf(du.upn, sizeof(du.upn), "user%ld@bench.test", u);
		du.enabled = 1;
		if (dir_user_create(d, tenant_id, &du, NULL, &err) != 0)
			die("user", &err);
		memcpy(uid[u], du.id, DIR_ID_MAX);
		BATCH();
	}
	for (long g = 0; g < c->groups; g++) {
		struct dir_group dg = {0};
		snprintf(dg.name, sizeof(dg.name), "group%ld", g);
		if (dir_group_create(d, tenant_id, &dg, &err) != 0)
			die("group", &err);
		memcpy(gid[g], dg.id, DIR_ID_MAX);
		BATCH();
	}
	for (long a = 0; a < c->apps; a++) {
		struct dir_app *da = xcalloc(1, sizeof(*da));
		snprintf(da->name, sizeof(da->name), "app%ld", a);
		snprintf(da->token_alg, sizeof(da->token_alg), "RS256");
		snprintf(da->redirect_uris[0], sizeof(da->redirect_uris[0]),
			 "https://app%ld.bench.test/cb", a);
		da->n_redirect_uris = 1;
		da->grants = DIR_GRANT_AUTHORIZATION_CODE;
		if (dir_app_create(d, tenant_id, da, &err) != 0)
			die("app", &err);
		memcpy(aid[a], da->id, DIR_ID_MAX);
		free(da);
		BATCH();
	}
	for (long g = 0; g < c->groups; g++)
		if (t->group_parent[g] >= 0) {
			if (dir_group_add_member(d, tenant_id, gid[t->group_parent[g]],
						 DIR_MEMBER_GROUP, gid[g], &err) != 0)
				die("nest", &err);
			BATCH();
		}
	for (long u = 0; u < c->users; u++)
		for (int k = 0; k < 2; k++)
			if (t->user_groups[u][k] >= 0) {
				if (dir_group_add_member(d, tenant_id, gid[t->user_groups[u][k]],
							 DIR_MEMBER_USER, uid[u], &err) != 0)
					die("member", &err);
				BATCH();
			}
	for (long i = 0; i < c->roles; i++) {
		const struct role *r = &t->roles[i];
		if (r->builtin) {
			if (rbac_store_builtin_id(tenant_id, (enum rbac_builtin)i, rid[i]) != 0)
				die("builtin id", &err);
			continue;
		}
		memset(role, 0, sizeof(*role));
		snprintf(role->name, sizeof(role->name), "%s", r->name);
		json_list(&r->l[0], role->actions, sizeof(role->actions));
		json_list(&r->l[1], role->not_actions, sizeof(role->not_actions));
		json_list(&r->l[2], role->data_actions, sizeof(role->data_actions));
		json_list(&r->l[3], role->not_data_actions, sizeof(role->not_data_actions));
		if (dir_role_create(d, tenant_id, role, &err) != 0)
			die("role", &err);
		memcpy(rid[i], role->id, DIR_ID_MAX);
		BATCH();
	}
	for (long i = 0; i < c->assignments; i++) {
		const struct asg *a = &t->asgs[i];
		struct dir_role_assignment da = {0};
		memcpy(da.role_id, rid[a->role], DIR_ID_MAX);
		da.principal_type = (enum dir_principal_type)a->ptype;
		memcpy(da.principal_id,
		       a->ptype == RBAC_PRINCIPAL_USER    ? uid[a->principal]
		       : a->ptype == RBAC_PRINCIPAL_GROUP ? gid[a->principal]
							  : aid[a->principal],
		       DIR_ID_MAX);
		snprintf(da.scope, sizeof(da.scope), "%s", a->scope);
		/* the generator may repeat (role, principal, scope): the store keeps one */
		if (dir_role_assignment_create(d, tenant_id, &da, &err) != 0 &&
		    err.code != ERR_EXISTS)
			die("assignment", &err);
		BATCH();
	}
	for (long i = 0; i < c->denies; i++) {
		const struct deny *dn = &t->denies[i];
		size_t n;
		memset(x, 0, sizeof(*x));
		snprintf(x->name, sizeof(x->name), "%s", dn->name);
		snprintf(x->scope, sizeof(x->scope), "%s", dn->scope);
		n = (size_t)snprintf(x->principals, sizeof(x->principals), "[%s",
				     dn->everyone ? "{\"type\":\"everyone\"}" : "");
		for (int k = 0; k < dn->n_prin; k++)
			n += (size_t)snprintf(x->principals + n, sizeof(x->principals) - n,
					      "{\"type\":\"%s\",\"id\":\"%s\"}",
					      rbac_principal_type_name(
						      (enum rbac_principal_type)dn->ptype[k]),
					      dn->ptype[k] == RBAC_PRINCIPAL_USER ? uid[dn->prin[k]]
										 : gid[dn->prin[k]]);
		snprintf(x->principals + n, sizeof(x->principals) - n, "]");
		n = (size_t)snprintf(x->excluded_principals, sizeof(x->excluded_principals), "[");
		for (int k = 0; k < dn->n_excl; k++)
			n += (size_t)snprintf(x->excluded_principals + n,
					      sizeof(x->excluded_principals) - n,
					      "%s{\"type\":\"group\",\"id\":\"%s\"}", k ? "," : "",
					      gid[dn->excl[k]]);
		snprintf(x->excluded_principals + n, sizeof(x->excluded_principals) - n, "]");
		json_list(&dn->l[0], x->actions, sizeof(x->actions));
		if (dir_deny_create(d, tenant_id, x, &err) != 0)
			die("deny", &err);
		BATCH();
	}
	if (dir_commit(d, &err) != 0)
		die("commit", &err);
	free(uid);
	free(gid);
	free(aid);
	free(rid);
	free(role);
	free(x);
	return now_s() - t0;
}

