/*
 * sync_ldap_test: idp-sync against a real slapd (a private one per test, on
 * 127.0.0.1, see tslapd.c): full sync of nested groups, every change type
 * through refreshAndPersist and through refreshOnly, renames and moves,
 * deletes through the delete phase and the present phase, a scope change,
 * the delete threshold (full, delta and persist), odd entries, a wrong bind
 * password, other tenants and cloud-only objects, signals and the CLI.
 *
 * Waits are bounds against hangs (generous), never timing assertions.
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
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_MS 30000

static struct tslapd srv;
static struct dir *d;
static char tid[DIR_ID_MAX];
static char store_path[700], conf_path[700], log_path[700];
static pid_t daemon_pid;

static void start(const char *ldif, const char *filter, const char *sync, const char *mapping)
{
	tslapd_create(&srv, ldif);
	snprintf(store_path, sizeof(store_path), "%s/store.db", srv.dir);
	snprintf(conf_path, sizeof(conf_path), "%s/sync.conf", srv.dir);
	snprintf(log_path, sizeof(log_path), "%s/idp-sync.log", srv.dir);
	d = tstore_open(store_path, "acme", tid);
	tconf_write(conf_path, &srv, store_path, "acme", filter, sync, mapping);
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

static int once(const char *extra)
{
	return tsync_run(conf_path, log_path, "--once", extra, (char *)NULL);
}

static void assert_equal(const char *filter)
{
	char why[512];

	ck_assert_msg(tcompare(&srv, d, tid, filter, why, sizeof(why)) == 0, "%s (log: %s)", why,
		      log_path);
}

struct eq_ctx {
	const char *filter;
	char why[512];
};

static int is_equal(void *ctx)
{
	struct eq_ctx *c = ctx;

	return tcompare(&srv, d, tid, c->filter, c->why, sizeof(c->why)) == 0;
}

static void wait_equal(const char *filter)
{
	struct eq_ctx c = {filter, ""};

	ck_assert_msg(twait(is_equal, &c, WAIT_MS), "not equal within %d ms: %s (log: %s)",
		      WAIT_MS, c.why, log_path);
}

static struct dir_user user_by_anchor(const char *anchor)
{
	struct dir_user u;
	struct err err = {0};

	ck_assert_msg(dir_user_get_by_anchor(d, tid, anchor, &u, &err) == 0, "%s", err.msg);
	return u;
}

/* The entryUUID of dn, read from the server. */
static void anchor_of(const char *dn, char out[DIR_ANCHOR_MAX])
{
	char cmd[1400], *buf = NULL;
	size_t cap = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "ldapsearch -x -LLL -H %s -D '" TADMIN_DN "' -y %s -b '%s' -s base entryUUID",
		 srv.uri, srv.admin_pw_file, dn);
	p = popen(cmd, "r");
	ck_assert(p != NULL);
	out[0] = '\0';
	while (getline(&buf, &cap, p) > 0)
		if (strncmp(buf, "entryUUID: ", 11) == 0)
			sscanf(buf + 11, "%36s", out);
	free(buf);
	pclose(p);
	ck_assert_msg(out[0] != '\0', "no entryUUID for %s", dn);
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

/* Start the daemon and wait until it persists. */
static void start_daemon(void)
{
	struct cycle_ctx c = {"persist", "running"};

	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	ck_assert_msg(twait(cycle_is, &c, WAIT_MS), "the daemon did not reach persist (log: %s)",
		      log_path);
}

/* ---- full sync ---- */

static int collect_group(void *ctx, const struct dir_group *g)
{
	char *s = ctx;
	size_t n = strlen(s);

	snprintf(s + n, 512 - n, "%s%s", n ? "," : "", g->name);
	return 0;
}

START_TEST(full_sync_nested_groups)
{
	char *tree = tdata_tree(60, 12, 5);
	struct dir_sync_cycle c;
	struct dir_user u;
	struct err err = {0};
	char groups[512] = "";

	start(tree, NULL, NULL, NULL);
	free(tree);
	ck_assert_int_eq(once(NULL), 0);
	assert_equal(NULL);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.kind, "full");
	ck_assert_str_eq(c.status, "ok");
	ck_assert_int_eq(c.added, 72);
	ck_assert_int_eq(c.errors, 0);
	/* nested, with the cycle g0001 <-> g0002: u000000 is in g0000, g0001, g0002 */
	ck_assert(dir_user_get_by_upn(d, tid, "u000000@" TUPN_DOMAIN, &u, &err) == 0);
	ck_assert(dir_member_of(d, tid, DIR_MEMBER_USER, u.id, collect_group, groups, &err) == 0);
	ck_assert_str_eq(groups, "g0000,g0001,g0002");
	/* posixGroup members by uid: g0003 has u000015..u000019 */
	groups[0] = '\0';
	ck_assert(dir_user_get_by_upn(d, tid, "u000016@" TUPN_DOMAIN, &u, &err) == 0);
	ck_assert(dir_member_of(d, tid, DIR_MEMBER_USER, u.id, collect_group, groups, &err) == 0);
	ck_assert_msg(strncmp(groups, "g0003", 5) == 0, "%s", groups);

	/* the next run resumes from the cookie: a delta that reads nothing */
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.kind, "delta");
	ck_assert_int_eq(c.added + c.updated + c.deleted + c.unchanged, 0);
	/* --full reads everything again, and changes nothing */
	ck_assert_int_eq(once("--full"), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.kind, "full");
	ck_assert_int_eq(c.unchanged, 72);
	ck_assert_int_eq(c.added + c.updated + c.deleted, 0);
	assert_equal(NULL);
}
END_TEST

/* ---- every change type, persist and refreshOnly ---- */

struct user_ctx {
	const char *upn;
	const char *display; /* NULL: just exists */
	int live;
};

static int user_state(void *ctx)
{
	struct user_ctx *c = ctx;
	struct dir_user u;
	struct err err = {0};

	if (dir_user_get_by_upn(d, tid, c->upn, &u, &err) != 0)
		return !c->live;
	if (!c->live)
		return 0;
	return c->display == NULL || strcmp(u.display_name, c->display) == 0;
}

static void wait_user(const char *upn, const char *display, int live)
{
	struct user_ctx c = {upn, display, live};

	ck_assert_msg(twait(user_state, &c, WAIT_MS), "user %s did not become %s%s (log: %s)", upn,
		      live ? "live " : "deleted", display ? display : "", log_path);
}

/*
 * The changes: add, modify, member added and removed, rename (groups still
 * naming the old DN), move with the group updated, out of scope and back,
 * group added and deleted, user deleted, user disabled.  sync() makes them
 * reach the store (waits for the daemon, or runs --once).
 */
static void changes(void (*sync)(void), int persist)
{
	char a1[DIR_ANCHOR_MAX], a2[DIR_ANCHOR_MAX], a3[DIR_ANCHOR_MAX];
	char id1[DIR_ID_MAX], id2[DIR_ID_MAX], id3[DIR_ID_MAX];
	struct dir_user u;

	(void)persist;
	tslapd_modifyf(&srv, "dn: uid=new1," TPEOPLE "\nchangetype: add\nobjectClass: "
			     "inetOrgPerson\nuid: new1\ncn: New One\nsn: One\n");
	sync();
	wait_user("new1@" TUPN_DOMAIN, "New One", 1);

	tslapd_modifyf(&srv, "dn: uid=new1," TPEOPLE "\nchangetype: modify\nreplace: cn\n"
			     "cn: New Name\n-\nreplace: mail\nmail: new1@corp.example\n");
	sync();
	wait_user("new1@" TUPN_DOMAIN, "New Name", 1);

	tslapd_modifyf(&srv, "dn: cn=g0000," TGROUPS "\nchangetype: modify\nadd: member\n"
			     "member: uid=new1," TPEOPLE "\n");
	sync();
	wait_equal(NULL);
	tslapd_modifyf(&srv, "dn: cn=g0000," TGROUPS "\nchangetype: modify\ndelete: member\n"
			     "member: uid=new1," TPEOPLE "\n");
	sync();
	wait_equal(NULL);

	/* rename: the same cloud object; g0000 still names the old DN, so it is out */
	anchor_of("uid=u000001," TPEOPLE, a1);
	memcpy(id1, user_by_anchor(a1).id, sizeof(id1));
	tslapd_modifyf(&srv, "dn: uid=u000001," TPEOPLE "\nchangetype: modrdn\n"
			     "newrdn: uid=renamed1\ndeleteoldrdn: 1\n");
	sync();
	wait_user("renamed1@" TUPN_DOMAIN, NULL, 1);
	u = user_by_anchor(a1);
	ck_assert_str_eq(u.id, id1);
	ck_assert_str_eq(u.source_dn, "uid=renamed1," TPEOPLE);
	wait_equal(NULL);

	/* move to another OU, the group following in the same change set */
	anchor_of("uid=u000002," TPEOPLE, a2);
	memcpy(id2, user_by_anchor(a2).id, sizeof(id2));
	tslapd_modifyf(&srv, "dn: ou=sub," TPEOPLE "\nchangetype: add\nobjectClass: "
			     "organizationalUnit\nou: sub\n\n"
			     "dn: uid=u000002," TPEOPLE "\nchangetype: modrdn\nnewrdn: uid=u000002\n"
			     "deleteoldrdn: 1\nnewsuperior: ou=sub," TPEOPLE "\n\n"
			     "dn: cn=g0000," TGROUPS "\nchangetype: modify\ndelete: member\n"
			     "member: uid=u000002," TPEOPLE "\n-\nadd: member\n"
			     "member: uid=u000002,ou=sub," TPEOPLE "\n");
	sync();
	wait_equal(NULL);
	u = user_by_anchor(a2);
	ck_assert_str_eq(u.id, id2);
	ck_assert_str_eq(u.source_dn, "uid=u000002,ou=sub," TPEOPLE);

	/* out of scope (a move to ou=contractors) is a delete; back in restores it */
	anchor_of("uid=u000003," TPEOPLE, a3);
	memcpy(id3, user_by_anchor(a3).id, sizeof(id3));
	tslapd_modifyf(&srv, "dn: uid=u000003," TPEOPLE "\nchangetype: modrdn\n"
			     "newrdn: uid=u000003\ndeleteoldrdn: 1\n"
			     "newsuperior: ou=contractors," TSUFFIX "\n");
	sync();
	wait_user("u000003@" TUPN_DOMAIN, NULL, 0);
	ck_assert(user_by_anchor(a3).deleted_at != 0);
	wait_equal(NULL);
	tslapd_modifyf(&srv, "dn: uid=u000003,ou=contractors," TSUFFIX "\nchangetype: modrdn\n"
			     "newrdn: uid=u000003\ndeleteoldrdn: 1\nnewsuperior: " TPEOPLE "\n");
	sync();
	wait_user("u000003@" TUPN_DOMAIN, NULL, 1);
	ck_assert_str_eq(user_by_anchor(a3).id, id3);
	wait_equal(NULL);

	/* a group comes and goes */
	tslapd_modifyf(&srv, "dn: cn=newgroup," TGROUPS "\nchangetype: add\nobjectClass: "
			     "groupOfNames\ncn: newgroup\nmember: uid=new1," TPEOPLE "\n"
			     "member: cn=g0001," TGROUPS "\n");
	sync();
	wait_equal(NULL);
	tslapd_modifyf(&srv, "dn: cn=newgroup," TGROUPS "\nchangetype: delete\n");
	sync();
	wait_equal(NULL);

	/* a user deleted, a user disabled */
	tslapd_modifyf(&srv, "dn: uid=u000004," TPEOPLE "\nchangetype: delete\n");
	tslapd_modifyf(&srv, "dn: uid=u000005," TPEOPLE "\nchangetype: modify\n"
			     "add: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n");
	sync();
	wait_user("u000004@" TUPN_DOMAIN, NULL, 0);
	wait_equal(NULL);
	{
		struct err err = {0};
		struct dir_user v;
		long long end = tnow_ms() + WAIT_MS;
		do {
			ck_assert(dir_user_get_by_upn(d, tid, "u000005@" TUPN_DOMAIN, &v, &err) == 0);
		} while (v.enabled && tnow_ms() < end && usleep(20000) == 0);
		ck_assert_int_eq(v.enabled, 0);
	}
}

static void sync_persist(void)
{
	/* the daemon is running: the waits that follow are the test */
}

static void sync_once(void)
{
	ck_assert_int_eq(once(NULL), 0);
}

static const char disabled_mapping[] = "disabled_attribute = pwdAccountLockedTime\n";

START_TEST(persist_every_change)
{
	char *tree = tdata_tree(10, 3, 3);
	struct dir_sync_cycle c;
	int rc;

	start(tree, NULL, NULL, disabled_mapping);
	free(tree);
	start_daemon();
	wait_equal(NULL);
	changes(sync_persist, 1);

	/* SIGTERM: a clean stop, the persist cycle recorded */
	rc = tproc_stop(daemon_pid, SIGTERM);
	daemon_pid = 0;
	ck_assert_int_eq(rc, 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.kind, "persist");
	ck_assert_str_eq(c.status, "ok");
	ck_assert(tu_file_contains(log_path, "stopped"));

	/* a change while it is down arrives at the restart, without reading everything */
	tslapd_modifyf(&srv, "dn: uid=u000006," TPEOPLE "\nchangetype: modify\nreplace: cn\n"
			     "cn: Changed While Down\n");
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.kind, "delta");
	ck_assert_int_eq(c.updated, 1);
	ck_assert_int_eq(c.added + c.deleted, 0);
	ck_assert(c.unchanged <= 1);
	assert_equal(NULL);
}
END_TEST

START_TEST(refresh_only_every_change)
{
	char *tree = tdata_tree(10, 3, 3);

	start(tree, NULL, "mode = poll\n", disabled_mapping);
	free(tree);
	ck_assert_int_eq(once(NULL), 0);
	changes(sync_once, 0);
	assert_equal(NULL);
}
END_TEST

/* After a server restart its session log is gone: the refresh is a present phase. */
START_TEST(present_phase_after_server_restart)
{
	char *tree = tdata_tree(30, 4, 4);
	struct dir_sync_cycle c;

	start(tree, NULL, NULL, NULL);
	free(tree);
	ck_assert_int_eq(once(NULL), 0);
	tslapd_stop(&srv);
	tslapd_start(&srv);
	tslapd_modifyf(&srv, "dn: uid=u000007," TPEOPLE "\nchangetype: delete\n\n"
			     "dn: uid=u000008," TPEOPLE "\nchangetype: modify\nreplace: cn\n"
			     "cn: After Restart\n\n"
			     "dn: cn=g0002," TGROUPS "\nchangetype: delete\n");
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.kind, "delta");
	ck_assert_int_eq(c.deleted, 2);
	assert_equal(NULL);
	/* the same with a daemon: the refresh of refreshAndPersist */
	tslapd_stop(&srv);
	tslapd_start(&srv);
	tslapd_modifyf(&srv, "dn: uid=u000009," TPEOPLE "\nchangetype: delete\n");
	start_daemon();
	wait_equal(NULL);
}
END_TEST

/* ---- scope ---- */

static const char contractors[] =
	"dn: uid=c1," TPEOPLE "\nobjectClass: inetOrgPerson\nuid: c1\ncn: C One\nsn: One\n"
	"employeeType: contractor\n\n"
	"dn: uid=c2," TPEOPLE "\nobjectClass: inetOrgPerson\nuid: c2\ncn: C Two\nsn: Two\n"
	"employeeType: contractor\n\n";

START_TEST(scope_filter_change)
{
	char *tree = tdata_tree(10, 2, 3), *all;
	const char *narrow = "(&(objectClass=inetOrgPerson)(!(employeeType=contractor)))";
	char a[DIR_ANCHOR_MAX], id[DIR_ID_MAX];
	struct dir_sync_cycle c;

	ck_assert(asprintf(&all, "%s%s", tree, contractors) > 0);
	free(tree);
	start(all, NULL, NULL, NULL);
	free(all);
	ck_assert_int_eq(once(NULL), 0);
	assert_equal(NULL);
	anchor_of("uid=c1," TPEOPLE, a);
	memcpy(id, user_by_anchor(a).id, sizeof(id));

	/* narrower: a full sync (the scope changed), the contractors deleted */
	tconf_write(conf_path, &srv, store_path, "acme", narrow, NULL, NULL);
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.kind, "full");
	ck_assert_int_eq(c.deleted, 2);
	ck_assert_int_eq(c.unchanged, 12);
	assert_equal(narrow);
	ck_assert(user_by_anchor(a).deleted_at != 0);

	/* and back: restored, the same objects */
	tconf_write(conf_path, &srv, store_path, "acme", NULL, NULL, NULL);
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.added, 2);
	assert_equal(NULL);
	ck_assert_str_eq(user_by_anchor(a).id, id);
	ck_assert_int_eq(user_by_anchor(a).deleted_at, 0);
}
END_TEST

/* ---- the delete threshold ---- */

static void delete_users(int from, int to)
{
	for (int i = from; i < to; i++)
		tslapd_modifyf(&srv, "dn: uid=u%06d," TPEOPLE "\nchangetype: delete\n", i);
}

START_TEST(threshold_delta_and_full)
{
	char *tree = tdata_tree(12, 2, 3);
	struct dir_sync_cycle c;

	start(tree, NULL, "delete_threshold = 3\n", NULL);
	free(tree);
	ck_assert_int_eq(once(NULL), 0);
	delete_users(0, 5);
	/* stops, says so, deletes nothing, and again until confirmed */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(once(NULL), 3);
		ck_assert_int_eq(tstore_count_users(d, tid), 12);
		tstore_last_cycle(d, tid, &c);
		ck_assert_str_eq(c.status, "threshold");
		ck_assert_int_eq(c.deleted, 0);
		ck_assert_msg(strstr(c.message, "5 deletes exceed") &&
				      strstr(c.message, "--confirm-deletes"),
			      "%s", c.message);
	}
	ck_assert(tu_file_contains(log_path, "delete threshold"));
	ck_assert_int_eq(once("--confirm-deletes"), 0);
	ck_assert_int_eq(tstore_count_users(d, tid), 7);
	assert_equal(NULL);

	/* a full sync (here after a scope change) stops the same way */
	tconf_write(conf_path, &srv, store_path, "acme", "(uid=u00001*)", "delete_threshold = 3\n",
		    NULL);
	ck_assert_int_eq(once(NULL), 3);
	ck_assert_int_eq(tstore_count_users(d, tid), 7);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.kind, "full");
	ck_assert_str_eq(c.status, "threshold");
	ck_assert_int_eq(once("--confirm-deletes"), 0);
	assert_equal("(uid=u00001*)");
}
END_TEST

START_TEST(threshold_persist)
{
	char *tree = tdata_tree(12, 2, 3);
	struct cycle_ctx stopped = {"persist", "threshold"};

	start(tree, NULL, "delete_threshold = 3\npoll_interval = 1h\n", NULL);
	free(tree);
	start_daemon();
	delete_users(0, 5);
	ck_assert_msg(twait(cycle_is, &stopped, WAIT_MS), "no threshold stop (log: %s)",
		      log_path);
	/*
	 * At most the threshold applied (how many depends on how the deletes
	 * fell into batches: the batch that crossed it was rolled back).
	 */
	ck_assert_int_ge(tstore_count_users(d, tid), 9);
	ck_assert(tu_file_contains(log_path, "exceed the delete threshold of 3"));
	ck_assert_int_eq(tproc_stop(daemon_pid, SIGTERM), 0);
	daemon_pid = 0;
	ck_assert_int_eq(once("--confirm-deletes"), 0);
	assert_equal(NULL);
}
END_TEST

/* ---- odd entries ---- */

static const char odd_entries[] =
	/* no uid: the UPN's attribute is missing */
	"dn: cn=No Uid," TPEOPLE "\nobjectClass: inetOrgPerson\ncn: No Uid\nsn: Uid\n\n"
	/* a binary value in a mapped attribute (audio: octet string) */
	"dn: uid=binary," TPEOPLE "\nobjectClass: inetOrgPerson\nuid: binary\ncn: Binary\n"
	"sn: B\naudio:: /9j/AAEAUklGRgAB\n\n"
	/* invalid UTF-8 in a mapped attribute */
	"dn: uid=badutf8," TPEOPLE "\nobjectClass: inetOrgPerson\nuid: badutf8\ncn: Bad\n"
	"sn: B\naudio:: QcMoQg==\n\n"
	/* a binary attribute nobody maps: harmless */
	"dn: uid=photo," TPEOPLE "\nobjectClass: inetOrgPerson\nuid: photo\ncn: Photo\n"
	"sn: P\njpegPhoto:: /9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP8AAP8A\n\n";

START_TEST(odd_entries_fail_alone)
{
	char *tree = tdata_tree(5, 1, 2), *all, longcn[3000], more[70 * 120] = "";
	struct dir_sync_cycle c;
	struct dir_user u;
	struct err err = {0};

	memset(longcn, 'L', sizeof(longcn) - 1);
	longcn[sizeof(longcn) - 1] = '\0';
	/* enough users after the odd ones for a first sync to insert them many at a time */
	for (int i = 0; i < 70; i++)
		snprintf(more + strlen(more), sizeof(more) - strlen(more),
			 "dn: uid=more%02d," TPEOPLE "\nobjectClass: inetOrgPerson\nuid: more%02d\n"
			 "cn: More\nsn: M\n\n",
			 i, i);
	ck_assert(asprintf(&all,
			   "%s%s"
			   "dn: uid=long," TPEOPLE "\nobjectClass: inetOrgPerson\nuid: long\n"
			   "cn: %s\nsn: L\n\n%s",
			   tree, odd_entries, longcn, more) > 0);
	free(tree);
	start(all, NULL, NULL, "given_name = {audio}\n");
	free(all);
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.status, "ok");
	ck_assert_int_eq(c.errors, 4);
	ck_assert_int_eq(c.added, 5 + 1 + 70 + 1); /* the users, photo, more, the group */
	ck_assert(dir_user_get_by_upn(d, tid, "photo@" TUPN_DOMAIN, &u, &err) == 0);
	ck_assert(tu_file_contains(log_path, "cn=No Uid," TPEOPLE ": attribute 'uid'"));
	ck_assert(tu_file_contains(log_path, "uid=binary," TPEOPLE ": attribute 'audio' has a "
					     "binary value"));
	ck_assert(tu_file_contains(log_path, "uid=badutf8," TPEOPLE ": attribute 'audio' is not "
					     "valid UTF-8"));
	ck_assert(tu_file_contains(log_path, "uid=long," TPEOPLE ": attribute 'cn' makes the "
					     "display name longer"));
	ck_assert_msg(strstr(c.message, "first error"), "%s", c.message);

	/* a synced user whose value turns bad keeps its old state, and is not deleted */
	tslapd_modifyf(&srv, "dn: uid=u000001," TPEOPLE "\nchangetype: modify\nreplace: audio\n"
			     "audio:: AAEC\n\n"
			     "dn: uid=u000002," TPEOPLE "\nchangetype: modify\nreplace: cn\n"
			     "cn: Fine Change\n");
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.errors, 1);
	ck_assert_int_eq(c.updated, 1);
	ck_assert(dir_user_get_by_upn(d, tid, "u000001@" TUPN_DOMAIN, &u, &err) == 0);
	ck_assert_int_eq(u.deleted_at, 0);
	ck_assert_int_eq(once("--full"), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.deleted, 0);
	ck_assert_int_eq(c.errors, 5);
}
END_TEST

/* ---- credentials ---- */

START_TEST(wrong_bind_password)
{
	char *tree = tdata_tree(8, 2, 2);
	struct dir_sync_cycle before, after;

	start(tree, NULL, NULL, NULL);
	free(tree);
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &before);
	ck_assert(tu_write_file(srv.sync_pw_file, "not-the-password", 0600) == 0);
	delete_users(0, 3); /* deletes are waiting: none may happen */
	ck_assert_int_eq(once(NULL), 1);
	ck_assert(tu_file_contains(log_path, "bind as " TSYNC_DN ": Invalid credentials"));
	ck_assert(tu_file_contains(log_path, srv.sync_pw_file));
	ck_assert_int_eq(tstore_count_users(d, tid), 8);
	tstore_last_cycle(d, tid, &after);
	ck_assert_int_eq(after.id, before.id);
	ck_assert(!tu_file_contains(log_path, "not-the-password"));

	/* a password file others can read is refused before any connection */
	ck_assert(tu_write_file(srv.sync_pw_file, srv.sync_pw, 0644) == 0);
	ck_assert_int_eq(once(NULL), 1);
	ck_assert(tu_file_contains(log_path, "bind_password_file"));
	ck_assert(chmod(srv.sync_pw_file, 0600) == 0);
	ck_assert_int_eq(once(NULL), 0);
	assert_equal(NULL);
}
END_TEST

/* ---- isolation ---- */

static int first_member(void *ctx, const struct dir_member *m)
{
	snprintf(ctx, DIR_ID_MAX, "%s", m->id);
	return 1;
}

static const char *members_first(struct dir *h, const char *tenant, const char *gid)
{
	static char id[DIR_ID_MAX];
	struct err err = {0};

	id[0] = '\0';
	(void)dir_group_members(h, tenant, gid, first_member, id, &err);
	return id;
}

START_TEST(cloud_objects_and_other_tenants_untouched)
{
	/* 100 users: the clash falls among users a first sync inserts many at a time */
	char *tree = tdata_tree(100, 2, 3);
	char oid[DIR_ID_MAX], a[DIR_ANCHOR_MAX];
	struct dir_user cloud, clash, foreign, got;
	struct dir_group cg, gg;
	struct err err = {0};
	struct dir *o;
	struct dir_sync_cycle c;

	start(tree, NULL, NULL, NULL);
	free(tree);
	/* a cloud user, one whose UPN an LDAP user would take, a cloud group */
	memset(&cloud, 0, sizeof(cloud));
	strcpy(cloud.upn, "cloud@" TUPN_DOMAIN);
	cloud.enabled = 1;
	ck_assert(dir_user_create(d, tid, &cloud, NULL, &err) == 0);
	memset(&clash, 0, sizeof(clash));
	strcpy(clash.upn, "U000005@" TUPN_DOMAIN);
	clash.enabled = 1;
	ck_assert(dir_user_create(d, tid, &clash, NULL, &err) == 0);
	memset(&cg, 0, sizeof(cg));
	strcpy(cg.name, "cloud-group");
	ck_assert(dir_group_create(d, tid, &cg, &err) == 0);
	ck_assert(dir_group_add_member(d, tid, cg.id, DIR_MEMBER_USER, cloud.id, &err) == 0);
	/* another tenant holding a synced copy of one of the same entries */
	o = tstore_open(store_path, "other", oid);
	anchor_of("uid=u000000," TPEOPLE, a);
	memset(&foreign, 0, sizeof(foreign));
	strcpy(foreign.upn, "u000000@" TUPN_DOMAIN);
	strcpy(foreign.source_anchor, a);
	strcpy(foreign.source_dn, "uid=u000000," TPEOPLE);
	foreign.enabled = 1;
	ck_assert(dir_sync_user_put(o, oid, &foreign, "dn:uid=u000000,ou=people,dc=test,dc=example",
				    "uid:u000000", 0, &err) == DIR_SYNC_ADDED);

	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.errors, 1); /* u000005: its UPN is the cloud user's */
	ck_assert(tu_file_contains(log_path, "uid=u000005," TPEOPLE));
	delete_users(0, 2);
	ck_assert_int_eq(once(NULL), 0);
	ck_assert_int_eq(once("--full"), 0);

	ck_assert(dir_user_get(d, tid, cloud.id, &got, &err) == 0);
	ck_assert(got.deleted_at == 0 && got.updated_at == cloud.updated_at);
	ck_assert(dir_user_get(d, tid, clash.id, &got, &err) == 0);
	ck_assert(got.deleted_at == 0 && got.source == DIR_SOURCE_CLOUD);
	ck_assert(dir_group_get(d, tid, cg.id, &gg, &err) == 0 && gg.deleted_at == 0);
	ck_assert_str_eq(members_first(d, tid, cg.id), cloud.id);
	ck_assert(dir_user_get_by_anchor(o, oid, a, &got, &err) == 0);
	ck_assert(got.deleted_at == 0 && strcmp(got.id, foreign.id) == 0 &&
		  got.updated_at == foreign.updated_at);
	dir_close(o);
}
END_TEST

/* ---- several bases, several connectors ---- */

static const char contractors_ldif[] =
	"dn: uid=c1,ou=contractors," TSUFFIX "\nobjectClass: inetOrgPerson\nuid: c1\ncn: C One\n"
	"sn: One\n\n"
	"dn: uid=c2,ou=contractors," TSUFFIX "\nobjectClass: inetOrgPerson\nuid: c2\ncn: C Two\n"
	"sn: Two\n\n";

/* users under ou=people and ou=contractors, in mode (persist or poll) */
static void start_two_bases(const char *mode)
{
	char *tree = tdata_tree(4, 1, 2), *all = NULL, *text = NULL;

	ck_assert(asprintf(&all, "%s%s", tree, contractors_ldif) > 0);
	free(tree);
	start(all, NULL, NULL, NULL);
	free(all);
	ck_assert(asprintf(&text,
			   "[ldap]\nuri = %s\nbind_dn = " TSYNC_DN "\nbind_password_file = %s\n"
			   "[users]\nbase = " TPEOPLE "\nbase = ou=contractors," TSUFFIX "\n"
			   "[groups]\nbase = " TGROUPS "\n"
			   "[mapping]\nupn = {uid}@" TUPN_DOMAIN "\n"
			   "[store]\npath = %s\ntenant = acme\n"
			   "[sync]\nretry_max = 2s\nmode = %s\npoll_interval = 1s\n",
			   srv.uri, srv.sync_pw_file, store_path, mode) >= 0);
	ck_assert(tu_write_file(conf_path, text, 0600) == 0);
	free(text);
}

/*
 * Move c1 between the two user bases, back and forth: the delete the old
 * base's search sends must not delete it, whichever of the two arrives
 * first.
 */
static void move_between_bases(int persist)
{
	static const char *const bases[] = {"ou=contractors," TSUFFIX, TPEOPLE};
	char dn[256];
	struct tstore_at c = {NULL, tid, "c1@" TUPN_DOMAIN, dn};

	start_two_bases(persist ? "persist" : "poll");
	c.d = d;
	ck_assert_int_eq(once(NULL), 0);
	ck_assert_int_eq(tstore_count_users(d, tid), 6);
	if (persist)
		start_daemon();
	for (int i = 0; i < 4; i++) {
		const char *from = bases[i % 2], *to = bases[(i + 1) % 2];
		tslapd_modifyf(&srv,
			       "dn: uid=c1,%s\nchangetype: modrdn\nnewrdn: uid=c1\n"
			       "deleteoldrdn: 1\nnewsuperior: %s\n",
			       from, to);
		snprintf(dn, sizeof(dn), "uid=c1,%s", to);
		if (!persist)
			ck_assert_int_eq(once(NULL), 0);
		ck_assert_msg(twait(tstore_user_at, &c, WAIT_MS),
			      "move %d: c1 is not live at %s (log %s)", i, dn, log_path);
		if (persist)
			usleep(500 * 1000); /* the other base's message, if it comes second */
		ck_assert_msg(tstore_user_at(&c),
			      "move %d: c1 was deleted after its move (log %s)", i, log_path);
	}
	ck_assert_int_eq(tstore_count_users(d, tid), 6);
}

START_TEST(move_between_bases_persist)
{
	move_between_bases(1);
}
END_TEST

START_TEST(move_between_bases_poll)
{
	move_between_bases(0);
}
END_TEST

/*
 * Entries whose entryUUID the sync account may not read cannot be marked
 * seen: a full sync must then delete nothing of their kind rather than
 * everything it could not see.
 */
#define HIDDEN_ANCHORS_ACL "to dn.subtree=\"ou=contractors," TSUFFIX "\" attrs=entryUUID by * none"

START_TEST(hidden_anchors_delete_nothing)
{
	char *tree = tdata_tree(4, 1, 2), *all = NULL, a[DIR_ANCHOR_MAX];
	struct dir_user u;
	struct err err = {0};
	struct dir_sync_cycle c;

	ck_assert(asprintf(&all, "%s%s", tree, contractors_ldif) > 0);
	free(tree);
	tslapd_create_acl(&srv, all, HIDDEN_ANCHORS_ACL);
	free(all);
	snprintf(store_path, sizeof(store_path), "%s/store.db", srv.dir);
	snprintf(conf_path, sizeof(conf_path), "%s/sync.conf", srv.dir);
	snprintf(log_path, sizeof(log_path), "%s/idp-sync.log", srv.dir);
	d = tstore_open(store_path, "acme", tid);
	{
		char *text = NULL;
		ck_assert(asprintf(&text,
				   "[ldap]\nuri = %s\nbind_dn = " TSYNC_DN
				   "\nbind_password_file = %s\n[users]\nbase = " TPEOPLE
				   "\nbase = ou=contractors," TSUFFIX "\n[groups]\nbase = " TGROUPS
				   "\n[mapping]\nupn = {uid}@" TUPN_DOMAIN
				   "\n[store]\npath = %s\ntenant = acme\n",
				   srv.uri, srv.sync_pw_file, store_path) >= 0);
		ck_assert(tu_write_file(conf_path, text, 0600) == 0);
		free(text);
	}
	/* c1 was synced while its anchor could be read (the admin can read it) */
	anchor_of("uid=c1,ou=contractors," TSUFFIX, a);
	memset(&u, 0, sizeof(u));
	strcpy(u.upn, "c1@" TUPN_DOMAIN);
	strcpy(u.source_anchor, a);
	strcpy(u.source_dn, "uid=c1,ou=contractors," TSUFFIX);
	u.enabled = 1;
	ck_assert(dir_sync_user_put(d, tid, &u, "dn:uid=c1,ou=contractors,dc=test,dc=example",
				    "uid:c1", 0, &err) == DIR_SYNC_ADDED);
	ck_assert_int_eq(once("--full"), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.errors, 2); /* c1 and c2: no entryUUID */
	ck_assert_int_eq(c.deleted, 0);
	ck_assert(dir_user_get_by_anchor(d, tid, a, &u, &err) == 0 && u.deleted_at == 0);
	ck_assert(tu_file_contains(log_path, "nothing under this base is deleted"));
	ck_assert_int_eq(tstore_count_users(d, tid), 5);

	/*
	 * They are remembered by DN: the deltas that follow read them again
	 * (the server would never send them, they do not change) and say so,
	 * and once the ACL is fixed they arrive without a full sync.
	 */
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_str_eq(c.kind, "delta");
	ck_assert_int_eq(c.errors, 2);
	{
		char conf[700], ldif[700], log[700];
		char *argv[] = {"/usr/sbin/slapmodify", "-q", "-n", "0", "-F", conf, "-l", ldif, NULL};
		snprintf(conf, sizeof(conf), "%s/slapd.d", srv.dir);
		snprintf(ldif, sizeof(ldif), "%s/acl-fix.ldif", srv.dir);
		snprintf(log, sizeof(log), "%s/slapmodify.log", srv.dir);
		ck_assert(tu_write_file(ldif,
					"dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\n"
					"delete: olcAccess\nolcAccess: {0}" HIDDEN_ANCHORS_ACL
					"\n-\n",
					0600) == 0);
		tslapd_stop(&srv);
		ck_assert_msg(trun(argv, log) == 0, "slapmodify (see %s)", log);
		tslapd_start(&srv);
	}
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_msg(c.errors == 0, "%lld errors once the ACL is fixed: %s (log: %s)",
		      (long long)c.errors, c.message, log_path);
	ck_assert_int_eq(tstore_count_users(d, tid), 6);
	{
		struct tstore_at at = {d, tid, "c2@" TUPN_DOMAIN, "uid=c2,ou=contractors," TSUFFIX};
		ck_assert(tstore_user_at(&at));
	}
	ck_assert(dir_user_get_by_anchor(d, tid, a, &u, &err) == 0 && u.deleted_at == 0);
	/* nothing is left to read again */
	ck_assert_int_eq(once(NULL), 0);
	tstore_last_cycle(d, tid, &c);
	ck_assert_int_eq(c.errors, 0);
	ck_assert_int_eq(tstore_count_users(d, tid), 6);
}
END_TEST

/* A second connector on the tenant is refused: its full sync would delete the first's objects. */
START_TEST(second_connector_refused)
{
	char *tree = tdata_tree(4, 1, 2), other[700], *text = NULL;

	start(tree, NULL, NULL, NULL);
	free(tree);
	ck_assert_int_eq(once(NULL), 0);
	snprintf(other, sizeof(other), "%s/contractors.conf", srv.dir);
	ck_assert(asprintf(&text,
			   "[ldap]\nuri = %s\nbind_dn = " TSYNC_DN "\nbind_password_file = %s\n"
			   "[users]\nbase = ou=contractors," TSUFFIX "\n"
			   "[mapping]\nupn = {uid}@" TUPN_DOMAIN "\n"
			   "[store]\npath = %s\ntenant = acme\nconnector = contractors\n",
			   srv.uri, srv.sync_pw_file, store_path) >= 0);
	ck_assert(tu_write_file(other, text, 0600) == 0);
	free(text);
	ck_assert_int_eq(tsync_run(other, log_path, "--once", (char *)NULL), 1);
	ck_assert(tu_file_contains(log_path, "synced by connector 'ldap' already"));
	ck_assert_int_eq(tstore_count_users(d, tid), 4);
	assert_equal(NULL);
}
END_TEST

/* ---- signals and the command line ---- */

START_TEST(sigterm_during_full_sync)
{
	char *tree = tdata_tree(4000, 20, 10);
	struct dir_sync_cycle c;
	long long end;
	int rc, n = 0;

	/* small pages: many batches to stop between */
	start(tree, NULL, "batch_size = 50\n[ldap]\npage_size = 50\n", NULL);
	free(tree);
	daemon_pid = tsync_spawn(conf_path, log_path, (char *)NULL);
	end = tnow_ms() + WAIT_MS;
	while ((n = tstore_count_users(d, tid)) == 0 && tnow_ms() < end)
		usleep(2000);
	rc = tproc_stop(daemon_pid, SIGTERM);
	daemon_pid = 0;
	ck_assert_int_eq(rc, 0);
	tstore_last_cycle(d, tid, &c);
	if (strcmp(c.kind, "full") == 0 && strcmp(c.status, "stopped") == 0) {
		ck_assert_int_eq(c.deleted, 0);
		ck_assert(tstore_count_users(d, tid) < 4000);
	}
	/* whatever it was doing, the next run completes the sync */
	ck_assert_int_eq(once(NULL), 0);
	assert_equal(NULL);
}
END_TEST

/*
 * A first full sync waiting for a slow server holds no transaction: the
 * idp can write the store meanwhile (here: slapd stopped, a cloud user
 * created, the tenant even purged).  A purged tenant ends the sync at its
 * next batch, before it writes, with a clear error (the check each batch
 * of bulk mode begins with; the commit would fail too, the purge having
 * taken the cycle's record), and nothing is left behind.
 */
START_TEST(slow_server_lets_the_store_go)
{
	/* big enough that the sync is still reading when the test stops slapd */
	char *tree = tdata_tree(20000, 20, 10);
	struct dir_user cloud;
	struct err err = {0};
	long long end;
	int created, purged, rc;

	/* batches that span pages: the late-page commit is what frees the store */
	start(tree, NULL, "batch_size = 2000\n[ldap]\npage_size = 50\n", NULL);
	free(tree);
	daemon_pid = tsync_spawn(conf_path, log_path, "--once", (char *)NULL);
	end = tnow_ms() + WAIT_MS;
	while (tstore_count_users(d, tid) == 0 && tnow_ms() < end)
		usleep(1000);
	ck_assert_int_eq(kill(srv.pid, SIGSTOP), 0);
	memset(&cloud, 0, sizeof(cloud));
	strcpy(cloud.upn, "cloud@acme.example");
	cloud.enabled = 1;
	/* within the store's busy timeout (5 s): the sync gave the write lock up */
	created = dir_user_create(d, tid, &cloud, NULL, &err);
	purged = created == 0 ? dir_tenant_purge(d, tid, &err) : -1;
	ck_assert_int_eq(kill(srv.pid, SIGCONT), 0);
	ck_assert_msg(created == 0, "a write while the server is stopped: %s", err.msg);
	ck_assert_msg(purged == 0, "a purge while the server is stopped: %s", err.msg);
	rc = tproc_stop(daemon_pid, 0);
	daemon_pid = 0;
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(tu_file_contains(log_path, "the tenant was deleted during the sync"),
		      "log: %s", log_path);
	/* no user, group, membership or reference of the tenant survived it */
	ck_assert_msg(dir_integrity_check(d, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(tstore_count_users(d, tid), 0);
	ck_assert_int_eq(tstore_count_groups(d, tid), 0);
}
END_TEST

START_TEST(cli)
{
	char *tree = tdata_tree(3, 1, 2);
	char out[700];
	pid_t first;
	char *argv[] = {(char *)tsync_binary(), "-c", conf_path, "--status", "5", NULL};
	char *usage[] = {(char *)tsync_binary(), "--bogus", NULL};
	char *check[] = {(char *)tsync_binary(), "-c", conf_path, "-n", NULL};

	start(tree, NULL, NULL, NULL);
	free(tree);
	snprintf(out, sizeof(out), "%s/cli.out", srv.dir);
	ck_assert_int_eq(trun(check, out), 0);
	ck_assert(tu_file_contains(out, "configuration OK"));
	ck_assert_int_eq(trun(usage, out), 2);
	ck_assert_int_eq(once(NULL), 0);
	ck_assert_int_eq(trun(argv, out), 0);
	ck_assert(tu_file_contains(out, "cookie stored"));
	ck_assert(tu_file_contains(out, " full "));
	/* one process per tenant and connector */
	first = tsync_spawn(conf_path, log_path, (char *)NULL);
	{
		struct cycle_ctx c = {"persist", "running"};
		ck_assert(twait(cycle_is, &c, WAIT_MS));
	}
	ck_assert_int_eq(once(NULL), 4);
	ck_assert(tu_file_contains(log_path, "another idp-sync is running"));
	ck_assert_int_eq(tproc_stop(first, SIGINT), 0);
	/* a bad configuration names file, line and key */
	ck_assert(tu_write_file(conf_path, "[ldap]\nuri = gopher://x\n", 0600) == 0);
	ck_assert_int_eq(trun(check, out), 2);
	ck_assert(tu_file_contains(out, "sync.conf:2: [ldap] uri"));
}
END_TEST

static Suite *sync_ldap_suite(void)
{
	Suite *s = suite_create("sync-ldap");
	TCase *tc = tcase_create("sync");

	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, full_sync_nested_groups);
	tcase_add_test(tc, persist_every_change);
	tcase_add_test(tc, refresh_only_every_change);
	tcase_add_test(tc, present_phase_after_server_restart);
	tcase_add_test(tc, scope_filter_change);
	tcase_add_test(tc, threshold_delta_and_full);
	tcase_add_test(tc, threshold_persist);
	tcase_add_test(tc, odd_entries_fail_alone);
	tcase_add_test(tc, wrong_bind_password);
	tcase_add_test(tc, cloud_objects_and_other_tenants_untouched);
	tcase_add_test(tc, sigterm_during_full_sync);
	tcase_add_test(tc, slow_server_lets_the_store_go);
	tcase_add_test(tc, cli);
	tcase_add_test(tc, move_between_bases_persist);
	tcase_add_test(tc, move_between_bases_poll);
	tcase_add_test(tc, second_connector_refused);
	tcase_add_test(tc, hidden_anchors_delete_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sync_ldap_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
