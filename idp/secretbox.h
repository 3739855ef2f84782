/*
 * secretbox: sealing small secrets (TOTP secrets, private signing keys)
 * with AES-256-GCM under the key file named in the config, so that a copy
 * of the store alone reveals none of them.
 *
 * The key file is text, mode 600, one key per line:
 *
 *     # comment
 *     KEY_ID BASE64URL_OF_32_RANDOM_BYTES
 *
 * The first key is the active one: everything is sealed under it.  The
 * keys after it are retired: they only open what was sealed under them
 * before a rotation (`idpctl mfa rotate-key` puts a new key first and
 * re-seals every value in the store; `idpctl mfa prune-keys` drops retired
 * keys nothing uses any more).  Key ids are 1..32 of [A-Za-z0-9_-].
 *
 * A sealed value is text, "sb1.KEY_ID.DATA" where DATA is the unpadded
 * base64url of a random 96-bit nonce, the ciphertext and the 128-bit tag.
 * The tag covers the version, the key id and a caller-chosen context string
 * (the additional authenticated data), which names where the value lives:
 * a value copied to another user's row, or another tenant's, fails to open.
 * Use secretbox_context() to build it so that every sealer and the key
 * rotation agree on it.
 *
 * A struct secretbox is immutable once loaded: share one between threads.
 */
#ifndef IDP_SECRETBOX_H
#define IDP_SECRETBOX_H

#include <stddef.h>

struct err;
struct secretbox;

#define SECRETBOX_KEY_LEN     32
#define SECRETBOX_KID_MAX     33    /* a key id and the NUL */
#define SECRETBOX_MAX_KEYS    64    /* keys in one file */
#define SECRETBOX_MAX_PLAIN   16384 /* longest secret that can be sealed */
#define SECRETBOX_CONTEXT_MAX 256

/*
 * Load the key file at path.  Refused with a message naming the file (and
 * the line): a missing file (ERR_NOT_FOUND), one that group or others can
 * access (ERR_DENIED), not a regular file, a malformed line, a key that is
 * not 32 bytes, a key id given twice, no key at all (ERR_INVALID).  Returns
 * the key ring, to be released with secretbox_free(), or NULL.
 */
struct secretbox *secretbox_load(const char *path, struct err *err);

/* Wipe and free the key ring; NULL is fine. */
void secretbox_free(struct secretbox *sb);

/* The active key's id; borrowed for the key ring's life. */
const char *secretbox_active_kid(const struct secretbox *sb);

/* Number of keys, and the id of the i-th (0 = active); borrowed. */
int secretbox_nkeys(const struct secretbox *sb);
const char *secretbox_kid(const struct secretbox *sb, int i);

/* 1 if the key ring holds a key with this id. */
int secretbox_has_kid(const struct secretbox *sb, const char *kid);

/*
 * The context string of a sealed value: "idp/KIND/TENANT_ID/OBJECT_ID" into
 * out (capacity cap).  The store's sealed columns use kind "totp" (object:
 * the user id) and "signing_key" (object: the key id).  0, or ERR_LIMIT.
 */
int secretbox_context(char *out, size_t cap, const char *kind, const char *tenant_id,
                      const char *object_id);

/* Capacity that secretbox_seal() needs for n bytes of secret, NUL included. */
size_t secretbox_sealed_cap(size_t n);

/*
 * Seal the n bytes at plain under the active key, bound to context, into
 * out (capacity cap, NUL-terminated text).  Returns the length of the text,
 * or a negative err code (ERR_LIMIT when out is too small or n too big).
 */
int secretbox_seal(const struct secretbox *sb, const char *context, const void *plain, size_t n,
                   char *out, size_t cap, struct err *err);

/*
 * Open a sealed value with the key it names, checking it was sealed with
 * this context.  Writes the secret into out (capacity cap) and returns its
 * length; the caller wipes out after use.  Errors: ERR_INVALID, not a
 * sealed value; ERR_NOT_FOUND, its key id is not in the key file (the file
 * is older than the value: reload it); ERR_DENIED, it does not open (a
 * wrong key file, another context, or altered).
 */
int secretbox_open(const struct secretbox *sb, const char *context, const char *sealed, void *out,
                   size_t cap, struct err *err) __attribute__((warn_unused_result));

/* The key id a sealed value names, into kid; 0, or ERR_INVALID. */
int secretbox_sealed_kid(const char *sealed, char kid[SECRETBOX_KID_MAX]);

/*
 * Create a new key file at path (it must not exist) holding one fresh
 * random key, mode 600.  Fills kid (may be NULL) with the new key's id.
 */
int secretbox_file_create(const char *path, char kid[SECRETBOX_KID_MAX], struct err *err);

/*
 * Put a fresh random key at the head of the key file at path (it becomes
 * the active key; the others are kept, retired).  The file is replaced
 * atomically (a temporary file, fsync, rename) and stays mode 600.  Fills
 * kid (may be NULL) with the new key's id.
 */
int secretbox_file_add_key(const char *path, char kid[SECRETBOX_KID_MAX], struct err *err);

/*
 * Rewrite the key file at path keeping the active key and the retired keys
 * for which keep(ctx, kid) returns non-zero; atomically, as above.  Fills
 * *dropped with the number of keys removed.
 */
int secretbox_file_prune(const char *path, int (*keep)(void *ctx, const char *kid), void *ctx,
                         int *dropped, struct err *err);

/*
 * Derive a 32-byte key for another purpose (label, e.g. "csrf") from the
 * active key, one-way: every node with the same key file derives the same.
 */
int secretbox_derive(const struct secretbox *sb, const char *label, unsigned char out[32]);

#endif
