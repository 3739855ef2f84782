/*
 * directory_bench: the store at the size of a large tenant.
 *
 * Inserts 100k users and 1k groups of 100 members (nested ten to a parent,
 * so transitive queries have levels to climb) into one tenant of a fresh
 * store, then times 1M lookups by UPN and 100k transitive-membership
 * queries, and prints one table.  Never fails on time: it measures.
 *
 *     directory_bench [--users N] [--groups N] [--lookups N] [--queries N] [--dir D]
 */
#include "clock.h"
#include "dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long bench_peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int bench_count(void *ctx, const struct dir_group *g)
{
	(void)g;
	(*(long *)ctx)++;
	return 0;
}

static void bench_die(const char *what, const struct err *err)
{
	fprintf(stderr, "directory_bench: %s: %s\n", what, err->msg);
	exit(1);
}

int main(int argc, char **argv)
{
	long users = 100000, groups = 1000, per_group = 100, lookups = 1000000, queries = 100000;
	const char *base = "/tmp";
	char dirpath[512], path[600], wal[700];
	struct dir_options o = {0};
	struct dir_tenant t = {0};
	struct err err = {0};
	char (*user_ids)[DIR_ID_MAX];
	char (*group_ids)[DIR_ID_MAX];
	double t0, t_users, t_groups, t_lookup, t_query;
	long found_groups = 0;
	struct stat st, stw;
	struct dir *d;

	for (int i = 1; i + 1 < argc; i += 2) {
		long v = atol(argv[i + 1]);
		if (strcmp(argv[i], "--users") == 0)
			users = v;
		else if (strcmp(argv[i], "--groups") == 0)
			groups = v;
		else if (strcmp(argv[i], "--lookups") == 0)
			lookups = v;
		else if (strcmp(argv[i], "--queries") == 0)
			queries = v;
		else if (strcmp(argv[i], "--dir") == 0)
			base = argv[i + 1];
	}
	if (users < per_group || groups < 1) {
		fprintf(stderr, "directory_bench: need at least %ld users and 1 group\n", per_group);
		return 2;
	}
	snprintf(dirpath, sizeof(dirpath), "%s/idp-bench-XXXXXX", base);
	if (mkdtemp(dirpath) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/store.db", dirpath);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	o.path = path;
	if ((d = dir_open(&o, &err)) == NULL)
		bench_die("open", &err);
	strcpy(t.name, "bench");
	if (dir_tenant_create(d, &t, &err) != 0)
		bench_die("tenant", &err);
	user_ids = calloc((size_t)users, sizeof(*user_ids));
	group_ids = calloc((size_t)groups, sizeof(*group_ids));

	/* users, in transactions of 10k (what a sync batch would do) */
	t0 = bench_now();
	for (long i = 0; i < users; i++) {
		struct dir_user u = {0};
		if (i % 10000 == 0 && dir_begin(d, &err) != 0)
			bench_die("begin", &err);
		snprintf(u.upn, sizeof(u.upn), "user%06ld@bench.example.com", i);
		snprintf(u.display_name, sizeof(u.display_name), "Bench User %ld", i);
		snprintf(u.given_name, sizeof(u.given_name), "Bench");
		snprintf(u.surname, sizeof(u.surname), "User%ld", i);
		snprintf(u.mail, sizeof(u.mail), "user%06ld@bench.example.com", i);
		u.enabled = 1;
		if (dir_user_create(d, t.id, &u, NULL, &err) != 0)
			bench_die("user", &err);
		memcpy(user_ids[i], u.id, DIR_ID_MAX);
		if ((i + 1) % 10000 == 0 || i + 1 == users)
			if (dir_commit(d, &err) != 0)
				bench_die("commit", &err);
	}
	t_users = bench_now() - t0;

	/* groups of 100 members; group g nested in group g/10 */
	t0 = bench_now();
	if (dir_begin(d, &err) != 0)
		bench_die("begin", &err);
	for (long g = 0; g < groups; g++) {
		struct dir_group gr = {0};
		snprintf(gr.name, sizeof(gr.name), "group-%04ld", g);
		if (dir_group_create(d, t.id, &gr, &err) != 0)
			bench_die("group", &err);
		memcpy(group_ids[g], gr.id, DIR_ID_MAX);
		for (long m = 0; m < per_group; m++) {
			long u = (g * per_group + m) % users;
			if (dir_group_add_member(d, t.id, gr.id, DIR_MEMBER_USER, user_ids[u],
						 &err) != 0)
				bench_die("member", &err);
		}
		if (g > 0 && dir_group_add_member(d, t.id, group_ids[g / 10], DIR_MEMBER_GROUP,
						  gr.id, &err) != 0)
			bench_die("nest", &err);
	}
	if (dir_commit(d, &err) != 0)
		bench_die("commit", &err);
	t_groups = bench_now() - t0;

	/* lookups by UPN, in a pseudo-random order, mixed case */
	srand(42);
	t0 = bench_now();
	for (long i = 0; i < lookups; i++) {
		struct dir_user u;
		char upn[64];
		snprintf(upn, sizeof(upn), "User%06d@Bench.Example.com", rand() % (int)users);
		if (dir_user_get_by_upn(d, t.id, upn, &u, &err) != 0)
			bench_die("lookup", &err);
	}
	t_lookup = bench_now() - t0;

	t0 = bench_now();
	for (long i = 0; i < queries; i++) {
		long u = rand() % (groups * per_group < users ? groups * per_group : users);
		if (dir_member_of(d, t.id, DIR_MEMBER_USER, user_ids[u], bench_count, &found_groups,
				  &err) != 0)
			bench_die("member_of", &err);
	}
	t_query = bench_now() - t0;

	if (dir_checkpoint(d, &err) != 0)
		bench_die("checkpoint", &err);
	stat(path, &st);
	if (stat(wal, &stw) != 0)
		stw.st_size = 0;

	printf("directory store benchmark (one tenant, SQLite WAL, synchronous=FULL)\n\n");
	printf("| %-44s | %12s | %14s |\n", "operation", "count", "ops/s");
	printf("|%s|%s|%s|\n", "----------------------------------------------",
	       "--------------", "----------------");
	printf("| %-44s | %12ld | %14.0f |\n", "insert user (10k per transaction)", users,
	       (double)users / t_users);
	printf("| %-44s | %12ld | %14.0f |\n", "insert membership (groups of 100, nested)",
	       groups * per_group + groups - 1, (double)(groups * per_group + groups - 1) / t_groups);
	printf("| %-44s | %12ld | %14.0f |\n", "lookup user by UPN (any case)", lookups,
	       (double)lookups / t_lookup);
	printf("| %-44s | %12ld | %14.0f |\n", "transitive groups of a user", queries,
	       (double)queries / t_query);
	printf("\n| %-44s | %29.1f |\n", "groups found per transitive query (mean)",
	       (double)found_groups / (double)queries);
	printf("| %-44s | %26.1f MB |\n", "database size after checkpoint",
	       (double)(st.st_size + stw.st_size) / 1e6);
	printf("| %-44s | %26.1f MB |\n", "peak RSS", (double)bench_peak_rss_kib() / 1024.0);

	dir_close(d);
	free(user_ids);
	free(group_ids);
	unlink(path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	unlink(wal);
	rmdir(dirpath);
	return 0;
}
