/*
 * idp_cache: two small direct-mapped caches per thread.
 */
#include "idp_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 16

struct cache_tenant {
	int64_t at;
	struct dir_tenant t;
};

struct cache_app {
	int64_t at;
	char tenant_id[DIR_ID_MAX];
	struct dir_app a;
};

static __thread struct cache_tenant *cache_tenants;
static __thread struct cache_app *cache_apps;

/* Free a thread's caches when it exits (the server's workers, at shutdown). */
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_thread_exit(void *unused)
{
	(void)unused;
	free(cache_tenants);
	free(cache_apps);
	cache_tenants = NULL;
	cache_apps = NULL;
}

static void cache_key_init(void)
{
	pthread_key_create(&cache_key, cache_thread_exit);
}

/* Register this thread for cleanup; any non-NULL value makes the destructor run. */
static void cache_register(void)
{
	pthread_once(&cache_once, cache_key_init);
	pthread_setspecific(cache_key, (void *)1);
}

static unsigned cache_hash(const char *a, const char *b)
{
	unsigned h = 2166136261u;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	for (; b != NULL && *b; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h % CACHE_SLOTS;
}

int idp_cache_tenant(struct dir *d, const char *name, int64_t now, struct dir_tenant *out,
		     struct err *err)
{
	struct cache_tenant *e;
	int rc;

	if (cache_tenants == NULL) {
		if ((cache_tenants = calloc(CACHE_SLOTS, sizeof(*e))) == NULL)
			return dir_tenant_get_by_name(d, name, out, err);
		cache_register();
	}
	e = &cache_tenants[cache_hash(name, NULL)];
	if (e->at != 0 && now - e->at < IDP_CACHE_TTL && strcmp(e->t.name, name) == 0) {
		*out = e->t;
		return 0;
	}
	rc = dir_tenant_get_by_name(d, name, out, err);
	if (rc == 0) {
		e->t = *out;
		e->at = now;
	}
	return rc;
}

int idp_cache_app(struct dir *d, const char *tenant_id, const char *client_id, int64_t now,
		  int fresh, struct dir_app *out, struct err *err)
{
	struct cache_app *e;
	int rc;

	if (cache_apps == NULL) {
		if ((cache_apps = calloc(CACHE_SLOTS, sizeof(*e))) == NULL)
			return dir_app_get_by_client_id(d, tenant_id, client_id, out, err);
		cache_register();
	}
	e = &cache_apps[cache_hash(tenant_id, client_id)];
	if (!fresh && e->at != 0 && now - e->at < IDP_CACHE_TTL &&
	    strcmp(e->tenant_id, tenant_id) == 0 &&
	    strcmp(e->a.client_id, client_id) == 0) {
		memcpy(out, &e->a, sizeof(*out));
		return 0;
	}
	rc = dir_app_get_by_client_id(d, tenant_id, client_id, out, err);
	if (rc == 0) {
		memcpy(&e->a, out, sizeof(*out));
		snprintf(e->tenant_id, sizeof(e->tenant_id), "%s", tenant_id);
		e->at = now;
	}
	return rc;
}
