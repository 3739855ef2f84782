/*
 * keys: keyrings built from the store, cached per tenant.
 *
 * The cache is a small array under a mutex held only to look up or swap a
 * pointer; building a keyring (store reads, unsealing, PEM parsing) happens
 * outside it.  Two threads may rebuild the same tenant at once; the later
 * swap wins and the other keyring is released: wasted work, never a wrong
 * answer.
 */
#include "keys.h"

#include "dir.h"
#include "err.h"
#include "secret.h"
#include "secretbox.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS_MAX_TENANTS 4096
#define KEYS_MAX_PER_TENANT 32

struct keyring {
	atomic_int refs;
	char tenant_id[DIR_ID_MAX];
	int64_t built_at;
	struct jws_key *keys[KEYS_MAX_PER_TENANT];
	const struct jws_key *signer[3]; /* by enum jws_alg */
	struct jws_keyset set;
	char *jwks;
};

struct keys {
	const struct secretbox *box;
	int64_t reload_s, retire_s;
	pthread_mutex_t lock;
	struct keyring *rings[KEYS_MAX_TENANTS];
	int n;
};

struct keys *keys_new(const struct secretbox *box, int64_t reload_s, int64_t retire_s)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->box = box;
	k->reload_s = reload_s;
	k->retire_s = retire_s;
	pthread_mutex_init(&k->lock, NULL);
	return k;
}

void keyring_release(struct keyring *kr)
{
	if (kr == NULL || atomic_fetch_sub(&kr->refs, 1) != 1)
		return;
	for (size_t i = 0; i < kr->set.n; i++)
		jws_key_free(kr->keys[i]);
	free(kr->jwks);
	free(kr);
}

void keys_free(struct keys *k)
{
	if (k == NULL)
		return;
	for (int i = 0; i < k->n; i++)
		keyring_release(k->rings[i]);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

const struct jws_key *keyring_signer(const struct keyring *kr, enum jws_alg alg)
{
	return alg == JWS_RS256 || alg == JWS_ES256 ? kr->signer[alg] : NULL;
}

const struct jws_keyset *keyring_verifiers(const struct keyring *kr)
{
	return &kr->set;
}

const char *keyring_jwks(const struct keyring *kr)
{
	return kr->jwks;
}

/* Make one key of alg, seal it, store it. */
static int keys_add_new(struct dir *d, const struct secretbox *box, const char *tenant_id,
			enum jws_alg alg, struct err *err)
{
	struct dir_signing_key *row = calloc(1, sizeof(*row));
	struct jws_key *key = jws_key_generate(alg, err);
	char context[SECRETBOX_CONTEXT_MAX], *pem = NULL, *jwk = NULL;
	json_t *pub = NULL;
	size_t len = 0;
	int rc = ERR_INTERNAL;

	if (row == NULL || key == NULL)
		goto out;
	snprintf(row->kid, sizeof(row->kid), "%s", jws_key_kid(key));
	snprintf(row->alg, sizeof(row->alg), "%s", jws_alg_name(alg));
	pem = jws_key_private_pem(key, &len);
	pub = jws_key_public_jwk(key);
	jwk = pub != NULL ? json_dumps(pub, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (pem == NULL || jwk == NULL) {
		err_set(err, ERR_INTERNAL, "cannot export the new key");
		goto out;
	}
	snprintf(row->public_jwk, sizeof(row->public_jwk), "%s", jwk);
	if ((rc = secretbox_context(context, sizeof(context), "signing_key", tenant_id, row->kid)) ||
	    (rc = secretbox_seal(box, context, pem, len, row->private_enc,
				 sizeof(row->private_enc), err)) < 0)
		goto out;
	rc = dir_key_add(d, tenant_id, row, err);
out:
	if (pem != NULL) {
		secret_wipe(pem, len);
		free(pem);
	}
	free(jwk);
	json_decref(pub);
	jws_key_free(key);
	free(row);
	return rc < 0 ? rc : 0;
}

int keys_rotate(struct dir *d, const struct secretbox *box, const char *tenant_id,
		int64_t retire_s, struct err *err)
{
	int rc;

	if ((rc = dir_begin(d, err)) != 0)
		return rc;
	if ((rc = dir_key_retire_all(d, tenant_id, clock_now(NULL) + retire_s, err)) == 0 &&
	    (rc = keys_add_new(d, box, tenant_id, JWS_RS256, err)) == 0 &&
	    (rc = keys_add_new(d, box, tenant_id, JWS_ES256, err)) == 0)
		rc = dir_commit(d, err);
	if (rc != 0)
		dir_rollback(d);
	return rc;
}

struct keys_build {
	const struct secretbox *box;
	struct keyring *kr;
	json_t *jwks;
	struct err *err;
	int64_t now;
	int failed;
};

static int keys_build_row(void *ctx, const struct dir_signing_key *row)
{
	struct keys_build *b = ctx;
	struct keyring *kr = b->kr;
	char context[SECRETBOX_CONTEXT_MAX], pem[SECRETBOX_MAX_PLAIN];
	enum jws_alg alg = jws_alg_parse(row->alg);
	struct jws_key *key;
	json_t *jwk;
	int n;

	if (row->expires_at != 0 && row->expires_at <= b->now)
		return 0; /* its tokens have all expired */
	if (kr->set.n == KEYS_MAX_PER_TENANT)
		return 0;
	if (secretbox_context(context, sizeof(context), "signing_key", kr->tenant_id, row->kid))
		return 0;
	n = secretbox_open(b->box, context, row->private_enc, pem, sizeof(pem) - 1, b->err);
	if (n < 0) {
		b->failed = 1;
		err_prefix(b->err, "signing key %s", row->kid);
		return 1;
	}
	key = jws_key_from_pem(pem, (size_t)n, alg, row->kid, b->err);
	secret_wipe(pem, sizeof(pem));
	if (key == NULL) {
		b->failed = 1;
		return 1;
	}
	kr->keys[kr->set.n++] = key;
	/* newest first: the first unretired key of an algorithm signs */
	if (row->retired_at == 0 && kr->signer[alg] == NULL)
		kr->signer[alg] = key;
	jwk = jws_key_public_jwk(key);
	if (jwk != NULL)
		json_array_append_new(b->jwks, jwk);
	return 0;
}

static struct keyring *keys_build(struct keys *k, struct dir *d, const char *tenant_id,
				  int64_t now, struct err *err)
{
	struct keys_build b = {k->box, calloc(1, sizeof(struct keyring)), json_array(), err, now,
			       0};
	struct keyring *kr = b.kr;
	json_t *doc;

	if (kr == NULL || b.jwks == NULL) {
		free(kr);
		json_decref(b.jwks);
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	atomic_init(&kr->refs, 1);
	snprintf(kr->tenant_id, sizeof(kr->tenant_id), "%s", tenant_id);
	kr->built_at = now;
	kr->set.keys = (const struct jws_key *const *)kr->keys;
	if (dir_key_list(d, tenant_id, keys_build_row, &b, err) != 0 || b.failed)
		goto fail;
	doc = json_pack("{s:O}", "keys", b.jwks);
	kr->jwks = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	json_decref(b.jwks);
	if (kr->jwks == NULL) {
		keyring_release(kr);
		err_set(err, ERR_INTERNAL, "out of memory");
		return NULL;
	}
	return kr;
fail:
	json_decref(b.jwks);
	keyring_release(kr);
	return NULL;
}

struct keyring *keys_acquire(struct keys *k, struct dir *d, const char *tenant_id, int64_t now,
			     struct err *err)
{
	struct keyring *kr = NULL, *fresh;
	int slot = -1;

	pthread_mutex_lock(&k->lock);
	for (int i = 0; i < k->n; i++) {
		if (strcmp(k->rings[i]->tenant_id, tenant_id) == 0) {
			slot = i;
			if (now - k->rings[i]->built_at < k->reload_s) {
				kr = k->rings[i];
				atomic_fetch_add(&kr->refs, 1);
			}
			break;
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (kr != NULL)
		return kr;

	fresh = keys_build(k, d, tenant_id, now, err);
	if (fresh != NULL && (fresh->signer[JWS_RS256] == NULL || fresh->signer[JWS_ES256] == NULL)) {
		/* a tenant's first token: make its keys */
		keyring_release(fresh);
		if (keys_rotate(d, k->box, tenant_id, k->retire_s, err) != 0)
			return NULL;
		fresh = keys_build(k, d, tenant_id, now, err);
	}
	if (fresh == NULL)
		return NULL;
	dir_key_delete_expired(d, tenant_id, err);

	pthread_mutex_lock(&k->lock);
	if (slot < 0 || slot >= k->n || strcmp(k->rings[slot]->tenant_id, tenant_id) != 0) {
		slot = -1;
		for (int i = 0; i < k->n; i++)
			if (strcmp(k->rings[i]->tenant_id, tenant_id) == 0)
				slot = i;
	}
	if (slot >= 0) {
		keyring_release(k->rings[slot]);
		k->rings[slot] = fresh;
	} else if (k->n < KEYS_MAX_TENANTS) {
		k->rings[k->n++] = fresh;
	} else {
		pthread_mutex_unlock(&k->lock); /* not cached: the caller's reference is the only one */
		return fresh;
	}
	atomic_fetch_add(&fresh->refs, 1); /* the cache's and the caller's */
	pthread_mutex_unlock(&k->lock);
	return fresh;
}
