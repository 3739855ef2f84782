/*
 * rbac_check: the check and the effective permissions, on a built index.
 *
 * A check costs: one pass over the action (validate and lowercase into a
 * stack buffer), one walk of the requested scope down the scope tree (one
 * hash probe per segment, stopping at the first segment no assignment
 * uses), one hash probe for the principal, then a scan of the deny and role
 * assignments of the principal's closure, where an assignment whose scope
 * node is not on the walked path costs one comparison.  Patterns are only
 * matched for assignments in scope.  No allocation, no lock, nothing
 * written outside the caller's decision.
 */
#include "rbac_internal.h"

#include <stdio.h>
#include <string.h>

struct rbac_q {
	char act[RBAC_ACTION_MAX];
	size_t act_len;
	uint32_t chain[RBAC_SCOPE_DEPTH_MAX + 1];
	uint32_t chain_len; /* nodes on the path, root included */
};

/*
 * A scope's walk down the tree, in phases, so that the cache misses of
 * every level (and of the principal, see rbac_parse_request) are waited
 * for together instead of one after another: hash every level's path and
 * ask for its hash slot; read the slots and ask for the nodes they name;
 * then check the nodes level by level.
 */
struct rbac_walk {
	uint32_t n; /* levels */
	const char *seg[RBAC_SCOPE_DEPTH_MAX];
	uint32_t len[RBAC_SCOPE_DEPTH_MAX];
	uint64_t h[RBAC_SCOPE_DEPTH_MAX];
	uint32_t pos[RBAC_SCOPE_DEPTH_MAX]; /* the slot probed (phase 1), then the candidate's */
	uint32_t cand[RBAC_SCOPE_DEPTH_MAX]; /* the first node whose tag matched, or RBAC_NONE */
};

/* Phase 1 for a valid scope: the hashes, and their slots asked for. */
static void rbac_walk_hash(const struct rbac_index *idx, const char *scope, struct rbac_walk *w)
{
	uint64_t h = RBAC_HASH_SEED;

	w->n = 0;
	for (const char *s = scope + 1; *s != '\0' && w->n < RBAC_SCOPE_DEPTH_MAX;) {
		size_t n = strcspn(s, "/");
		h = rbac_node_hash(h, s, n);
		w->seg[w->n] = s;
		w->len[w->n] = (uint32_t)n;
		w->h[w->n] = h;
		w->pos[w->n] = rbac_slot_start(h) & idx->node_mask;
		__builtin_prefetch(&idx->node_slots[w->pos[w->n]]);
		w->n++;
		s += n;
		if (*s == '/')
			s++;
	}
}

/* Phase 2: the first candidate of each level, asked for; levels end at the first absent one. */
static void rbac_walk_slots(const struct rbac_index *idx, struct rbac_walk *w)
{
	for (uint32_t k = 0; k < w->n; k++) {
		uint32_t i = w->pos[k];
		w->cand[k] = RBAC_NONE;
		for (; idx->node_slots[i] != 0; i = (i + 1) & idx->node_mask) {
			if (RBAC_SLOT_TAG(idx->node_slots[i]) == RBAC_HASH_TAG(w->h[k])) {
				w->cand[k] = RBAC_SLOT_IDX(idx->node_slots[i]);
				__builtin_prefetch(&idx->nodes[w->cand[k]]);
				break;
			}
		}
		w->pos[k] = i;
		if (w->cand[k] == RBAC_NONE) {
			w->n = k; /* no node has this path, so none has a longer one */
			break;
		}
	}
}

static inline int rbac_node_is(const struct rbac_node *x, uint64_t h, uint32_t parent,
			       const char *seg, uint32_t n)
{
	return x->hash == h && x->parent == parent && x->seglen == n &&
	       rbac_key_eq(seg, n, x->key, sizeof(x->key), x->seg);
}

/* Phase 3: the path down the tree, root included, into q. */
static void rbac_walk_resolve(const struct rbac_index *idx, struct rbac_walk *w, struct rbac_q *q)
{
	uint32_t node = 0;

	q->chain[0] = 0;
	q->chain_len = 1;
	for (uint32_t k = 0; k < w->n; k++) {
		uint32_t found = RBAC_NONE;
		if (rbac_node_is(&idx->nodes[w->cand[k]], w->h[k], node, w->seg[k], w->len[k])) {
			found = w->cand[k];
		} else {
			/* a tag collision: probe on past the candidate */
			for (uint32_t i = (w->pos[k] + 1) & idx->node_mask; idx->node_slots[i] != 0;
			     i = (i + 1) & idx->node_mask) {
				uint64_t slot = idx->node_slots[i];
				if (RBAC_SLOT_TAG(slot) == RBAC_HASH_TAG(w->h[k]) &&
				    rbac_node_is(&idx->nodes[RBAC_SLOT_IDX(slot)], w->h[k], node,
						 w->seg[k], w->len[k])) {
					found = RBAC_SLOT_IDX(slot);
					break;
				}
			}
		}
		if (found == RBAC_NONE)
			return;
		node = found;
		q->chain[q->chain_len++] = node;
	}
}

/* Walk a scope down the tree in one go; ERR_INVALID if malformed. */
static int rbac_walk_scope(const struct rbac_index *idx, const char *scope, struct rbac_q *q,
			   struct err *err)
{
	struct rbac_walk w;

	if (rbac_scope_check(scope, err) != 0)
		return err->code;
	rbac_walk_hash(idx, scope, &w);
	rbac_walk_slots(idx, &w);
	rbac_walk_resolve(idx, &w, q);
	return 0;
}

static inline int rbac_on_path(const struct rbac_q *q, uint32_t node, uint32_t depth)
{
	return depth < q->chain_len && q->chain[depth] == node;
}

static inline int rbac_list_match(const struct rbac_index *idx, struct rbac_plist l,
				  const struct rbac_q *q)
{
	for (uint32_t i = 0; i < l.n; i++) {
		const struct rbac_pat *p = &idx->pats[l.first + i];
		if (!p->star) {
			if (p->len == q->act_len && memcmp(p->s, q->act, q->act_len) == 0)
				return 1;
		} else if (rbac_glob(p->s, p->len, q->act, q->act_len)) {
			return 1;
		}
	}
	return 0;
}

/* Actions minus notActions (or the data lists). */
static inline int rbac_lists_grant(const struct rbac_index *idx, const struct rbac_plist *l,
				   int data, const struct rbac_q *q)
{
	int k = data ? RBAC_L_DATA : RBAC_L_ACTIONS;

	return rbac_list_match(idx, l[k], q) && !rbac_list_match(idx, l[k + 1], q);
}

/* Is any excluded principal of d in the closure of p? */
static int rbac_excluded(const struct rbac_index *idx, const struct rbac_deny_x *d, uint32_t p)
{
	if (p == RBAC_NONE || d->n_excl == 0)
		return 0;
	const struct rbac_prin *pr = &idx->prins[p];
	for (uint32_t i = 0; i < d->n_excl; i++) {
		uint32_t e = idx->refs[d->excl_first + i];
		for (uint32_t c = 0; c < pr->clo_n; c++)
			if (idx->closure[pr->clo_first + c].prin == e)
				return 1;
	}
	return 0;
}

static int rbac_parse_request(const struct rbac_index *idx, const struct rbac_request *req,
			      struct rbac_q *q, uint32_t *p, struct err *err)
{
	struct rbac_walk w;
	size_t idlen;
	uint64_t ph;
	uint32_t ppos;

	if (idx == NULL)
		return err_set(err, ERR_INVALID, "no index");
	if (req->principal_type != RBAC_PRINCIPAL_USER && req->principal_type != RBAC_PRINCIPAL_GROUP &&
	    req->principal_type != RBAC_PRINCIPAL_APP)
		return err_set(err, ERR_INVALID, "principal type must be user, group or app");
	if (req->principal_id == NULL || req->principal_id[0] == '\0')
		return err_set(err, ERR_INVALID, "principal id is empty");
	idlen = strnlen(req->principal_id, RBAC_ID_MAX + 1);
	if (idlen > RBAC_ID_MAX)
		return err_set(err, ERR_INVALID, "principal id is longer than %d bytes",
			       RBAC_ID_MAX);
	if (rbac_pattern_scan(req->action, 0, &q->act_len, err) != 0)
		return err->code;
	for (size_t i = 0; i < q->act_len; i++) {
		unsigned char c = (unsigned char)req->action[i];
		q->act[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	if (rbac_scope_check(req->scope, err) != 0)
		return err->code;
	/*
	 * The principal's lookup and the scope's walk, interleaved phase by
	 * phase (see struct rbac_walk); then the principal's closure, the
	 * check's next miss, asked for while the scope's nodes are checked.
	 */
	ph = rbac_hash_fold(RBAC_HASH_SEED, req->principal_id, idlen);
	ppos = rbac_slot_start(ph) & idx->prin_mask;
	if (idx->prin_slots != NULL)
		__builtin_prefetch(&idx->prin_slots[ppos]);
	rbac_walk_hash(idx, req->scope, &w);
	if (idx->prin_slots != NULL && idx->prin_slots[ppos] != 0)
		__builtin_prefetch(&idx->prins[RBAC_SLOT_IDX(idx->prin_slots[ppos])]);
	rbac_walk_slots(idx, &w);
	*p = rbac_index_find_principal_h(idx, req->principal_type, req->principal_id, idlen, ph);
	if (*p != RBAC_NONE && idx->prins[*p].clo_n > 0) {
		const struct rbac_prin *pr = &idx->prins[*p];
		__builtin_prefetch(&idx->closure[pr->clo_first]);
		__builtin_prefetch(&idx->closure[pr->clo_first + pr->clo_n - 1]);
	}
	rbac_walk_resolve(idx, &w, q);
	return 0;
}

static void rbac_set_deny(const struct rbac_deny_x *d, struct rbac_decision *out)
{
	out->allowed = 0;
	out->reason = RBAC_REASON_DENY;
	out->deny_id = d->id;
	out->deny_name = d->name;
	out->deny_scope = d->scope;
}

int rbac_check(const struct rbac_index *idx, const struct rbac_request *req,
	       struct rbac_decision *out, struct err *err)
{
	struct rbac_q q;
	const struct rbac_prin *pr = NULL;
	uint32_t p = RBAC_NONE;
	int data = req->data_action != 0;

	memset(out, 0, sizeof(*out));
	if (rbac_parse_request(idx, req, &q, &p, err) != 0)
		return err != NULL ? err->code : ERR_INVALID;
	if (p != RBAC_NONE)
		pr = &idx->prins[p];

	/* Deny assignments first: one that matches wins. */
	for (uint32_t i = 0; i < idx->n_everyone; i++) {
		const struct rbac_deny_x *d = &idx->denies[idx->everyone[i]];
		if (rbac_on_path(&q, d->node, d->depth) && rbac_lists_grant(idx, d->l, data, &q) &&
		    !rbac_excluded(idx, d, p)) {
			rbac_set_deny(d, out);
			return 0;
		}
	}
	if (pr == NULL)
		return 0; /* nobody assigned it anything */

	/*
	 * One pass over the closure: every member's deny assignments (few
	 * members have any), and its role assignments until one grants.
	 */
	const struct rbac_clo *cl = &idx->closure[pr->clo_first];
	const struct rbac_asg_x *grant = NULL;
	const struct rbac_role_x *grant_role = NULL;
	uint32_t grant_via = 0;

	/* The members' slices are far apart: ask for all of them at once. */
	for (uint32_t c = 0; c < pr->clo_n; c++)
		__builtin_prefetch(&idx->asg_loc[cl[c].asg_first]);
	for (uint32_t c = 0; c < pr->clo_n; c++) {
		uint32_t n = cl[c].asg_n & ~RBAC_CLO_DENIES;
		if (cl[c].asg_n & RBAC_CLO_DENIES) {
			const struct rbac_prin *m = &idx->prins[cl[c].prin];
			for (uint32_t k = 0; k < m->deny_n; k++) {
				const struct rbac_deny_x *d =
					&idx->denies[idx->deny_refs[m->deny_first + k]];
				if (rbac_on_path(&q, d->node, d->depth) &&
				    rbac_lists_grant(idx, d->l, data, &q) && !rbac_excluded(idx, d, p)) {
					rbac_set_deny(d, out);
					return 0;
				}
			}
		}
		if (grant != NULL)
			continue;
		const struct rbac_loc *loc = &idx->asg_loc[cl[c].asg_first];
		for (uint32_t k = 0; k < n; k++) {
			const struct rbac_asg_x *a;
			const struct rbac_role_x *r;
			if (!rbac_on_path(&q, loc[k].node, loc[k].depth))
				continue;
			a = &idx->asgs[cl[c].asg_first + k];
			r = &idx->roles[a->role];
			if (rbac_lists_grant(idx, r->l, data, &q)) {
				grant = a;
				grant_role = r;
				grant_via = cl[c].prin;
				break;
			}
		}
	}
	if (grant != NULL) {
		const struct rbac_prin *m = &idx->prins[grant_via];
		out->allowed = 1;
		out->reason = RBAC_REASON_ASSIGNMENT;
		out->assignment_id = grant->id;
		out->assignment_scope = grant->scope;
		out->role_id = grant_role->id;
		out->role_name = grant_role->name;
		out->via_type = (enum rbac_principal_type)m->type;
		out->via_id = m->id;
	}
	return 0;
}

const char *rbac_decision_text(const struct rbac_decision *d, char *buf, size_t cap)
{
	switch (d->reason) {
	case RBAC_REASON_ASSIGNMENT:
		snprintf(buf, cap,
			 "allowed by role assignment %s: role '%s' (%s) at scope '%s' for %s %s",
			 d->assignment_id, d->role_name, d->role_id, d->assignment_scope,
			 rbac_principal_type_name(d->via_type), d->via_id);
		break;
	case RBAC_REASON_DENY:
		snprintf(buf, cap, "denied by deny assignment %s ('%s') at scope '%s'", d->deny_id,
			 d->deny_name, d->deny_scope);
		break;
	default:
		snprintf(buf, cap, "denied: no role assignment grants this action at this scope");
		break;
	}
	return buf;
}

static void rbac_fill_lists(const struct rbac_index *idx, const struct rbac_plist *l,
			    const char *const **v, size_t *n)
{
	for (int k = 0; k < RBAC_NLISTS; k++) {
		v[k] = idx->orig + l[k].first;
		n[k] = l[k].n;
	}
}

/* 1 if d names (directly) a closure member of p before position c. */
static int rbac_deny_seen(const struct rbac_index *idx, const struct rbac_deny_x *d,
			  const struct rbac_prin *pr, uint32_t c)
{
	for (uint32_t j = 0; j < c; j++) {
		uint32_t m = idx->closure[pr->clo_first + j].prin;
		for (uint32_t i = 0; i < d->n_prin; i++)
			if (idx->refs[d->prin_first + i] == m)
				return 1;
	}
	return 0;
}

static int rbac_report_deny(const struct rbac_index *idx, const struct rbac_deny_x *d,
			    int (*on_deny)(void *ctx, const struct rbac_deny_info *d), void *ctx)
{
	struct rbac_deny_info info = {0};
	const char *const *v[RBAC_NLISTS];
	size_t n[RBAC_NLISTS];

	if (on_deny == NULL)
		return 0;
	info.deny_id = d->id;
	info.name = d->name;
	info.scope = d->scope;
	rbac_fill_lists(idx, d->l, v, n);
	info.actions = v[0];
	info.n_actions = n[0];
	info.not_actions = v[1];
	info.n_not_actions = n[1];
	info.data_actions = v[2];
	info.n_data_actions = n[2];
	info.not_data_actions = v[3];
	info.n_not_data_actions = n[3];
	return on_deny(ctx, &info);
}

int rbac_effective(const struct rbac_index *idx, enum rbac_principal_type type,
		   const char *principal_id, const char *scope,
		   int (*on_grant)(void *ctx, const struct rbac_grant *g),
		   int (*on_deny)(void *ctx, const struct rbac_deny_info *d), void *ctx,
		   struct err *err)
{
	struct rbac_q q;
	const struct rbac_prin *pr;
	uint32_t p = RBAC_NONE;
	size_t idlen;
	int rc;

	if (idx == NULL)
		return err_set(err, ERR_INVALID, "no index");
	if (type != RBAC_PRINCIPAL_USER && type != RBAC_PRINCIPAL_GROUP &&
	    type != RBAC_PRINCIPAL_APP)
		return err_set(err, ERR_INVALID, "principal type must be user, group or app");
	if (principal_id == NULL || *principal_id == '\0' ||
	    (idlen = strnlen(principal_id, RBAC_ID_MAX + 1)) > RBAC_ID_MAX)
		return err_set(err, ERR_INVALID, "principal id is empty or too long");
	if (scope != NULL && rbac_walk_scope(idx, scope, &q, err) != 0)
		return err->code;
	p = rbac_index_find_principal(idx, type, principal_id, idlen);
	pr = p == RBAC_NONE ? NULL : &idx->prins[p];
	for (uint32_t c = 0; pr != NULL && on_grant != NULL && c < pr->clo_n; c++) {
		const struct rbac_prin *m = &idx->prins[idx->closure[pr->clo_first + c].prin];
		for (uint32_t k = 0; k < m->asg_n; k++) {
			const struct rbac_asg_x *a = &idx->asgs[m->asg_first + k];
			const struct rbac_role_x *r = &idx->roles[a->role];
			struct rbac_grant g = {0};
			const char *const *v[RBAC_NLISTS];
			size_t n[RBAC_NLISTS];

			if (scope != NULL && !rbac_on_path(&q, a->node, a->depth))
				continue;
			g.assignment_id = a->id;
			g.scope = a->scope;
			g.via_type = (enum rbac_principal_type)m->type;
			g.via_id = m->id;
			g.role_id = r->id;
			g.role_name = r->name;
			g.builtin = r->builtin;
			rbac_fill_lists(idx, r->l, v, n);
			g.actions = v[0];
			g.n_actions = n[0];
			g.not_actions = v[1];
			g.n_not_actions = n[1];
			g.data_actions = v[2];
			g.n_data_actions = n[2];
			g.not_data_actions = v[3];
			g.n_not_data_actions = n[3];
			if ((rc = on_grant(ctx, &g)) != 0)
				return rc;
		}
	}
	for (uint32_t i = 0; i < idx->n_everyone; i++) {
		const struct rbac_deny_x *d = &idx->denies[idx->everyone[i]];
		if ((scope == NULL || rbac_on_path(&q, d->node, d->depth)) &&
		    !rbac_excluded(idx, d, p) && (rc = rbac_report_deny(idx, d, on_deny, ctx)) != 0)
			return rc;
	}
	for (uint32_t c = 0; pr != NULL && c < pr->clo_n; c++) {
		const struct rbac_prin *m = &idx->prins[idx->closure[pr->clo_first + c].prin];
		for (uint32_t k = 0; k < m->deny_n; k++) {
			const struct rbac_deny_x *d = &idx->denies[idx->deny_refs[m->deny_first + k]];
			if (d->everyone || rbac_deny_seen(idx, d, pr, c))
				continue; /* reported already */
			if (k > 0 && idx->deny_refs[m->deny_first + k - 1] ==
					     idx->deny_refs[m->deny_first + k])
				continue; /* named twice */
			if ((scope == NULL || rbac_on_path(&q, d->node, d->depth)) &&
			    !rbac_excluded(idx, d, p) &&
			    (rc = rbac_report_deny(idx, d, on_deny, ctx)) != 0)
				return rc;
		}
	}
	return 0;
}
