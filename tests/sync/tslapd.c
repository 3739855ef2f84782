/*
 * tslapd: a private slapd per test, idp-sync as a child, generated trees,
 * and the store-versus-server comparison.  See tslapd.h.
 */
#define _GNU_SOURCE
#include "tslapd.h"

#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLAPD   "/usr/sbin/slapd"
#define SLAPADD "/usr/sbin/slapadd"
#define LDAPMODIFY "/usr/bin/ldapmodify"

long long tnow_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tsleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int twait(int (*cond)(void *ctx), void *ctx, int timeout_ms)
{
	long long end = tnow_ms() + timeout_ms;
	int r;

	while (!(r = cond(ctx)) && tnow_ms() < end)
		tsleep_ms(20);
	return r;
}

/* In a child: die with the parent, and send output to log. */
static void tchild_setup(const char *log)
{
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (log != NULL && (fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
}

static pid_t tspawn(char *const argv[], const char *log)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		tchild_setup(log);
		if (getppid() != parent)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Wait for pid up to ms; its wait status, or -1 if it is still running. */
static int twaitpid(pid_t pid, int ms)
{
	long long end = tnow_ms() + ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return 0;
		if (tnow_ms() >= end)
			return -1;
		tsleep_ms(5);
	}
}

int trun(char *const argv[], const char *log)
{
	pid_t pid = tspawn(argv, log);
	int status;

	if (pid < 0)
		return -1;
	if ((status = twaitpid(pid, 120000)) == -1) {
		kill(pid, SIGKILL);
		twaitpid(pid, 10000);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int tproc_stop(pid_t pid, int sig)
{
	int status;

	kill(pid, sig);
	if ((status = twaitpid(pid, 30000)) == -1) {
		kill(pid, SIGKILL);
		twaitpid(pid, 10000);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *tsync_binary(void)
{
	static char path[1024];
	const char *root = getenv("IDP_BUILD_ROOT");

	snprintf(path, sizeof(path), "%s/sync/idp-sync", root != NULL ? root : "build");
	return path;
}

static pid_t tsync_vspawn(const char *config, const char *log, va_list ap)
{
	char *argv[16];
	int n = 0;
	const char *a;

	argv[n++] = (char *)tsync_binary();
	argv[n++] = "-c";
	argv[n++] = (char *)config;
	while (n < 15 && (a = va_arg(ap, const char *)) != NULL)
		argv[n++] = (char *)a;
	argv[n] = NULL;
	return tspawn(argv, log);
}

pid_t tsync_spawn(const char *config, const char *log, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, log);
	pid = tsync_vspawn(config, log, ap);
	va_end(ap);
	ck_assert_msg(pid > 0, "spawn idp-sync");
	return pid;
}

int tsync_run(const char *config, const char *log, ...)
{
	va_list ap;
	pid_t pid;
	int status;

	va_start(ap, log);
	pid = tsync_vspawn(config, log, ap);
	va_end(ap);
	if (pid < 0)
		return -1;
	if ((status = twaitpid(pid, 120000)) == -1) {
		kill(pid, SIGKILL);
		twaitpid(pid, 10000);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the server ---- */

static char *tread_template(void)
{
	char path[1024];
	const char *root = getenv("IDP_SOURCE_ROOT");
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/conf/demo/slapd-config.ldif.in",
		 root != NULL ? root : ".");
	text = tu_read_file(path, &len);
	ck_assert_msg(text != NULL, "read %s", path);
	return text;
}

/* Replace every "@NAME@" of vars (pairs, NULL-terminated) in text; caller frees. */
static char *tsubst(const char *text, const char *const *vars)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (const char *p = text; *p != '\0';) {
		int done = 0;
		for (size_t i = 0; vars[i] != NULL; i += 2) {
			size_t n = strlen(vars[i]);
			if (strncmp(p, vars[i], n) == 0) {
				fputs(vars[i + 1], f);
				p += n;
				done = 1;
				break;
			}
		}
		if (!done)
			fputc(*p++, f);
	}
	fclose(f);
	return out;
}

static void twrite(const char *path, const char *text, int mode)
{
	ck_assert_msg(tu_write_file(path, text, mode) == 0, "write %s", path);
}

static void trandom_password(char *out, size_t cap)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char b[24];
	int fd = open("/dev/urandom", O_RDONLY);

	ck_assert(fd >= 0 && read(fd, b, sizeof(b)) == (ssize_t)sizeof(b));
	close(fd);
	for (size_t i = 0; i < sizeof(b) && i + 1 < cap; i++)
		out[i] = abc[b[i] % (sizeof(abc) - 1)];
	out[sizeof(b) < cap - 1 ? sizeof(b) : cap - 1] = '\0';
}

static int tfree_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* 1 when the server accepts the sync account's bind. */
static int tslapd_ready(struct tslapd *s)
{
	LDAP *ld = NULL;
	struct berval cred = {strlen(s->sync_pw), s->sync_pw};
	int version = LDAP_VERSION3, rc;
	struct timeval tv = {1, 0};

	if (ldap_initialize(&ld, s->uri) != LDAP_SUCCESS)
		return 0;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	rc = ldap_sasl_bind_s(ld, TSYNC_DN, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return rc == LDAP_SUCCESS;
}

/* Start slapd on s->port; 0 when it answers, -1 when it exited (port taken?). */
static int tslapd_try_start(struct tslapd *s)
{
	char url[160], conf[600], log[600];
	char *argv[] = {SLAPD, "-d", "0", "-h", url, "-F", conf, NULL};
	long long end = tnow_ms() + 20000;

	if (s->tls_port > 0) {
		snprintf(url, sizeof(url), "ldap://127.0.0.1:%d/ ldaps://127.0.0.1:%d/", s->port,
			 s->tls_port);
		snprintf(s->ldaps_uri, sizeof(s->ldaps_uri), "ldaps://127.0.0.1:%d", s->tls_port);
	} else {
		snprintf(url, sizeof(url), "ldap://127.0.0.1:%d/", s->port);
	}
	snprintf(s->uri, sizeof(s->uri), "ldap://127.0.0.1:%d", s->port);
	snprintf(conf, sizeof(conf), "%s/slapd.d", s->dir);
	snprintf(log, sizeof(log), "%s/slapd.log", s->dir);
	s->pid = tspawn(argv, log);
	ck_assert(s->pid > 0);
	while (tnow_ms() < end) {
		if (twaitpid(s->pid, 0) != -1) {
			s->pid = 0;
			return -1;
		}
		if (tslapd_ready(s))
			return 0;
		tsleep_ms(20);
	}
	ck_abort_msg("slapd on port %d did not answer within 20 s", s->port);
	return -1;
}

void tslapd_start(struct tslapd *s)
{
	for (int attempt = 0; attempt < 10; attempt++) {
		if (tslapd_try_start(s) == 0)
			return;
		/* The port may linger after a kill: wait a little and retry. */
		tsleep_ms(200);
	}
	ck_abort_msg("slapd would not start on port %d (see %s/slapd.log)", s->port, s->dir);
}

static const char tbase_ldif[] =
	"dn: " TSUFFIX "\nobjectClass: dcObject\nobjectClass: organization\no: Test\ndc: test\n\n"
	"dn: ou=policies," TSUFFIX "\nobjectClass: organizationalUnit\nou: policies\n\n"
	"dn: cn=default,ou=policies," TSUFFIX "\nobjectClass: organizationalRole\n"
	"objectClass: pwdPolicy\ncn: default\npwdAttribute: userPassword\npwdLockout: TRUE\n"
	"pwdMaxFailure: 3\npwdLockoutDuration: 0\npwdMustChange: TRUE\n\n"
	"dn: cn=service,ou=policies," TSUFFIX "\nobjectClass: organizationalRole\n"
	"objectClass: pwdPolicy\ncn: service\npwdAttribute: userPassword\npwdLockout: FALSE\n\n"
	"dn: ou=system," TSUFFIX "\nobjectClass: organizationalUnit\nou: system\n\n"
	"dn: " TSYNC_DN "\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\n"
	"cn: idp-sync\nuserPassword: @SYNCPW@\npwdPolicySubentry: cn=service,ou=policies," TSUFFIX
	"\n\n"
	"dn: " TPEOPLE "\nobjectClass: organizationalUnit\nou: people\n\n"
	"dn: " TGROUPS "\nobjectClass: organizationalUnit\nou: groups\n\n"
	"dn: ou=contractors," TSUFFIX "\nobjectClass: organizationalUnit\nou: contractors\n\n";

/* A CA and a server certificate for 127.0.0.1 in dir (P-256 keys: quick to make). */
static void tmake_certs(const char *dir)
{
	char cmd[4096], log[600];

	snprintf(log, sizeof(log), "%s/openssl.log", dir);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && exec >>'%s' 2>&1 && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout ca.key -out ca.pem -days 2 -subj '/CN=idp test CA' && "
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout server.key -out server.csr -subj '/CN=127.0.0.1' && "
		 "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' "
		 ">ext.cnf && "
		 "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		 "-out server.pem -days 2 -extfile ext.cnf",
		 dir, log);
	ck_assert_msg(system(cmd) == 0, "making certificates failed (see %s)", log);
}

static void tslapd_create_opts(struct tslapd *s, const char *ldif, int tls, const char *acl);

void tslapd_create(struct tslapd *s, const char *ldif)
{
	tslapd_create_opts(s, ldif, 0, NULL);
}

void tslapd_create_tls(struct tslapd *s, const char *ldif)
{
	tslapd_create_opts(s, ldif, 1, NULL);
}

void tslapd_create_acl(struct tslapd *s, const char *ldif, const char *acl)
{
	tslapd_create_opts(s, ldif, 0, acl);
}

/* config with acl as the data's first access rule (the template's two move down) */
static char *tslapd_config_acl(char *config, const char *acl)
{
	const char *a0 = "olcAccess: {0}to attrs=userPassword", *a1 = "olcAccess: {1}to * by dn";
	char *p0 = strstr(config, a0), *p1 = strstr(config, a1), *with = NULL;

	ck_assert(p0 != NULL && p1 != NULL && p0 < p1);
	p0[12] = '1';
	p1[12] = '2';
	ck_assert(asprintf(&with, "%.*solcAccess: {0}%s\n%s", (int)(p0 - config), config, acl,
			   p0) > 0);
	free(config);
	return with;
}

static void tslapd_create_opts(struct tslapd *s, const char *ldif, int tls, const char *acl)
{
	char path[700], conf_dir[600], data_dir[600], log[600];
	char *tmpl, *config, *base;
	const char *vars[12];

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", tu_tmpdir());
	trandom_password(s->admin_pw, sizeof(s->admin_pw));
	trandom_password(s->sync_pw, sizeof(s->sync_pw));
	snprintf(s->sync_pw_file, sizeof(s->sync_pw_file), "%s/sync.password", s->dir);
	snprintf(s->admin_pw_file, sizeof(s->admin_pw_file), "%s/admin.password", s->dir);
	twrite(s->sync_pw_file, s->sync_pw, 0600);
	twrite(s->admin_pw_file, s->admin_pw, 0600);
	snprintf(conf_dir, sizeof(conf_dir), "%s/slapd.d", s->dir);
	snprintf(data_dir, sizeof(data_dir), "%s/data", s->dir);
	snprintf(log, sizeof(log), "%s/slapadd.log", s->dir);
	ck_assert(mkdir(conf_dir, 0700) == 0 && mkdir(data_dir, 0700) == 0);

	tmpl = tread_template();
	vars[0] = "@DIR@", vars[1] = s->dir, vars[2] = "@SUFFIX@", vars[3] = TSUFFIX;
	vars[4] = "@ROOTPW@", vars[5] = s->admin_pw, vars[6] = "@SYNCDN@", vars[7] = TSYNC_DN;
	vars[8] = "@SYNCPW@", vars[9] = s->sync_pw, vars[10] = NULL;
	config = tsubst(tmpl, vars);
	if (acl != NULL)
		config = tslapd_config_acl(config, acl);
	if (tls) {
		/* The certificate settings belong to the cn=config entry itself. */
		const char *at = strstr(config, "olcLogLevel: none\n");
		char *with = NULL;
		ck_assert(at != NULL);
		tmake_certs(s->dir);
		snprintf(s->ca_file, sizeof(s->ca_file), "%s/ca.pem", s->dir);
		ck_assert(asprintf(&with,
				   "%.*solcTLSCACertificateFile: %s/ca.pem\n"
				   "olcTLSCertificateFile: %s/server.pem\n"
				   "olcTLSCertificateKeyFile: %s/server.key\n%s",
				   (int)(at - config), config, s->dir, s->dir, s->dir, at) > 0);
		free(config);
		config = with;
	}
	snprintf(path, sizeof(path), "%s/config.ldif", s->dir);
	twrite(path, config, 0600);
	{
		char *argv[] = {SLAPADD, "-q", "-n", "0", "-F", conf_dir, "-l", path, NULL};
		ck_assert_msg(trun(argv, log) == 0, "slapadd cn=config (see %s)", log);
	}
	base = tsubst(tbase_ldif, vars);
	{
		size_t n = strlen(base) + (ldif != NULL ? strlen(ldif) : 0) + 2;
		char *all = malloc(n);
		ck_assert(all != NULL);
		snprintf(all, n, "%s%s", base, ldif != NULL ? ldif : "");
		snprintf(path, sizeof(path), "%s/data.ldif", s->dir);
		twrite(path, all, 0600);
		free(all);
	}
	{
		char *argv[] = {SLAPADD, "-q", "-w", "-F", conf_dir, "-b", TSUFFIX, "-l", path, NULL};
		ck_assert_msg(trun(argv, log) == 0, "slapadd data (see %s)", log);
	}
	free(tmpl);
	free(config);
	free(base);
	s->port = tfree_port();
	s->tls_port = tls ? tfree_port() : 0;
	for (int attempt = 0; attempt < 5; attempt++) {
		if (tslapd_try_start(s) == 0)
			return;
		s->port = tfree_port(); /* someone took it meanwhile */
		s->tls_port = tls ? tfree_port() : 0;
	}
	ck_abort_msg("slapd would not start (see %s/slapd.log)", s->dir);
}

void tslapd_stop(struct tslapd *s)
{
	if (s->pid > 0)
		tproc_stop(s->pid, SIGTERM);
	s->pid = 0;
}

void tslapd_kill(struct tslapd *s)
{
	if (s->pid > 0)
		tproc_stop(s->pid, SIGKILL);
	s->pid = 0;
}

void tslapd_destroy(struct tslapd *s)
{
	tslapd_stop(s);
	if (s->dir[0] != '\0')
		tu_rmtree(s->dir);
	s->dir[0] = '\0';
}

int tslapd_modify(struct tslapd *s, const char *ldif)
{
	char path[700], log[600];
	char *argv[] = {LDAPMODIFY, "-x", "-H", s->uri, "-D", TADMIN_DN, "-y", s->admin_pw_file,
			"-f", path, NULL};
	static int serial;

	snprintf(path, sizeof(path), "%s/change-%d.ldif", s->dir, serial++);
	snprintf(log, sizeof(log), "%s/ldapmodify.log", s->dir);
	twrite(path, ldif, 0600);
	return trun(argv, log);
}

void tslapd_modifyf(struct tslapd *s, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&text, fmt, ap);
	va_end(ap);
	ck_assert(rc >= 0);
	rc = tslapd_modify(s, text);
	ck_assert_msg(rc == 0, "ldapmodify failed (%d) on:\n%s\n(see %s/ldapmodify.log)", rc, text,
		      s->dir);
	free(text);
}

/* ---- configuration and store ---- */

void tconf_write(const char *path, const struct tslapd *s, const char *store,
		 const char *tenant, const char *users_filter, const char *sync_section,
		 const char *mapping_section)
{
	char *text = NULL;

	ck_assert(asprintf(&text,
			   "[ldap]\nuri = %s\nbind_dn = " TSYNC_DN "\nbind_password_file = %s\n"
			   "timeout = 10s\n"
			   "[users]\nbase = " TPEOPLE "\nfilter = %s\n"
			   "[groups]\nbase = " TGROUPS "\n"
			   "[mapping]\nupn = {uid}@" TUPN_DOMAIN "\n%s\n"
			   "[store]\npath = %s\ntenant = %s\n"
			   "[sync]\nretry_max = 2s\n%s\n",
			   s->uri, s->sync_pw_file,
			   users_filter != NULL ? users_filter : "(objectClass=inetOrgPerson)",
			   mapping_section != NULL ? mapping_section : "", store, tenant,
			   sync_section != NULL ? sync_section : "") >= 0);
	twrite(path, text, 0600);
	free(text);
}

struct dir *tstore_open(const char *path, const char *tenant, char tenant_id[DIR_ID_MAX])
{
	struct dir_options o = {0};
	struct dir_tenant t;
	struct err err = {0};
	struct dir *d;

	o.path = path;
	o.argon2 = (struct dir_argon2){1, 64, 1};
	d = dir_open(&o, &err);
	ck_assert_msg(d != NULL, "open store: %s", err.msg);
	if (dir_tenant_get_by_name(d, tenant, &t, &err) != 0) {
		memset(&t, 0, sizeof(t));
		snprintf(t.name, sizeof(t.name), "%s", tenant);
		ck_assert_msg(dir_tenant_create(d, &t, &err) == 0, "tenant: %s", err.msg);
	}
	memcpy(tenant_id, t.id, DIR_ID_MAX);
	return d;
}

static int tcount_one(void *ctx, const struct dir_user *u)
{
	(void)u;
	(*(int *)ctx)++;
	return 0;
}

int tstore_count_users(struct dir *d, const char *tenant_id)
{
	struct dir_user_query q = {NULL, 0, 0, DIR_SOURCE_LDAP, NULL};
	struct err err = {0};
	int n = 0;

	ck_assert_msg(dir_user_list(d, tenant_id, &q, tcount_one, &n, &err) == 0, "%s", err.msg);
	return n;
}

int tstore_user_at(void *ctx)
{
	const struct tstore_at *c = ctx;
	struct dir_user u;
	struct err err = {0};

	return dir_user_get_by_upn(c->d, c->tenant_id, c->upn, &u, &err) == 0 &&
	       u.deleted_at == 0 && strcasecmp(u.source_dn, c->dn) == 0;
}

static int tcount_ldap_group(void *ctx, const struct dir_group *g)
{
	if (g->source == DIR_SOURCE_LDAP)
		(*(int *)ctx)++;
	return 0;
}

int tstore_count_groups(struct dir *d, const char *tenant_id)
{
	struct err err = {0};
	int n = 0;

	ck_assert_msg(dir_group_list(d, tenant_id, NULL, 0, tcount_ldap_group, &n, &err) == 0,
		      "%s", err.msg);
	return n;
}

static int tlast_cycle(void *ctx, const struct dir_sync_cycle *c)
{
	*(struct dir_sync_cycle *)ctx = *c;
	return 1;
}

void tstore_last_cycle(struct dir *d, const char *tenant_id, struct dir_sync_cycle *out)
{
	struct err err = {0};

	memset(out, 0, sizeof(*out));
	(void)dir_sync_cycle_list(d, tenant_id, "ldap", 1, tlast_cycle, out, &err);
}

/* ---- data ---- */

char *tdata_tree(int n, int g, int k)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (int i = 0; i < n; i++)
		fprintf(f,
			"dn: uid=u%06d," TPEOPLE "\nobjectClass: inetOrgPerson\nuid: u%06d\n"
			"cn: User %d\nsn: Number%d\ngivenName: User\nmail: u%06d@corp.example\n"
			"userPassword: pw-u%06d\n\n",
			i, i, i, i, i, i);
	for (int i = 0; i < g; i++) {
		const char *cls = i % 7 == 3 ? "posixGroup" : i % 5 == 4 ? "groupOfUniqueNames"
									 : "groupOfNames";
		const char *attr = i % 7 == 3 ? "memberUid" : i % 5 == 4 ? "uniqueMember" : "member";
		fprintf(f, "dn: cn=g%04d," TGROUPS "\nobjectClass: %s\ncn: g%04d\n"
			   "description: Group %d\n",
			i, cls, i, i);
		if (i % 7 == 3)
			fprintf(f, "gidNumber: %d\n", 20000 + i);
		for (int m = 0; m < k && n > 0; m++) {
			int u = (k * i + m) % n;
			if (i % 7 == 3)
				fprintf(f, "memberUid: u%06d\n", u);
			else
				fprintf(f, "%s: uid=u%06d," TPEOPLE "\n", attr, u);
		}
		if (i > 0 && i % 7 != 3)
			fprintf(f, "%s: cn=g%04d," TGROUPS "\n", attr, i - 1);
		if (i == 1 && g > 2)
			fprintf(f, "%s: cn=g%04d," TGROUPS "\n", attr, 2);
		if ((i == 0 || (n == 0 && i % 7 != 3)) && k == 0)
			fprintf(f, "%s: cn=nobody," TSUFFIX "\n", attr);
		fprintf(f, "\n");
	}
	fclose(f);
	return out;
}

/* ---- comparison ---- */

struct tobj {
	char uuid[40];
	char dn[1100]; /* normalized, lowercase */
	char name[300];
	char uid[300];
	char **refs; /* member DNs (normalized) and "uid:" values */
	size_t nrefs;
};

struct tset {
	struct tobj *v;
	size_t n, cap;
};

static void tnorm_dn(const char *dn, char *out, size_t cap)
{
	char *norm = NULL;
	size_t n = strlen(dn);

	/* uniqueMember may carry "#'...'B" */
	if (n > 3 && dn[n - 1] == 'B' && strstr(dn, "#'") != NULL)
		n = (size_t)(strstr(dn, "#'") - dn);
	{
		char *copy = strndup(dn, n);
		if (ldap_dn_normalize(copy, LDAP_DN_FORMAT_LDAP, &norm, LDAP_DN_FORMAT_LDAPV3) !=
		    LDAP_SUCCESS)
			norm = NULL;
		free(copy);
	}
	snprintf(out, cap, "%s", norm != NULL ? norm : dn);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (norm != NULL)
		ldap_memfree(norm);
}

static void tset_free(struct tset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->v[i].nrefs; j++)
			free(s->v[i].refs[j]);
		free(s->v[i].refs);
	}
	free(s->v);
}

static void tobj_ref(struct tobj *o, const char *ref)
{
	o->refs = realloc(o->refs, (o->nrefs + 1) * sizeof(*o->refs));
	ck_assert(o->refs != NULL);
	o->refs[o->nrefs++] = strdup(ref);
}

static void tread_ldap(LDAP *ld, const char *base, const char *filter, struct tset *out)
{
	char *attrs[] = {"entryUUID", "uid", "cn", "member", "uniqueMember", "memberUid", NULL};
	LDAPMessage *res = NULL, *e;
	int rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL,
				   NULL, 0, &res);

	ck_assert_msg(rc == LDAP_SUCCESS, "search %s: %s", base, ldap_err2string(rc));
	for (e = ldap_first_entry(ld, res); e != NULL; e = ldap_next_entry(ld, e)) {
		struct tobj o;
		char *dn = ldap_get_dn(ld, e);
		struct berval **v;

		memset(&o, 0, sizeof(o));
		tnorm_dn(dn, o.dn, sizeof(o.dn));
		ldap_memfree(dn);
		if ((v = ldap_get_values_len(ld, e, "entryUUID")) != NULL) {
			snprintf(o.uuid, sizeof(o.uuid), "%.*s", (int)v[0]->bv_len, v[0]->bv_val);
			ldap_value_free_len(v);
		}
		if ((v = ldap_get_values_len(ld, e, "uid")) != NULL) {
			snprintf(o.uid, sizeof(o.uid), "%.*s", (int)v[0]->bv_len, v[0]->bv_val);
			ldap_value_free_len(v);
		}
		if ((v = ldap_get_values_len(ld, e, "cn")) != NULL) {
			snprintf(o.name, sizeof(o.name), "%.*s", (int)v[0]->bv_len, v[0]->bv_val);
			ldap_value_free_len(v);
		}
		for (int a = 0; a < 3; a++) {
			v = ldap_get_values_len(ld, e, attrs[3 + a]);
			for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
				char buf[1200], val[1100];
				snprintf(val, sizeof(val), "%.*s", (int)v[i]->bv_len, v[i]->bv_val);
				if (a == 2) {
					for (char *p = val; *p; p++)
						if (*p >= 'A' && *p <= 'Z')
							*p = (char)(*p - 'A' + 'a');
					snprintf(buf, sizeof(buf), "uid:%s", val);
				} else {
					tnorm_dn(val, buf, sizeof(buf));
				}
				tobj_ref(&o, buf);
			}
			ldap_value_free_len(v);
		}
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 256;
			out->v = realloc(out->v, out->cap * sizeof(*out->v));
			ck_assert(out->v != NULL);
		}
		out->v[out->n++] = o;
	}
	ldap_msgfree(res);
}

static int tobj_by_dn(const void *a, const void *b)
{
	return strcmp(((const struct tobj *)a)->dn, ((const struct tobj *)b)->dn);
}

/* Sets are sorted by DN (tsort) for lookups; uids are looked up by a scan. */
static void tsort(struct tset *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), tobj_by_dn);
}

static const struct tobj *tfind(const struct tset *s, const char *dn, const char *uid)
{
	if (dn != NULL) {
		struct tobj key;
		snprintf(key.dn, sizeof(key.dn), "%s", dn);
		return bsearch(&key, s->v, s->n, sizeof(*s->v), tobj_by_dn);
	}
	for (size_t i = 0; uid != NULL && i < s->n; i++)
		if (strcasecmp(s->v[i].uid, uid) == 0)
			return &s->v[i];
	return NULL;
}

static int tcmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct tmembers {
	struct dir *d;
	const char *tenant_id;
	char **anchors;
	size_t n;
};

static int tcollect_member(void *ctx, const struct dir_member *m)
{
	struct tmembers *t = ctx;
	struct err err = {0};
	char anchor[DIR_ANCHOR_MAX] = "";

	if (m->kind == DIR_MEMBER_USER) {
		struct dir_user u;
		if (dir_user_get(t->d, t->tenant_id, m->id, &u, &err) == 0)
			snprintf(anchor, sizeof(anchor), "%s", u.source_anchor);
	} else {
		struct dir_group g;
		if (dir_group_get(t->d, t->tenant_id, m->id, &g, &err) == 0)
			snprintf(anchor, sizeof(anchor), "%s", g.source_anchor);
	}
	t->anchors = realloc(t->anchors, (t->n + 1) * sizeof(*t->anchors));
	t->anchors[t->n++] = strdup(anchor[0] ? anchor : m->id);
	return 0;
}

int tcompare(struct tslapd *s, struct dir *d, const char *tenant_id, const char *users_filter,
	     char *why, size_t whylen)
{
	struct tset users = {0}, groups = {0};
	struct berval cred = {strlen(s->admin_pw), s->admin_pw};
	struct err err = {0};
	int version = LDAP_VERSION3, rc = -1;
	LDAP *ld = NULL;

	/* a first sync writes with foreign keys off (dir_sync_bulk): they must hold */
	if (dir_integrity_check(d, &err) != 0) {
		snprintf(why, whylen, "the store: %s", err.msg);
		return -1;
	}
	ck_assert(ldap_initialize(&ld, s->uri) == LDAP_SUCCESS);
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	if (ldap_sasl_bind_s(ld, TADMIN_DN, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL) !=
	    LDAP_SUCCESS) {
		snprintf(why, whylen, "cannot bind to the server");
		ldap_unbind_ext_s(ld, NULL, NULL);
		return -1;
	}
	tread_ldap(ld, TPEOPLE,
		   users_filter != NULL ? users_filter : "(objectClass=inetOrgPerson)", &users);
	tread_ldap(ld, TGROUPS,
		   "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)"
		   "(objectClass=posixGroup))",
		   &groups);
	ldap_unbind_ext_s(ld, NULL, NULL);
	tsort(&users);
	tsort(&groups);

	if (tstore_count_users(d, tenant_id) != (int)users.n) {
		snprintf(why, whylen, "%d live synced users, the server has %zu in scope",
			 tstore_count_users(d, tenant_id), users.n);
		goto out;
	}
	if (tstore_count_groups(d, tenant_id) != (int)groups.n) {
		snprintf(why, whylen, "%d live synced groups, the server has %zu in scope",
			 tstore_count_groups(d, tenant_id), groups.n);
		goto out;
	}
	for (size_t i = 0; i < users.n; i++) {
		struct tobj *o = &users.v[i];
		struct dir_user u;
		char upn[400], dn[1100];
		if (dir_user_get_by_anchor(d, tenant_id, o->uuid, &u, &err) != 0 ||
		    u.deleted_at != 0) {
			snprintf(why, whylen, "user %s (%s) is not live in the store", o->dn,
				 o->uuid);
			goto out;
		}
		snprintf(upn, sizeof(upn), "%s@" TUPN_DOMAIN, o->uid);
		tnorm_dn(u.source_dn, dn, sizeof(dn));
		if (strcmp(u.upn, upn) != 0 || strcmp(u.display_name, o->name) != 0 ||
		    strcmp(dn, o->dn) != 0) {
			snprintf(why, whylen, "user %s: store has %s / %s / %s", o->dn, u.upn,
				 u.display_name, u.source_dn);
			goto out;
		}
	}
	for (size_t i = 0; i < groups.n; i++) {
		struct tobj *o = &groups.v[i];
		struct dir_group g;
		struct tmembers got = {d, tenant_id, NULL, 0};
		char **want = NULL;
		size_t nwant = 0;
		int same;
		if (dir_group_get_by_anchor(d, tenant_id, o->uuid, &g, &err) != 0 ||
		    g.deleted_at != 0 || strcmp(g.name, o->name) != 0) {
			snprintf(why, whylen, "group %s (%s) is not live, or misnamed", o->dn,
				 o->uuid);
			goto out;
		}
		for (size_t r = 0; r < o->nrefs; r++) {
			const struct tobj *m = NULL;
			if (strncmp(o->refs[r], "uid:", 4) == 0)
				m = tfind(&users, NULL, o->refs[r] + 4);
			else if ((m = tfind(&users, o->refs[r], NULL)) == NULL)
				m = tfind(&groups, o->refs[r], NULL);
			if (m == NULL || m == o)
				continue;
			int dup = 0;
			for (size_t w = 0; w < nwant; w++)
				dup |= strcmp(want[w], m->uuid) == 0;
			if (dup)
				continue;
			want = realloc(want, (nwant + 1) * sizeof(*want));
			want[nwant++] = strdup(m->uuid);
		}
		ck_assert(dir_group_members(d, tenant_id, g.id, tcollect_member, &got, &err) == 0);
		if (nwant > 1)
			qsort(want, nwant, sizeof(*want), tcmp_str);
		if (got.n > 1)
			qsort(got.anchors, got.n, sizeof(*got.anchors), tcmp_str);
		same = nwant == got.n;
		for (size_t w = 0; same && w < nwant; w++)
			same = strcmp(want[w], got.anchors[w]) == 0;
		if (!same)
			snprintf(why, whylen, "group %s: %zu members on the server, %zu in the store",
				 o->dn, nwant, got.n);
		for (size_t w = 0; w < nwant; w++)
			free(want[w]);
		free(want);
		for (size_t w = 0; w < got.n; w++)
			free(got.anchors[w]);
		free(got.anchors);
		if (!same)
			goto out;
	}
	rc = 0;
	why[0] = '\0';
out:
	tset_free(&users);
	tset_free(&groups);
	return rc;
}
