/*
 * risk: the engine's life cycle, the verdict it builds, the policy it
 * applies, and the one transaction in which an attempt is written with
 * everything that follows from it (risk_record).
 */
#include "risk_internal.h"

#include "idp_config.h"
#include "utf8.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void risk_config_defaults(struct risk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->retention = 90LL * 86400;
	c->lockout_failures = 10;
	c->lockout_window = 15 * 60;
	c->lockout_duration = 15 * 60;
	c->spray_names = 10;
	c->spray_window = 3600;
	c->travel_kmh = 900;
	c->travel_min_km = 300;
	c->learning = 3;
	c->mfa_failures = 4;
	c->mfa_window = 30 * 60;
	c->mfa_at = DIR_RISK_MEDIUM;
	c->block_at = DIR_RISK_HIGH;
	c->user_at = DIR_RISK_MEDIUM;
}

void risk_config_from(const struct idp_config *cfg, struct risk_config *out)
{
	risk_config_defaults(out);
	out->geo_database = cfg->risk_geo_database;
	out->listed_networks = cfg->risk_listed_networks;
	out->trusted_proxies = (const char *const *)cfg->risk_trusted_proxies.v;
	out->n_trusted_proxies = cfg->risk_trusted_proxies.n;
	out->retention = cfg->risk_retention;
	out->lockout_failures = (int)cfg->risk_lockout_failures;
	out->lockout_window = cfg->risk_lockout_window;
	out->lockout_duration = cfg->risk_lockout_duration;
	out->spray_names = (int)cfg->risk_spray_names;
	out->spray_window = cfg->risk_spray_window;
	out->travel_kmh = (double)cfg->risk_travel_kmh;
	out->travel_min_km = (double)cfg->risk_travel_min_km;
	out->learning = (int)cfg->risk_learning;
	out->mfa_failures = (int)cfg->risk_mfa_failures;
	out->mfa_window = cfg->risk_mfa_window;
	/* the config's lists start at "low" = 1 */
	out->mfa_at = cfg->risk_mfa_at + DIR_RISK_LOW;
	out->block_at = cfg->risk_block_at + DIR_RISK_LOW;
	out->user_at = cfg->risk_user_at + DIR_RISK_LOW;
}

struct risk *risk_new(const struct risk_config *cfg, struct err *err)
{
	struct risk *rk = calloc(1, sizeof(*rk));

	if (rk == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	rk->cfg = *cfg;
	/* the proxy list is parsed now; the strings are not kept */
	rk->cfg.trusted_proxies = NULL;
	rk->cfg.n_trusted_proxies = 0;
	if ((cfg->geo_database != NULL && (rk->geo_path = strdup(cfg->geo_database)) == NULL) ||
	    (cfg->listed_networks != NULL &&
	     (rk->networks_path = strdup(cfg->listed_networks)) == NULL) ||
	    (rk->proxies = risk_nets_new()) == NULL) {
		err_set(err, ERR_INTERNAL, "out of memory");
		goto fail;
	}
	rk->cfg.geo_database = rk->geo_path;
	rk->cfg.listed_networks = rk->networks_path;
	if (rk->geo_path != NULL && (rk->geo = geo_open(rk->geo_path, err)) == NULL) {
		err_prefix(err, "[risk] geo_database");
		goto fail;
	}
	if (rk->networks_path != NULL &&
	    (rk->listed = risk_nets_load(rk->networks_path, err)) == NULL) {
		err_prefix(err, "[risk] listed_networks");
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_trusted_proxies; i++) {
		if (risk_nets_add(rk->proxies, cfg->trusted_proxies[i], 0, "proxy", NULL, err) !=
		    0) {
			err_prefix(err, "[risk] trusted_proxy");
			goto fail;
		}
	}
	risk_nets_finish(rk->proxies);
	return rk;
fail:
	risk_free(rk);
	return NULL;
}

void risk_free(struct risk *rk)
{
	if (rk == NULL)
		return;
	geo_close(rk->geo);
	risk_nets_free(rk->listed);
	risk_nets_free(rk->proxies);
	free(rk->geo_path);
	free(rk->networks_path);
	free(rk);
}

const struct risk_config *risk_config(const struct risk *rk)
{
	return &rk->cfg;
}

const struct geo *risk_geo(const struct risk *rk)
{
	return rk->geo;
}

void risk_client_ip(const struct risk *rk, const char *peer, const char *xff, char *out, size_t cap)
{
	risk_nets_client_ip(rk != NULL ? rk->proxies : NULL, peer, xff, out, cap);
}

const char *risk_hhmm(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

void risk_add(struct risk_verdict *v, const char *name, int level, const char *evidence,
              const char *fmt, ...)
{
	struct risk_detection *d;
	va_list ap;

	if (v->n >= RISK_MAX_DETECTIONS)
		return;
	for (int i = 0; i < v->n; i++)
		if (strcmp(v->d[i].name, name) == 0)
			return; /* one of each name per attempt */
	d = &v->d[v->n++];
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->level = level;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	if (evidence != NULL && strlen(evidence) < sizeof(d->evidence))
		snprintf(d->evidence, sizeof(d->evidence), "%s", evidence);
	else
		snprintf(d->evidence, sizeof(d->evidence), "{}");
	risk_combine(v);
}

void risk_combine(struct risk_verdict *v)
{
	int points = 0;

	for (int i = 0; i < v->n; i++)
		points += v->d[i].level == DIR_RISK_HIGH     ? 4
		          : v->d[i].level == DIR_RISK_MEDIUM ? 2
		                                             : 1;
	v->level = points >= 4   ? DIR_RISK_HIGH
	           : points >= 2 ? DIR_RISK_MEDIUM
	           : points >= 1 ? DIR_RISK_LOW
	                         : DIR_RISK_NONE;
}

void risk_begin(struct risk *rk, const struct risk_attempt *a, struct risk_verdict *v)
{
	struct risk_net_match m;
	json_t *ev;
	char *text;

	memset(v, 0, sizeof(*v));
	if (rk->geo != NULL && a->ip != NULL && geo_lookup(rk->geo, a->ip, &v->place) == 0)
		v->has_place = 1;
	risk_ua_family(a->user_agent, v->device, sizeof(v->device));
	risk_ip_network(a->ip != NULL ? a->ip : "", v->network, sizeof(v->network));
	if (rk->listed == NULL || a->ip == NULL || !risk_nets_find(rk->listed, a->ip, &m))
		return;
	ev = json_pack("{s:s, s:s, s:s, s:s}", "ip", a->ip, "network", m.cidr, "category",
	               m.category, "label", m.label);
	text = ev != NULL ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	risk_add(v, "listed_network", m.level, text, "%s is in %s, listed as %s%s%s%s", a->ip,
	         m.cidr, m.category, m.label[0] ? " (" : "", m.label, m.label[0] ? ")" : "");
	free(text);
	json_decref(ev);
}

int risk_detections_json(const struct risk_verdict *v, char *out, size_t cap)
{
	json_t *arr = json_array();
	char *text = NULL;
	int rc = -1;

	if (arr == NULL)
		return -1;
	/* with too much to say, the evidence goes first (the log keeps names and reasons) */
	for (int pass = 0; pass < 2 && rc != 0; pass++) {
		json_array_clear(arr);
		for (int i = 0; i < v->n; i++) {
			const struct risk_detection *d = &v->d[i];
			json_t *ev = pass == 0 ? json_loads(d->evidence, 0, NULL) : NULL;
			json_array_append_new(
			        arr, json_pack("{s:s, s:s, s:s, s:o}", "name", d->name, "level",
			                       dir_risk_level_name(d->level), "reason", d->reason,
			                       "evidence", ev != NULL ? ev : json_object()));
		}
		free(text);
		text = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text != NULL && strlen(text) < cap) {
			memcpy(out, text, strlen(text) + 1);
			rc = 0;
		}
	}
	free(text);
	json_decref(arr);
	return rc;
}

void risk_policy(struct risk *rk, struct dir *d, const char *tenant_id, int *mfa_at, int *block_at)
{
	struct dir_risk_policy p;
	struct err err = {0};

	if (dir_risk_policy_get(d, tenant_id, &p, &err) == 0) {
		*mfa_at = p.mfa_at;
		*block_at = p.block_at;
	} else {
		*mfa_at = rk->cfg.mfa_at;
		*block_at = rk->cfg.block_at;
	}
}

/* The names of v's detections as a JSON array, for the risky-user record. */
static void risk_names(const struct risk_verdict *v, char *out, size_t cap)
{
	size_t used = (size_t)snprintf(out, cap, "[");

	for (int i = 0; i < v->n && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s\"%s\"", i ? "," : "",
		                         v->d[i].name);
	if (used < cap)
		snprintf(out + used, cap - used, "]");
}

/* Teach the user's profile what a good sign-in looked like. */
static int risk_learn(struct dir *d, const struct risk_attempt *a, const struct risk_verdict *v,
                      int count, struct err *err)
{
	int rc = 0;

	if (count)
		rc = dir_profile_learn(d, a->tenant_id, a->user_id, DIR_PROFILE_SIGNIN, "", a->now,
		                       err);
	if (rc == 0 && v->has_place && v->place.country[0] != '\0')
		rc = dir_profile_learn(d, a->tenant_id, a->user_id, DIR_PROFILE_COUNTRY,
		                       v->place.country, a->now, err);
	if (rc == 0)
		rc = dir_profile_learn(d, a->tenant_id, a->user_id, DIR_PROFILE_DEVICE, v->device,
		                       a->now, err);
	if (rc == 0)
		rc = dir_profile_learn(d, a->tenant_id, a->user_id, DIR_PROFILE_NETWORK, v->network,
		                       a->now, err);
	return rc;
}

/* Copy text into dst (cap) only if it fits and is printable; else "". */
static void risk_copy_text(char *dst, size_t cap, const char *text)
{
	dst[0] = '\0';
	if (text != NULL && strlen(text) < cap && utf8_printable(text))
		memcpy(dst, text, strlen(text) + 1);
}

void risk_row_fill(const struct risk_attempt *a, const struct risk_verdict *v,
                   struct dir_signin *row)
{
	row->time = a->now;
	snprintf(row->ip, sizeof(row->ip), "%s", a->ip != NULL ? a->ip : "");
	risk_copy_text(row->user_agent, sizeof(row->user_agent), a->user_agent);
	if (v->has_place) {
		snprintf(row->country, sizeof(row->country), "%s", v->place.country);
		snprintf(row->city, sizeof(row->city), "%s", v->place.city);
		row->has_geo = v->place.has_location;
		row->lat = v->place.lat;
		row->lon = v->place.lon;
	}
	snprintf(row->risk, sizeof(row->risk), "%s", dir_risk_level_name(v->level));
	if (risk_detections_json(v, row->detections, sizeof(row->detections)) != 0)
		snprintf(row->detections, sizeof(row->detections), "[]");
}

int risk_record(struct risk *rk, struct dir *d, const struct risk_attempt *a, enum risk_event ev,
                struct dir_signin *row, struct risk_verdict *v, struct err *err)
{
	int has_user = a->user_id != NULL && a->user_id[0] != '\0';
	int rc, good;

	if ((rc = dir_begin(d, err)) != 0)
		return rc;
	if (ev == RISK_EV_PASSWORD_FAILED)
		rc = risk_detect_password_failed(rk, d, a, v, err);
	else if (ev == RISK_EV_MFA_FAILED && has_user)
		rc = risk_detect_mfa_failed(rk, d, a, v, err);
	if (rc != 0)
		goto fail;
	risk_row_fill(a, v, row);
	if ((rc = dir_signin_append(d, a->tenant_id, row, err)) != 0)
		goto fail;
	/* a good sign-in: forget failures, learn what it looked like */
	good = strcmp(row->result, "success") == 0 && has_user;
	if (good && ev == RISK_EV_PASSWORD_OK) {
		rc = dir_lockout_clear(d, a->tenant_id, a->username, err);
		if (rc == ERR_NOT_FOUND)
			rc = 0;
		if (rc == 0 && v->decision == RISK_ALLOW && v->level <= DIR_RISK_LOW)
			rc = risk_learn(d, a, v, 1, err);
	} else if (good && ev == RISK_EV_MFA_OK) {
		/* the second factor vouches for the place and device of a stepped-up sign-in */
		rc = risk_learn(d, a, v, 0, err);
	}
	if (rc != 0)
		goto fail;
	/* the user is at risk when their password came with a risky sign-in */
	if (has_user && v->level >= rk->cfg.user_at &&
	    (ev == RISK_EV_PASSWORD_OK || ev == RISK_EV_MFA_FAILED)) {
		char names[DIR_TEXT_MAX];
		risk_names(v, names, sizeof(names));
		rc = dir_risky_user_raise(d, a->tenant_id, a->user_id, v->level, names, row->id,
		                          a->now, err);
		if (rc != 0)
			goto fail;
	}
	return dir_commit(d, err);
fail:
	dir_rollback(d);
	return rc;
}

int risk_mark_session(struct dir *d, const char *tenant_id, const char *session_hash,
                      const struct risk_verdict *v, int64_t now, struct err *err)
{
	return dir_session_stepup_set(d, tenant_id, session_hash,
	                              v->level > DIR_RISK_NONE ? v->level : DIR_RISK_LOW, now, err);
}

int risk_session_needs_mfa(struct dir *d, const char *tenant_id, const char *session_hash)
{
	struct err err = {0};
	int level = 0;

	/* fail closed: a store that cannot answer asks for the second factor */
	if (dir_session_stepup_get(d, tenant_id, session_hash, &level, &err) != 0)
		return 1;
	return level > 0;
}

int risk_housekeeping(struct risk *rk, struct dir *d, int64_t now, int64_t *deleted,
                      struct err *err)
{
	int64_t n = 0, total = 0;
	int rc;

	/* batches, each its own short transaction, so sign-ins are never held up long */
	do {
		rc = dir_signin_purge(d, now - rk->cfg.retention, 5000, &n, err);
		total += n;
	} while (rc == 0 && n == 5000 && total < 1000000);
	if (rc == 0)
		rc = dir_risk_expire(d, now, now - rk->cfg.retention, err);
	if (deleted != NULL)
		*deleted = total;
	return rc;
}
