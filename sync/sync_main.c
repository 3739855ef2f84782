/*
 * idp-sync: keeps a tenant of the cloud directory in step with an
 * on-premises LDAP directory.  See sync_run.h for what it does and
 * conf/sync.conf for its settings.
 */
#include "err.h"
#include "log.h"
#include "secret.h"
#include "sync_config.h"
#include "sync_run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

enum { EXIT_USAGE = 2, EXIT_THRESHOLD = 3, EXIT_RUNNING = 4 };

static volatile sig_atomic_t sync_stop;

static void sync_on_signal(int sig)
{
	(void)sig;
	sync_stop = 1;
}

static void sync_usage(FILE *f)
{
	fprintf(f,
		"usage: idp-sync [-c CONFIG] [-n] [--once] [--full] [--confirm-deletes] [-v]\n"
		"       idp-sync [-c CONFIG] --status [N]\n"
		"  -c CONFIG          the configuration (default $IDP_SYNC_CONFIG, else\n"
		"                     /etc/idp/sync.conf)\n"
		"  -n                 check the configuration and the password file, then exit\n"
		"  --once             one cycle (a full sync if needed, else a delta), then exit\n"
		"  --full             start with a full sync even when a cookie is stored\n"
		"  --confirm-deletes  let the first cycle over the delete threshold proceed\n"
		"  --status [N]       print the sync state and the last N cycles (default 10)\n"
		"  -v                 log debug messages\n"
		"Runs in the foreground until SIGTERM or SIGINT, which end it after the\n"
		"current batch.  Exit: 0 done, 1 failed, 2 usage or configuration,\n"
		"3 stopped at the delete threshold, 4 another idp-sync holds this connector.\n");
}

/*
 * One process per tenant and connector: two would apply the same changes
 * twice and fight over the cookie.  The lock file lives next to the store.
 */
static int sync_lock(const struct sync_config *cfg, struct err *err)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s.sync-%s-%s.lock", cfg->store_path, cfg->tenant,
		 cfg->connector);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return err_set(err, ERR_BUSY,
			       "another idp-sync is running for tenant '%s', connector '%s' (%s)",
			       cfg->tenant, cfg->connector, path);
	}
	return fd; /* held until exit */
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"once", no_argument, NULL, 'o'},
		{"full", no_argument, NULL, 'f'},
		{"confirm-deletes", no_argument, NULL, 'y'},
		{"status", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sync_config cfg;
	struct sync_run_opts opts = {0};
	struct err err = {0};
	const char *path = getenv("IDP_SYNC_CONFIG");
	int check = 0, status = 0, verbose = 0, n = 10, c, rc, lock;
	struct sigaction sa;

	if (path == NULL || *path == '\0')
		path = "/etc/idp/sync.conf";
	while ((c = getopt_long(argc, argv, "c:nvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'o':
			opts.once = 1;
			break;
		case 'f':
			opts.force_full = 1;
			break;
		case 'y':
			opts.confirm_deletes = 1;
			break;
		case 's':
			status = 1;
			break;
		case 'h':
			sync_usage(stdout);
			return 0;
		default:
			sync_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (status && optind < argc) {
		char *end;
		long v = strtol(argv[optind], &end, 10);
		if (*end != '\0' || v < 1 || v > 1000) {
			fprintf(stderr, "idp-sync: --status N: a number from 1 to 1000\n");
			return EXIT_USAGE;
		}
		n = (int)v;
		optind++;
	}
	if (optind < argc) {
		sync_usage(stderr);
		return EXIT_USAGE;
	}
	log_init("idp-sync", LOG_LEVEL_INFO);
	if (sync_config_load(path, &cfg, &err) != 0) {
		log_error("%s", err.msg);
		return EXIT_USAGE;
	}
	log_init("idp-sync", verbose ? LOG_LEVEL_DEBUG : (enum log_level)cfg.log_level);
	if (check) {
		rc = secret_check_mode(cfg.bind_password_file, &err);
		if (rc != 0)
			log_error("[ldap] bind_password_file: %s", err.msg);
		else
			printf("%s: configuration OK\n", path);
		sync_config_free(&cfg);
		return rc != 0 ? EXIT_USAGE : 0;
	}
	if (status) {
		rc = sync_status(&cfg, n, &err);
		if (rc != 0)
			log_error("%s", err.msg);
		sync_config_free(&cfg);
		return rc != 0 ? 1 : 0;
	}
	if ((lock = sync_lock(&cfg, &err)) < 0) {
		log_error("%s", err.msg);
		sync_config_free(&cfg);
		return lock == ERR_BUSY ? EXIT_RUNNING : 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sync_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* A server that hangs up while we write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	opts.stop = &sync_stop;
	rc = sync_run(&cfg, &opts, &err);
	if (rc == SYNC_RUN_FAILED)
		log_error("%s", err.msg);
	close(lock);
	sync_config_free(&cfg);
	return rc == SYNC_RUN_OK ? 0 : rc == SYNC_RUN_THRESHOLD ? EXIT_THRESHOLD : 1;
}
