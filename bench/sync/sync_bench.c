/*
 * sync_bench: the measuring half of bench/sync/run.sh (which sets up the
 * server and the data).
 *
 *   sync_bench run CMD ARGS...
 *       run a command (its output to /dev/null), print "WALL_MS MAXRSS_KB
 *       STATUS CPU_MS" of it (its peak resident set and its user + system
 *       time, from getrusage of the child)
 *   sync_bench persist STORE TENANT URI ADMIN_DN ADMIN_PW_FILE USERS COUNT
 *       with idp-sync persisting into STORE, modify COUNT users' cn one at
 *       a time over one LDAP connection and time each until the store
 *       shows it; print "P50_MS P99_MS MAX_MS"
 *
 * It measures; it never passes or fails on time.
 */
#define _GNU_SOURCE
#include "dir.h"

#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int bench_run(char **argv)
{
	struct rusage ru;
	double t0 = now_ms(), t1;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0) {
		/* its output is not measured: the line printed here is */
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid)
		return 1;
	t1 = now_ms();
	printf("%.0f %ld %d %ld\n", t1 - t0, ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
		       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int bench_persist(char **argv)
{
	const char *store = argv[0], *tenant = argv[1], *uri = argv[2], *admin = argv[3];
	const char *pwfile = argv[4];
	int users = atoi(argv[5]), count = atoi(argv[6]);
	struct dir_options o = {0};
	struct dir_tenant t;
	struct err err = {0};
	struct dir *d;
	LDAP *ld = NULL;
	char pw[256] = "";
	struct berval cred;
	FILE *f;
	double *lat;
	int version = LDAP_VERSION3;

	if (users <= 0 || count <= 0 || (lat = calloc((size_t)count, sizeof(*lat))) == NULL)
		return 1;
	if ((f = fopen(pwfile, "r")) == NULL || fgets(pw, sizeof(pw), f) == NULL)
		return fprintf(stderr, "sync_bench: cannot read %s\n", pwfile), 1;
	fclose(f);
	pw[strcspn(pw, "\n")] = '\0';
	o.path = store;
	o.read_only = 1;
	if ((d = dir_open(&o, &err)) == NULL || dir_tenant_get_by_name(d, tenant, &t, &err) != 0)
		return fprintf(stderr, "sync_bench: %s\n", err.msg), 1;
	cred.bv_val = pw;
	cred.bv_len = strlen(pw);
	if (ldap_initialize(&ld, uri) != LDAP_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_sasl_bind_s(ld, admin, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL) != LDAP_SUCCESS)
		return fprintf(stderr, "sync_bench: cannot bind as %s\n", admin), 1;
	srandom((unsigned)getpid());
	for (int i = 0; i < count; i++) {
		int u = (int)(random() % users);
		char dn[200], upn[100], value[64];
		char *vals[] = {value, NULL};
		LDAPMod mod = {LDAP_MOD_REPLACE, "cn", {.modv_strvals = vals}};
		LDAPMod *mods[] = {&mod, NULL};
		struct dir_user du;
		double t0, deadline;
		int seen = 0;

		snprintf(dn, sizeof(dn), "uid=u%06d,ou=people,dc=bench,dc=example", u);
		snprintf(upn, sizeof(upn), "u%06d@bench.example", u);
		snprintf(value, sizeof(value), "Propagation %d %ld", i, random());
		t0 = now_ms();
		if (ldap_modify_ext_s(ld, dn, mods, NULL, NULL) != LDAP_SUCCESS)
			return fprintf(stderr, "sync_bench: modify %s failed\n", dn), 1;
		deadline = t0 + 10000;
		while (now_ms() < deadline) {
			if (dir_user_get_by_upn(d, t.id, upn, &du, &err) == 0 &&
			    strcmp(du.display_name, value) == 0) {
				seen = 1;
				break;
			}
			usleep(200);
		}
		lat[i] = seen ? now_ms() - t0 : 10000.0;
		/* let the daemon go idle between modifies: these are single changes */
		usleep(20000);
	}
	qsort(lat, (size_t)count, sizeof(*lat), cmp_double);
	printf("%.1f %.1f %.1f\n", lat[(count - 1) / 2], lat[(int)((count - 1) * 0.99)],
	       lat[count - 1]);
	ldap_unbind_ext_s(ld, NULL, NULL);
	dir_close(d);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "run") == 0)
		return bench_run(argv + 2);
	if (argc == 9 && strcmp(argv[1], "persist") == 0)
		return bench_persist(argv + 2);
	fprintf(stderr, "usage: sync_bench run CMD ARGS... | sync_bench persist STORE TENANT "
			"URI ADMIN_DN ADMIN_PW_FILE USERS COUNT\n");
	return 2;
}
