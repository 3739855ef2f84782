/*
 * idp: the token service daemon.
 *
 *     idp [-c CONFIG] [-n] [--port-file FILE]
 *
 * -n checks the configuration (and the key file, TLS material and store)
 * and exits.  --port-file writes the bound port (useful with port = 0).
 * SIGTERM or SIGINT stops it after the requests in flight.
 */
#include "idp.h"

#include "authz.h"

#include "keys.h"
#include "log.h"
#include "mfa.h"
#include "passthru_glue.h"
#include "rekey.h"
#include "pages.h"
#include "secret.h"
#include "secretbox.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *idp_read_pem(const char *path, int secret, struct err *err)
{
	char *buf = malloc(65536);
	int n;

	if (buf == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	if (secret) {
		n = secret_read_file(path, buf, 65536, err);
	} else {
		FILE *f = fopen(path, "re");
		size_t got = 0;
		if (f == NULL) {
			err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
			free(buf);
			return NULL;
		}
		got = fread(buf, 1, 65535, f);
		fclose(f);
		buf[got] = '\0';
		n = (int)got;
	}
	if (n <= 0) {
		if (n == 0)
			err_set(err, ERR_INVALID, "%s: empty", path);
		free(buf);
		return NULL;
	}
	return buf;
}

static void idp_usage(void)
{
	fprintf(stderr, "usage: idp [-c CONFIG] [-n] [--port-file FILE]\n");
}

int main(int argc, char **argv)
{
	const char *config = getenv("IDP_CONFIG"), *port_file = NULL;
	struct idp_config cfg;
	struct http_server_conf hc;
	struct http_server *server = NULL;
	struct idp idp;
	struct err err = {0};
	char *cert = NULL, *key = NULL;
	int check_only = 0, rc = 1;
	sigset_t sigs;

	log_init("idp", LOG_LEVEL_INFO);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "-n") == 0)
			check_only = 1;
		else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
			port_file = argv[++i];
		else {
			idp_usage();
			return 2;
		}
	}
	if (config == NULL)
		config = "/etc/idp/idp.conf";
	if (idp_config_load(config, &cfg, &err) != 0) {
		log_error("%s", err.msg);
		return 1;
	}
	log_init("idp", (enum log_level)cfg.log_level);
	memset(&idp, 0, sizeof(idp));
	pthread_mutex_init(&idp.dirs_lock, NULL);
	idp.cfg = &cfg;
	idp.dir_opts.path = cfg.store_path;
	idp.dir_opts.busy_timeout_ms = (int)cfg.busy_timeout_ms;
	idp.dir_opts.argon2.t_cost = (uint32_t)cfg.argon2_t_cost;
	idp.dir_opts.argon2.m_cost_kib = (uint32_t)cfg.argon2_m_cost_kib;
	idp.dir_opts.argon2.lanes = (uint32_t)cfg.argon2_lanes;

	if (cfg.key_file == NULL) {
		log_error("%s: [secrets] key_file is required (create one with: idpctl mfa keygen "
			  "FILE)",
			  config);
		goto out;
	}
	if ((idp.box = secretbox_load(cfg.key_file, &err)) == NULL) {
		log_error("%s", err.msg);
		goto out;
	}
	if (secretbox_derive(idp.box, "csrf", idp.csrf_key) != 0) {
		log_error("cannot derive the CSRF key");
		goto out;
	}
	if (!cfg.plain_http && ((cert = idp_read_pem(cfg.tls_cert, 0, &err)) == NULL ||
				(key = idp_read_pem(cfg.tls_key, 1, &err)) == NULL)) {
		log_error("TLS: %s", err.msg);
		goto out;
	}
	/* the store must open (and migrate) before we accept anyone */
	if (idp_dir(&idp, &err) == NULL) {
		log_error("%s", err.msg);
		goto out;
	}
	/* a wrong or stale key file is a start-up error, not a failure at the first sign-in */
	if (rekey_check(idp.box, idp_dir(&idp, &err), 0, NULL, &err) != 0) {
		log_error("%s: %s", cfg.key_file, err.msg);
		goto out;
	}
	{
		struct mfa_config mc;
		mfa_config_from(&cfg, &mc);
		if ((idp.mfa = mfa_new(&mc, idp.box, &err)) == NULL) {
			log_error("mfa: %s", err.msg);
			goto out;
		}
	}
	if ((idp.authz = authz_cache_new()) == NULL)
		goto out;
	if ((idp.passthru = passthru_glue_load(&cfg.passthrough_sync_configs, &err)) == NULL) {
		log_error("%s", err.msg);
		goto out;
	}
	if (check_only) {
		printf("%s: configuration ok\n", config);
		rc = 0;
		goto out;
	}
	idp.keys = keys_new(idp.box, 10, (cfg.access_ttl > cfg.id_ttl ? cfg.access_ttl : cfg.id_ttl) + 300);
	if (idp.keys == NULL)
		goto out;
	pages_init();

	/* signals go to the main thread only: block them before threads start */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&hc, 0, sizeof(hc));
	hc.address = cfg.listen;
	hc.port = (int)cfg.port;
	hc.threads = (int)cfg.threads;
	hc.max_connections = (int)cfg.max_connections;
	hc.max_per_ip = (int)cfg.max_per_ip;
	hc.timeout_s = (int)cfg.timeout_s;
	hc.max_body = (size_t)cfg.max_body;
	hc.tls_cert_pem = cert;
	hc.tls_key_pem = key;
	server = http_server_start(&hc, idp_handle, &idp, &err);
	if (server == NULL) {
		log_error("%s", err.msg);
		goto out;
	}
	log_info("listening on %s port %d (%s), issuer %s/{tenant}/v2.0", cfg.listen,
		 http_server_port(server), cfg.plain_http ? "plain HTTP, loopback only" : "TLS",
		 cfg.public_url);
	if (port_file != NULL) {
		FILE *f = fopen(port_file, "we");
		if (f != NULL) {
			fprintf(f, "%d\n", http_server_port(server));
			fclose(f);
		}
	}
	for (;;) {
		struct timespec ts = {60, 0};
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("signal %d: stopping", sig);
			break;
		}
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			break;
		/* housekeeping once a minute, on the main thread's own connection */
		struct dir *d = idp_dir(&idp, &err);
		int64_t now = clock_now(&idp.clock);
		int purged = 0;
		if (d != NULL && dir_tokens_expire(d, now, &err) != 0)
			log_warnx("expire tokens: %s", err.msg);
		/* deleted objects past their retention are erased for good */
		if (d != NULL &&
		    dir_purge_deleted(d, now - cfg.soft_delete_retention, &purged, &err) != 0)
			log_warnx("purge deleted objects: %s", err.msg);
		else if (purged > 0)
			log_info("purged %d deleted objects past their retention", purged);
	}
	rc = 0;
out:
	http_server_stop(server);
	idp_dirs_close(&idp);
	keys_free(idp.keys);
	mfa_free(idp.mfa);
	authz_cache_free(idp.authz);
	passthru_glue_free(idp.passthru);
	secretbox_free(idp.box);
	if (key != NULL) {
		secret_wipe(key, strlen(key));
		free(key);
	}
	free(cert);
	secret_wipe(idp.csrf_key, sizeof(idp.csrf_key));
	idp_config_free(&cfg);
	return rc;
}
