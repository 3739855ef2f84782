/*
 * rbac_bench_casbin: the generated tenant as a casbin model and policy, the
 * requests and our answers, for casbin_bench.mjs.
 */
#include "rbac_bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- casbin export ----------------------------------------------------- */

/* One pattern list as a regex alternative, in lowercase, for regexMatch. */
static void regex_alt(const struct plist *l, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < l->n; i++) {
		n += (size_t)snprintf(out + n, cap - n, "%s", i ? "|" : "");
		for (const char *p = l->v[i]; *p && n + 4 < cap; p++) {
			if (*p == '*')
				n += (size_t)snprintf(out + n, cap - n, ".*");
			else if (*p == '.')
				n += (size_t)snprintf(out + n, cap - n, "\\.");
			else
				out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p), out[n] = '\0';
		}
	}
}

/* actions minus notActions (c:) and dataActions minus notDataActions (d:) as one regex */
static void regex_of(const struct plist *l, char *out, size_t cap)
{
	char a[4096], na[4096], da[4096], nda[4096];
	size_t n = 0;

	regex_alt(&l[0], a, sizeof(a));
	regex_alt(&l[1], na, sizeof(na));
	regex_alt(&l[2], da, sizeof(da));
	regex_alt(&l[3], nda, sizeof(nda));
	n += (size_t)snprintf(out + n, cap - n, "^(?:");
	if (a[0])
		n += (size_t)snprintf(out + n, cap - n, "c:%s%s%s(?:%s)", na[0] ? "(?!(?:" : "", na,
				      na[0] ? ")$)" : "", a);
	else
		n += (size_t)snprintf(out + n, cap - n, "(?!)");
	if (da[0])
		n += (size_t)snprintf(out + n, cap - n, "|d:%s%s%s(?:%s)", nda[0] ? "(?!(?:" : "",
				      nda, nda[0] ? ")$)" : "", da);
	snprintf(out + n, cap - n, ")$");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The same tenant for casbin, RBAC with domains (the tenant is the domain):
 * an assignment of role R at scope S to P is g(P, R@S, t1) with one policy
 * p(R@S, t1, S, regex of R, allow) per distinct (R, S); memberships are g
 * links between principals and groups; a deny assignment is a deny policy
 * whose subject its principals are linked to (or "everyone:ID"), with its
 * exclusions checked by a function over the same role links.  Scope
 * inheritance is a within(request scope, policy scope) function; notActions
 * become a negative lookahead in the role's regex.
 */
void casbin_export(const struct cfg *c, const struct tenant *t,
			  const struct prepared *pr, const struct rbac_decision *dec, long nreq)
{
	char path[1024], id[32], gid[32], **keys, **res;
	FILE *f;
	long nk = 0;

	mkdir(c->casbin_dir, 0700);
	snprintf(path, sizeof(path), "%s/model.conf", c->casbin_dir);
	if ((f = fopen(path, "we")) == NULL)
		goto fail;
	fputs("[request_definition]\nr = sub, dom, obj, act\n\n"
	      "[policy_definition]\np = sub, dom, obj, act, eft\n\n"
	      "[role_definition]\ng = _, _, _\n\n"
	      "[policy_effect]\ne = some(where (p.eft == allow)) && !some(where (p.eft == deny))\n\n"
	      "[matchers]\nm = r.dom == p.dom && within(r.obj, p.obj) && regexMatch(r.act, p.act) "
	      "&& (g(r.sub, p.sub, r.dom) || everyone(p.sub)) && !excluded(r.sub, p.sub, r.dom)\n",
	      f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/policy.csv", c->casbin_dir);
	if ((f = fopen(path, "we")) == NULL)
		goto fail;
	res = xcalloc((size_t)c->roles, sizeof(*res));
	for (long i = 0; i < c->roles; i++) {
		char re[16384];
		regex_of(t->roles[i].l, re, sizeof(re));
		res[i] = xstrdup(re);
	}
	keys = xcalloc((size_t)c->assignments, sizeof(*keys));
	for (long i = 0; i < c->assignments; i++) {
		char k[160];
		snprintf(k, sizeof(k), "%ld %s", (long)t->asgs[i].role, t->asgs[i].scope);
		keys[nk++] = xstrdup(k);
	}
	qsort(keys, (size_t)nk, sizeof(*keys), cmp_str);
	for (long i = 0; i < nk; i++) {
		long role;
		char scope[128];
		if (i > 0 && strcmp(keys[i], keys[i - 1]) == 0)
			continue;
		if (sscanf(keys[i], "%ld %127s", &role, scope) != 2)
			continue;
		fprintf(f, "p, %s@%s, t1, %s, %s, allow\n", t->roles[role].id, scope, scope,
			res[role]);
	}
	for (long i = 0; i < nk; i++)
		free(keys[i]);
	free(keys);
	for (long i = 0; i < c->roles; i++)
		free(res[i]);
	free(res);
	for (long i = 0; i < c->denies; i++) {
		const struct deny *d = &t->denies[i];
		char re[16384];
		regex_of(d->l, re, sizeof(re));
		fprintf(f, "p, %s%s, t1, %s, %s, deny\n", d->everyone ? "everyone:" : "", d->id,
			d->scope, re);
		for (int k = 0; k < d->n_prin; k++) {
			pid(d->ptype[k], d->prin[k], id, sizeof(id));
			fprintf(f, "g, %s, %s, t1\n", id, d->id);
		}
	}
	for (long i = 0; i < c->assignments; i++) {
		const struct asg *a = &t->asgs[i];
		pid(a->ptype, a->principal, id, sizeof(id));
		fprintf(f, "g, %s, %s@%s, t1\n", id, t->roles[a->role].id, a->scope);
	}
	for (long g = 0; g < c->groups; g++)
		if (t->group_parent[g] >= 0) {
			pid(RBAC_PRINCIPAL_GROUP, g, id, sizeof(id));
			pid(RBAC_PRINCIPAL_GROUP, t->group_parent[g], gid, sizeof(gid));
			fprintf(f, "g, %s, %s, t1\n", id, gid);
		}
	for (long u = 0; u < c->users; u++)
		for (int k = 0; k < 2; k++)
			if (t->user_groups[u][k] >= 0) {
				pid(RBAC_PRINCIPAL_USER, u, id, sizeof(id));
				pid(RBAC_PRINCIPAL_GROUP, t->user_groups[u][k], gid, sizeof(gid));
				fprintf(f, "g, %s, %s, t1\n", id, gid);
			}
	fclose(f);
	/* exclusions: deny subject, then the excluded principals */
	snprintf(path, sizeof(path), "%s/excluded.txt", c->casbin_dir);
	if ((f = fopen(path, "we")) == NULL)
		goto fail;
	for (long i = 0; i < c->denies; i++) {
		const struct deny *d = &t->denies[i];
		if (d->n_excl == 0)
			continue;
		fprintf(f, "%s%s", d->everyone ? "everyone:" : "", d->id);
		for (int k = 0; k < d->n_excl; k++) {
			pid(d->xtype[k], d->excl[k], id, sizeof(id));
			fprintf(f, " %s", id);
		}
		fputc('\n', f);
	}
	fclose(f);
	/* the requests, with our answers */
	snprintf(path, sizeof(path), "%s/requests.txt", c->casbin_dir);
	if ((f = fopen(path, "we")) == NULL)
		goto fail;
	for (long i = 0; i < nreq; i++) {
		char act[80];
		snprintf(act, sizeof(act), "%c:%s", pr[i].req.data_action ? 'd' : 'c',
			 pr[i].req.action);
		for (char *p = act; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		fprintf(f, "%s %s %s %d\n", pr[i].req.principal_id, pr[i].req.scope, act,
			dec[i].allowed);
	}
	fclose(f);
	return;
fail:
	fprintf(stderr, "rbac_bench: %s: %s\n", path, strerror(errno));
	exit(1);
}

