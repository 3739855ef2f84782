/*
 * rbac_internal: the shape of the index, shared by the files that build
 * it (rbac_build.c) and read it (rbac_check.c).  Nobody else sees it.
 *
 * Everything is arrays indexed by uint32_t, built once and never changed:
 *
 *  - principals: every user, group and app the data mentions, found by id
 *    through an open-addressing hash table.  Each has its closure: itself,
 *    then the groups it belongs to (transitively, nearest first) that matter
 *    for authorization (have assignments or are named by a deny), so a
 *    check never walks the group graph.
 *  - assignments, sorted by principal, each with its role and the node of
 *    its scope in the scope tree.
 *  - the scope tree: one node per distinct scope prefix that any assignment
 *    or deny uses, found by (parent, segment) through a hash table.  A
 *    check walks the requested scope down the tree once; an assignment then
 *    applies iff its node is on that path (chain[node.depth] == node).
 *  - patterns: lowercase copies for matching, originals for display.
 */
#ifndef IDP_RBAC_INTERNAL_H
#define IDP_RBAC_INTERNAL_H

#include "rbac.h"

#include <stdint.h>

#define RBAC_NONE UINT32_MAX

/* A role's or deny's four pattern lists, in this order. */
enum { RBAC_L_ACTIONS, RBAC_L_NOT_ACTIONS, RBAC_L_DATA, RBAC_L_NOT_DATA, RBAC_NLISTS };

struct rbac_plist {
	uint32_t first, n; /* into idx->pats and idx->orig */
};

struct rbac_pat {
	const char *s; /* lowercase */
	uint32_t len;
	uint32_t star; /* contains '*' */
};

struct rbac_role_x {
	const char *id, *name;
	int builtin;
	struct rbac_plist l[RBAC_NLISTS];
};

struct rbac_asg_x {
	uint32_t principal;
	uint32_t role;
	uint32_t node, depth; /* scope tree node and its depth (root 0) */
	const char *id;
	const char *scope; /* as given */
};

/* Where an assignment applies: the hot part, scanned by every check. */
struct rbac_loc {
	uint32_t node, depth;
};

struct rbac_deny_x {
	const char *id, *name, *scope;
	uint32_t node, depth;
	struct rbac_plist l[RBAC_NLISTS];
	uint32_t excl_first, n_excl; /* into idx->refs: excluded principals */
	uint32_t prin_first, n_prin; /* into idx->refs: named principals (sorted) */
	int everyone;
};

#define RBAC_PRIN_KEY 40 /* a UUID fits: lookups compare without leaving the record */
#define RBAC_NODE_KEY 24

struct rbac_prin {
	const char *id; /* lowercase */
	char key[RBAC_PRIN_KEY]; /* the first bytes of id */
	uint64_t hash;
	uint32_t idlen;
	uint32_t type;
	uint32_t clo_first, clo_n; /* into idx->closure */
	uint32_t asg_first, asg_n; /* into idx->asgs */
	uint32_t deny_first, deny_n; /* into idx->deny_refs */
};

/*
 * One member of a principal's closure, with what a check needs of it
 * inline, so the scan reads one sequential array instead of chasing each
 * member's record: its assignments' slice and whether any deny names it.
 */
#define RBAC_CLO_DENIES 0x80000000u
struct rbac_clo {
	uint32_t prin;
	uint32_t asg_first;
	uint32_t asg_n; /* | RBAC_CLO_DENIES when deny assignments name this member */
};

struct rbac_node {
	uint32_t parent, depth;
	uint64_t hash; /* of the path, see rbac_node_hash() */
	const char *seg; /* lowercase */
	uint32_t seglen;
	char key[RBAC_NODE_KEY]; /* the first bytes of seg */
};

struct rbac_chunk;
struct rbac_ref;

struct rbac_index {
	struct rbac_role_x *roles;
	uint32_t n_roles;
	struct rbac_asg_x *asgs;
	struct rbac_loc *asg_loc; /* parallel to asgs, 8 bytes each */
	uint32_t n_asgs;
	struct rbac_deny_x *denies;
	uint32_t n_denies;
	struct rbac_prin *prins;
	uint32_t n_prins;
	uint64_t *prin_slots; /* RBAC_SLOT(hash, principal index); 0 = empty */
	uint32_t prin_mask;
	struct rbac_node *nodes;
	uint32_t n_nodes;
	uint64_t *node_slots; /* RBAC_SLOT(hash, node index) */
	uint32_t node_mask;
	struct rbac_clo *closure;
	uint32_t n_closure;
	uint32_t *deny_refs; /* deny indices per principal */
	uint32_t *everyone;  /* deny indices of denies naming everyone */
	uint32_t n_everyone;
	uint32_t *refs; /* principal indices for denies' exclusions and principals */
	struct rbac_pat *pats;
	const char **orig;
	uint32_t n_pats;
	size_t n_memberships;
	struct rbac_chunk *arena;
	size_t bytes;
	struct rbac_ref *holder_ref; /* set once by rbac_holder_swap */
};

/* Hashing that ignores ASCII case (FNV-1a, 64 bits). */
static inline uint64_t rbac_hash_fold(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h ^= c;
		h *= 1099511628211ULL;
	}
	return h;
}

#define RBAC_HASH_SEED 14695981039346656037ULL

/*
 * A scope node's hash is the hash of its whole path ("/a/b", any case),
 * made from its parent's: a check can hash every level of a scope before
 * reading any node, and fetch all their slots at once (rbac_check.c).
 * The root's hash is RBAC_HASH_SEED.
 */
static inline uint64_t rbac_node_hash(uint64_t parent_hash, const char *seg, size_t n)
{
	return rbac_hash_fold(rbac_hash_fold(parent_hash, "/", 1), seg, n);
}

/*
 * Hash table slots hold the entry's index + 1 and 32 bits of its hash, so
 * a probe that meets another entry moves on without reading that entry.
 */
static inline uint32_t rbac_slot_start(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

#define RBAC_SLOT(h, i)   (((h) & 0xffffffff00000000ULL) | ((uint64_t)(i) + 1))
#define RBAC_SLOT_IDX(s)  ((uint32_t)(s) - 1)
#define RBAC_SLOT_TAG(s)  ((s) & 0xffffffff00000000ULL)
#define RBAC_HASH_TAG(h)  ((h) & 0xffffffff00000000ULL)

/* Compare n bytes of a (any case) with b (lowercase). */
static inline int rbac_eq_fold(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c != (unsigned char)b[i])
			return 0;
	}
	return 1;
}

/*
 * Compare n bytes of q (any case) with a lowercase text whose first keycap
 * bytes are inline in key (the record being looked at) and whole in full.
 */
static inline int rbac_key_eq(const char *q, size_t n, const char *key, size_t keycap,
			      const char *full)
{
	size_t head = n < keycap ? n : keycap;

	return rbac_eq_fold(q, key, head) && (n == head || rbac_eq_fold(q + head, full + head, n - head));
}

/* Glob match of a lowercase pattern against a lowercase action. */
int rbac_glob(const char *p, size_t pn, const char *s, size_t sn);

/* Validate a pattern (allow_star) or action; len out. 0 or ERR_INVALID. */
int rbac_pattern_scan(const char *p, int allow_star, size_t *len, struct err *err);

/* Principal by id and type; RBAC_NONE if unknown. */
uint32_t rbac_index_find_principal(const struct rbac_index *idx, enum rbac_principal_type type,
				   const char *id, size_t len);

/* The same with the id's hash (rbac_hash_fold(RBAC_HASH_SEED, id, len)) made already. */
uint32_t rbac_index_find_principal_h(const struct rbac_index *idx, enum rbac_principal_type type,
				     const char *id, size_t len, uint64_t h);

#endif
