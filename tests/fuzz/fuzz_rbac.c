/*
 * fuzz_rbac: action patterns, scopes and the evaluator's decision.
 *
 * Input: a flags byte, then lines: role pattern, role notActions pattern,
 * action, assignment scope, checked scope, deny pattern, deny scope.
 * The syntax checks run on every line.  When the pieces are valid, the
 * matcher is compared with a plain recursive glob and scope containment
 * with a plain prefix rule, and an index holding one role, one assignment
 * (to the user, or to a group the user is in) and optionally one deny
 * assignment must decide exactly what those references say.
 */
#include "fuzz.h"

#include "err.h"
#include "rbac.h"

#include <ctype.h>
#include <strings.h>

/*
 * The reference matcher: '*' is any run of characters, ASCII case ignored.
 * A table over (pattern position, text position), so that it stays
 * polynomial on the patterns a fuzzer likes ("*a*a*a*a...").
 */
static int ref_glob(const char *p, const char *s)
{
	size_t pn = strlen(p), sn = strlen(s);
	unsigned char *m = calloc((pn + 1) * (sn + 1), 1);
	int r;

	if (m == NULL)
		abort();
#define M(i, j) m[(i) * (sn + 1) + (j)]
	M(pn, sn) = 1; /* both used up */
	for (size_t i = pn; i-- > 0;) {
		for (size_t j = sn + 1; j-- > 0;) {
			if (p[i] == '*')
				M(i, j) = M(i + 1, j) || (j < sn && M(i, j + 1));
			else
				M(i, j) = j < sn &&
				          tolower((unsigned char)p[i]) ==
				                  tolower((unsigned char)s[j]) &&
				          M(i + 1, j + 1);
		}
	}
	r = M(0, 0);
#undef M
	free(m);
	return r;
}

/* The reference containment: "/" holds everything; else a prefix ending at a '/'. */
static int ref_within(const char *scope, const char *parent)
{
	size_t n = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return 1;
	if (strlen(scope) < n || strncasecmp(scope, parent, n) != 0)
		return 0;
	return scope[n] == '\0' || scope[n] == '/';
}

static int valid_pattern(const char *s)
{
	struct err err = {0};
	int ok = rbac_pattern_check(s, &err) == 0;

	FUZZ_ASSERT(ok || (err.code == ERR_INVALID && err.msg[0] != '\0'), "silent refusal");
	return ok;
}

static int valid_scope(const char *s)
{
	struct err err = {0};
	int ok = rbac_scope_check(s, &err) == 0;

	FUZZ_ASSERT(ok || (err.code == ERR_INVALID && err.msg[0] != '\0'), "silent refusal");
	if (ok)
		FUZZ_ASSERT(strlen(s) <= RBAC_SCOPE_MAX && s[0] == '/', "bad scope accepted");
	return ok;
}

static void fuzz_decide(unsigned flags, const char *pat, const char *notpat, const char *action,
                        const char *asg_scope, const char *scope, const char *deny_pat,
                        const char *deny_scope)
{
	static const char *const root[] = {"/"};
	const char *acts[1] = {pat}, *nots[1] = {notpat}, *denies[1] = {deny_pat};
	struct rbac_principal_ref everyone = {RBAC_PRINCIPAL_EVERYONE, NULL};
	int data = (flags & 2) != 0, via_group = (flags & 1) != 0;
	int use_not = (flags & 8) != 0 && valid_pattern(notpat);
	int use_deny = (flags & 4) != 0 && valid_pattern(deny_pat) && valid_scope(deny_scope);
	struct rbac_builder *b;
	struct rbac_index *idx;
	struct rbac_decision d;
	struct rbac_request q;
	struct err err = {0};
	int want;

	if ((b = rbac_builder_new(&err)) == NULL)
		return;
	{
		struct rbac_role_def r = {0};
		r.id = "role";
		r.name = "Fuzzed";
		r.assignable_scopes = root;
		r.n_assignable_scopes = 1;
		if (data) {
			r.data_actions = acts;
			r.n_data_actions = 1;
			r.not_data_actions = nots;
			r.n_not_data_actions = use_not;
		} else {
			r.actions = acts;
			r.n_actions = 1;
			r.not_actions = nots;
			r.n_not_actions = use_not;
		}
		FUZZ_ASSERT(rbac_builder_add_role(b, &r, &err) == 0, "role refused: %s", err.msg);
	}
	{
		struct rbac_assignment_def a = {0};
		a.id = "asg";
		a.role_id = "role";
		a.principal.type = via_group ? RBAC_PRINCIPAL_GROUP : RBAC_PRINCIPAL_USER;
		a.principal.id = via_group ? "g1" : "u1";
		a.scope = asg_scope;
		FUZZ_ASSERT(rbac_builder_add_assignment(b, &a, &err) == 0, "assignment refused: %s",
		            err.msg);
	}
	if (via_group) {
		struct rbac_principal_ref m = {RBAC_PRINCIPAL_USER, "u1"};
		FUZZ_ASSERT(rbac_builder_add_member(b, m, "g1", &err) == 0, "member: %s", err.msg);
	}
	if (use_deny) {
		struct rbac_deny_def x = {0};
		x.id = "deny";
		x.name = "Fuzzed deny";
		x.scope = deny_scope;
		x.principals = &everyone;
		x.n_principals = 1;
		if (data) {
			x.data_actions = denies;
			x.n_data_actions = 1;
		} else {
			x.actions = denies;
			x.n_actions = 1;
		}
		FUZZ_ASSERT(rbac_builder_add_deny(b, &x, &err) == 0, "deny refused: %s", err.msg);
	}
	idx = rbac_builder_build(b, &err);
	rbac_builder_free(b);
	FUZZ_ASSERT(idx != NULL, "build failed: %s", err.msg);

	memset(&q, 0, sizeof(q));
	q.principal_type = RBAC_PRINCIPAL_USER;
	q.principal_id = "u1";
	q.action = action;
	q.scope = scope;
	q.data_action = data;
	FUZZ_ASSERT(rbac_check(idx, &q, &d, &err) == 0, "check failed: %s", err.msg);
	want = ref_glob(pat, action) && !(use_not && ref_glob(notpat, action)) &&
	       ref_within(scope, asg_scope);
	if (use_deny && ref_glob(deny_pat, action) && ref_within(scope, deny_scope)) {
		FUZZ_ASSERT(!d.allowed && d.reason == RBAC_REASON_DENY, "the deny did not win");
		want = 0;
	}
	FUZZ_ASSERT(d.allowed == want, "decided %d, the reference says %d", d.allowed, want);
	if (want)
		FUZZ_ASSERT(d.reason == RBAC_REASON_ASSIGNMENT &&
		                    strcmp(d.assignment_id, "asg") == 0,
		            "allowed without naming the assignment");
	/* a different principal gets nothing from these assignments */
	q.principal_id = "u2";
	FUZZ_ASSERT(rbac_check(idx, &q, &d, &err) == 0 && !d.allowed, "u2 was allowed");
	rbac_index_free(idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	unsigned flags = fuzz_byte(&in);
	char *pat = fuzz_next(&in, '\n', NULL), *notpat = fuzz_next(&in, '\n', NULL);
	char *action = fuzz_next(&in, '\n', NULL), *asg_scope = fuzz_next(&in, '\n', NULL);
	char *scope = fuzz_next(&in, '\n', NULL), *deny_pat = fuzz_next(&in, '\n', NULL);
	char *deny_scope = fuzz_next(&in, '\n', NULL);
	struct err err = {0};
	int pat_ok = valid_pattern(pat), act_ok, asg_ok = valid_scope(asg_scope);
	int scope_ok = valid_scope(scope);

	act_ok = rbac_action_check(action, &err) == 0;
	if (act_ok)
		FUZZ_ASSERT(valid_pattern(action), "an action that is not a pattern");
	if (pat_ok && act_ok)
		FUZZ_ASSERT(rbac_pattern_match(pat, action) == ref_glob(pat, action),
		            "'%s' against '%s': matcher %d", pat, action,
		            rbac_pattern_match(pat, action));
	if (asg_ok && scope_ok)
		FUZZ_ASSERT(rbac_scope_within(scope, asg_scope) == ref_within(scope, asg_scope),
		            "'%s' within '%s'", scope, asg_scope);
	if (pat_ok && act_ok && asg_ok && scope_ok)
		fuzz_decide(flags, pat, notpat, action, asg_scope, scope, deny_pat, deny_scope);
	free(pat);
	free(notpat);
	free(action);
	free(asg_scope);
	free(scope);
	free(deny_pat);
	free(deny_scope);
	return 0;
}
