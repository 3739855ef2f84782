/*
 * tslapd: what the sync tests share: a private OpenLDAP server (slapd) in a
 * temporary directory on a free loopback port, started from the same
 * cn=config template as the demo (conf/demo/slapd-config.ldif.in), stopped,
 * killed and restarted at will; idp-sync run as a child process; generated
 * directory trees; and the comparison of a tenant of the store with what
 * the server holds.
 *
 * Every process started here is our child and dies with the test
 * (PR_SET_PDEATHSIG): a failing test never leaves a server behind.
 */
#ifndef IDP_TSLAPD_H
#define IDP_TSLAPD_H

#include "dir.h"

#include <stddef.h>
#include <sys/types.h>

#define TSUFFIX    "dc=test,dc=example"
#define TPEOPLE    "ou=people," TSUFFIX
#define TGROUPS    "ou=groups," TSUFFIX
#define TSYNC_DN   "cn=idp-sync,ou=system," TSUFFIX
#define TADMIN_DN  "cn=admin," TSUFFIX
#define TUPN_DOMAIN "test.example"

struct tslapd {
	char dir[512];      /* the server's temporary directory */
	char uri[64];       /* ldap://127.0.0.1:PORT */
	int port;
	pid_t pid;          /* slapd (in the foreground, our child); 0 when stopped */
	char admin_pw[64];  /* the rootdn's password */
	char sync_pw[64];   /* the idp-sync account's password */
	char sync_pw_file[600];
	char admin_pw_file[600];
	int tls_port;       /* > 0: also ldaps:// on this port (tslapd_create_tls) */
	char ldaps_uri[64]; /* ldaps://127.0.0.1:TLS_PORT */
	char ca_file[600];  /* the CA that signed the server's certificate */
};

/*
 * Make a server in a fresh temporary directory, load the base entries
 * (suffix, ou=system with the sync account, ou=policies, ou=people,
 * ou=groups, ou=contractors) and ldif (may be NULL) offline, and start it.
 * Aborts the test on failure.
 */
void tslapd_create(struct tslapd *s, const char *ldif);

/*
 * The same with TLS: a fresh CA (s->ca_file) signs the server's certificate
 * (for 127.0.0.1), which serves StartTLS on s->uri and ldaps on s->ldaps_uri.
 */
void tslapd_create_tls(struct tslapd *s, const char *ldif);

/* The same with acl (an olcAccess value without its {n}) before the template's rules. */
void tslapd_create_acl(struct tslapd *s, const char *ldif, const char *acl);

/* Start again (same directory, same port), and wait until it answers. */
void tslapd_start(struct tslapd *s);

/* Stop with SIGTERM, or kill with SIGKILL, and wait until it is gone. */
void tslapd_stop(struct tslapd *s);
void tslapd_kill(struct tslapd *s);

/* Stop it and remove its directory. */
void tslapd_destroy(struct tslapd *s);

/* Apply LDIF changes (ldapmodify, as the rootdn); the tool's exit status. */
int tslapd_modify(struct tslapd *s, const char *ldif);

/* Build text with printf and apply it; aborts the test unless it works. */
void tslapd_modifyf(struct tslapd *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- processes ---- */

/* Run argv (argv[0] a path) to completion, stdout and stderr to log; exit status or -1. */
int trun(char *const argv[], const char *log);

/* Start idp-sync with config and the extra arguments (NULL-terminated); output to log. */
pid_t tsync_spawn(const char *config, const char *log, ...);

/* Run idp-sync to completion; its exit status (-1 if killed or timed out after 120 s). */
int tsync_run(const char *config, const char *log, ...);

/* Send sig to pid and wait up to 30 s for it to exit; its exit status, or -1. */
int tproc_stop(pid_t pid, int sig);

/* The path of the idp-sync binary under test. */
const char *tsync_binary(void);

/* ---- configuration and store ---- */

/*
 * Write a sync.conf for s into path: the store at store, tenant, the users
 * and groups bases of TSUFFIX, the test mapping (upn {uid}@test.example),
 * then extra (appended verbatim, e.g. "[sync]\nmode = poll\n"; NULL for
 * none).  Keys given in extra replace nothing: pass sections the base text
 * does not have (see tslapd.c for what it has).
 */
void tconf_write(const char *path, const struct tslapd *s, const char *store,
		 const char *tenant, const char *users_filter, const char *sync_section,
		 const char *mapping_section);

/* Open (creating) a store and make sure tenant exists; returns its id in tenant_id. */
struct dir *tstore_open(const char *path, const char *tenant, char tenant_id[DIR_ID_MAX]);

/* Live users / groups of the tenant synced from LDAP. */
int tstore_count_users(struct dir *d, const char *tenant_id);
int tstore_count_groups(struct dir *d, const char *tenant_id);

/* A twait() predicate (ctx: struct tstore_at): the user upn is live at DN dn. */
struct tstore_at {
	struct dir *d;
	const char *tenant_id, *upn, *dn;
};
int tstore_user_at(void *ctx);

/* The last cycle of the connector "ldap", or a zeroed one. */
void tstore_last_cycle(struct dir *d, const char *tenant_id, struct dir_sync_cycle *out);

/* ---- data ---- */

/*
 * LDIF of n users uid=uNNNNNN under ou=people and g groups under ou=groups
 * (cn=gNNNN): group i has the users k*i .. k*i+k-1 (modulo n) and nests
 * group i-1; every 5th is a groupOfUniqueNames, every 7th a posixGroup
 * (memberUid), the rest groupOfNames; groups 1 and 2 also name each other
 * (a cycle, which LDAP allows).  Caller frees.
 */
char *tdata_tree(int n, int g, int k);

/*
 * Compare the tenant with the server: every user and group in scope
 * (TPEOPLE with users_filter, TGROUPS with the default group filter) is a
 * live synced object with the right anchor, name and DN, no other synced
 * object is live, and every group's direct members are the entries its
 * member, uniqueMember and memberUid values name; and the store passes
 * dir_integrity_check() (its foreign keys hold).  0 if equal, else -1
 * with why filled.
 */
int tcompare(struct tslapd *s, struct dir *d, const char *tenant_id, const char *users_filter,
	     char *why, size_t whylen);

/*
 * Call cond(ctx) every 20 ms until it returns non-zero or timeout_ms pass;
 * returns its last result.  A bound against hangs, not a timing assertion.
 */
int twait(int (*cond)(void *ctx), void *ctx, int timeout_ms);

/* Milliseconds on the monotonic clock. */
long long tnow_ms(void);

#endif
