/*
 * sync_config: the settings of idp-sync, one struct filled from one file
 * (conf/sync.conf documents every key) and read-only afterwards.
 */
#ifndef IDP_SYNC_CONFIG_H
#define IDP_SYNC_CONFIG_H

#include "config.h"

struct err;

enum sync_mode { SYNC_MODE_PERSIST = 0, SYNC_MODE_POLL = 1 };

/* Bases of users and groups together, at most. */
#define SYNC_MAX_BASES 64

struct sync_config {
	/* [ldap] */
	char *uri;                /* ldap://HOST:PORT or ldaps://HOST:PORT */
	int starttls;             /* upgrade ldap:// with StartTLS (required then) */
	char *ca_file;            /* PEM CA certificates for TLS; NULL = the system's */
	char *bind_dn;            /* the sync account */
	char *bind_password_file; /* owner-only file holding its password */
	long long timeout;        /* seconds: connect, bind, and silence on a read */
	long long page_size;      /* entries per page of a full sync (RFC 2696) */
	int insecure;             /* allow ldap:// without TLS to a non-loopback host */
	/* [users] and [groups] */
	struct cfg_list user_bases;
	char *user_filter;
	struct cfg_list group_bases;
	char *group_filter;
	/* [mapping]: templates like "{uid}@example.com" */
	char *map_upn;
	char *map_display_name;
	char *map_given_name;
	char *map_surname;
	char *map_mail;
	char *map_disabled;       /* attribute whose presence disables a user; NULL = none */
	char *map_group_name;
	char *map_group_description;
	/* [store] */
	char *store_path;
	long long busy_timeout_ms;
	char *tenant;             /* target tenant, by name */
	char *connector;          /* name of this source in the sync state */
	/* [sync] */
	int mode;                 /* enum sync_mode */
	long long poll_interval;  /* seconds between refreshOnly polls (mode = poll) */
	long long delete_threshold;
	long long batch_size;     /* changes per transaction, at most */
	long long retry_max;      /* seconds: the longest wait between reconnects */
	long long cycle_window;   /* seconds a persist cycle record covers */
	/* [log] */
	int log_level;            /* enum log_level */
};

/*
 * Load path into cfg and check what the table cannot: the URI, the DNs and
 * filters, the templates, TLS and the bases' overlap.  0, or a negative err
 * code with err naming the file, key and reason.  On failure cfg holds
 * nothing to free.
 */
int sync_config_load(const char *path, struct sync_config *cfg, struct err *err);

/* The same from text (for tests); name is used in messages. */
int sync_config_load_string(const char *name, const char *text, struct sync_config *cfg,
			    struct err *err);

/* Release what sync_config_load() allocated. */
void sync_config_free(struct sync_config *cfg);

/*
 * A digest (64 hex digits and NUL) of everything that decides what the
 * sync reads and writes: server, bases, filters, mapping.  A stored cookie
 * made under another digest is not used: the next cycle is a full sync.
 */
void sync_config_scope_hash(const struct sync_config *cfg, char out[65]);

#endif
