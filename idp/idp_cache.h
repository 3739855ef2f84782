/*
 * idp_cache: each worker thread's short-lived copies of tenants and apps.
 *
 * The token endpoint would otherwise read the store twice per grant for
 * objects that change a few times a year; SQLite's file locking alone
 * (four fcntl calls per read) costs more than the rest of a grant.  Entries
 * live CACHE_TTL seconds: an app's secret rotation or deletion reaches
 * every node within that time.  Per thread, so no locks.
 */
#ifndef IDP_IDP_CACHE_H
#define IDP_IDP_CACHE_H

#include "idp.h"

#define IDP_CACHE_TTL 5

/* The tenant named name, as dir_tenant_get_by_name() would return it. */
int idp_cache_tenant(struct dir *d, const char *name, int64_t now, struct dir_tenant *out,
		     struct err *err);

/*
 * The tenant's app with client_id, as dir_app_get_by_client_id() would
 * return it; fresh = 1 skips the cache (and refreshes it): a secret that
 * does not match the cached hash is checked against the store once more,
 * so a rotated secret works at once.
 */
int idp_cache_app(struct dir *d, const char *tenant_id, const char *client_id, int64_t now,
		  int fresh, struct dir_app *out, struct err *err);

#endif
