/*
 * store_faults_test: the store when the disk says no.
 *
 *     store_faults_test          a file-size limit (RLIMIT_FSIZE), a writer's
 *                                lock and a whole-file lock held by another
 *                                process
 *     store_faults_test tmpfs    a real full file system (a 1 MiB tmpfs) and
 *                                a read-only one; exits 77 (meson: skipped)
 *                                where this process may not mount
 *
 * Every case checks the same four things: the failing call returns the
 * right code with a message that says what happened; nothing it started is
 * left half-written (a refused insert is absent, a refused import leaves no
 * tenant); the same handle keeps working for reads during the fault and for
 * writes once it is gone; and PRAGMA integrity_check is clean afterwards.
 */
#define _GNU_SOURCE
#include "dir.h"
#include "err.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[600], mnt[700], db_path[800];
static int64_t now = 1790000000;

static struct dir *open_store(const char *path, int busy_ms, int read_only, struct err *err)
{
	struct dir_options o = {0};

	o.path = path;
	o.busy_timeout_ms = busy_ms;
	o.read_only = read_only;
	o.argon2 = (struct dir_argon2){1, 8, 1};
	o.clock.now = tu_clock;
	o.clock.ctx = &now;
	return dir_open(&o, err);
}

static void make_tenant(struct dir *d, const char *name, struct dir_tenant *t)
{
	struct err err = {0};

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	ck_assert_msg(dir_tenant_create(d, t, &err) == 0, "tenant: %s", err.msg);
}

/* Create user upn; 0 or the store's error code (err filled). */
static int add_user(struct dir *d, const char *tenant_id, const char *upn, struct err *err)
{
	struct dir_user u;

	memset(&u, 0, sizeof(u));
	snprintf(u.upn, sizeof(u.upn), "%s", upn);
	snprintf(u.display_name, sizeof(u.display_name),
	         "A display name long enough that rows fill pages: %s", upn);
	u.enabled = 1;
	return dir_user_create(d, tenant_id, &u, "a-password", err);
}

static int has_user(struct dir *d, const char *tenant_id, const char *upn)
{
	struct dir_user u;
	struct err err = {0};

	return dir_user_get_by_upn(d, tenant_id, upn, &u, &err) == 0;
}

static void assert_clean(const char *path)
{
	struct err err = {0};
	struct dir *d = open_store(path, 0, 0, &err);

	ck_assert_msg(d != NULL, "reopen: %s", err.msg);
	ck_assert_msg(dir_integrity_check(d, &err) == 0, "integrity: %s", err.msg);
	dir_close(d);
}

/* An export document of a tenant with n users (what an import would get). */
static char *big_export(const char *name, int n)
{
	struct buf {
		char *p;
		size_t len, cap;
	} b = {NULL, 0, 0};
	FILE *f = open_memstream(&b.p, &b.len);

	ck_assert_ptr_nonnull(f);
	fprintf(f,
	        "{\"format\":\"idp-tenant-export\",\"schema_version\":%d,"
	        "\"tenant\":{\"id\":\"7e1a0000-0000-4000-8000-%012d\",\"name\":\"%s\","
	        "\"display_name\":\"Big\",\"mfa_required\":0,\"created_at\":1,\"updated_at\":1},"
	        "\"users\":[",
	        DIR_SCHEMA_VERSION, 1, name);
	for (int i = 0; i < n; i++)
		fprintf(f,
		        "%s{\"id\":\"7e1a0000-0000-4000-9000-%012d\",\"upn\":\"user%05d@big.test\","
		        "\"display_name\":\"User number %d with a long display name to take "
		        "room\",\"given_name\":\"\",\"surname\":\"\",\"mail\":\"\",\"enabled\":1,"
		        "\"mfa_required\":0,\"source\":\"cloud\",\"source_anchor\":null,"
		        "\"source_dn\":null,\"password_hash\":null,\"created_at\":1,\"updated_at\":"
		        "1,"
		        "\"deleted_at\":null}",
		        i ? "," : "", i, i, i);
	fprintf(f, "],\"groups\":[]}");
	fclose(f);
	return b.p;
}

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "%s", tu_tmpdir());
	snprintf(db_path, sizeof(db_path), "%s/store.db", tmp);
	mnt[0] = '\0';
}

static void teardown(void)
{
	if (mnt[0] != '\0')
		umount2(mnt, MNT_DETACH);
	tu_rmtree(tmp);
}

/* Mount a tmpfs of size at tmp/mnt and point db_path into it; 0 or -1. */
static int mount_tmpfs(const char *size)
{
	char opts[64];

	snprintf(mnt, sizeof(mnt), "%s/mnt", tmp);
	mkdir(mnt, 0700);
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0) {
		mnt[0] = '\0';
		return -1;
	}
	snprintf(db_path, sizeof(db_path), "%s/store.db", mnt);
	return 0;
}

/* Write a filler file until the file system is full, then give back keep bytes. */
static void fill(const char *dir, off_t keep)
{
	char path[900], block[4096];
	int fd;
	off_t size = 0;

	snprintf(path, sizeof(path), "%s/filler", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	memset(block, 'x', sizeof(block));
	for (;;) {
		ssize_t n = write(fd, block, sizeof(block));
		if (n <= 0)
			break;
		size += n;
	}
	ck_assert_msg(errno == ENOSPC, "filling stopped with %s", strerror(errno));
	ck_assert_int_eq(ftruncate(fd, size > keep ? size - keep : 0), 0);
	close(fd);
}

/* ---- a full file system ---------------------------------------------- */

START_TEST(disk_full_tmpfs)
{
	struct dir_tenant t, big;
	struct err err = {0};
	struct dir *d;
	char upn[64], filler[900], *doc = big_export("big", 400);
	int created = 0, rc = 0;

	ck_assert_int_eq(mount_tmpfs("2m"), 0); /* a new store (8 KiB pages) takes ~1 MB */
	d = open_store(db_path, 0, 0, &err);
	ck_assert_msg(d != NULL, "open: %s", err.msg);
	make_tenant(d, "acme", &t);
	ck_assert_int_eq(add_user(d, t.id, "first@acme.test", &err), 0);
	fill(mnt, 48 * 1024);

	/* inserts until the disk refuses one */
	for (int i = 0; i < 2000 && rc == 0; i++) {
		snprintf(upn, sizeof(upn), "user%04d@acme.test", i);
		rc = add_user(d, t.id, upn, &err);
		if (rc == 0)
			created++;
	}
	ck_assert_msg(rc == ERR_IO, "the full disk gave %d (%s), not ERR_IO", rc, err.msg);
	ck_assert_msg(strstr(err.msg, "disk full") != NULL, "message: %s", err.msg);
	/* the refused user is not there, the ones before are, and reads still work */
	ck_assert(!has_user(d, t.id, upn));
	ck_assert(has_user(d, t.id, "first@acme.test"));
	snprintf(upn, sizeof(upn), "user%04d@acme.test", created - 1);
	ck_assert(created == 0 || has_user(d, t.id, upn));
	ck_assert_msg(dir_integrity_check(d, &err) == 0, "integrity while full: %s", err.msg);

	/* an import is all or nothing */
	rc = dir_import_tenant(d, doc, strlen(doc), &err);
	ck_assert_msg(rc == ERR_IO, "import on a full disk gave %d: %s", rc, err.msg);
	ck_assert_int_eq(dir_tenant_get_by_name(d, "big", &big, &err), ERR_NOT_FOUND);

	/* room again: the same handle writes, and the import goes through whole */
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	ck_assert_int_eq(unlink(filler), 0);
	ck_assert_msg(add_user(d, t.id, "after@acme.test", &err) == 0, "after: %s", err.msg);
	ck_assert_msg(dir_import_tenant(d, doc, strlen(doc), &err) == 0, "import: %s", err.msg);
	ck_assert_int_eq(dir_tenant_get_by_name(d, "big", &big, &err), 0);
	ck_assert(has_user(d, big.id, "user00399@big.test"));
	dir_close(d);
	assert_clean(db_path);
	free(doc);
}
END_TEST

/* A checkpoint that cannot grow the database file fails cleanly and loses nothing. */
START_TEST(disk_full_at_checkpoint)
{
	struct dir_tenant t;
	struct err err = {0};
	struct dir *d;
	char upn[64], filler[900];
	int rc;

	ck_assert_int_eq(mount_tmpfs("4m"), 0);
	d = open_store(db_path, 0, 0, &err);
	ck_assert_msg(d != NULL, "open: %s", err.msg);
	make_tenant(d, "acme", &t);
	for (int i = 0; i < 40; i++) {
		snprintf(upn, sizeof(upn), "user%04d@acme.test", i);
		ck_assert_int_eq(add_user(d, t.id, upn, &err), 0);
	}
	fill(mnt, 0);
	rc = dir_checkpoint(d, &err);
	ck_assert_msg(rc == 0 || rc == ERR_IO, "checkpoint on a full disk: %d %s", rc, err.msg);
	ck_assert(has_user(d, t.id, "user0039@acme.test"));
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	unlink(filler);
	ck_assert_msg(dir_checkpoint(d, &err) == 0, "checkpoint: %s", err.msg);
	dir_close(d);
	assert_clean(db_path);
	d = open_store(db_path, 0, 0, &err);
	ck_assert(has_user(d, t.id, "user0039@acme.test"));
	dir_close(d);
}
END_TEST

/* ---- a read-only file system ----------------------------------------- */

START_TEST(read_only_mount)
{
	struct dir_tenant t;
	struct err err = {0};
	struct dir *d;

	ck_assert_int_eq(mount_tmpfs("4m"), 0);
	d = open_store(db_path, 0, 0, &err);
	ck_assert_msg(d != NULL, "open: %s", err.msg);
	make_tenant(d, "acme", &t);
	ck_assert_int_eq(add_user(d, t.id, "alice@acme.test", &err), 0);
	/* close and checkpoint, so the read-only open does not need the WAL */
	ck_assert_int_eq(dir_checkpoint(d, &err), 0);
	dir_close(d);
	ck_assert_int_eq(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);

	/* writing is refused at open, saying why */
	d = open_store(db_path, 0, 0, &err);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(err.code, ERR_READONLY);
	ck_assert_msg(strstr(err.msg, "read-only") != NULL, "message: %s", err.msg);

	/* reading works; a write through a read-only handle is refused the same way */
	d = open_store(db_path, 0, 1, &err);
	ck_assert_msg(d != NULL, "read-only open: %s", err.msg);
	ck_assert(has_user(d, t.id, "alice@acme.test"));
	ck_assert_int_eq(add_user(d, t.id, "bob@acme.test", &err), ERR_READONLY);
	ck_assert_msg(strstr(err.msg, "read-only") != NULL, "message: %s", err.msg);
	ck_assert(!has_user(d, t.id, "bob@acme.test"));
	dir_close(d);
}
END_TEST

/* ---- a size-limited file (RLIMIT_FSIZE) ------------------------------ */

START_TEST(file_size_limit)
{
	struct dir_tenant t;
	struct err err = {0};
	struct dir *d;
	int fds[2], status, created = 0;
	pid_t pid;

	d = open_store(db_path, 0, 0, &err);
	ck_assert_msg(d != NULL, "open: %s", err.msg);
	make_tenant(d, "acme", &t);
	ck_assert_int_eq(dir_checkpoint(d, &err), 0);
	dir_close(d);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* the child writes under a limit: files may not grow past 256 KiB */
		struct rlimit lim = {256 * 1024, 256 * 1024};
		char upn[64];
		int rc = 0, n = 0;
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(10);
		d = open_store(db_path, 0, 0, &err);
		if (d == NULL)
			_exit(11);
		for (int i = 0; i < 5000 && rc == 0; i++) {
			snprintf(upn, sizeof(upn), "user%04d@acme.test", i);
			if ((rc = add_user(d, t.id, upn, &err)) == 0)
				n++;
		}
		if (rc != ERR_IO)
			_exit(12);
		if (has_user(d, t.id, upn) || (n > 0 && !has_user(d, t.id, "user0000@acme.test")))
			_exit(13);
		if (write(fds[1], &n, sizeof(n)) != sizeof(n))
			_exit(14);
		dir_close(d);
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &created, sizeof(created)), (ssize_t)sizeof(created));
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	ck_assert_int_gt(created, 0);
	/* without the limit: every user the child was told about is there, nothing else */
	assert_clean(db_path);
	d = open_store(db_path, 0, 0, &err);
	{
		char upn[64];
		snprintf(upn, sizeof(upn), "user%04d@acme.test", created - 1);
		ck_assert(has_user(d, t.id, upn));
		snprintf(upn, sizeof(upn), "user%04d@acme.test", created);
		ck_assert(!has_user(d, t.id, upn));
		ck_assert_int_eq(add_user(d, t.id, upn, &err), 0);
	}
	dir_close(d);
}
END_TEST

/* ---- another process holds a lock ------------------------------------ */

/* A child holding a lock (write: BEGIN IMMEDIATE; exclusive: the whole file) until told. */
static pid_t lock_in_child(const char *how, int *release_fd)
{
	int ready[2], release[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(release), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sqlite3 *db = NULL;
		close(ready[0]);
		close(release[1]);
		if (sqlite3_open(db_path, &db) != SQLITE_OK)
			_exit(20);
		if (strcmp(how, "exclusive") == 0 &&
		    sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL) !=
		            SQLITE_OK)
			_exit(21);
		if (sqlite3_exec(db,
		                 strcmp(how, "exclusive") == 0 ? "BEGIN EXCLUSIVE"
		                                               : "BEGIN IMMEDIATE",
		                 NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "UPDATE tenants SET updated_at = updated_at + 1", NULL, NULL,
		                 NULL) != SQLITE_OK)
			_exit(22);
		if (write(ready[1], "x", 1) != 1)
			_exit(23);
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
	*release_fd = release[1];
	return pid;
}

static void unlock_child(pid_t pid, int release_fd)
{
	int status;

	close(release_fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "lock child %d", status);
}

START_TEST(locked_by_another_writer)
{
	struct dir_tenant t;
	struct err err = {0};
	struct dir *d;
	int release, rc;
	pid_t pid;

	d = open_store(db_path, 100, 0, &err);
	ck_assert_msg(d != NULL, "open: %s", err.msg);
	make_tenant(d, "acme", &t);
	ck_assert_int_eq(add_user(d, t.id, "alice@acme.test", &err), 0);

	pid = lock_in_child("write", &release);
	rc = add_user(d, t.id, "bob@acme.test", &err);
	ck_assert_msg(rc == ERR_BUSY, "a locked store gave %d: %s", rc, err.msg);
	ck_assert_msg(strstr(err.msg, "locked") != NULL, "message: %s", err.msg);
	/* readers are not blocked by a writer (WAL) */
	ck_assert(has_user(d, t.id, "alice@acme.test"));
	ck_assert(!has_user(d, t.id, "bob@acme.test"));
	unlock_child(pid, release);

	ck_assert_msg(add_user(d, t.id, "bob@acme.test", &err) == 0, "after: %s", err.msg);
	dir_close(d);
	assert_clean(db_path);
}
END_TEST

/*
 * A process that holds the whole file (exclusive locking mode, as a backup
 * tool or a VACUUM may): taken while nobody else has the store open, since
 * in WAL mode open connections keep it from being taken at all.  Opening
 * then waits for the busy timeout and fails with a clear error, and works
 * once the lock is gone.
 */
START_TEST(locked_whole_file)
{
	struct dir_tenant t, got;
	struct err err = {0};
	struct dir *d;
	int release;
	pid_t pid;

	d = open_store(db_path, 100, 0, &err);
	ck_assert_msg(d != NULL, "open: %s", err.msg);
	make_tenant(d, "acme", &t);
	ck_assert_int_eq(add_user(d, t.id, "alice@acme.test", &err), 0);
	dir_close(d);

	pid = lock_in_child("exclusive", &release);
	d = open_store(db_path, 100, 0, &err);
	ck_assert_ptr_null(d);
	ck_assert_msg(err.code == ERR_BUSY, "opening a locked file gave %d: %s", err.code, err.msg);
	ck_assert_msg(strstr(err.msg, "locked") != NULL, "message: %s", err.msg);
	d = open_store(db_path, 100, 1, &err);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(err.code, ERR_BUSY);
	unlock_child(pid, release);

	d = open_store(db_path, 100, 0, &err);
	ck_assert_msg(d != NULL, "open after the lock: %s", err.msg);
	ck_assert_int_eq(dir_tenant_get(d, t.id, &got, &err), 0);
	ck_assert_msg(add_user(d, t.id, "bob@acme.test", &err) == 0, "after: %s", err.msg);
	dir_close(d);
	assert_clean(db_path);
}
END_TEST

int main(int argc, char **argv)
{
	int tmpfs = argc > 1 && strcmp(argv[1], "tmpfs") == 0, failed;
	Suite *s = suite_create(tmpfs ? "store faults (tmpfs)" : "store faults");
	TCase *tc = tcase_create("faults");
	SRunner *sr;

	if (tmpfs) {
		/* can this process mount at all?  If not, say so and skip (77) */
		char probe[600];
		snprintf(probe, sizeof(probe), "%s", tu_tmpdir());
		if (mount("tmpfs", probe, "tmpfs", 0, "size=64k") != 0) {
			printf("SKIP: cannot mount a tmpfs here (%s): the full and read-only file "
			       "system cases need root\n",
			       strerror(errno));
			tu_rmtree(probe);
			return 77;
		}
		umount(probe);
		tu_rmtree(probe);
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	if (tmpfs) {
		tcase_add_test(tc, disk_full_tmpfs);
		tcase_add_test(tc, disk_full_at_checkpoint);
		tcase_add_test(tc, read_only_mount);
	} else {
		tcase_add_test(tc, file_size_limit);
		tcase_add_test(tc, locked_by_another_writer);
		tcase_add_test(tc, locked_whole_file);
	}
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
