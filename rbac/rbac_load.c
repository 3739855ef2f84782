/*
 * rbac_load: the evaluator's index from the directory store, and keeping a
 * holder current.
 *
 * One read snapshot covers the version and all four reads (roles,
 * assignments, deny assignments, memberships), so the index matches one
 * state of the store and the version it is stamped with.  Fail-closed: what
 * cannot be understood grants nothing; a deny assignment that cannot be
 * understood stops the load, because dropping it would grant what it
 * denies.
 */
#include "rbac_store.h"

#include "rbac_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rbac_load {
	struct rbac_builder *b;
	struct rbac_load_stats *st;
	struct err *err;
	int failed;
};

static void rbac_load_skip(struct rbac_load *l, const char *what, const char *id,
			   const struct err *why)
{
	if (l->st->skipped++ == 0)
		snprintf(l->st->first_skip, sizeof(l->st->first_skip), "%s %.40s: %.180s", what, id,
			 why->msg);
}

static int rbac_load_role(void *ctx, const struct dir_role *r)
{
	struct rbac_load *l = ctx;
	static const char *const names[] = {"actions", "notActions", "dataActions",
					    "notDataActions", "assignableScopes"};
	const char *texts[5] = {r->actions, r->not_actions, r->data_actions, r->not_data_actions,
				r->assignable_scopes};
	json_t *hold[5] = {0};
	const char **v[5] = {0};
	size_t n[5] = {0};
	struct rbac_role_def def = {0};
	struct err why = {0};
	int rc = 0;

	for (int i = 0; i < 5 && rc == 0; i++)
		rc = rbac_json_strings(names[i], texts[i], &hold[i], &v[i], &n[i], &why);
	def.id = r->id;
	def.name = r->name;
	def.builtin = r->builtin;
	if (rc == 0) {
		def.actions = v[0];
		def.n_actions = n[0];
		def.not_actions = v[1];
		def.n_not_actions = n[1];
		def.data_actions = v[2];
		def.n_data_actions = n[2];
		def.not_data_actions = v[3];
		def.n_not_data_actions = n[3];
		def.assignable_scopes = v[4];
		def.n_assignable_scopes = n[4];
		rc = rbac_builder_add_role(l->b, &def, &why);
	}
	if (rc != 0 && rc != ERR_INTERNAL) {
		/* Keep the role (its assignments resolve) but let it grant nothing. */
		struct rbac_role_def empty = {0};
		rbac_load_skip(l, "role", r->id, &why);
		empty.id = r->id;
		empty.name = r->name;
		empty.builtin = r->builtin;
		rc = rbac_builder_add_role(l->b, &empty, &why);
	}
	for (int i = 0; i < 5; i++) {
		free(v[i]);
		json_decref(hold[i]);
	}
	if (rc != 0) {
		*l->err = why;
		err_prefix(l->err, "role %.40s", r->id);
		return l->failed = rc;
	}
	l->st->roles++;
	return 0;
}

static int rbac_load_assignment(void *ctx, const struct dir_role_assignment *a)
{
	struct rbac_load *l = ctx;
	struct rbac_assignment_def def;
	struct err why = {0};
	int rc;

	if (!a->principal_live) {
		l->st->inactive++;
		return 0;
	}
	def.id = a->id;
	def.role_id = a->role_id;
	def.principal.type = (enum rbac_principal_type)a->principal_type;
	def.principal.id = a->principal_id;
	def.scope = a->scope;
	rc = rbac_builder_add_assignment(l->b, &def, &why);
	if (rc == ERR_INTERNAL) {
		*l->err = why;
		return l->failed = rc;
	}
	if (rc != 0) {
		rbac_load_skip(l, "role assignment", a->id, &why);
		return 0;
	}
	l->st->assignments++;
	return 0;
}

static int rbac_load_deny(void *ctx, const struct dir_deny_assignment *x)
{
	struct rbac_load *l = ctx;
	static const char *const names[] = {"actions", "notActions", "dataActions",
					    "notDataActions"};
	const char *texts[4] = {x->actions, x->not_actions, x->data_actions, x->not_data_actions};
	json_t *hold[6] = {0};
	const char **v[4] = {0};
	size_t n[4] = {0}, np = 0, ne = 0;
	struct rbac_principal_ref *prins = NULL, *excl = NULL;
	struct rbac_deny_def def = {0};
	int rc;

	rc = rbac_json_principals("principals", x->principals, &hold[4], &prins, &np, l->err);
	if (rc == 0)
		rc = rbac_json_principals("excludedPrincipals", x->excluded_principals, &hold[5],
					  &excl, &ne, l->err);
	for (int i = 0; i < 4 && rc == 0; i++)
		rc = rbac_json_strings(names[i], texts[i], &hold[i], &v[i], &n[i], l->err);
	if (rc == 0) {
		def.id = x->id;
		def.name = x->name;
		def.scope = x->scope;
		def.principals = prins;
		def.n_principals = np;
		def.excluded = excl;
		def.n_excluded = ne;
		def.actions = v[0];
		def.n_actions = n[0];
		def.not_actions = v[1];
		def.n_not_actions = n[1];
		def.data_actions = v[2];
		def.n_data_actions = n[2];
		def.not_data_actions = v[3];
		def.n_not_data_actions = n[3];
		rc = rbac_builder_add_deny(l->b, &def, l->err);
	}
	for (int i = 0; i < 4; i++)
		free(v[i]);
	for (int i = 0; i < 6; i++)
		json_decref(hold[i]);
	free(prins);
	free(excl);
	if (rc != 0) {
		err_prefix(l->err,
			   "deny assignment %.40s cannot be read, so nothing is loaded (it would "
			   "allow what it denies)",
			   x->id);
		if (rc != ERR_INTERNAL)
			l->err->code = rc = ERR_CORRUPT;
		return l->failed = rc;
	}
	l->st->denies++;
	return 0;
}

static int rbac_load_member(void *ctx, const struct dir_membership *m)
{
	struct rbac_load *l = ctx;
	struct rbac_principal_ref member;
	struct err why = {0};
	int rc;

	member.type = m->kind == DIR_MEMBER_GROUP ? RBAC_PRINCIPAL_GROUP : RBAC_PRINCIPAL_USER;
	member.id = m->member_id;
	rc = rbac_builder_add_member(l->b, member, m->group_id, &why);
	if (rc == ERR_INTERNAL) {
		*l->err = why;
		return l->failed = rc;
	}
	if (rc != 0) {
		rbac_load_skip(l, "membership in group", m->group_id, &why);
		return 0;
	}
	l->st->memberships++;
	return 0;
}

static double rbac_load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct rbac_index *rbac_store_load(struct dir *d, const char *tenant_id,
				   struct rbac_load_stats *stats, struct err *err)
{
	struct rbac_load_stats local_stats;
	struct err local_err = {0};
	struct rbac_load l = {0};
	struct rbac_index *idx = NULL;
	double t0 = rbac_load_now();
	int rc;

	if (err == NULL)
		err = &local_err;
	if (stats == NULL)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	l.st = stats;
	l.err = err;
	if ((l.b = rbac_builder_new(err)) == NULL)
		return NULL;
	if (dir_role_read_begin(d, err) != 0) {
		rbac_builder_free(l.b);
		return NULL;
	}
	rc = dir_role_data_version(d, tenant_id, &stats->version, err);
	if (rc == 0)
		rc = dir_role_list(d, tenant_id, rbac_load_role, &l, err);
	if (rc == 0)
		rc = dir_role_assignment_list(d, tenant_id, NULL, rbac_load_assignment, &l, err);
	if (rc == 0)
		rc = dir_deny_list(d, tenant_id, rbac_load_deny, &l, err);
	if (rc == 0)
		rc = dir_membership_list(d, tenant_id, rbac_load_member, &l, err);
	dir_role_read_end(d);
	if (rc == 0)
		idx = rbac_builder_build(l.b, err);
	rbac_builder_free(l.b);
	stats->seconds = rbac_load_now() - t0;
	if (idx == NULL && err->code == 0)
		err_set(err, ERR_INTERNAL, "load failed");
	return idx;
}

int rbac_store_refresh(struct dir *d, const char *tenant_id, struct rbac_holder *h, int force,
		       struct err *err)
{
	struct rbac_load_stats st;
	struct rbac_index *idx;
	const struct rbac_index *cur;
	int64_t version = 0;
	int have;

	cur = rbac_holder_acquire(h);
	have = cur != NULL;
	rbac_holder_release(h, cur);
	if (!force && have) {
		if (dir_role_data_version(d, tenant_id, &version, err) != 0)
			return err->code;
		if (version == rbac_holder_version(h))
			return 0;
	}
	if ((idx = rbac_store_load(d, tenant_id, &st, err)) == NULL)
		return err->code;
	rbac_holder_swap(h, idx, st.version);
	return 1;
}
