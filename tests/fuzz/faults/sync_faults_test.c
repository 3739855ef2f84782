/*
 * sync_faults_test: idp-sync when its store fails under it.
 *
 *     sync_faults_test          another process holds the store's write lock
 *                               past the busy timeout while changes arrive
 *     sync_faults_test tmpfs    the store's file system fills up while
 *                               changes arrive; exits 77 (meson: skipped)
 *                               where this process may not mount
 *
 * A real slapd (tests/sync/tslapd.c) and the real daemon in persist mode.
 * What must hold: the daemon says what went wrong in its log, keeps
 * running (it retries with backoff), writes nothing half (integrity_check
 * clean, and the tenant equals the server once the store works again),
 * and catches up without a restart.
 */
#define _GNU_SOURCE
#include "dir.h"
#include "testutil.h"
#include "tslapd.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 120000

static struct tslapd srv;
static struct dir *d;
static char tid[DIR_ID_MAX], mnt[700], store_path[800], conf_path[700], log_path[700];
static pid_t daemon_pid;

static void teardown(void)
{
	if (daemon_pid > 0)
		tproc_stop(daemon_pid, SIGKILL);
	daemon_pid = 0;
	dir_close(d);
	d = NULL;
	if (mnt[0] != '\0')
		umount2(mnt, MNT_DETACH);
	mnt[0] = '\0';
	tslapd_destroy(&srv);
}

/* A server with 300 users and 20 groups, a store at store (in srv.dir if NULL), idp-sync on it. */
static void start(const char *extra)
{
	char *tree = tdata_tree(300, 20, 10);

	tslapd_create(&srv, tree);
	free(tree);
	if (store_path[0] == '\0')
		snprintf(store_path, sizeof(store_path), "%s/store.db", srv.dir);
	snprintf(conf_path, sizeof(conf_path), "%s/sync.conf", srv.dir);
	snprintf(log_path, sizeof(log_path), "%s/idp-sync.log", srv.dir);
	d = tstore_open(store_path, "acme", tid);
	tconf_write(conf_path, &srv, store_path, "acme", NULL, extra, NULL);
	daemon_pid = tsync_spawn(conf_path, log_path, NULL);
	ck_assert_int_gt(daemon_pid, 0);
}

static int alive(void)
{
	int status;

	return daemon_pid > 0 && waitpid(daemon_pid, &status, WNOHANG) == 0;
}

struct eq_ctx {
	char why[512];
};

static int is_equal(void *ctx)
{
	struct eq_ctx *c = ctx;

	return tcompare(&srv, d, tid, NULL, c->why, sizeof(c->why)) == 0;
}

static void wait_equal(const char *when)
{
	struct eq_ctx c = {""};

	ck_assert_msg(twait(is_equal, &c, WAIT_MS), "%s: not equal within %d ms: %s (log: %s)",
	              when, WAIT_MS, c.why, log_path);
}

static int log_says(void *ctx)
{
	return tu_file_contains(log_path, ctx);
}

/* Print the daemon's first log line holding word (what an operator would read). */
static void log_show(const char *word)
{
	FILE *f = fopen(log_path, "r");
	char line[1024];

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, word) != NULL) {
			printf("idp-sync said: %s", line);
			break;
		}
	if (f != NULL)
		fclose(f);
}

/* Add n users uid=fNNNNN (from first) and put them in g0001, in one ldapmodify. */
static void add_users(int first, int n)
{
	char *ldif = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&ldif, &len);

	ck_assert_ptr_nonnull(f);
	for (int i = first; i < first + n; i++)
		fprintf(f,
		        "dn: uid=f%05d," TPEOPLE "\nchangetype: add\nobjectClass: inetOrgPerson\n"
		        "uid: f%05d\ncn: Fault User %d with a name long enough to take room\n"
		        "sn: F\nmail: f%05d@corp.example\n\n"
		        "dn: cn=g0001," TGROUPS "\nchangetype: modify\nadd: member\n"
		        "member: uid=f%05d," TPEOPLE "\n\n",
		        i, i, i, i, i);
	fclose(f);
	ck_assert_int_eq(tslapd_modify(&srv, ldif), 0);
	free(ldif);
}

static void assert_integrity(void)
{
	struct err err = {0};

	ck_assert_msg(dir_integrity_check(d, &err) == 0, "integrity: %s", err.msg);
}

START_TEST(store_locked_by_another_process)
{
	int ready[2], release[2], status;
	pid_t locker;
	char c;

	/* a short busy timeout, so the lock outlasts it many times over */
	start("[store]\nbusy_timeout = 200\n");
	wait_equal("first sync");

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(release), 0);
	locker = fork();
	ck_assert_int_ge(locker, 0);
	if (locker == 0) {
		sqlite3 *db = NULL;
		close(ready[0]);
		close(release[1]);
		if (sqlite3_open(store_path, &db) != SQLITE_OK ||
		    sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE tenants SET updated_at = updated_at",
		                 NULL, NULL, NULL) != SQLITE_OK ||
		    write(ready[1], "x", 1) != 1)
			_exit(1);
		while (read(release[0], &c, 1) > 0)
			;
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);

	add_users(0, 50);
	ck_assert_msg(twait(log_says, "locked", WAIT_MS), "no 'locked' in the log (%s)", log_path);
	log_show("locked");
	ck_assert_msg(alive(), "idp-sync died on a locked store (log: %s)", log_path);
	/* held a while longer: the daemon backs off and tries again, still alive */
	sleep(3);
	ck_assert_msg(alive(), "idp-sync died on a locked store (log: %s)", log_path);

	close(release[1]);
	ck_assert_int_eq(waitpid(locker, &status, 0), locker);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	wait_equal("after the lock");
	ck_assert(alive());
	assert_integrity();
}
END_TEST

START_TEST(store_disk_full)
{
	char filler[900], block[65536];
	int fd;

	snprintf(mnt, sizeof(mnt), "%s/mnt", tu_tmpdir());
	mkdir(mnt, 0700);
	ck_assert_msg(mount("tmpfs", mnt, "tmpfs", 0, "size=24m,mode=0700") == 0, "mount: %s",
	              strerror(errno));
	snprintf(store_path, sizeof(store_path), "%s/store.db", mnt);
	start(NULL);
	wait_equal("first sync");

	/* the disk fills up: not a byte left */
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	memset(block, 'x', sizeof(block));
	while (write(fd, block, sizeof(block)) > 0)
		;
	while (write(fd, block, 512) > 0)
		;
	close(fd);

	/* more than the write-ahead log has room for: the store must refuse a commit */
	add_users(0, 3000);
	ck_assert_msg(twait(log_says, "disk full", WAIT_MS),
	              "the store never reported the full disk (log: %s)", log_path);
	log_show("disk full");
	ck_assert_msg(alive(), "idp-sync died on a full disk (log: %s)", log_path);
	sleep(2);
	ck_assert_msg(alive(), "idp-sync died on a full disk (log: %s)", log_path);
	assert_integrity();

	/* room again: it catches up by itself, no restart */
	ck_assert_int_eq(unlink(filler), 0);
	wait_equal("after the disk had room again");
	ck_assert(alive());
	assert_integrity();
	ck_assert_int_eq(tproc_stop(daemon_pid, SIGTERM), 0);
	daemon_pid = 0;
}
END_TEST

int main(int argc, char **argv)
{
	int tmpfs = argc > 1 && strcmp(argv[1], "tmpfs") == 0, failed;
	Suite *s = suite_create(tmpfs ? "idp-sync store faults (tmpfs)" : "idp-sync store faults");
	TCase *tc = tcase_create("faults");
	SRunner *sr;

	if (tmpfs) {
		char probe[600];
		snprintf(probe, sizeof(probe), "%s", tu_tmpdir());
		if (mount("tmpfs", probe, "tmpfs", 0, "size=64k") != 0) {
			printf("SKIP: cannot mount a tmpfs here (%s): the full-disk case needs "
			       "root\n",
			       strerror(errno));
			tu_rmtree(probe);
			return 77;
		}
		umount(probe);
		tu_rmtree(probe);
	}
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 400);
	tcase_add_test(tc, tmpfs ? store_disk_full : store_locked_by_another_process);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
