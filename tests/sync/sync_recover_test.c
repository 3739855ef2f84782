/*
 * sync_recover_test: idp-sync against a real slapd (tests/sync/tslapd.c)
 * when something goes wrong in the middle of a cycle: the store failing
 * while an entry is applied, entries that fail during a delta, the server
 * asking for a full refresh, SIGTERM while the server does not answer,
 * and a move between two configured bases.
 *
 * Waits are bounds against hangs (generous), never timing assertions: the
 * SIGTERM bound is a tenth of the LDAP timeout the daemon would otherwise
 * wait out.
 */
#define _GNU_SOURCE
#include "b64.h"
#include "dir.h"
#include "testutil.h"
#include "tslapd.h"

#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 30000

static struct tslapd srv;
static struct dir *d;
static char tid[DIR_ID_MAX];
static char store_path[700], conf_path[700], log_path[700];
static pid_t daemon_pid;

static void paths(void)
{
	snprintf(store_path, sizeof(store_path), "%s/store.db", srv.dir);
	snprintf(conf_path, sizeof(conf_path), "%s/sync.conf", srv.dir);
	snprintf(log_path, sizeof(log_path), "%s/idp-sync.log", srv.dir);
}

static void start(const char *ldif, const char *sync)
{
	tslapd_create(&srv, ldif);
	paths();
	d = tstore_open(store_path, "acme", tid);
	tconf_write(conf_path, &srv, store_path, "acme", NULL, sync, NULL);
}

static void teardown(void)
{
	if (srv.pid > 0)
		kill(srv.pid, SIGCONT);
	if (daemon_pid > 0)
		tproc_stop(daemon_pid, SIGKILL);
	daemon_pid = 0;
	dir_close(d);
	d = NULL;
	tslapd_destroy(&srv);
}

static int once(const char *extra)
{
	return tsync_run(conf_path, log_path, "--once", extra, (char *)NULL);
}

static void assert_equal(void)
{
	char why[512];

	ck_assert_msg(tcompare(&srv, d, tid, NULL, why, sizeof(why)) == 0, "%s (log: %s)", why,
		      log_path);
}

static int is_equal(void *ctx)
{
	char why[512];

	(void)ctx;
	return tcompare(&srv, d, tid, NULL, why, sizeof(why)) == 0;
}

static void wait_equal(void)
{
	if (!twait(is_equal, NULL, WAIT_MS))
		assert_equal();
}

/* ctx: "uid\ndisplay name": the user has that display name */
static int display_is(void *ctx)
{
	const char *want = ctx, *nl = strchr(want, '\n');
	char upn[128];
	struct dir_user u;
	struct err err = {0};

	snprintf(upn, sizeof(upn), "%.*s@" TUPN_DOMAIN, (int)(nl - want), want);
	return dir_user_get_by_upn(d, tid, upn, &u, &err) == 0 &&
	       strcmp(u.display_name, nl + 1) == 0;
}

/* Run sql on the store through a connection of its own (a fault the test sets up). */
static void store_exec(const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	ck_assert(sqlite3_open(store_path, &db) == SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
	sqlite3_close(db);
}

/* The first column of the first row of sql on the store (a connection of its own). */
static long long store_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	ck_assert(sqlite3_open(store_path, &db) == SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s",
		      sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static struct dir_user user(const char *uid)
{
	char upn[128];
	struct dir_user u;
	struct err err = {0};

	snprintf(upn, sizeof(upn), "%s@" TUPN_DOMAIN, uid);
	ck_assert_msg(dir_user_get_by_upn(d, tid, upn, &u, &err) == 0, "%s: %s", upn, err.msg);
	return u;
}

struct cycle_ctx {
	const char *kind;
	const char *status;
};

static int cycle_is(void *ctx)
{
	struct cycle_ctx *c = ctx;
	struct dir_sync_cycle last;

	tstore_last_cycle(d, tid, &last);
	return strcmp(last.kind, c->kind) == 0 && strcmp(last.status, c->status) == 0;
}

static void wait_cycle(const char *kind, const char *status)
{
	struct cycle_ctx c = {kind, status};

	ck_assert_msg(twait(cycle_is, &c, WAIT_MS), "no %s cycle %s (log: %s)", kind, status,
		      log_path);
}

/* ---- 1. a store failure is not an entry error ---- */

/*
 * The store fails (a foreign key: ERR_NOT_FOUND) while one entry of a
 * delta is applied.  That is not the entry's fault: the cycle fails, its
 * cookie is not stored, and once the store works the change arrives.
 * An entry error (a bad value) is still counted and skipped.
 */
START_TEST(store_failure_fails_the_batch)
{
	char *tree = tdata_tree(5, 1, 2);
	struct dir_sync_cycle c;

	start(tree, NULL);
	free(tree);
	ck_assert_int_eq(once(NULL), 0);
	store_exec("CREATE TRIGGER test_fault AFTER UPDATE ON users WHEN "
		   "NEW.display_name = 'Store Fault' BEGIN INSERT INTO group_member_users "
		   "(group_rid, user_rid) VALUES (-1, NEW.rid); END;"); /* no group -1 */
	tslapd_modifyf(&srv, "dn: uid=u000001," TPEOPLE "\nchangetype: modify\nreplace: cn\n"
			     "cn: Store Fault\n");
	ck_assert_int_eq(once(NULL), 1);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.status, "failed");
	ck_assert_msg(strstr(c.message, "[store] uid=u000001") != NULL, "%s", c.message);
	ck_assert_str_ne(user("u000001").display_name, "Store Fault");
	/* still failing: nothing is skipped, nothing deleted, however often it runs */
	ck_assert_int_eq(once("--full"), 1);
	ck_assert_int_eq(tstore_count_users(d, tid), 5);
	ck_assert_int_eq(once(NULL), 1);
	/* the store works again: the change was not lost */
	store_exec("DROP TRIGGER test_fault;");
	ck_assert_int_eq(once(NULL), 0);
	ck_assert_str_eq(user("u000001").display_name, "Store Fault");
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.errors, 0);
	assert_equal();
}
END_TEST

/* ---- 2. entries that fail during a delta ---- */

/* A cloud user holding upn; its id in id. */
static void cloud_user(const char *upn, char id[DIR_ID_MAX])
{
	struct dir_user u;
	struct err err = {0};

	memset(&u, 0, sizeof(u));
	snprintf(u.upn, sizeof(u.upn), "%s", upn);
	snprintf(u.display_name, sizeof(u.display_name), "Cloud");
	u.enabled = 1;
	u.source = DIR_SOURCE_CLOUD;
	ck_assert_msg(dir_user_create(d, tid, &u, NULL, &err) == 0, "%s", err.msg);
	memcpy(id, u.id, DIR_ID_MAX);
}

/* ctx: a UPN held by a live synced user */
static int synced(void *ctx)
{
	struct dir_user u;
	struct err err = {0};

	return dir_user_get_by_upn(d, tid, ctx, &u, &err) == 0 && u.source == DIR_SOURCE_LDAP &&
	       u.deleted_at == 0;
}

static void add_person(const char *uid)
{
	tslapd_modifyf(&srv,
		       "dn: uid=%s," TPEOPLE "\nchangetype: add\nobjectClass: inetOrgPerson\n"
		       "uid: %s\ncn: Person %s\nsn: %s\n",
		       uid, uid, uid, uid);
}

/* Exchange the names of entries attr=a and attr=b under base: three renames on the server. */
static void swap_names(const char *attr, const char *base, const char *a, const char *b)
{
	tslapd_modifyf(&srv,
		       "dn: %s=%s,%s\nchangetype: modrdn\nnewrdn: %s=swap\ndeleteoldrdn: 1\n\n"
		       "dn: %s=%s,%s\nchangetype: modrdn\nnewrdn: %s=%s\ndeleteoldrdn: 1\n\n"
		       "dn: %s=swap,%s\nchangetype: modrdn\nnewrdn: %s=%s\ndeleteoldrdn: 1\n",
		       attr, a, base, attr, attr, b, base, attr, a, attr, base, attr, b);
}

/*
 * An entry that arrives in a delta while a cloud user holds its UPN fails
 * (counted, the rest syncs) and the cookie moves past it.  Nothing about
 * the entry changes afterwards, so the server never sends it again: once
 * the cloud user is gone it must still arrive, through refreshOnly and
 * while persisting.  And two entries that swap names in one delta arrive
 * whatever the order the server sends them in.
 */
START_TEST(entry_blocked_by_another_is_read_again)
{
	char *tree = tdata_tree(5, 1, 2), cid[DIR_ID_MAX];
	struct dir_sync_cycle c;
	struct err err = {0};

	start(tree, "mode = persist\ncycle_window = 1s\n");
	free(tree);
	ck_assert_int_eq(once(NULL), 0);

	/* refreshOnly */
	cloud_user("u000006@" TUPN_DOMAIN, cid);
	add_person("u000006");
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.errors, 1);
	ck_assert(!synced("u000006@" TUPN_DOMAIN));
	/* still held: still an error, every cycle (not a silent skip) */
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.errors, 1);
	ck_assert(dir_user_soft_delete(d, tid, cid, &err) == 0);
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.errors, 0);
	ck_assert_int_eq(c.added, 1);
	ck_assert_msg(synced("u000006@" TUPN_DOMAIN), "u000006 never arrived (log: %s)",
		      log_path);

	/*
	 * A name handed on in one delta: u000002 becomes u000009, then u000001
	 * becomes u000002.  slapd sends the entries in the order of their ids,
	 * so the new u000002 comes first, while the old one still holds it.
	 */
	tslapd_modifyf(&srv, "dn: uid=u000002," TPEOPLE "\nchangetype: modrdn\n"
			     "newrdn: uid=u000009\ndeleteoldrdn: 1\n\n"
			     "dn: uid=u000001," TPEOPLE "\nchangetype: modrdn\n"
			     "newrdn: uid=u000002\ndeleteoldrdn: 1\n");
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.errors, 0);
	assert_equal();

	/*
	 * A swap: u000003 and u000004 exchange names (three renames on the
	 * server, one delta here).  Neither applies while the other holds its
	 * new name; together they do, and the groups naming them follow.
	 */
	swap_names("uid", TPEOPLE, "u000003", "u000004");
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_msg(c.errors == 0, "%lld errors after a swap: %s (log: %s)", (long long)c.errors,
		      c.message, log_path);
	assert_equal();
	/* the same for two groups */
	tslapd_modifyf(&srv, "dn: cn=ga," TGROUPS "\nchangetype: add\nobjectClass: groupOfNames\n"
			     "cn: ga\nmember: uid=u000003," TPEOPLE "\n\n"
			     "dn: cn=gb," TGROUPS "\nchangetype: add\nobjectClass: groupOfNames\n"
			     "cn: gb\nmember: uid=u000004," TPEOPLE "\n");
	ck_assert_int_eq(once(NULL), 0);
	swap_names("cn", TGROUPS, "ga", "gb");
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_msg(c.errors == 0, "%lld errors after a group swap: %s (log: %s)",
		      (long long)c.errors, c.message, log_path);
	assert_equal();

	/*
	 * A swap (back) in the same delta as a rename to a name a cloud user
	 * holds: the stuck entry does not hold up the swap, stays an error and
	 * keeps its old name (the placeholder it had while the exchange was
	 * tried is never committed).
	 */
	{
		char cid2[DIR_ID_MAX], id3[DIR_ID_MAX], id4[DIR_ID_MAX];
		memcpy(id3, user("u000003").id, DIR_ID_MAX);
		memcpy(id4, user("u000004").id, DIR_ID_MAX);
		cloud_user("u000010@" TUPN_DOMAIN, cid2);
		tslapd_modifyf(&srv, "dn: uid=u000006," TPEOPLE "\nchangetype: modrdn\n"
				     "newrdn: uid=u000010\ndeleteoldrdn: 1\n");
		swap_names("uid", TPEOPLE, "u000003", "u000004");
		ck_assert_int_eq(once(NULL), 0);
		tstore_last_cycle(d, tid, &c);
		ck_assert_msg(c.errors == 1, "%lld errors: %s (log: %s)", (long long)c.errors,
			      c.message, log_path);
		ck_assert_str_eq(user("u000003").id, id4);
		ck_assert_str_eq(user("u000004").id, id3);
		ck_assert(!synced("u000010@" TUPN_DOMAIN));
		ck_assert(synced("u000006@" TUPN_DOMAIN));
		ck_assert_int_eq(store_int("SELECT count(*) FROM users WHERE unicode(upn) = 1 OR "
					   "unicode(upn_key) = 1"),
				 0);
		ck_assert_int_eq(store_int("SELECT count(*) FROM groups WHERE unicode(name) = 1"),
				 0);
		/* once the name is free it arrives */
		ck_assert(dir_user_soft_delete(d, tid, cid2, &err) == 0);
		ck_assert_int_eq(once(NULL), 0);
		tstore_last_cycle(d, tid, &c);
		ck_assert_int_eq(c.errors, 0);
		assert_equal();
	}

	/* persisting */
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	wait_cycle("persist", "running");
	cloud_user("u000007@" TUPN_DOMAIN, cid);
	add_person("u000007");
	add_person("u000008");
	ck_assert(twait(synced, "u000008@" TUPN_DOMAIN, WAIT_MS));
	ck_assert(!synced("u000007@" TUPN_DOMAIN));
	ck_assert(dir_user_soft_delete(d, tid, cid, &err) == 0);
	ck_assert_msg(twait(synced, "u000007@" TUPN_DOMAIN, WAIT_MS * 3),
		      "u000007 never arrived while persisting (log: %s)", log_path);
	assert_equal();
}
END_TEST

/* ---- 4. SIGTERM while the server does not answer ---- */

/* A configuration of its own: a long LDAP timeout, small pages and batches. */
static void write_conf(const char *mode, long timeout_s)
{
	char *text = NULL;

	ck_assert(asprintf(&text,
			   "[ldap]\nuri = %s\nbind_dn = " TSYNC_DN "\nbind_password_file = %s\n"
			   "timeout = %lds\npage_size = 50\n"
			   "[users]\nbase = " TPEOPLE "\n[groups]\nbase = " TGROUPS "\n"
			   "[mapping]\nupn = {uid}@" TUPN_DOMAIN "\n"
			   "[store]\npath = %s\ntenant = acme\n"
			   "[sync]\nretry_max = 2s\nbatch_size = 50\nmode = %s\n"
			   "poll_interval = 1s\n",
			   srv.uri, srv.sync_pw_file, timeout_s, store_path, mode) >= 0);
	ck_assert(tu_write_file(conf_path, text, 0600) == 0);
	free(text);
}

/* SIGTERM to the daemon; how long it took to exit (ms), its status in *status. */
static long long stop_daemon(int *status)
{
	long long t0 = tnow_ms();

	*status = tproc_stop(daemon_pid, SIGTERM);
	daemon_pid = 0;
	return tnow_ms() - t0;
}

#define STALL_TIMEOUT_S 120
#define STOP_BOUND_MS   (STALL_TIMEOUT_S * 1000 / 10)

/*
 * With the server stopped (SIGSTOP) a moment ago, SIGTERM to the daemon: it
 * must exit cleanly within the bound; the server then goes on.
 */
static void stop_silent(const char *while_doing)
{
	long long ms;
	int status;

	usleep(300 * 1000);
	ms = stop_daemon(&status);
	ck_assert(kill(srv.pid, SIGCONT) == 0);
	ck_assert_int_eq(status, 0);
	ck_assert_msg(ms < STOP_BOUND_MS, "SIGTERM took %lld ms (%s, server silent)", ms,
		      while_doing);
	fprintf(stderr, "sigterm, %s, server silent: %lld ms\n", while_doing, ms);
}

static int log_says_connecting(void *ctx)
{
	(void)ctx;
	return tu_file_contains(log_path, "connecting to ");
}

START_TEST(sigterm_while_server_silent)
{
	char *tree = tdata_tree(4000, 20, 10);
	struct dir_sync_cycle c;
	long long ms, end;
	int status, n;

	tslapd_create(&srv, tree);
	free(tree);
	paths();
	d = tstore_open(store_path, "acme", tid);
	write_conf("persist", STALL_TIMEOUT_S);

	/* a full sync whose server stops answering between two pages */
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	end = tnow_ms() + WAIT_MS;
	while ((n = tstore_count_users(d, tid)) == 0 && tnow_ms() < end)
		usleep(2000);
	ck_assert_int_gt(n, 0);
	ck_assert(kill(srv.pid, SIGSTOP) == 0);
	stop_silent("full sync");
	tstore_last_cycle(d, tid, &c);
	if (strcmp(c.kind, "full") == 0) {
		ck_assert_str_eq(c.status, "stopped");
		ck_assert_int_eq(c.deleted, 0);
		/* what was applied before the signal was committed, with its counts */
		ck_assert_int_eq(c.added, tstore_count_users(d, tid) + tstore_count_groups(d, tid));
	}
	ck_assert_int_eq(once(NULL), 0);
	assert_equal();

	/* persisting, nothing arriving, the server silent */
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	wait_cycle("persist", "running");
	ck_assert(kill(srv.pid, SIGSTOP) == 0);
	stop_silent("persisting");
	assert_equal();

	/* a full sync with the server answering */
	daemon_pid = tsync_spawn(conf_path, log_path, "--full", (char *)NULL);
	wait_cycle("full", "running");
	usleep(300 * 1000);
	ms = stop_daemon(&status);
	ck_assert_int_eq(status, 0);
	ck_assert_msg(ms < STOP_BOUND_MS, "SIGTERM took %lld ms in a full sync", ms);
	fprintf(stderr, "sigterm, full sync: %lld ms\n", ms);
	tstore_last_cycle(d, tid, &c);
	if (strcmp(c.kind, "full") == 0)
		ck_assert_int_eq(c.deleted, 0);
	assert_equal();

	/* connecting: the kernel accepts the connection, the server never answers the bind */
	ck_assert(kill(srv.pid, SIGSTOP) == 0);
	unlink(log_path);
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	ck_assert_msg(twait(log_says_connecting, NULL, WAIT_MS), "never connecting (log: %s)",
		      log_path);
	stop_silent("binding");
	assert_equal();
}
END_TEST

/* ---- 3. the server asks for a full refresh ---- */

/*
 * Make the stored cookie of search i (0: users, 1: groups) one the server
 * cannot resume from: its CSN is in the future ("consumer state is newer
 * than provider": slapd answers e-syncRefreshRequired).
 */
static void cookie_from_future(int i)
{
	char *text = NULL, *line, *end, *out = NULL, raw[512], enc[800];
	struct err err = {0};
	ssize_t n;
	char *csn;

	ck_assert_msg(dir_sync_state_get(d, tid, "ldap", &text, NULL, &err) == 0, "%s", err.msg);
	line = strchr(text, '\n') + 1;
	for (int k = 0; k < i; k++)
		line = strchr(line, '\n') + 1;
	end = strchr(line, '\n');
	n = b64url_decode(line, (size_t)(end - line), raw, sizeof(raw) - 1);
	ck_assert(n > 0);
	raw[n] = '\0';
	ck_assert_msg((csn = strstr(raw, "csn=")) != NULL, "%s", raw);
	memcpy(csn + 4, "2099", 4);
	n = b64url_encode(raw, strlen(raw), enc, sizeof(enc));
	ck_assert(n > 0);
	ck_assert(asprintf(&out, "%.*s%.*s%s", (int)(line - text), text, (int)n, enc, end) > 0);
	ck_assert_msg(dir_sync_state_set(d, tid, "ldap", out, 0, &err) == 0, "%s", err.msg);
	free(out);
	free(text);
}

static int log_says_full_follows(void *ctx)
{
	(void)ctx;
	return tu_file_contains(log_path, "cannot resume from the stored cookie");
}

/*
 * The server refuses the users search's cookie (as after a restore from
 * a backup) while the groups search runs on: a full sync follows at once
 * (before, the daemon retried the same delta forever), on a connection
 * where the refused cycle's searches were abandoned; it finds what only a
 * full read can tell, and what changes afterwards under every base
 * arrives.
 */
START_TEST(cookie_refused_full_sync_follows)
{
	char *tree = tdata_tree(40, 4, 5);

	start(tree, "mode = persist\n");
	free(tree);
	ck_assert_int_eq(once(NULL), 0);
	/* what changed meanwhile only a full read can tell */
	tslapd_modifyf(&srv, "dn: uid=u000005," TPEOPLE "\nchangetype: delete\n\n"
			     "dn: uid=u000004," TPEOPLE "\nchangetype: modify\nreplace: cn\n"
			     "cn: While Refused\n");
	cookie_from_future(0);
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	ck_assert_msg(twait(log_says_full_follows, NULL, WAIT_MS),
		      "no full sync after the refusal (log: %s)", log_path);
	wait_cycle("persist", "running");
	assert_equal();
	tslapd_modifyf(&srv, "dn: uid=u000003," TPEOPLE "\nchangetype: modify\nreplace: cn\n"
			     "cn: After Full\n\n"
			     "dn: cn=g0001," TGROUPS "\nchangetype: modify\nadd: member\n"
			     "member: uid=u000030," TPEOPLE "\n");
	ck_assert_msg(twait(display_is, "u000003\nAfter Full", WAIT_MS), "not applied (log: %s)",
		      log_path);
	wait_equal();
}
END_TEST

/* ---- a move between two configured bases ---- */

static int count_session(void *ctx, const struct dir_session *s)
{
	(void)s;
	++*(int *)ctx;
	return 0;
}

/*
 * Moving c1 between the two user bases while persisting: the old base's
 * search says delete, the new one's says add, in either order.  The user
 * is never deleted in between: its sign-in session survives every move.
 */
START_TEST(move_between_bases_keeps_sessions)
{
	static const char *const bases[] = {"ou=contractors," TSUFFIX, TPEOPLE};
	char *tree = tdata_tree(4, 1, 2), *all = NULL, *text = NULL, dn[256];
	struct tstore_at c = {NULL, tid, "c1@" TUPN_DOMAIN, dn};
	struct dir_session ses;
	struct err err = {0};
	struct dir_user u;
	int n;

	ck_assert(asprintf(&all,
			   "%sdn: uid=c1,ou=contractors," TSUFFIX "\nobjectClass: inetOrgPerson\n"
			   "uid: c1\ncn: C One\nsn: One\n\n",
			   tree) > 0);
	free(tree);
	tslapd_create(&srv, all);
	free(all);
	paths();
	d = tstore_open(store_path, "acme", tid);
	c.d = d;
	ck_assert(asprintf(&text,
			   "[ldap]\nuri = %s\nbind_dn = " TSYNC_DN "\nbind_password_file = %s\n"
			   "[users]\nbase = " TPEOPLE "\nbase = ou=contractors," TSUFFIX "\n"
			   "[groups]\nbase = " TGROUPS "\n"
			   "[mapping]\nupn = {uid}@" TUPN_DOMAIN "\n"
			   "[store]\npath = %s\ntenant = acme\n"
			   "[sync]\nretry_max = 2s\nmode = persist\n",
			   srv.uri, srv.sync_pw_file, store_path) >= 0);
	ck_assert(tu_write_file(conf_path, text, 0600) == 0);
	free(text);
	ck_assert_int_eq(once(NULL), 0);
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	wait_cycle("persist", "running");
	u = user("c1");
	memset(&ses, 0, sizeof(ses));
	snprintf(ses.id_hash, sizeof(ses.id_hash), "%064d", 1);
	memcpy(ses.user_id, u.id, sizeof(ses.user_id));
	ses.auth_time = ses.expires_at = (int64_t)time(NULL) + 3600;
	ck_assert_msg(dir_session_create(d, tid, &ses, &err) == 0, "%s", err.msg);
	for (int i = 0; i < 6; i++) {
		const char *from = bases[i % 2], *to = bases[(i + 1) % 2];
		tslapd_modifyf(&srv,
			       "dn: uid=c1,%s\nchangetype: modrdn\nnewrdn: uid=c1\n"
			       "deleteoldrdn: 1\nnewsuperior: %s\n",
			       from, to);
		snprintf(dn, sizeof(dn), "uid=c1,%s", to);
		ck_assert_msg(twait(tstore_user_at, &c, WAIT_MS),
			      "move %d: c1 is not live at %s (log %s)", i, dn, log_path);
		usleep(300 * 1000); /* the other base's message, if it comes second */
		ck_assert_str_eq(user("c1").id, u.id);
		n = 0;
		ck_assert(dir_session_list_user(d, tid, u.id, count_session, &n, &err) == 0);
		ck_assert_msg(n == 1, "move %d: c1 was deleted and restored: its session ended (log %s)",
			      i, log_path);
	}
	ck_assert_int_eq(tstore_count_users(d, tid), 5);
}
END_TEST

static Suite *sync_recover_suite(void)
{
	Suite *s = suite_create("sync-recover");
	TCase *tc = tcase_create("recover");

	tcase_set_timeout(tc, 400);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, store_failure_fails_the_batch);
	tcase_add_test(tc, entry_blocked_by_another_is_read_again);
	tcase_add_test(tc, sigterm_while_server_silent);
	tcase_add_test(tc, cookie_refused_full_sync_follows);
	tcase_add_test(tc, move_between_bases_keeps_sessions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sync_recover_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
