/*
 * rbac_build: from role data to the immutable index.
 *
 * The builder copies what it is given (strings into a chunked arena) and
 * checks its syntax as it arrives, so a caller learns which row is bad.
 * rbac_builder_build() then resolves references and precomputes all that a
 * check would otherwise walk: each principal's closure over nested groups
 * (a breadth-first walk with a visit stamp, so cycles end it), the scope
 * tree, and per-principal slices of assignments and deny assignments.  See
 * rbac_internal.h for the shape.
 */
#include "rbac_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- memory ----------------------------------------------------------- */

/*
 * Large parts of the index are read at random by every check, so their
 * pages cost TLB misses as much as their lines cost cache misses.  They go
 * in 2 MiB-aligned blocks that the kernel is asked to back with huge pages
 * (a hint: without transparent huge pages it changes nothing).  free()
 * releases them like any other allocation.
 */
#define RBAC_HUGE (2u << 20)

static void *rbac_big(size_t bytes)
{
	size_t len = (bytes + RBAC_HUGE - 1) & ~(size_t)(RBAC_HUGE - 1);
	void *p = NULL;

	if (len == 0 || posix_memalign(&p, RBAC_HUGE, len) != 0)
		return NULL;
	(void)madvise(p, len, MADV_HUGEPAGE);
	memset(p, 0, bytes);
	return p;
}

/* ---- arena ------------------------------------------------------------ */

struct rbac_chunk {
	struct rbac_chunk *next;
	size_t used, cap;
	_Alignas(16) char data[];
};

#define RBAC_CHUNK ((2u << 20) - 64)

static void *rbac_arena_alloc(struct rbac_chunk **head, size_t n, size_t *bytes)
{
	struct rbac_chunk *c = *head;

	n = (n + 7) & ~(size_t)7;
	if (c == NULL || c->cap - c->used < n) {
		/* Chunks double from 16 KiB, so a small tenant's index stays small. */
		size_t cap = c == NULL ? 16384 : c->cap * 2 > RBAC_CHUNK ? RBAC_CHUNK : c->cap * 2;
		if (cap < n)
			cap = n;
		c = cap >= RBAC_CHUNK ? rbac_big(sizeof(*c) + cap) : malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->next = *head;
		c->used = 0;
		c->cap = cap;
		*head = c;
		if (bytes != NULL)
			*bytes += sizeof(*c) + cap;
	}
	c->used += n;
	return c->data + c->used - n;
}

static void rbac_arena_free(struct rbac_chunk *c)
{
	while (c != NULL) {
		struct rbac_chunk *next = c->next;
		free(c);
		c = next;
	}
}

static char *rbac_arena_str(struct rbac_chunk **head, const char *s, size_t n, int lower,
			    size_t *bytes)
{
	char *p = rbac_arena_alloc(head, n + 1, bytes);

	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		p[i] = (char)(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	p[n] = '\0';
	return p;
}

/* ---- builder ---------------------------------------------------------- */

struct b_role {
	const char *id, *name;
	int builtin;
	const char **l[RBAC_NLISTS];
	uint32_t n[RBAC_NLISTS];
};

struct b_asg {
	const char *id, *role_id, *pid, *scope;
	uint32_t ptype;
};

struct b_ref {
	uint32_t type;
	const char *id;
};

struct b_deny {
	const char *id, *name, *scope;
	struct b_ref *prins, *excl;
	uint32_t n_prins, n_excl;
	const char **l[RBAC_NLISTS];
	uint32_t n[RBAC_NLISTS];
};

struct b_member {
	const char *mid, *gid;
	uint32_t mtype;
};

struct rbac_builder {
	struct rbac_chunk *arena;
	struct b_role *roles;
	size_t n_roles, cap_roles;
	struct b_asg *asgs;
	size_t n_asgs, cap_asgs;
	struct b_deny *denies;
	size_t n_denies, cap_denies;
	struct b_member *members;
	size_t n_members, cap_members;
	size_t n_patterns;
};

struct rbac_builder *rbac_builder_new(struct err *err)
{
	struct rbac_builder *b = calloc(1, sizeof(*b));

	if (b == NULL)
		err_set(err, ERR_INTERNAL, "out of memory");
	return b;
}

void rbac_builder_free(struct rbac_builder *b)
{
	if (b == NULL)
		return;
	rbac_arena_free(b->arena);
	free(b->roles);
	free(b->asgs);
	free(b->denies);
	free(b->members);
	free(b);
}

static int rbac_grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	if ((p = realloc(*v, c * size)) == NULL)
		return -1;
	*v = p;
	*cap = c;
	return 0;
}

static int rbac_oom(struct err *err)
{
	return err_set(err, ERR_INTERNAL, "out of memory");
}

/* An id: 1..RBAC_ID_MAX bytes of printable ASCII without spaces. */
static int rbac_id_check(const char *what, const char *id, struct err *err)
{
	size_t n;

	if (id == NULL || *id == '\0')
		return err_set(err, ERR_INVALID, "%s is empty", what);
	for (n = 0; id[n] != '\0'; n++) {
		unsigned char c = (unsigned char)id[n];
		if (n >= RBAC_ID_MAX)
			return err_set(err, ERR_INVALID, "%s is longer than %d bytes", what,
				       RBAC_ID_MAX);
		if (c <= 0x20 || c >= 0x7f)
			return err_set(err, ERR_INVALID, "%s: byte 0x%02x is not allowed", what, c);
	}
	return 0;
}

static int rbac_name_check(const char *what, const char *s, struct err *err)
{
	size_t n;

	if (s == NULL || *s == '\0')
		return err_set(err, ERR_INVALID, "%s is empty", what);
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= 1024)
			return err_set(err, ERR_INVALID, "%s is longer than 1024 bytes", what);
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return err_set(err, ERR_INVALID, "%s contains control characters", what);
	}
	return 0;
}

static const char *rbac_copy(struct rbac_builder *b, const char *s)
{
	return rbac_arena_str(&b->arena, s, strlen(s), 0, NULL);
}

/* Check and copy a pattern list (or a scope list when scopes). */
static int rbac_copy_list(struct rbac_builder *b, const char *what, const char *const *v,
			  size_t n, int scopes, const char ***out, uint32_t *nout, struct err *err)
{
	const char **l;

	*out = NULL;
	*nout = 0;
	if (n > 0 && v == NULL)
		return err_set(err, ERR_INVALID, "%s: list missing", what);
	if (n > 4096)
		return err_set(err, ERR_INVALID, "%s: more than 4096 entries", what);
	for (size_t i = 0; i < n; i++) {
		if ((scopes ? rbac_scope_check(v[i], err) : rbac_pattern_check(v[i], err)) != 0) {
			err_prefix(err, "%s[%zu]", what, i);
			return err->code;
		}
	}
	if (n == 0)
		return 0;
	if ((l = rbac_arena_alloc(&b->arena, n * sizeof(*l), NULL)) == NULL)
		return rbac_oom(err);
	for (size_t i = 0; i < n; i++)
		if ((l[i] = rbac_copy(b, v[i])) == NULL)
			return rbac_oom(err);
	*out = l;
	*nout = (uint32_t)n;
	return 0;
}

int rbac_builder_add_role(struct rbac_builder *b, const struct rbac_role_def *r,
			  struct err *err)
{
	static const char *const names[] = {"actions", "notActions", "dataActions",
					    "notDataActions"};
	const char *const *lists[RBAC_NLISTS] = {r->actions, r->not_actions, r->data_actions,
						 r->not_data_actions};
	size_t ns[RBAC_NLISTS] = {r->n_actions, r->n_not_actions, r->n_data_actions,
				  r->n_not_data_actions};
	const char **scopes;
	uint32_t nscopes;
	struct b_role x = {0};

	if (rbac_id_check("role id", r->id, err) || rbac_name_check("role name", r->name, err))
		return err->code;
	for (int i = 0; i < RBAC_NLISTS; i++) {
		if (rbac_copy_list(b, names[i], lists[i], ns[i], 0, &x.l[i], &x.n[i], err) != 0) {
			err_prefix(err, "role '%.64s'", r->name);
			return err->code;
		}
	}
	if (rbac_copy_list(b, "assignableScopes", r->assignable_scopes, r->n_assignable_scopes, 1,
			   &scopes, &nscopes, err) != 0) {
		err_prefix(err, "role '%.64s'", r->name);
		return err->code;
	}
	if (rbac_grow((void **)&b->roles, &b->cap_roles, b->n_roles, sizeof(x)) != 0 ||
	    (x.id = rbac_copy(b, r->id)) == NULL || (x.name = rbac_copy(b, r->name)) == NULL)
		return rbac_oom(err);
	x.builtin = r->builtin != 0;
	b->roles[b->n_roles++] = x;
	for (int i = 0; i < RBAC_NLISTS; i++)
		b->n_patterns += x.n[i];
	return 0;
}

static int rbac_ref_check(const char *what, struct rbac_principal_ref p, int everyone_ok,
			  struct err *err)
{
	if ((unsigned)p.type > RBAC_PRINCIPAL_EVERYONE ||
	    (p.type == RBAC_PRINCIPAL_EVERYONE && !everyone_ok))
		return err_set(err, ERR_INVALID, "%s: principal type must be user, group or app%s",
			       what, everyone_ok ? " or everyone" : "");
	if (p.type == RBAC_PRINCIPAL_EVERYONE)
		return 0;
	return rbac_id_check(what, p.id, err);
}

int rbac_builder_add_assignment(struct rbac_builder *b, const struct rbac_assignment_def *a,
				struct err *err)
{
	struct b_asg x;

	if (rbac_id_check("assignment id", a->id, err) ||
	    rbac_id_check("assignment role id", a->role_id, err) ||
	    rbac_ref_check("assignment principal", a->principal, 0, err) ||
	    rbac_scope_check(a->scope, err))
		return err->code;
	if (rbac_grow((void **)&b->asgs, &b->cap_asgs, b->n_asgs, sizeof(x)) != 0 ||
	    (x.id = rbac_copy(b, a->id)) == NULL || (x.role_id = rbac_copy(b, a->role_id)) == NULL ||
	    (x.pid = rbac_copy(b, a->principal.id)) == NULL ||
	    (x.scope = rbac_copy(b, a->scope)) == NULL)
		return rbac_oom(err);
	x.ptype = (uint32_t)a->principal.type;
	b->asgs[b->n_asgs++] = x;
	return 0;
}

static int rbac_copy_refs(struct rbac_builder *b, const char *what,
			  const struct rbac_principal_ref *v, size_t n, int everyone_ok,
			  struct b_ref **out, uint32_t *nout, struct err *err)
{
	struct b_ref *r;

	*out = NULL;
	*nout = 0;
	if (n > 0 && v == NULL)
		return err_set(err, ERR_INVALID, "%s: list missing", what);
	if (n > 4096)
		return err_set(err, ERR_INVALID, "%s: more than 4096 entries", what);
	for (size_t i = 0; i < n; i++)
		if (rbac_ref_check(what, v[i], everyone_ok, err) != 0)
			return err->code;
	if (n == 0)
		return 0;
	if ((r = rbac_arena_alloc(&b->arena, n * sizeof(*r), NULL)) == NULL)
		return rbac_oom(err);
	for (size_t i = 0; i < n; i++) {
		r[i].type = (uint32_t)v[i].type;
		r[i].id = NULL;
		if (v[i].type != RBAC_PRINCIPAL_EVERYONE && (r[i].id = rbac_copy(b, v[i].id)) == NULL)
			return rbac_oom(err);
	}
	*out = r;
	*nout = (uint32_t)n;
	return 0;
}

int rbac_builder_add_deny(struct rbac_builder *b, const struct rbac_deny_def *d,
			  struct err *err)
{
	static const char *const names[] = {"actions", "notActions", "dataActions",
					    "notDataActions"};
	const char *const *lists[RBAC_NLISTS] = {d->actions, d->not_actions, d->data_actions,
						 d->not_data_actions};
	size_t ns[RBAC_NLISTS] = {d->n_actions, d->n_not_actions, d->n_data_actions,
				  d->n_not_data_actions};
	struct b_deny x = {0};

	if (rbac_id_check("deny assignment id", d->id, err) ||
	    rbac_name_check("deny assignment name", d->name, err) ||
	    rbac_scope_check(d->scope, err))
		return err->code;
	if (d->n_principals == 0)
		return err_set(err, ERR_INVALID, "deny assignment '%.64s' names no principal",
			       d->name);
	if (rbac_copy_refs(b, "deny principals", d->principals, d->n_principals, 1, &x.prins,
			   &x.n_prins, err) ||
	    rbac_copy_refs(b, "deny excluded principals", d->excluded, d->n_excluded, 0, &x.excl,
			   &x.n_excl, err)) {
		err_prefix(err, "deny assignment '%.64s'", d->name);
		return err->code;
	}
	for (int i = 0; i < RBAC_NLISTS; i++) {
		if (rbac_copy_list(b, names[i], lists[i], ns[i], 0, &x.l[i], &x.n[i], err) != 0) {
			err_prefix(err, "deny assignment '%.64s'", d->name);
			return err->code;
		}
	}
	if (rbac_grow((void **)&b->denies, &b->cap_denies, b->n_denies, sizeof(x)) != 0 ||
	    (x.id = rbac_copy(b, d->id)) == NULL || (x.name = rbac_copy(b, d->name)) == NULL ||
	    (x.scope = rbac_copy(b, d->scope)) == NULL)
		return rbac_oom(err);
	b->denies[b->n_denies++] = x;
	for (int i = 0; i < RBAC_NLISTS; i++)
		b->n_patterns += x.n[i];
	return 0;
}

int rbac_builder_add_member(struct rbac_builder *b, struct rbac_principal_ref member,
			    const char *group_id, struct err *err)
{
	struct b_member x;

	if (member.type != RBAC_PRINCIPAL_USER && member.type != RBAC_PRINCIPAL_GROUP)
		return err_set(err, ERR_INVALID, "a group member is a user or a group");
	if (rbac_id_check("member id", member.id, err) ||
	    rbac_id_check("group id", group_id, err))
		return err->code;
	if (rbac_grow((void **)&b->members, &b->cap_members, b->n_members, sizeof(x)) != 0 ||
	    (x.mid = rbac_copy(b, member.id)) == NULL || (x.gid = rbac_copy(b, group_id)) == NULL)
		return rbac_oom(err);
	x.mtype = (uint32_t)member.type;
	b->members[b->n_members++] = x;
	return 0;
}

/* ---- build ------------------------------------------------------------ */

struct rbac_build {
	struct rbac_index *idx;
	size_t cap_prins, cap_nodes;
	/* role id -> role index, temporary */
	uint32_t *role_slots;
	uint32_t role_mask;
	struct err *err;
};

static void *rbac_xalloc(struct rbac_index *idx, size_t n, size_t size)
{
	void *p = (n ? n : 1) * size >= RBAC_HUGE / 2 ? rbac_big(n * size) : calloc(n ? n : 1, size);

	if (p != NULL)
		idx->bytes += (n ? n : 1) * size;
	return p;
}

static uint32_t rbac_pow2(size_t n)
{
	uint32_t c = 16;

	while (c < n * 2)
		c <<= 1;
	return c;
}

uint32_t rbac_index_find_principal(const struct rbac_index *idx, enum rbac_principal_type type,
				   const char *id, size_t len)
{
	return rbac_index_find_principal_h(idx, type, id, len,
					   rbac_hash_fold(RBAC_HASH_SEED, id, len));
}

uint32_t rbac_index_find_principal_h(const struct rbac_index *idx, enum rbac_principal_type type,
				     const char *id, size_t len, uint64_t h)
{
	uint32_t i = rbac_slot_start(h) & idx->prin_mask;

	if (idx->prin_slots == NULL)
		return RBAC_NONE;
	for (;; i = (i + 1) & idx->prin_mask) {
		uint64_t s = idx->prin_slots[i];
		const struct rbac_prin *p;
		if (s == 0)
			return RBAC_NONE;
		if (RBAC_SLOT_TAG(s) != RBAC_HASH_TAG(h))
			continue;
		p = &idx->prins[RBAC_SLOT_IDX(s)];
		if (p->hash == h && p->idlen == len &&
		    rbac_key_eq(id, len, p->key, sizeof(p->key), p->id))
			return p->type == (uint32_t)type ? RBAC_SLOT_IDX(s) : RBAC_NONE;
	}
}

static int rbac_prin_rehash(struct rbac_index *idx, uint32_t cap)
{
	uint64_t *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	free(idx->prin_slots);
	idx->prin_slots = slots;
	idx->prin_mask = cap - 1;
	for (uint32_t k = 0; k < idx->n_prins; k++) {
		uint32_t i = rbac_slot_start(idx->prins[k].hash) & idx->prin_mask;
		while (slots[i] != 0)
			i = (i + 1) & idx->prin_mask;
		slots[i] = RBAC_SLOT(idx->prins[k].hash, k);
	}
	return 0;
}

/* The principal (type, id), added if new; RBAC_NONE with err on failure. */
static uint32_t rbac_intern(struct rbac_build *bd, uint32_t type, const char *id)
{
	struct rbac_index *idx = bd->idx;
	size_t len = strlen(id);
	uint64_t h = rbac_hash_fold(RBAC_HASH_SEED, id, len);
	uint32_t i;
	struct rbac_prin *p;

	if (idx->prin_slots == NULL || (size_t)idx->n_prins * 2 >= (size_t)idx->prin_mask + 1) {
		if (rbac_prin_rehash(idx, idx->prin_slots == NULL ? 1024 : (idx->prin_mask + 1) * 2))
			return rbac_oom(bd->err), RBAC_NONE;
	}
	for (i = rbac_slot_start(h) & idx->prin_mask; idx->prin_slots[i] != 0;
	     i = (i + 1) & idx->prin_mask) {
		p = &idx->prins[RBAC_SLOT_IDX(idx->prin_slots[i])];
		if (p->hash == h && p->idlen == len && rbac_eq_fold(id, p->id, len)) {
			if (p->type != type) {
				err_set(bd->err, ERR_INVALID, "id '%.64s' names both a %s and a %s",
					id, rbac_principal_type_name(p->type),
					rbac_principal_type_name(type));
				return RBAC_NONE;
			}
			return RBAC_SLOT_IDX(idx->prin_slots[i]);
		}
	}
	if (rbac_grow((void **)&idx->prins, &bd->cap_prins, idx->n_prins, sizeof(*p)) != 0)
		return rbac_oom(bd->err), RBAC_NONE;
	p = &idx->prins[idx->n_prins];
	memset(p, 0, sizeof(*p));
	if ((p->id = rbac_arena_str(&idx->arena, id, len, 1, &idx->bytes)) == NULL)
		return rbac_oom(bd->err), RBAC_NONE;
	memcpy(p->key, p->id, len < sizeof(p->key) ? len : sizeof(p->key));
	p->hash = h;
	p->idlen = (uint32_t)len;
	p->type = type;
	idx->prin_slots[i] = RBAC_SLOT(h, idx->n_prins);
	return idx->n_prins++;
}

static int rbac_node_rehash(struct rbac_index *idx, uint32_t cap)
{
	uint64_t *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	free(idx->node_slots);
	idx->node_slots = slots;
	idx->node_mask = cap - 1;
	for (uint32_t k = 1; k < idx->n_nodes; k++) {
		uint32_t i = rbac_slot_start(idx->nodes[k].hash) & idx->node_mask;
		while (slots[i] != 0)
			i = (i + 1) & idx->node_mask;
		slots[i] = RBAC_SLOT(idx->nodes[k].hash, k);
	}
	return 0;
}

/* The node of a (valid) scope, adding the missing ones; RBAC_NONE on failure. */
static uint32_t rbac_scope_intern(struct rbac_build *bd, const char *scope, uint32_t *depth)
{
	struct rbac_index *idx = bd->idx;
	uint32_t node = 0, d = 0;
	const char *s = scope + 1;

	while (*s != '\0') {
		size_t n = strcspn(s, "/");
		uint64_t h = rbac_node_hash(idx->nodes[node].hash, s, n);
		uint32_t i, found = RBAC_NONE;
		struct rbac_node *x;

		if ((size_t)idx->n_nodes * 2 >= (size_t)idx->node_mask + 1 &&
		    rbac_node_rehash(idx, (idx->node_mask + 1) * 2) != 0)
			return rbac_oom(bd->err), RBAC_NONE;
		for (i = rbac_slot_start(h) & idx->node_mask; idx->node_slots[i] != 0;
		     i = (i + 1) & idx->node_mask) {
			x = &idx->nodes[RBAC_SLOT_IDX(idx->node_slots[i])];
			if (x->hash == h && x->parent == node && x->seglen == n &&
			    rbac_key_eq(s, n, x->key, sizeof(x->key), x->seg)) {
				found = RBAC_SLOT_IDX(idx->node_slots[i]);
				break;
			}
		}
		if (found == RBAC_NONE) {
			if (rbac_grow((void **)&idx->nodes, &bd->cap_nodes, idx->n_nodes,
				      sizeof(*x)) != 0)
				return rbac_oom(bd->err), RBAC_NONE;
			x = &idx->nodes[idx->n_nodes];
			x->parent = node;
			x->depth = d + 1;
			x->hash = h;
			x->seglen = (uint32_t)n;
			if ((x->seg = rbac_arena_str(&idx->arena, s, n, 1, &idx->bytes)) == NULL)
				return rbac_oom(bd->err), RBAC_NONE;
			memset(x->key, 0, sizeof(x->key));
			memcpy(x->key, x->seg, n < sizeof(x->key) ? n : sizeof(x->key));
			found = idx->n_nodes++;
			idx->node_slots[i] = RBAC_SLOT(h, found);
		}
		node = found;
		d++;
		s += n;
		if (*s == '/')
			s++;
	}
	*depth = d;
	return node;
}

static uint32_t rbac_role_find(struct rbac_build *bd, const char *id)
{
	size_t len = strlen(id);
	uint64_t h = rbac_hash_fold(RBAC_HASH_SEED, id, len);

	for (uint32_t i = (uint32_t)h & bd->role_mask; bd->role_slots[i] != 0;
	     i = (i + 1) & bd->role_mask) {
		const char *rid = bd->idx->roles[bd->role_slots[i] - 1].id;
		if (strlen(rid) == len && rbac_eq_fold(id, rid, len))
			return bd->role_slots[i] - 1;
	}
	return RBAC_NONE;
}

/* Copy pattern lists into idx->pats/orig. */
static int rbac_put_lists(struct rbac_index *idx, const char **const *l, const uint32_t *n,
			  struct rbac_plist *out)
{
	for (int k = 0; k < RBAC_NLISTS; k++) {
		out[k].first = idx->n_pats;
		out[k].n = n[k];
		for (uint32_t i = 0; i < n[k]; i++) {
			const char *s = l[k][i];
			size_t len = strlen(s);
			struct rbac_pat *p = &idx->pats[idx->n_pats];
			idx->orig[idx->n_pats] = rbac_arena_str(&idx->arena, s, len, 0, &idx->bytes);
			p->s = rbac_arena_str(&idx->arena, s, len, 1, &idx->bytes);
			if (p->s == NULL || idx->orig[idx->n_pats] == NULL)
				return -1;
			p->len = (uint32_t)len;
			p->star = memchr(s, '*', len) != NULL;
			idx->n_pats++;
		}
	}
	return 0;
}

static int rbac_build_roles(struct rbac_build *bd, struct rbac_builder *b)
{
	struct rbac_index *idx = bd->idx;
	uint32_t cap = rbac_pow2(b->n_roles);

	idx->roles = rbac_xalloc(idx, b->n_roles, sizeof(*idx->roles));
	bd->role_slots = calloc(cap, sizeof(*bd->role_slots));
	bd->role_mask = cap - 1;
	if (idx->roles == NULL || bd->role_slots == NULL)
		return rbac_oom(bd->err);
	for (size_t k = 0; k < b->n_roles; k++) {
		const struct b_role *r = &b->roles[k];
		struct rbac_role_x *x = &idx->roles[k];
		size_t len = strlen(r->id);
		uint64_t h = rbac_hash_fold(RBAC_HASH_SEED, r->id, len);
		uint32_t i;

		if (rbac_role_find(bd, r->id) != RBAC_NONE)
			return err_set(bd->err, ERR_EXISTS, "role id '%.64s' given twice", r->id);
		x->id = rbac_arena_str(&idx->arena, r->id, len, 0, &idx->bytes);
		x->name = rbac_arena_str(&idx->arena, r->name, strlen(r->name), 0, &idx->bytes);
		x->builtin = r->builtin;
		if (x->id == NULL || x->name == NULL || rbac_put_lists(idx, r->l, r->n, x->l) != 0)
			return rbac_oom(bd->err);
		idx->n_roles++;
		for (i = (uint32_t)h & bd->role_mask; bd->role_slots[i] != 0;
		     i = (i + 1) & bd->role_mask)
			;
		bd->role_slots[i] = (uint32_t)k + 1;
	}
	return 0;
}

/* Move a large array grown by realloc into huge-page-backed memory. */
static int rbac_rehome(void **p, size_t bytes)
{
	void *q;

	if (bytes < RBAC_HUGE / 2)
		return 0;
	if ((q = rbac_big(bytes)) == NULL)
		return -1;
	memcpy(q, *p, bytes);
	free(*p);
	*p = q;
	return 0;
}

static int rbac_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Per principal closure: itself, then the relevant groups it is in, nearest first. */
static int rbac_build_closures(struct rbac_build *bd, const uint32_t *edge_first,
			       const uint32_t *edges, const uint8_t *relevant)
{
	struct rbac_index *idx = bd->idx;
	uint32_t n = idx->n_prins, *stamp = calloc(n ? n : 1, sizeof(*stamp));
	uint32_t *queue = malloc((n ? n : 1) * sizeof(*queue));
	size_t cap = (size_t)n * 2 + 16, len = 0;
	uint32_t *clo = malloc(cap * sizeof(*clo));
	int rc = 0;

	if (stamp == NULL || queue == NULL || clo == NULL) {
		rc = rbac_oom(bd->err);
		goto out;
	}
	for (uint32_t p = 0; p < n; p++) {
		uint32_t head = 0, tail = 0;
		idx->prins[p].clo_first = (uint32_t)len;
		stamp[p] = p + 1;
		queue[tail++] = p;
		while (head < tail) {
			uint32_t q = queue[head++];
			if (q == p || relevant[q]) {
				if (len == cap) {
					uint32_t *more = realloc(clo, (cap *= 2) * sizeof(*clo));
					if (more == NULL) {
						rc = rbac_oom(bd->err);
						goto out;
					}
					clo = more;
				}
				clo[len++] = q;
			}
			for (uint32_t e = edge_first[q]; e < edge_first[q + 1]; e++) {
				uint32_t g = edges[e];
				if (stamp[g] != p + 1) {
					stamp[g] = p + 1;
					queue[tail++] = g;
				}
			}
		}
		idx->prins[p].clo_n = (uint32_t)len - idx->prins[p].clo_first;
	}
	if ((idx->closure = rbac_xalloc(idx, len, sizeof(*idx->closure))) == NULL) {
		rc = rbac_oom(bd->err);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		idx->closure[i].prin = clo[i]; /* the rest once assignments are placed */
	idx->n_closure = (uint32_t)len;
out:
	free(clo);
	free(stamp);
	free(queue);
	return rc;
}

static int rbac_build_index(struct rbac_build *bd, struct rbac_builder *b)
{
	struct rbac_index *idx = bd->idx;
	uint32_t *asg_prin = NULL, *asg_role = NULL, *mem_m = NULL, *mem_g = NULL;
	uint32_t *edge_first = NULL, *edges = NULL, *fill = NULL, *deny_count = NULL;
	uint8_t *relevant = NULL;
	size_t n_refs = 0, n_deny_refs = 0;
	int rc = ERR_INTERNAL;

	idx->pats = rbac_xalloc(idx, b->n_patterns, sizeof(*idx->pats));
	idx->orig = rbac_xalloc(idx, b->n_patterns, sizeof(*idx->orig));
	idx->nodes = calloc(16, sizeof(*idx->nodes));
	bd->cap_nodes = 16;
	if (idx->pats == NULL || idx->orig == NULL || idx->nodes == NULL ||
	    rbac_node_rehash(idx, 1024) != 0) {
		rc = rbac_oom(bd->err);
		goto out;
	}
	idx->n_nodes = 1; /* the root, "/" */
	idx->nodes[0].hash = RBAC_HASH_SEED;
	if ((rc = rbac_build_roles(bd, b)) != 0)
		goto out;

	/* Principals, in a stable order: assignments, denies, memberships. */
	asg_prin = malloc((b->n_asgs + 1) * sizeof(*asg_prin));
	asg_role = malloc((b->n_asgs + 1) * sizeof(*asg_role));
	mem_m = malloc((b->n_members + 1) * sizeof(*mem_m));
	mem_g = malloc((b->n_members + 1) * sizeof(*mem_g));
	if (asg_prin == NULL || asg_role == NULL || mem_m == NULL || mem_g == NULL) {
		rc = rbac_oom(bd->err);
		goto out;
	}
	rc = ERR_INVALID;
	for (size_t k = 0; k < b->n_asgs; k++) {
		if ((asg_role[k] = rbac_role_find(bd, b->asgs[k].role_id)) == RBAC_NONE) {
			rc = err_set(bd->err, ERR_NOT_FOUND,
				     "assignment '%.64s' names an unknown role '%.64s'",
				     b->asgs[k].id, b->asgs[k].role_id);
			goto out;
		}
		if ((asg_prin[k] = rbac_intern(bd, b->asgs[k].ptype, b->asgs[k].pid)) == RBAC_NONE)
			goto fail;
	}
	for (size_t k = 0; k < b->n_denies; k++) {
		const struct b_deny *d = &b->denies[k];
		for (uint32_t i = 0; i < d->n_prins; i++) {
			if (d->prins[i].type != RBAC_PRINCIPAL_EVERYONE &&
			    rbac_intern(bd, d->prins[i].type, d->prins[i].id) == RBAC_NONE)
				goto fail;
		}
		for (uint32_t i = 0; i < d->n_excl; i++)
			if (rbac_intern(bd, d->excl[i].type, d->excl[i].id) == RBAC_NONE)
				goto fail;
		n_refs += d->n_prins + d->n_excl;
	}
	for (size_t k = 0; k < b->n_members; k++) {
		if ((mem_m[k] = rbac_intern(bd, b->members[k].mtype, b->members[k].mid)) ==
			    RBAC_NONE ||
		    (mem_g[k] = rbac_intern(bd, RBAC_PRINCIPAL_GROUP, b->members[k].gid)) ==
			    RBAC_NONE)
			goto fail;
	}
	idx->n_memberships = b->n_members;

	/* Membership edges, member -> groups (CSR). */
	rc = ERR_INTERNAL;
	edge_first = calloc((size_t)idx->n_prins + 2, sizeof(*edge_first));
	edges = malloc((b->n_members + 1) * sizeof(*edges));
	fill = calloc((size_t)idx->n_prins + 1, sizeof(*fill));
	relevant = calloc((size_t)idx->n_prins + 1, 1);
	deny_count = calloc((size_t)idx->n_prins + 2, sizeof(*deny_count));
	if (edge_first == NULL || edges == NULL || fill == NULL || relevant == NULL ||
	    deny_count == NULL) {
		rc = rbac_oom(bd->err);
		goto out;
	}
	for (size_t k = 0; k < b->n_members; k++)
		edge_first[mem_m[k] + 1]++;
	for (uint32_t p = 0; p < idx->n_prins; p++)
		edge_first[p + 1] += edge_first[p];
	for (size_t k = 0; k < b->n_members; k++)
		edges[edge_first[mem_m[k]] + fill[mem_m[k]]++] = mem_g[k];

	/* Which principals matter in a closure. */
	for (size_t k = 0; k < b->n_asgs; k++)
		relevant[asg_prin[k]] = 1;
	for (size_t k = 0; k < b->n_denies; k++) {
		const struct b_deny *d = &b->denies[k];
		for (uint32_t i = 0; i < d->n_prins; i++) {
			if (d->prins[i].type == RBAC_PRINCIPAL_EVERYONE)
				continue;
			uint32_t p = rbac_index_find_principal(idx, d->prins[i].type, d->prins[i].id,
							       strlen(d->prins[i].id));
			relevant[p] = 1;
			deny_count[p + 1]++;
			n_deny_refs++;
		}
		for (uint32_t i = 0; i < d->n_excl; i++)
			relevant[rbac_index_find_principal(idx, d->excl[i].type, d->excl[i].id,
							   strlen(d->excl[i].id))] = 1;
	}
	if ((rc = rbac_build_closures(bd, edge_first, edges, relevant)) != 0)
		goto out;

	/* Assignments, grouped by principal (a stable counting sort). */
	rc = ERR_INTERNAL;
	idx->asgs = rbac_xalloc(idx, b->n_asgs, sizeof(*idx->asgs));
	idx->asg_loc = rbac_xalloc(idx, b->n_asgs, sizeof(*idx->asg_loc));
	if (idx->asgs == NULL || idx->asg_loc == NULL) {
		rc = rbac_oom(bd->err);
		goto out;
	}
	memset(fill, 0, ((size_t)idx->n_prins + 1) * sizeof(*fill));
	for (size_t k = 0; k < b->n_asgs; k++)
		idx->prins[asg_prin[k]].asg_n++;
	for (uint32_t p = 0, at = 0; p < idx->n_prins; p++) {
		idx->prins[p].asg_first = at;
		at += idx->prins[p].asg_n;
	}
	for (size_t k = 0; k < b->n_asgs; k++) {
		struct rbac_prin *p = &idx->prins[asg_prin[k]];
		struct rbac_asg_x *x = &idx->asgs[p->asg_first + fill[asg_prin[k]]++];
		x->principal = asg_prin[k];
		x->role = asg_role[k];
		x->id = rbac_arena_str(&idx->arena, b->asgs[k].id, strlen(b->asgs[k].id), 0,
				       &idx->bytes);
		x->scope = rbac_arena_str(&idx->arena, b->asgs[k].scope, strlen(b->asgs[k].scope),
					  0, &idx->bytes);
		if (x->id == NULL || x->scope == NULL) {
			rc = rbac_oom(bd->err);
			goto out;
		}
		if ((x->node = rbac_scope_intern(bd, b->asgs[k].scope, &x->depth)) == RBAC_NONE)
			goto out;
		idx->asg_loc[x - idx->asgs] = (struct rbac_loc){x->node, x->depth};
	}
	idx->n_asgs = (uint32_t)b->n_asgs;

	/* Deny assignments, and which principals they name. */
	idx->denies = rbac_xalloc(idx, b->n_denies, sizeof(*idx->denies));
	idx->refs = rbac_xalloc(idx, n_refs, sizeof(*idx->refs));
	idx->deny_refs = rbac_xalloc(idx, n_deny_refs, sizeof(*idx->deny_refs));
	idx->everyone = rbac_xalloc(idx, b->n_denies, sizeof(*idx->everyone));
	if (idx->denies == NULL || idx->refs == NULL || idx->deny_refs == NULL ||
	    idx->everyone == NULL) {
		rc = rbac_oom(bd->err);
		goto out;
	}
	for (uint32_t p = 0; p < idx->n_prins; p++) {
		deny_count[p + 1] += deny_count[p];
		idx->prins[p].deny_first = deny_count[p];
		idx->prins[p].deny_n = 0;
	}
	for (size_t k = 0, at = 0; k < b->n_denies; k++) {
		const struct b_deny *d = &b->denies[k];
		struct rbac_deny_x *x = &idx->denies[k];
		x->id = rbac_arena_str(&idx->arena, d->id, strlen(d->id), 0, &idx->bytes);
		x->name = rbac_arena_str(&idx->arena, d->name, strlen(d->name), 0, &idx->bytes);
		x->scope = rbac_arena_str(&idx->arena, d->scope, strlen(d->scope), 0, &idx->bytes);
		if (x->id == NULL || x->name == NULL || x->scope == NULL ||
		    rbac_put_lists(idx, d->l, d->n, x->l) != 0) {
			rc = rbac_oom(bd->err);
			goto out;
		}
		if ((x->node = rbac_scope_intern(bd, d->scope, &x->depth)) == RBAC_NONE)
			goto out;
		x->prin_first = (uint32_t)at;
		for (uint32_t i = 0; i < d->n_prins; i++) {
			uint32_t p;
			if (d->prins[i].type == RBAC_PRINCIPAL_EVERYONE) {
				if (!x->everyone)
					idx->everyone[idx->n_everyone++] = (uint32_t)k;
				x->everyone = 1;
				continue;
			}
			p = rbac_index_find_principal(idx, d->prins[i].type, d->prins[i].id,
						      strlen(d->prins[i].id));
			idx->refs[at++] = p;
			idx->deny_refs[idx->prins[p].deny_first + idx->prins[p].deny_n++] =
				(uint32_t)k;
		}
		x->n_prin = (uint32_t)at - x->prin_first;
		qsort(idx->refs + x->prin_first, x->n_prin, sizeof(uint32_t), rbac_cmp_u32);
		x->excl_first = (uint32_t)at;
		for (uint32_t i = 0; i < d->n_excl; i++)
			idx->refs[at++] = rbac_index_find_principal(
				idx, d->excl[i].type, d->excl[i].id, strlen(d->excl[i].id));
		x->n_excl = (uint32_t)at - x->excl_first;
	}
	idx->n_denies = (uint32_t)b->n_denies;
	if (rbac_rehome((void **)&idx->prins, (size_t)idx->n_prins * sizeof(*idx->prins)) != 0 ||
	    rbac_rehome((void **)&idx->prin_slots,
			((size_t)idx->prin_mask + 1) * sizeof(*idx->prin_slots)) != 0 ||
	    rbac_rehome((void **)&idx->nodes, (size_t)idx->n_nodes * sizeof(*idx->nodes)) != 0 ||
	    rbac_rehome((void **)&idx->node_slots,
			((size_t)idx->node_mask + 1) * sizeof(*idx->node_slots)) != 0) {
		rc = rbac_oom(bd->err);
		goto out;
	}
	for (uint32_t i = 0; i < idx->n_closure; i++) {
		const struct rbac_prin *m = &idx->prins[idx->closure[i].prin];
		idx->closure[i].asg_first = m->asg_first;
		idx->closure[i].asg_n = m->asg_n | (m->deny_n > 0 ? RBAC_CLO_DENIES : 0);
	}
	idx->bytes += (size_t)bd->cap_prins * sizeof(*idx->prins) +
		      ((size_t)idx->prin_mask + 1) * sizeof(uint64_t) +
		      bd->cap_nodes * sizeof(*idx->nodes) +
		      ((size_t)idx->node_mask + 1) * sizeof(uint64_t);
	rc = 0;
	goto out;
fail:
	rc = bd->err != NULL && bd->err->code != 0 ? bd->err->code : ERR_INVALID;
out:
	free(asg_prin);
	free(asg_role);
	free(mem_m);
	free(mem_g);
	free(edge_first);
	free(edges);
	free(fill);
	free(relevant);
	free(deny_count);
	return rc;
}

struct rbac_index *rbac_builder_build(struct rbac_builder *b, struct err *err)
{
	struct err local = {0};
	struct rbac_build bd = {0};

	if (err == NULL)
		err = &local;
	err_clear(err);
	bd.err = err;
	if ((bd.idx = calloc(1, sizeof(*bd.idx))) == NULL) {
		rbac_oom(err);
		return NULL;
	}
	bd.idx->bytes = sizeof(*bd.idx);
	if (rbac_build_index(&bd, b) != 0) {
		if (err->code == 0)
			rbac_oom(err);
		rbac_index_free(bd.idx);
		bd.idx = NULL;
	}
	free(bd.role_slots);
	return bd.idx;
}

void rbac_index_free(struct rbac_index *idx)
{
	if (idx == NULL)
		return;
	free(idx->roles);
	free(idx->asgs);
	free(idx->asg_loc);
	free(idx->denies);
	free(idx->prins);
	free(idx->prin_slots);
	free(idx->nodes);
	free(idx->node_slots);
	free(idx->closure);
	free(idx->deny_refs);
	free(idx->everyone);
	free(idx->refs);
	free(idx->pats);
	free(idx->orig);
	rbac_arena_free(idx->arena);
	free(idx);
}

void rbac_index_stats(const struct rbac_index *idx, struct rbac_index_stats *out)
{
	out->roles = idx->n_roles;
	out->assignments = idx->n_asgs;
	out->denies = idx->n_denies;
	out->principals = idx->n_prins;
	out->memberships = idx->n_memberships;
	out->scope_nodes = idx->n_nodes;
	out->bytes = idx->bytes;
}
