/*
 * risk_admin: what an administrator does about the engine's findings,
 * shared by the reports API and idpctl: lift a lockout, dismiss a risky
 * user, confirm a compromise (which revokes everything the user holds),
 * set the tenant's policy.  Each action and its audit record are written
 * in one transaction: there is no change without its record.
 */
#include "risk.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

static int risk_audit(struct dir *d, const char *tenant_id, const char *actor, const char *ip,
                      const char *action, const char *type, const char *target, const char *summary,
                      struct err *err)
{
	struct dir_audit a;

	memset(&a, 0, sizeof(a));
	snprintf(a.actor, sizeof(a.actor), "%s", actor);
	snprintf(a.action, sizeof(a.action), "%s", action);
	snprintf(a.target_type, sizeof(a.target_type), "%s", type);
	snprintf(a.target_id, sizeof(a.target_id), "%s", target);
	snprintf(a.summary, sizeof(a.summary), "%s", summary);
	snprintf(a.ip, sizeof(a.ip), "%s", ip != NULL ? ip : "");
	return dir_audit_append(d, tenant_id, &a, err);
}

/* End a transaction begun with dir_begin(): commit if rc is 0. */
static int risk_end(struct dir *d, int rc, struct err *err)
{
	if (rc != 0) {
		dir_rollback(d);
		return rc;
	}
	return dir_commit(d, err);
}

int risk_unlock(struct dir *d, const char *tenant_id, const char *username, const char *actor,
                const char *ip, struct err *err)
{
	struct dir_lockout l;
	char summary[DIR_TEXT_MAX];
	int rc;

	if ((rc = dir_begin(d, err)) != 0)
		return rc;
	rc = dir_lockout_get(d, tenant_id, username, &l, err);
	if (rc == 0)
		rc = dir_lockout_clear(d, tenant_id, username, err);
	if (rc == 0) {
		/* the name, not a user id: a lock may be on a name no user has */
		snprintf(summary, sizeof(summary),
		         "unlocked '%.*s' (%d failures, locked until %lld)",
		         (int)utf8_cut(l.username, 200), l.username, l.failures,
		         (long long)l.locked_until);
		rc = risk_audit(d, tenant_id, actor, ip, "signin.unlock", "name", "", summary, err);
	}
	return risk_end(d, rc, err);
}

int risk_dismiss(struct dir *d, const char *tenant_id, const char *user_id, const char *actor,
                 const char *ip, const char *note, int64_t now, struct err *err)
{
	char summary[DIR_TEXT_MAX];
	struct dir_risky_user u;
	int rc;

	if ((rc = dir_begin(d, err)) != 0)
		return rc;
	rc = dir_risky_user_get(d, tenant_id, user_id, &u, err);
	if (rc == 0)
		rc = dir_risky_user_set_state(d, tenant_id, user_id, "dismissed", actor, now, err);
	if (rc == 0) {
		const char *text = note != NULL ? note : "";
		snprintf(summary, sizeof(summary), "risk %s (%.*s) dismissed%s%.*s",
		         dir_risk_level_name(u.level), (int)utf8_cut(u.detections, 300),
		         u.detections, *text ? ": " : "", (int)utf8_cut(text, 400), text);
		rc = risk_audit(d, tenant_id, actor, ip, "risk.dismiss", "user", user_id, summary,
		                err);
	}
	return risk_end(d, rc, err);
}

int risk_confirm(struct dir *d, const char *tenant_id, const char *user_id, const char *actor,
                 const char *ip, const char *note, int64_t now, int64_t revoke_until, int *grants,
                 struct err *err)
{
	char summary[DIR_TEXT_MAX];
	struct dir_user u;
	int rc, n = 0;

	if ((rc = dir_begin(d, err)) != 0)
		return rc;
	rc = dir_user_get(d, tenant_id, user_id, &u, err);
	/* an admin may confirm a user the engine never flagged */
	if (rc == 0)
		rc = dir_risky_user_raise(d, tenant_id, user_id, DIR_RISK_HIGH,
		                          "[\"admin_confirmed\"]", 0, now, err);
	if (rc == 0)
		rc = dir_risky_user_set_state(d, tenant_id, user_id, "confirmed", actor, now, err);
	if (rc == 0)
		rc = dir_user_revoke_all(d, tenant_id, user_id, revoke_until, &n, err);
	if (rc == 0) {
		snprintf(summary, sizeof(summary),
		         "compromise confirmed; sessions and refresh tokens revoked (%d "
		         "grants)%s%.*s",
		         n, note && *note ? ": " : "", (int)utf8_cut(note ? note : "", 400),
		         note ? note : "");
		rc = risk_audit(d, tenant_id, actor, ip, "risk.confirm", "user", user_id, summary,
		                err);
	}
	rc = risk_end(d, rc, err);
	if (rc == 0 && grants != NULL)
		*grants = n;
	return rc;
}

int risk_password_reset(struct dir *d, const char *tenant_id, const char *user_id,
                        const char *password, const char *actor, const char *ip, int64_t now,
                        struct err *err)
{
	struct dir_risky_user u;
	int rc;

	if ((rc = dir_begin(d, err)) != 0)
		return rc;
	rc = dir_user_set_password(d, tenant_id, user_id, password, err);
	if (rc == 0 && password != NULL) {
		rc = dir_risky_user_get(d, tenant_id, user_id, &u, err);
		if (rc == ERR_NOT_FOUND) {
			rc = 0; /* never flagged */
		} else if (rc == 0 && strcmp(u.state, "confirmed") == 0) {
			rc = dir_risky_user_set_state(d, tenant_id, user_id, "remediated", actor, now,
			                              err);
			if (rc == 0)
				rc = risk_audit(d, tenant_id, actor, ip, "risk.remediate", "user", user_id,
				                "confirmed compromise remediated by a password reset; "
				                "the user may sign in again",
				                err);
		}
	}
	return risk_end(d, rc, err);
}

int risk_set_policy(struct dir *d, const char *tenant_id, int mfa_at, int block_at,
                    const char *actor, const char *ip, int64_t now, struct err *err)
{
	struct dir_risk_policy p;
	char summary[DIR_TEXT_MAX];
	int rc;

	if ((rc = dir_begin(d, err)) != 0)
		return rc;
	if (mfa_at < 0 && block_at < 0) {
		rc = dir_risk_policy_delete(d, tenant_id, err);
		snprintf(summary, sizeof(summary), "risk policy reset to the configuration's");
	} else {
		memset(&p, 0, sizeof(p));
		p.mfa_at = mfa_at;
		p.block_at = block_at;
		p.updated_at = now;
		snprintf(p.updated_by, sizeof(p.updated_by), "%s", actor);
		rc = dir_risk_policy_put(d, tenant_id, &p, err);
		snprintf(summary, sizeof(summary),
		         "risk policy: second factor from %s, block from %s",
		         dir_risk_level_name(mfa_at), dir_risk_level_name(block_at));
	}
	if (rc == 0)
		rc = risk_audit(d, tenant_id, actor, ip, "risk.policy", "tenant", tenant_id,
		                summary, err);
	return risk_end(d, rc, err);
}
