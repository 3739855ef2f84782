/*
 * idp_core: the helpers every handler shares.
 */
#include "idp.h"

#include "b64.h"
#include "log.h"
#include "risk.h"
#include "secret.h"
#include "signin_queue.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One store connection per worker thread: SQLite connections are not shared. */
static __thread struct dir *idp_thread_dir;

struct dir *idp_dir(struct idp *idp, struct err *err)
{
	struct dir **grown;

	if (idp_thread_dir != NULL)
		return idp_thread_dir;
	idp_thread_dir = dir_open(&idp->dir_opts, err);
	if (idp_thread_dir == NULL)
		return NULL;
	pthread_mutex_lock(&idp->dirs_lock);
	grown = realloc(idp->dirs, (idp->ndirs + 1) * sizeof(*grown));
	if (grown != NULL) {
		idp->dirs = grown;
		idp->dirs[idp->ndirs++] = idp_thread_dir;
	}
	pthread_mutex_unlock(&idp->dirs_lock);
	return idp_thread_dir;
}

void idp_dirs_close(struct idp *idp)
{
	pthread_mutex_lock(&idp->dirs_lock);
	for (size_t i = 0; i < idp->ndirs; i++)
		dir_close(idp->dirs[i]);
	free(idp->dirs);
	idp->dirs = NULL;
	idp->ndirs = 0;
	pthread_mutex_unlock(&idp->dirs_lock);
}

void idp_issuer(const struct idp_req *r, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s/v2.0", r->idp->cfg->public_url, r->tenant.name);
}

void idp_admin_resource(const struct idp_req *r, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s/admin", r->idp->cfg->public_url, r->tenant.name);
}

int idp_resource_known(const struct idp_req *r, const char *resource)
{
	char admin[1200];

	idp_admin_resource(r, admin, sizeof(admin));
	return resource != NULL && strcmp(resource, admin) == 0;
}

void idp_url(const struct idp_req *r, const char *path, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s%s", r->idp->cfg->public_url, r->tenant.name, path);
}

void idp_csrf_token(const struct idp_req *r, const char *cookie, char out[64])
{
	unsigned char mac[32];
	unsigned int len = sizeof(mac);
	char msg[256];

	snprintf(msg, sizeof(msg), "csrf:%s:%s", r->tenant.id, cookie);
	HMAC(EVP_sha256(), r->idp->csrf_key, sizeof(r->idp->csrf_key), (unsigned char *)msg,
	     strlen(msg), mac, &len);
	b64url_encode(mac, sizeof(mac), out, 64);
}

int idp_csrf_ok(const struct idp_req *r, const char *cookie, const char *token)
{
	char want[64];

	if (cookie == NULL || token == NULL || *cookie == '\0')
		return 0;
	idp_csrf_token(r, cookie, want);
	return secret_streq(want, token);
}

void idp_risk_attempt(struct idp_req *r, const char *user_id, const char *username,
		      const char *app_id, struct risk_attempt *a)
{
	memset(a, 0, sizeof(*a));
	a->tenant_id = r->tenant.id;
	a->user_id = user_id;
	a->username = username;
	a->app_id = app_id;
	a->ip = r->http->client_ip;
	a->user_agent = http_header(r->http, "User-Agent");
	a->now = r->now;
}

void idp_signin_log(struct idp_req *r, const char *user_id, const char *username,
		    const char *app_id, const char *step, const char *result, const char *reason,
		    const char *factors)
{
	idp_signin_risk(r, user_id, username, app_id, step, result, reason, factors, RISK_EV_OTHER,
			NULL);
}

void idp_signin_risk(struct idp_req *r, const char *user_id, const char *username,
		     const char *app_id, const char *step, const char *result, const char *reason,
		     const char *factors, int event, struct risk_verdict *v)
{
	struct risk_verdict own;
	struct risk_attempt a;
	struct dir_signin s;
	struct err err = {0};
	char names[160] = "";
	int rc;

	idp_risk_attempt(r, user_id, username, app_id, &a);
	if (v == NULL) {
		risk_begin(r->idp->risk, &a, &own);
		v = &own;
	}
	memset(&s, 0, sizeof(s));
	snprintf(s.user_id, sizeof(s.user_id), "%s", user_id != NULL ? user_id : "");
	/* A typed name may be anything: keep what fits, and only printable text. */
	snprintf(s.username, sizeof(s.username), "%s", username != NULL ? username : "");
	snprintf(s.app_id, sizeof(s.app_id), "%s", app_id != NULL ? app_id : "");
	snprintf(s.step, sizeof(s.step), "%s", step);
	snprintf(s.result, sizeof(s.result), "%s", result);
	snprintf(s.reason, sizeof(s.reason), "%s", reason != NULL ? reason : "");
	snprintf(s.factors, sizeof(s.factors), "%s", factors != NULL ? factors : "");
	/*
	 * time, address, agent, place, risk and detections come from the engine;
	 * a success nothing decides on at once (a token grant, SSO reuse) goes to
	 * the batch writer, so that grants do not wait for the disk
	 */
	if (event == RISK_EV_OTHER && strcmp(result, "success") == 0 &&
	    r->idp->signins != NULL) {
		risk_row_fill(&a, v, &s);
		rc = signin_queue_push(r->idp->signins, r->tenant.id, &s) == 0
			     ? 0
			     : risk_record(r->idp->risk, r->dir, &a, (enum risk_event)event, &s,
					   v, &err);
	} else {
		rc = risk_record(r->idp->risk, r->dir, &a, (enum risk_event)event, &s, v, &err);
	}
	if (rc == ERR_INVALID) {
		/* a name that is not printable text: log the attempt without it */
		s.username[0] = '\0';
		a.user_agent = NULL;
		rc = risk_record(r->idp->risk, r->dir, &a, (enum risk_event)event, &s, v, &err);
	}
	if (rc != 0)
		log_warnx("tenant %s: sign-in log: %s", r->tenant.name, err.msg);
	for (int i = 0; i < v->n; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? "," : "",
			 v->d[i].name);
	log_info("tenant %s: sign-in %s %s user=%s app=%s ip=%s%s%s%s%s%s%s", r->tenant.name, step,
		 result, user_id != NULL && *user_id ? user_id : "-",
		 app_id != NULL && *app_id ? app_id : "-", r->http->client_ip,
		 reason != NULL && *reason ? " reason=" : "", reason != NULL ? reason : "",
		 v->level > DIR_RISK_NONE ? " risk=" : "",
		 v->level > DIR_RISK_NONE ? dir_risk_level_name(v->level) : "", names[0] ? "/" : "",
		 names);
}
