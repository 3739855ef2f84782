/*
 * rbac_pattern: the syntax of action patterns and scopes, and matching.
 *
 * Everything here runs on input from outside (the admin API, the CLI, an
 * imported export), so every function checks bounds itself and says
 * precisely what is wrong.  Matching is the hot path of a check: a pattern
 * without '*' is a length test and a memcmp; one with '*' is the classic
 * greedy glob with one backtrack point, linear in practice and never worse
 * than O(pattern * action) on hostile input (both are at most 256 bytes).
 */
#include "rbac_internal.h"

#include <string.h>

static const char *const rbac_type_names[] = {"user", "group", "app", "everyone"};

const char *rbac_principal_type_name(enum rbac_principal_type t)
{
	if ((unsigned)t > RBAC_PRINCIPAL_EVERYONE)
		return "?";
	return rbac_type_names[t];
}

int rbac_principal_type_parse(const char *s)
{
	for (int i = 0; s != NULL && i <= RBAC_PRINCIPAL_EVERYONE; i++)
		if (strcmp(s, rbac_type_names[i]) == 0)
			return i;
	return -1;
}

static int rbac_action_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

int rbac_pattern_scan(const char *p, int allow_star, size_t *len, struct err *err)
{
	const char *what = allow_star ? "action pattern" : "action";
	size_t n = 0, segs = 1, seglen = 0;
	int star = 0;

	if (p == NULL || *p == '\0')
		return err_set(err, ERR_INVALID, "%s is empty", what);
	for (; p[n] != '\0'; n++) {
		unsigned char c = (unsigned char)p[n];
		if (n >= RBAC_ACTION_MAX)
			return err_set(err, ERR_INVALID, "%s is longer than %d bytes", what,
				       RBAC_ACTION_MAX);
		if (c == '/') {
			if (seglen == 0)
				return err_set(err, ERR_INVALID, "%s '%.64s': empty segment", what, p);
			segs++;
			seglen = 0;
			continue;
		}
		if (c == '*') {
			if (!allow_star)
				return err_set(err, ERR_INVALID,
					       "action '%.64s': '*' is only for patterns in roles", p);
			if (n > 0 && p[n - 1] == '*')
				return err_set(err, ERR_INVALID, "%s '%.64s': '**' is not allowed", what,
					       p);
			star = 1;
		} else if (!rbac_action_char(c)) {
			if (c < 0x20 || c >= 0x7f)
				return err_set(err, ERR_INVALID,
					       "%s: byte 0x%02x at offset %zu is not allowed (letters, "
					       "digits, '.', '_', '-', '/', '*')",
					       what, c, n);
			return err_set(err, ERR_INVALID,
				       "%s '%.64s': '%c' is not allowed (letters, digits, '.', '_', "
				       "'-', '/'%s)",
				       what, p, c, allow_star ? ", '*'" : "");
		}
		seglen++;
	}
	if (seglen == 0)
		return err_set(err, ERR_INVALID, "%s '%.64s': empty segment", what, p);
	if (!star && segs < 3)
		return err_set(err, ERR_INVALID,
			       "%s '%.64s': needs provider/resourceType/operation (or a '*')", what,
			       p);
	if (len != NULL)
		*len = n;
	return 0;
}

int rbac_pattern_check(const char *pattern, struct err *err)
{
	return rbac_pattern_scan(pattern, 1, NULL, err);
}

int rbac_action_check(const char *action, struct err *err)
{
	return rbac_pattern_scan(action, 0, NULL, err);
}

int rbac_glob(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pn && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return 0;
		}
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

static void rbac_lower(const char *s, char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
}

int rbac_pattern_match(const char *pattern, const char *action)
{
	char p[RBAC_ACTION_MAX], a[RBAC_ACTION_MAX];
	size_t pn = strnlen(pattern, RBAC_ACTION_MAX), an = strnlen(action, RBAC_ACTION_MAX);

	rbac_lower(pattern, p, pn);
	rbac_lower(action, a, an);
	return rbac_glob(p, pn, a, an);
}

static int rbac_scope_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '*' && c != '\\' && c != '/';
}

int rbac_scope_check(const char *scope, struct err *err)
{
	size_t n, segs = 0, seg = 0;

	if (scope == NULL || *scope == '\0')
		return err_set(err, ERR_INVALID, "scope is empty");
	if (scope[0] != '/')
		return err_set(err, ERR_INVALID, "scope '%.64s' must start with '/'", scope);
	if (scope[1] == '\0')
		return 0;
	for (n = 1;; n++) {
		unsigned char c = (unsigned char)scope[n];
		if (n > RBAC_SCOPE_MAX)
			return err_set(err, ERR_INVALID, "scope is longer than %d bytes",
				       RBAC_SCOPE_MAX);
		if (c == '/' || c == '\0') {
			if (n == seg + 1)
				return err_set(err, ERR_INVALID,
					       "scope '%.64s': empty segment (no '//' or trailing '/')",
					       scope);
			if ((n - seg - 1 == 1 && scope[seg + 1] == '.') ||
			    (n - seg - 1 == 2 && scope[seg + 1] == '.' && scope[seg + 2] == '.'))
				return err_set(err, ERR_INVALID,
					       "scope '%.64s': '.' and '..' segments are not allowed",
					       scope);
			if (++segs > RBAC_SCOPE_DEPTH_MAX)
				return err_set(err, ERR_INVALID, "scope has more than %d segments",
					       RBAC_SCOPE_DEPTH_MAX);
			if (c == '\0')
				return 0;
			seg = n;
			continue;
		}
		if (!rbac_scope_char(c)) {
			if (c <= 0x20 || c >= 0x7f)
				return err_set(err, ERR_INVALID,
					       "scope: byte 0x%02x at offset %zu is not allowed", c, n);
			return err_set(err, ERR_INVALID, "scope '%.64s': '%c' is not allowed", scope,
				       c);
		}
	}
}

int rbac_scope_within(const char *scope, const char *parent)
{
	size_t pn = strlen(parent);

	if (pn == 1 && parent[0] == '/')
		return 1;
	if (strlen(scope) < pn)
		return 0;
	for (size_t i = 0; i < pn; i++) {
		unsigned char a = (unsigned char)scope[i], b = (unsigned char)parent[i];
		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a + 32);
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b + 32);
		if (a != b)
			return 0;
	}
	return scope[pn] == '\0' || scope[pn] == '/';
}
