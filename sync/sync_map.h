/*
 * sync_map: from an LDAP entry to a cloud user or group.
 *
 * An entry is read once into a struct sync_entry (its DN, its anchor and
 * the attributes the search asked for).  The mapping then builds the cloud
 * object from templates ("{uid}@example.com", "{givenName} {sn}") and the
 * keys members are named by (see dir.h: the DN key and the uid key), and
 * refuses, with the attribute and the reason, a value that cannot be
 * stored: missing where required, not UTF-8, binary, control characters,
 * too long.  Nothing here talks to the server or the store.
 */
#ifndef IDP_SYNC_MAP_H
#define IDP_SYNC_MAP_H

#include "dir.h"

#include <lber.h>
#include <ldap.h>
#include <stddef.h>

struct err;
struct sync_config;

/* ---- templates ---- */

struct sync_template;

/*
 * Compile text: literal characters and {attribute} placeholders ("{{" and
 * "}}" for literal braces).  Returns NULL with why (capacity whylen) filled
 * when it is malformed.  Free with sync_template_free().
 */
struct sync_template *sync_template_parse(const char *text, char *why, size_t whylen);
void sync_template_free(struct sync_template *t);

/* For the config table: 0 if text is a valid template, else why is filled. */
int sync_template_check(const char *text, char *why, size_t whylen);

/* ---- entries ---- */

struct sync_attr {
	char *name;            /* as the server spelled it */
	struct berval **vals;  /* NULL-terminated */
};

struct sync_ahead;

struct sync_entry {
	char *dn;                      /* NULL for a state-only message */
	char uuid[DIR_ANCHOR_MAX];     /* entryUUID as 8-4-4-4-12 lowercase hex */
	struct sync_attr *attrs;
	size_t n, cap;
	struct sync_ahead *ahead;      /* mapped already (sync_map_ahead), or NULL */
	void *block;                   /* from sync_entry_read: dn and attrs live in this one
					  allocation; NULL: each is allocated by libldap/liblber */
};

/*
 * Read the DN and attributes of an entry message into e (which must be
 * cleared or zero).  The anchor comes from uuid16 (the 16 bytes of an RFC
 * 4533 state control) when given, else from the entryUUID attribute.
 */
int sync_entry_read(LDAP *ld, LDAPMessage *msg, const struct berval *uuid16,
		    struct sync_entry *e, struct err *err);

/* Free what e holds (its mapping ahead too) and zero it. */
void sync_entry_clear(struct sync_entry *e);

/* The values of attr (case-insensitive name), or NULL. Borrowed from e. */
struct berval **sync_entry_values(const struct sync_entry *e, const char *attr);

/* Format 16 raw bytes as a lowercase UUID; -1 if raw is not 16 bytes. */
int sync_uuid_format(const struct berval *raw, char out[DIR_ANCHOR_MAX]);

/* ---- keys ---- */

/*
 * The DN key of dn into out (capacity cap): "dn:" and the DN normalized
 * (RFC 4514 form, no optional spaces, a uniqueMember's "#'...'B" UID
 * dropped) and case-folded, so that the spellings of one DN meet.
 */
int sync_dn_key(const char *dn, size_t len, char *out, size_t cap, struct err *err);

/*
 * 1 if DN key key is base (another DN key) or below it: the base's DN at
 * its end after a ','.  Keys start with "dn:".
 */
int sync_dn_key_under(const char *key, const char *base);

/* 1 if dn is a plain DN that normalizes to itself (sync_dn_key's fast path); for the tests. */
int sync_dn_is_plain(const char *dn, size_t len);

/* ---- the mapping ---- */

struct sync_map {
	struct sync_template *upn, *display_name, *given_name, *surname, *mail;
	struct sync_template *group_name, *group_description;
	char *disabled_attr;
	char **user_attrs;  /* what a user search asks for (NULL-terminated) */
	char **group_attrs; /* what a group search asks for */
};

/* Compile the mapping of cfg; free with sync_map_free() (also after a failure). */
int sync_map_init(struct sync_map *m, const struct sync_config *cfg, struct err *err);
void sync_map_free(struct sync_map *m);

/*
 * Build u (zeroed first) and its keys from e.  0, or ERR_INVALID with err
 * naming the attribute and what is wrong with it.
 */
int sync_map_user(const struct sync_map *m, const struct sync_entry *e, struct dir_user *u,
		  char dn_key[DIR_SYNC_KEY_MAX], char uid_key[DIR_SYNC_KEY_MAX], struct err *err);

/* A group's member references, allocated by sync_map_group(). */
struct sync_members {
	char **keys;
	size_t n, cap;
	size_t unparsable; /* member values that are not DNs, skipped */
};
void sync_members_free(struct sync_members *mk);

/*
 * Build g (zeroed first), its DN key and its member references (member and
 * uniqueMember by DN, memberUid by uid) from e.  mk is reset first.
 */
int sync_map_group(const struct sync_map *m, const struct sync_entry *e, struct dir_group *g,
		   char dn_key[DIR_SYNC_KEY_MAX], struct sync_members *mk, struct err *err);

/* ---- mapping ahead ---- */

/*
 * A full sync reads pages in one thread and writes the store in another;
 * the mapping (DN normalization above all: libldap's parser) is done in
 * the reading one, which has time to spare.  sync_map_ahead() maps e as
 * a user or group, keeps the result in e (the fields packed in one
 * allocation, a group's member references) and frees e's attributes:
 * what waits in a page is then smaller than the entry was.  A value the
 * mapping refuses is kept as the error, for the writer to report.  e's DN
 * and anchor stay.  0, or ERR_INTERNAL when out of memory (e unchanged).
 * m is only read: threads may share it.
 */
int sync_map_ahead(const struct sync_map *m, enum dir_member_kind kind, struct sync_entry *e,
		   struct err *err);

/*
 * What sync_map_user() would give, from an entry mapped ahead as a user:
 * 0 with u and the keys filled, or the mapping's error.
 */
int sync_ahead_user(const struct sync_entry *e, struct dir_user *u,
		    char dn_key[DIR_SYNC_KEY_MAX], char uid_key[DIR_SYNC_KEY_MAX],
		    struct err *err);

/*
 * What sync_map_group() would give, from an entry mapped ahead as a group;
 * the member references move from e to mk (reset first).
 */
int sync_ahead_group(const struct sync_entry *e, struct dir_group *g,
		     char dn_key[DIR_SYNC_KEY_MAX], struct sync_members *mk, struct err *err);

#endif
