/*
 * token_cache: access tokens this thread verified lately (see token_cache.h).
 *
 * Per thread, so lookups take no lock; freed when the thread ends.
 */
#include "token_cache.h"

#include "dir.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_CACHE_N 16 /* entries per thread: callers of one thread at a time */

struct token_cached {
	unsigned char hash[SHA256_DIGEST_LENGTH];
	char tenant_id[DIR_ID_MAX];
	char kid[JWS_KID_MAX];
	json_t *header, *claims;
	enum jws_alg alg;
	uint64_t used; /* 0: empty; else when last used, for eviction */
};

struct token_cache {
	struct token_cached e[TOKEN_CACHE_N];
	uint64_t tick;
};

static pthread_key_t token_cache_key;
static pthread_once_t token_cache_once = PTHREAD_ONCE_INIT;

static void token_cache_free(void *arg)
{
	struct token_cache *c = arg;

	for (size_t i = 0; i < TOKEN_CACHE_N; i++) {
		json_decref(c->e[i].header);
		json_decref(c->e[i].claims);
	}
	free(c);
}

static void token_cache_init(void)
{
	(void)pthread_key_create(&token_cache_key, token_cache_free);
}

/* This thread's cache; NULL when it cannot have one (then nothing is cached). */
static struct token_cache *token_cache_mine(void)
{
	struct token_cache *c;

	pthread_once(&token_cache_once, token_cache_init);
	if ((c = pthread_getspecific(token_cache_key)) != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (pthread_setspecific(token_cache_key, c) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

static struct token_cached *token_cache_find(struct token_cache *c, const char *tenant_id,
					     const unsigned char hash[SHA256_DIGEST_LENGTH])
{
	for (size_t i = 0; i < TOKEN_CACHE_N; i++) {
		struct token_cached *x = &c->e[i];
		if (x->used != 0 && memcmp(x->hash, hash, sizeof(x->hash)) == 0 &&
		    strcmp(x->tenant_id, tenant_id) == 0)
			return x;
	}
	return NULL;
}

int token_cache_get(const char *tenant_id, const char *token, struct jws_parsed *p,
		    char kid[JWS_KID_MAX])
{
	unsigned char hash[SHA256_DIGEST_LENGTH];
	struct token_cache *c = token_cache_mine();
	struct token_cached *x;

	if (c == NULL)
		return 0;
	SHA256((const unsigned char *)token, strlen(token), hash);
	if ((x = token_cache_find(c, tenant_id, hash)) == NULL)
		return 0;
	x->used = ++c->tick;
	p->header = json_incref(x->header);
	p->claims = json_incref(x->claims);
	p->alg = x->alg;
	p->key = NULL;
	memcpy(kid, x->kid, JWS_KID_MAX);
	return 1;
}

void token_cache_put(const char *tenant_id, const char *token, const struct jws_parsed *p)
{
	unsigned char hash[SHA256_DIGEST_LENGTH];
	struct token_cache *c = token_cache_mine();
	struct token_cached *x;

	if (c == NULL || p->key == NULL || p->header == NULL || p->claims == NULL)
		return;
	SHA256((const unsigned char *)token, strlen(token), hash);
	if ((x = token_cache_find(c, tenant_id, hash)) == NULL) {
		x = &c->e[0];
		for (size_t i = 1; i < TOKEN_CACHE_N; i++)
			if (c->e[i].used < x->used)
				x = &c->e[i];
	}
	json_decref(x->header);
	json_decref(x->claims);
	memcpy(x->hash, hash, sizeof(x->hash));
	snprintf(x->tenant_id, sizeof(x->tenant_id), "%s", tenant_id);
	snprintf(x->kid, sizeof(x->kid), "%s", jws_key_kid(p->key));
	x->header = json_incref(p->header);
	x->claims = json_incref(p->claims);
	x->alg = p->alg;
	x->used = ++c->tick;
}
