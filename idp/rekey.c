/*
 * rekey: checking and re-sealing the store's sealed values (see rekey.h).
 */
#include "rekey.h"

#include "err.h"
#include "secret.h"

#include <stdlib.h>
#include <string.h>

int rekey_context(const struct dir_sealed *s, char *out, size_t cap)
{
	return secretbox_context(out, cap, s->kind == DIR_SEALED_TOTP ? "totp" : "signing_key",
	                         s->tenant_id, s->object_id);
}

/* Open one sealed value and forget what it held; 0 or a negative err. */
static int rekey_try_open(const struct secretbox *sb, const struct dir_sealed *s, struct err *err)
{
	char ctx[SECRETBOX_CONTEXT_MAX];
	unsigned char *buf;
	int rc;

	if (rekey_context(s, ctx, sizeof(ctx)) != 0)
		return err_set(err, ERR_LIMIT, "context too long");
	if ((buf = malloc(SECRETBOX_MAX_PLAIN)) == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	rc = secretbox_open(sb, ctx, s->value, buf, SECRETBOX_MAX_PLAIN, err);
	secret_wipe(buf, SECRETBOX_MAX_PLAIN);
	free(buf);
	return rc < 0 ? rc : 0;
}

static const char *rekey_what(const struct dir_sealed *s)
{
	return s->kind == DIR_SEALED_TOTP ? "the TOTP secret of user" : "the signing key";
}

struct rekey_walk {
	const struct secretbox *sb;
	int full;
	struct rekey_stats st;
	char opened[SECRETBOX_MAX_KEYS][SECRETBOX_KID_MAX]; /* key ids shown to open */
	int nopened;
	struct err *err;
};

static int rekey_check_one(void *ctx, const struct dir_sealed *s)
{
	struct rekey_walk *w = ctx;
	char kid[SECRETBOX_KID_MAX];
	int seen = 0, rc;

	w->st.sealed++;
	if (secretbox_sealed_kid(s->value, kid) != 0)
		return err_set(w->err, ERR_CORRUPT, "%s %s (tenant %s) is not a sealed value",
		               rekey_what(s), s->object_id, s->tenant_id);
	if (strcmp(kid, secretbox_active_kid(w->sb)) == 0)
		w->st.active++;
	if (!secretbox_has_kid(w->sb, kid))
		return err_set(w->err, ERR_NOT_FOUND,
		               "the store holds secrets sealed under key '%s', which is not in "
		               "the key file: is it the right file, or an old copy?",
		               kid);
	for (int i = 0; i < w->nopened; i++)
		seen |= strcmp(w->opened[i], kid) == 0;
	if (seen && !w->full)
		return 0;
	if ((rc = rekey_try_open(w->sb, s, w->err)) != 0) {
		if (rc == ERR_DENIED)
			err_set(w->err, ERR_DENIED,
			        "key '%s' of the key file does not open %s %s (tenant %s): a wrong "
			        "key file, or the store was altered",
			        kid, rekey_what(s), s->object_id, s->tenant_id);
		return rc;
	}
	if (!seen && w->nopened < SECRETBOX_MAX_KEYS)
		memcpy(w->opened[w->nopened++], kid, SECRETBOX_KID_MAX);
	return 0;
}

int rekey_check(const struct secretbox *sb, struct dir *d, int full, struct rekey_stats *st,
                struct err *err)
{
	struct rekey_walk *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL)
		return err_set(err, ERR_INTERNAL, "out of memory");
	w->sb = sb;
	w->full = full;
	w->err = err;
	rc = dir_sealed_each(d, rekey_check_one, w, err);
	w->st.kids = w->nopened;
	if (st != NULL)
		*st = w->st;
	free(w);
	return rc;
}

struct rekey_reseal_walk {
	const struct secretbox *sb;
	struct dir *d;
	struct rekey_stats st;
	struct err *err;
};

static int rekey_reseal_one(void *ctx, const struct dir_sealed *s)
{
	struct rekey_reseal_walk *w = ctx;
	char kid[SECRETBOX_KID_MAX], context[SECRETBOX_CONTEXT_MAX];
	unsigned char *plain = NULL;
	char *sealed = NULL;
	size_t cap = secretbox_sealed_cap(SECRETBOX_MAX_PLAIN);
	int n = 0, rc;

	w->st.sealed++;
	if (secretbox_sealed_kid(s->value, kid) != 0)
		return err_set(w->err, ERR_CORRUPT, "%s %s (tenant %s) is not a sealed value",
		               rekey_what(s), s->object_id, s->tenant_id);
	if (strcmp(kid, secretbox_active_kid(w->sb)) == 0) {
		w->st.active++;
		return 0;
	}
	if (rekey_context(s, context, sizeof(context)) != 0)
		return err_set(w->err, ERR_LIMIT, "context too long");
	if ((plain = malloc(SECRETBOX_MAX_PLAIN)) == NULL || (sealed = malloc(cap)) == NULL) {
		rc = err_set(w->err, ERR_INTERNAL, "out of memory");
		goto out;
	}
	if ((n = secretbox_open(w->sb, context, s->value, plain, SECRETBOX_MAX_PLAIN, w->err)) <
	    0) {
		rc = n;
		err_prefix(w->err, "%s %s (tenant %s)", rekey_what(s), s->object_id, s->tenant_id);
		goto out;
	}
	if ((rc = secretbox_seal(w->sb, context, plain, (size_t)n, sealed, cap, w->err)) < 0)
		goto out;
	if ((rc = dir_sealed_replace(w->d, s, sealed, w->err)) != 0)
		goto out;
	w->st.resealed++;
	w->st.active++;
out:
	if (plain != NULL)
		secret_wipe(plain, SECRETBOX_MAX_PLAIN);
	free(plain);
	free(sealed);
	return rc < 0 ? rc : 0;
}

int rekey_reseal(const struct secretbox *sb, struct dir *d, struct rekey_stats *st, struct err *err)
{
	struct rekey_reseal_walk w = {sb, d, {0, 0, 0, 0}, err};
	int rc;

	if ((rc = dir_begin(d, err)) != 0)
		return rc;
	rc = dir_sealed_each(d, rekey_reseal_one, &w, err);
	if (rc == 0)
		rc = dir_commit(d, err);
	else
		dir_rollback(d);
	w.st.kids = w.st.sealed > 0 ? 1 : 0;
	if (rc != 0)
		w.st.resealed = 0;
	if (st != NULL)
		*st = w.st;
	return rc;
}

struct rekey_find {
	const char *kid;
	int found;
};

static int rekey_find_one(void *ctx, const struct dir_sealed *s)
{
	struct rekey_find *f = ctx;
	char kid[SECRETBOX_KID_MAX];

	if (secretbox_sealed_kid(s->value, kid) == 0 && strcmp(kid, f->kid) == 0) {
		f->found = 1;
		return 1; /* stop the walk */
	}
	return 0;
}

int rekey_kid_in_use(struct dir *d, const char *kid, struct err *err)
{
	struct rekey_find f = {kid, 0};
	int rc = dir_sealed_each(d, rekey_find_one, &f, err);

	if (rc < 0)
		return rc;
	return f.found;
}
