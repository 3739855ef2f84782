/*
 * sync_kill_test: resilience.  slapd is killed (SIGKILL) in the middle of a
 * full sync and in the middle of a persistent search, idp-sync is killed in
 * the middle of a full sync and in the middle of applying a burst of
 * changes; after the restarts and the changes made meanwhile, the tenant
 * must equal the server: every user, group and membership, no duplicates,
 * nothing lost, and nothing deleted by a read that did not complete.
 *
 * "In the middle" is found by watching the store; when a machine is so fast
 * that the moment passes, the test still checks the end state.  Waits are
 * bounds against hangs, never timing assertions.
 */
#define _GNU_SOURCE
#include "dir.h"
#include "testutil.h"
#include "tslapd.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 90000
#define N_USERS 20000

static struct tslapd srv;
static struct dir *d;
static char tid[DIR_ID_MAX];
static char store_path[700], conf_path[700], log_path[700];
static pid_t daemon_pid;

/* Small pages and batches: many commits, so there is a middle to hit. */
static const char slow_sync[] = "batch_size = 100\n[ldap]\npage_size = 100\n";

static void start(int n, int g, int k)
{
	char *tree = tdata_tree(n, g, k);

	tslapd_create(&srv, tree);
	free(tree);
	snprintf(store_path, sizeof(store_path), "%s/store.db", srv.dir);
	snprintf(conf_path, sizeof(conf_path), "%s/sync.conf", srv.dir);
	snprintf(log_path, sizeof(log_path), "%s/idp-sync.log", srv.dir);
	d = tstore_open(store_path, "acme", tid);
	tconf_write(conf_path, &srv, store_path, "acme", NULL, slow_sync, NULL);
}

static void teardown(void)
{
	if (daemon_pid > 0)
		tproc_stop(daemon_pid, SIGKILL);
	daemon_pid = 0;
	dir_close(d);
	d = NULL;
	tslapd_destroy(&srv);
}

struct eq_ctx {
	char why[512];
};

static int is_equal(void *ctx)
{
	struct eq_ctx *c = ctx;

	return tcompare(&srv, d, tid, NULL, c->why, sizeof(c->why)) == 0;
}

static void wait_equal(void)
{
	struct eq_ctx c = {""};

	ck_assert_msg(twait(is_equal, &c, WAIT_MS), "not equal within %d ms: %s (log: %s)",
		      WAIT_MS, c.why, log_path);
}

/* Wait until the store holds some but not all of n users; 1 if it caught that moment. */
static int wait_partial(int n)
{
	long long end = tnow_ms() + WAIT_MS;
	int got;

	while (tnow_ms() < end) {
		got = tstore_count_users(d, tid);
		if (got > 0 && got < n)
			return 1;
		if (got >= n)
			return 0;
		usleep(1000);
	}
	return 0;
}

static int check_incomplete(void *ctx, const struct dir_sync_cycle *c)
{
	int *bad = ctx;

	/* A full sync or refresh that did not complete proves no absence. */
	if (strcmp(c->status, "ok") != 0 && strcmp(c->kind, "persist") != 0 && c->deleted != 0)
		(*bad)++;
	return 0;
}

static void assert_incomplete_reads_deleted_nothing(void)
{
	struct err err = {0};
	int bad = 0;

	ck_assert(dir_sync_cycle_list(d, tid, "ldap", 0, check_incomplete, &bad, &err) == 0);
	ck_assert_int_eq(bad, 0);
}

/* Changes made while something was down: add, modify, delete, membership. */
static void changes_meanwhile(void)
{
	tslapd_modifyf(&srv, "dn: uid=late," TPEOPLE "\nchangetype: add\nobjectClass: "
			     "inetOrgPerson\nuid: late\ncn: Late Comer\nsn: Comer\n\n"
			     "dn: uid=u000010," TPEOPLE "\nchangetype: modify\nreplace: cn\n"
			     "cn: Changed Meanwhile\n\n"
			     "dn: uid=u000011," TPEOPLE "\nchangetype: delete\n\n"
			     "dn: cn=g0000," TGROUPS "\nchangetype: modify\nadd: member\n"
			     "member: uid=late," TPEOPLE "\n");
}

START_TEST(slapd_killed_mid_full_sync)
{
	start(N_USERS, 200, 20);
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	(void)wait_partial(N_USERS);
	tslapd_kill(&srv);
	usleep(500000);
	tslapd_start(&srv);
	changes_meanwhile();
	wait_equal();
	assert_incomplete_reads_deleted_nothing();
	ck_assert_int_eq(tstore_count_users(d, tid), N_USERS); /* +late -u000011 */
}
END_TEST

/* A burst of modifies, slapd killed while the daemon applies it. */
START_TEST(slapd_killed_mid_persist)
{
	char *burst = NULL;
	size_t len = 0;
	FILE *f;
	pid_t writer;

	start(2000, 50, 10);
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	wait_equal();
	f = open_memstream(&burst, &len);
	for (int i = 0; i < 2000; i++)
		fprintf(f, "dn: uid=u%06d," TPEOPLE "\nchangetype: modify\nreplace: cn\n"
			   "cn: Burst %d\n\n", i, i);
	fclose(f);
	/* ldapmodify in a child, so that the server can die under it */
	writer = fork();
	if (writer == 0)
		_exit(tslapd_modify(&srv, burst) == 0 ? 0 : 1);
	free(burst);
	{
		struct dir_user u;
		struct err err = {0};
		long long end = tnow_ms() + WAIT_MS;
		/* wait for the first changes to reach the store */
		while (tnow_ms() < end &&
		       !(dir_user_get_by_upn(d, tid, "u000000@" TUPN_DOMAIN, &u, &err) == 0 &&
			 strncmp(u.display_name, "Burst", 5) == 0))
			usleep(1000);
	}
	tslapd_kill(&srv);
	tproc_stop(writer, SIGKILL);
	usleep(300000);
	tslapd_start(&srv);
	changes_meanwhile();
	wait_equal();
	assert_incomplete_reads_deleted_nothing();
}
END_TEST

START_TEST(sync_killed_mid_full_sync)
{
	pid_t pid;
	struct dir_sync_cycle c;

	start(N_USERS, 200, 20);
	pid = tsync_spawn(conf_path, log_path, "--once", (char *)NULL);
	(void)wait_partial(N_USERS);
	tproc_stop(pid, SIGKILL);
	changes_meanwhile();
	ck_assert_int_eq(tsync_run(conf_path, log_path, "--once", (char *)NULL), 0);
	ck_assert(tu_file_contains(log_path, "did not finish: marked interrupted") ||
		  tu_file_contains(log_path, "full sync ok")); /* killed after the end */
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.status, "ok");
	wait_equal();
	assert_incomplete_reads_deleted_nothing();
}
END_TEST

START_TEST(sync_killed_mid_persist)
{
	char *burst = NULL;
	size_t len = 0;
	FILE *f;

	start(3000, 60, 10);
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	wait_equal();
	f = open_memstream(&burst, &len);
	for (int i = 0; i < 3000; i++)
		fprintf(f, "dn: uid=u%06d," TPEOPLE "\nchangetype: modify\nreplace: cn\n"
			   "cn: Burst %d\n\n", i, i);
	fprintf(f, "dn: cn=g0001," TGROUPS "\nchangetype: delete\n\n");
	fclose(f);
	ck_assert_int_eq(tslapd_modify(&srv, burst), 0);
	free(burst);
	{
		struct dir_user u;
		struct err err = {0};
		long long end = tnow_ms() + WAIT_MS;
		while (tnow_ms() < end &&
		       !(dir_user_get_by_upn(d, tid, "u000000@" TUPN_DOMAIN, &u, &err) == 0 &&
			 strncmp(u.display_name, "Burst", 5) == 0))
			usleep(1000);
	}
	tproc_stop(daemon_pid, SIGKILL);
	daemon_pid = 0;
	changes_meanwhile();
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	wait_equal();
}
END_TEST

static Suite *kill_suite(void)
{
	Suite *s = suite_create("sync-kill");
	TCase *tc = tcase_create("kill");

	tcase_set_timeout(tc, 600);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, slapd_killed_mid_full_sync);
	tcase_add_test(tc, slapd_killed_mid_persist);
	tcase_add_test(tc, sync_killed_mid_full_sync);
	tcase_add_test(tc, sync_killed_mid_persist);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(kill_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
