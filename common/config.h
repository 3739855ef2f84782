/*
 * config: INI files parsed (by libinih) into a typed struct from a table.
 *
 * Each program describes its settings once, as an array of struct cfg_key
 * ending with CFG_END: section, key, type, where the value goes, default,
 * bounds.  cfg_load() fills the struct from the file, applies defaults and
 * reports the first problem as "FILE:LINE: [section] key: reason": unknown
 * sections and keys, a key given twice, values of the wrong type or out of
 * range, missing required keys, over-long lines.  After cfg_load() the
 * struct is read-only; cfg_free() releases the strings in it.
 *
 * A value longer than one line continues on following lines that start
 * with whitespace; the pieces are joined with one space.
 */
#ifndef IDP_CONFIG_H
#define IDP_CONFIG_H

#include <stddef.h>

struct err;

enum cfg_type {
	CFG_STRING,   /* char *, heap; NULL when absent without default */
	CFG_INT,      /* long long, bounded by min..max */
	CFG_BOOL,     /* int: true/false, yes/no, on/off, 1/0 */
	CFG_DURATION, /* long long seconds: "90", "30s", "15m", "12h", "7d" */
	CFG_SIZE,     /* long long bytes: "4096", "64k", "16M", "1G" */
	CFG_ENUM,     /* int: index of the value in choices */
	CFG_LIST      /* struct cfg_list: every occurrence of the key appends */
};

enum { CFG_REQUIRED = 1 };

struct cfg_list {
	char **v;
	size_t n;
};

struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	size_t offset;              /* offsetof() the field in the target struct */
	const char *def;            /* default, as it would be written in the file */
	int flags;                  /* CFG_REQUIRED */
	long long min, max;         /* inclusive bounds for INT, DURATION, SIZE */
	const char *const *choices; /* ENUM: NULL-terminated */
	/* Extra check of a STRING or LIST value; 0 if fine, else fills why. */
	int (*check)(const char *value, char *why, size_t whylen);
};

#define CFG_END {NULL, NULL, CFG_STRING, 0, NULL, 0, 0, 0, NULL, NULL}

/* Largest configuration file accepted, and longest line (libinih's limit). */
#define CFG_MAX_FILE (1024 * 1024)
#define CFG_MAX_LINE 196

/*
 * Parse the file at path into target according to keys.  Returns 0, or a
 * negative err code with err naming the file, line, key and reason; on
 * failure target holds nothing that needs cfg_free().
 */
int cfg_load(const char *path, const struct cfg_key *keys, void *target, struct err *err);

/* Same, from a string; name is used in messages in place of a path. */
int cfg_load_string(const char *name, const char *text, const struct cfg_key *keys, void *target,
		    struct err *err);

/* Free the strings and lists cfg_load() put into target. */
void cfg_free(const struct cfg_key *keys, void *target);

/* Parse a duration like "15m" into seconds; 0 or -1. */
int cfg_parse_duration(const char *s, long long *out);

#endif
