/*
 * idpctl_mfa: the "mfa" commands: a user's second factor (status, reset)
 * and the secret key file (keygen, check-keys, rotate-key, prune-keys).
 *
 * The key commands take the key file with --key-file rather than from the
 * config: rotating or pruning a key file is a deliberate act on one named
 * file, and every one of them first checks that the file opens what the
 * store holds, so a wrong file is refused before anything changes.
 */
#include "idpctl.h"

#include "mfa.h"
#include "rekey.h"
#include "secretbox.h"
#include "utf8.h"

#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Find a live user by UPN, else by id. */
static int mfa_user(struct ctl *c, const char *tenant_id, const char *who, struct dir_user *u)
{
	struct err err = {0};

	if (dir_user_get_by_upn(c->dir, tenant_id, who, u, &err) == 0)
		return CTL_OK;
	if (err.code == ERR_NOT_FOUND && dir_user_get(c->dir, tenant_id, who, u, &err) == 0)
		return CTL_OK;
	if (err.code == ERR_NOT_FOUND)
		snprintf(err.msg, sizeof(err.msg), "no user '%.200s' in this tenant", who);
	return ctl_fail(c, &err);
}

static int mfa_status(struct ctl *c, const struct dir_tenant *t, const struct dir_user *u)
{
	struct mfa_state s;
	struct err err = {0};
	char t1[32], t2[32], t3[32];

	if (mfa_state(c->dir, t->id, u->id, (int64_t)time(NULL), &s, &err) != 0)
		return ctl_fail(c, &err);
	if (c->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s*, s:i, s:i, s:I, s:I, s:i, s:I, s:i, "
		                      "s:i}",
		                      "user_id", u->id, "upn", u->upn, "state",
		                      s.enrolled  ? "enrolled"
		                      : s.pending ? "pending"
		                                  : "none",
		                      "algorithm", s.enrolled || s.pending ? s.algorithm : NULL,
		                      "digits", s.digits, "period", s.period, "created_at",
		                      (json_int_t)s.created_at, "last_used_at",
		                      (json_int_t)s.last_used_at, "failures", s.failures,
		                      "locked_until", (json_int_t)s.locked_until, "recovery_left",
		                      s.recovery_left, "recovery_used", s.recovery_used);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
		return CTL_OK;
	}
	printf("user:            %s (%s)\n", u->upn, u->id);
	printf("required:        %s\n", t->mfa_required || u->mfa_required
	                                        ? (t->mfa_required ? "yes (tenant)" : "yes (user)")
	                                        : "no (unless an app requires it)");
	if (!s.enrolled && !s.pending) {
		printf("authenticator:   none\n");
		return CTL_OK;
	}
	printf("authenticator:   %s, %s, %d digits, %d s\n",
	       s.enrolled ? "enrolled" : "pending (enrollment not confirmed)", s.algorithm,
	       s.digits, s.period);
	printf("since:           %s\n", ctl_time(s.created_at, t1, sizeof(t1)));
	printf("last code used:  %s\n", ctl_time(s.last_used_at, t2, sizeof(t2)));
	printf("failures:        %d\n", s.failures);
	printf("locked until:    %s\n", ctl_time(s.locked_until, t3, sizeof(t3)));
	printf("recovery codes:  %d left, %d used\n", s.recovery_left, s.recovery_used);
	return CTL_OK;
}

static int mfa_reset_cmd(struct ctl *c, const struct dir_tenant *t, const struct dir_user *u,
                         const char *reason)
{
	char actor[DIR_UPN_MAX];
	const char *who = getenv("SUDO_USER");
	struct passwd *pw = who == NULL ? getpwuid(geteuid()) : NULL;
	struct err err = {0};

	/* The same actor as ctl_audit() writes for every other idpctl change. */
	if (who == NULL)
		who = pw != NULL ? pw->pw_name : "?";
	snprintf(actor, sizeof(actor), "idpctl:%s", who);
	if (reason != NULL && (!utf8_printable(reason) || strlen(reason) > 900))
		return ctl_usage_error(c, "--reason must be printable text of at most 900 bytes");
	if (mfa_reset(c->dir, t->id, u->id, actor, reason, &err) != 0) {
		if (err.code == ERR_NOT_FOUND)
			snprintf(err.msg, sizeof(err.msg), "%.200s has no second factor", u->upn);
		return ctl_fail(c, &err);
	}
	printf("reset the second factor of %s; they enroll again at their next sign-in\n", u->upn);
	return CTL_OK;
}

/* Load the key file and check it opens the store; prints and returns an exit code. */
static int mfa_load_keys(struct ctl *c, const char *path, struct secretbox **sb,
                         struct rekey_stats *st)
{
	struct err err = {0};

	if ((*sb = secretbox_load(path, &err)) == NULL)
		return ctl_fail(c, &err);
	if (rekey_check(*sb, c->dir, 1, st, &err) != 0) {
		secretbox_free(*sb);
		*sb = NULL;
		return ctl_fail(c, &err);
	}
	return CTL_OK;
}

static int mfa_keygen(struct ctl *c, const char *path)
{
	char kid[SECRETBOX_KID_MAX];
	struct err err = {0};

	if (secretbox_file_create(path, kid, &err) != 0)
		return ctl_fail(c, &err);
	printf("created key file %s (mode 600) with key %s\n", path, kid);
	return CTL_OK;
}

static int mfa_check_keys(struct ctl *c, const char *path)
{
	struct secretbox *sb = NULL;
	struct rekey_stats st;
	int rc = mfa_load_keys(c, path, &sb, &st);

	if (rc != CTL_OK)
		return rc;
	printf("%s opens every sealed secret of the store: %d sealed, %d under the active key "
	       "%s, %d key(s) in the file\n",
	       path, st.sealed, st.active, secretbox_active_kid(sb), secretbox_nkeys(sb));
	secretbox_free(sb);
	return CTL_OK;
}

static int mfa_rotate(struct ctl *c, const char *path, int resume)
{
	struct secretbox *sb = NULL;
	struct rekey_stats st;
	char kid[SECRETBOX_KID_MAX] = "";
	struct err err = {0};
	int rc;

	/* Never rotate from a key file that does not open the store. */
	if ((rc = mfa_load_keys(c, path, &sb, &st)) != CTL_OK)
		return rc;
	secretbox_free(sb);
	sb = NULL;
	if (!resume && secretbox_file_add_key(path, kid, &err) != 0)
		return ctl_fail(c, &err);
	if ((sb = secretbox_load(path, &err)) == NULL)
		return ctl_fail(c, &err);
	if (rekey_reseal(sb, c->dir, &st, &err) != 0) {
		rc = ctl_fail(c, &err);
		fprintf(stderr,
		        "%s: the store is unchanged; %s now starts with key %s.  Run "
		        "'%s mfa rotate-key --key-file %s --resume' to try the re-sealing again\n",
		        c->me, path, secretbox_active_kid(sb), c->me, path);
		secretbox_free(sb);
		return rc;
	}
	if (kid[0] != '\0')
		printf("new active key %s in %s\n", kid, path);
	printf("re-sealed %d of %d sealed secrets under key %s\n", st.resealed, st.sealed,
	       secretbox_active_kid(sb));
	if (secretbox_nkeys(sb) > 1)
		printf("the %d older key(s) stay in the file until every idp node has loaded the "
		       "new "
		       "one;\nthen run '%s mfa prune-keys --key-file %s'\n",
		       secretbox_nkeys(sb) - 1, c->me, path);
	secretbox_free(sb);
	return CTL_OK;
}

struct mfa_prune {
	struct dir *dir;
	int failed;
	struct err err;
};

static int mfa_keep_kid(void *ctx, const char *kid)
{
	struct mfa_prune *p = ctx;
	int rc = rekey_kid_in_use(p->dir, kid, &p->err);

	if (rc < 0)
		p->failed = 1;
	return rc != 0; /* when unsure, keep it */
}

static int mfa_prune_keys(struct ctl *c, const char *path)
{
	struct mfa_prune p = {c->dir, 0, {0, ""}};
	struct secretbox *sb = NULL;
	struct rekey_stats st;
	int dropped = 0, rc;

	if ((rc = mfa_load_keys(c, path, &sb, &st)) != CTL_OK)
		return rc;
	secretbox_free(sb);
	if (secretbox_file_prune(path, mfa_keep_kid, &p, &dropped, &p.err) != 0 || p.failed)
		return ctl_fail(c, &p.err);
	printf("dropped %d retired key(s) that no sealed secret uses from %s\n", dropped, path);
	return CTL_OK;
}

int ctl_cmd_mfa(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "";
	struct ctl_args a;
	int rc;

	if (argc < 1)
		return ctl_usage_error(c, "mfa needs a subcommand");
	if (ctl_args_init(&a, argc - 1, argv + 1) != 0)
		return CTL_FAIL;
	if (strcmp(sub, "status") == 0 || strcmp(sub, "reset") == 0) {
		const char *reason = strcmp(sub, "reset") == 0 ? ctl_opt(&a, "--reason") : NULL;
		struct dir_tenant t;
		struct dir_user u;

		if ((rc = ctl_args_done(c, &a, 2)) != CTL_OK)
			goto out;
		if ((rc = ctl_tenant(c, ctl_pos(&a, 0), &t)) != CTL_OK ||
		    (rc = mfa_user(c, t.id, ctl_pos(&a, 1), &u)) != CTL_OK)
			goto out;
		rc = sub[0] == 's' ? mfa_status(c, &t, &u) : mfa_reset_cmd(c, &t, &u, reason);
	} else if (strcmp(sub, "keygen") == 0) {
		if ((rc = ctl_args_done(c, &a, 1)) == CTL_OK)
			rc = mfa_keygen(c, ctl_pos(&a, 0));
	} else if (strcmp(sub, "check-keys") == 0 || strcmp(sub, "rotate-key") == 0 ||
	           strcmp(sub, "prune-keys") == 0) {
		const char *path = ctl_opt(&a, "--key-file");
		int resume = sub[0] == 'r' && ctl_flag(&a, "--resume");

		if ((rc = ctl_args_done(c, &a, 0)) != CTL_OK)
			goto out;
		if (path == NULL) {
			rc = ctl_usage_error(c,
			                     "mfa %s needs --key-file FILE (the [secrets] key_file of "
			                     "the config)",
			                     sub);
			goto out;
		}
		if (sub[0] == 'c')
			rc = mfa_check_keys(c, path);
		else if (sub[0] == 'r')
			rc = mfa_rotate(c, path, resume);
		else
			rc = mfa_prune_keys(c, path);
	} else {
		rc = ctl_usage_error(c, "unknown mfa subcommand '%s'", sub);
	}
out:
	ctl_args_free(&a);
	return rc;
}
