/*
 * keys: each tenant's token-signing keys, as the token service uses them.
 *
 * Every tenant has its own keys (a token of one tenant cannot verify under
 * another's JWKS), one RS256 and one ES256 signer at a time plus retired
 * keys that stay published until their tokens have expired.  Private keys
 * are sealed in the store (secretbox); a process keeps parsed keys in a
 * per-tenant keyring it rebuilds from the store every few seconds, so a
 * rotation done by idpctl on any node reaches every node without a restart.
 *
 * Keyrings are reference-counted and immutable: a request takes one with
 * keys_acquire(), signs with it as long as it likes, and releases it; a
 * rebuild never pulls a key out from under a signature in progress.
 */
#ifndef IDP_KEYS_H
#define IDP_KEYS_H

#include "jws.h"

#include <stdint.h>

struct dir;
struct err;
struct secretbox;
struct keys;
struct keyring;

/*
 * A cache of keyrings.  reload_s: how old a keyring may get before it is
 * rebuilt from the store.  retire_s: how long a retired key stays
 * published (at least the longest token lifetime).
 */
struct keys *keys_new(const struct secretbox *box, int64_t reload_s, int64_t retire_s);
void keys_free(struct keys *k);

/*
 * The tenant's current keyring, creating the tenant's first keys when it
 * has none.  Release with keyring_release().  NULL with err filled.
 */
struct keyring *keys_acquire(struct keys *k, struct dir *d, const char *tenant_id, int64_t now,
			     struct err *err);
void keyring_release(struct keyring *kr);

/* The signer for alg (borrowed from the keyring). */
const struct jws_key *keyring_signer(const struct keyring *kr, enum jws_alg alg);
/* Every published key, for verification. */
const struct jws_keyset *keyring_verifiers(const struct keyring *kr);
/* The JWKS document, rendered once per keyring. */
const char *keyring_jwks(const struct keyring *kr);

/*
 * Generate new signers (RS256 and ES256) for the tenant and retire the
 * current ones, which stay published for retire_s seconds.  For idpctl and
 * first use.
 */
int keys_rotate(struct dir *d, const struct secretbox *box, const char *tenant_id,
		int64_t retire_s, struct err *err);

#endif
