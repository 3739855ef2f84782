/*
 * config: the table-driven INI loader.
 *
 * libinih does the lexing; a reader of ours feeds it one line at a time so
 * that we know the line number (Debian's libinih does not pass it to the
 * handler) and can refuse lines longer than its fixed buffer instead of
 * letting it split them into two settings.
 */
#include "config.h"

#include "err.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct cfg_parse {
	const char *name;          /* file name for messages */
	const char *text, *cursor; /* the whole file and the reader's position */
	int line;                  /* number of the line last handed to libinih */
	int continuation;          /* that line began with whitespace */
	int section_line;          /* line of the last [section] header */
	const struct cfg_key *keys;
	void *target;
	unsigned char *seen; /* per key: set in the file */
	const struct cfg_key *last; /* key of the previous name=value line */
	struct err *err;
	int failed;
};

static int cfg_fail(struct cfg_parse *p, const char *section, const char *key, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

static int cfg_fail(struct cfg_parse *p, const char *section, const char *key, const char *fmt,
		    ...)
{
	char why[192];
	va_list ap;

	if (p->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (section != NULL && key != NULL)
		err_set(p->err, ERR_INVALID, "%s:%d: [%s] %s: %s", p->name, p->line, section, key,
			why);
	else
		err_set(p->err, ERR_INVALID, "%s:%d: %s", p->name, p->line, why);
	p->failed = 1;
	return 0;
}

/* libinih reader: the next line, or NULL at the end. */
static char *cfg_reader(char *buf, int num, void *stream)
{
	struct cfg_parse *p = stream;
	const char *nl;
	size_t len;

	if (p->failed || *p->cursor == '\0')
		return NULL;
	nl = strchr(p->cursor, '\n');
	len = nl != NULL ? (size_t)(nl - p->cursor) + 1 : strlen(p->cursor);
	p->line++;
	if (len + 1 > (size_t)num || len > CFG_MAX_LINE + 1) {
		cfg_fail(p, NULL, NULL, "line longer than %d characters; continue a long value "
					"on indented lines",
			 CFG_MAX_LINE);
		return NULL;
	}
	memcpy(buf, p->cursor, len);
	buf[len] = '\0';
	p->continuation = (buf[0] == ' ' || buf[0] == '\t') && strspn(buf, " \t\r\n") != len;
	if (buf[strspn(buf, " \t")] == '[')
		p->section_line = p->line;
	p->cursor += len;
	return buf;
}

static int cfg_parse_scaled(const char *s, long long *out, const char *units, const long long *mul)
{
	char *end;
	long long v;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	if (*end != '\0') {
		const char *u = end[1] == '\0' ? strchr(units, *end) : NULL;
		if (u == NULL)
			return -1;
		if (v > LLONG_MAX / mul[u - units])
			return -1;
		v *= mul[u - units];
	}
	*out = v;
	return 0;
}

int cfg_parse_duration(const char *s, long long *out)
{
	static const long long mul[] = {1, 60, 3600, 86400};
	return cfg_parse_scaled(s, out, "smhd", mul);
}

static int cfg_parse_size(const char *s, long long *out)
{
	static const long long mul[] = {1024, 1024, 1024 * 1024, 1024 * 1024 * 1024};
	return cfg_parse_scaled(s, out, "kKMG", mul);
}

static int cfg_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Store value for key k into the target; 0, or -1 with the failure recorded. */
static int cfg_assign(struct cfg_parse *p, const struct cfg_key *k, const char *value)
{
	char *field = (char *)p->target + k->offset;
	char why[160] = "";
	long long n = 0;

	switch (k->type) {
	case CFG_STRING:
	case CFG_LIST: {
		char *copy;
		if (k->check != NULL && k->check(value, why, sizeof(why)) != 0)
			return cfg_fail(p, k->section, k->name, "%s", why), -1;
		copy = strdup(value);
		if (copy == NULL)
			return cfg_fail(p, k->section, k->name, "out of memory"), -1;
		if (k->type == CFG_STRING) {
			free(*(char **)field);
			*(char **)field = copy;
		} else {
			struct cfg_list *l = (struct cfg_list *)field;
			char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
			if (v == NULL) {
				free(copy);
				return cfg_fail(p, k->section, k->name, "out of memory"), -1;
			}
			v[l->n++] = copy;
			l->v = v;
		}
		return 0;
	}
	case CFG_INT: {
		char *end;
		errno = 0;
		n = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0')
			return cfg_fail(p, k->section, k->name, "'%.40s' is not an integer", value),
			       -1;
		break;
	}
	case CFG_DURATION:
		if (cfg_parse_duration(value, &n) != 0)
			return cfg_fail(p, k->section, k->name,
					"'%.40s' is not a duration (like 90, 30s, 15m, 12h, 7d)",
					value),
			       -1;
		break;
	case CFG_SIZE:
		if (cfg_parse_size(value, &n) != 0)
			return cfg_fail(p, k->section, k->name,
					"'%.40s' is not a size (like 4096, 64k, 16M, 1G)", value),
			       -1;
		break;
	case CFG_BOOL: {
		int b;
		if (cfg_parse_bool(value, &b) != 0)
			return cfg_fail(p, k->section, k->name,
					"'%.40s' is not a boolean (true or false)", value),
			       -1;
		*(int *)field = b;
		return 0;
	}
	case CFG_ENUM:
		for (int i = 0; k->choices[i] != NULL; i++) {
			if (strcasecmp(value, k->choices[i]) == 0) {
				*(int *)field = i;
				return 0;
			}
		}
		{
			char list[128] = "";
			for (int i = 0; k->choices[i] != NULL; i++) {
				size_t used = strlen(list);
				snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
					 k->choices[i]);
			}
			return cfg_fail(p, k->section, k->name, "'%.40s' is not one of: %s", value,
					list),
			       -1;
		}
	}
	if (n < k->min || n > k->max)
		return cfg_fail(p, k->section, k->name, "%lld is out of range %lld..%lld", n,
				k->min, k->max),
		       -1;
	*(long long *)field = n;
	return 0;
}

/* Append a continuation line to the string value of key k. */
static int cfg_append(struct cfg_parse *p, const struct cfg_key *k, const char *value)
{
	char *field = (char *)p->target + k->offset, **slot, *joined;
	size_t a, b;

	if (k->type == CFG_LIST) {
		struct cfg_list *l = (struct cfg_list *)field;
		slot = &l->v[l->n - 1];
	} else if (k->type == CFG_STRING) {
		slot = (char **)field;
	} else {
		return cfg_fail(p, k->section, k->name, "only text values continue on a new line");
	}
	a = strlen(*slot);
	b = strlen(value);
	if (a + b + 2 > 64 * 1024)
		return cfg_fail(p, k->section, k->name, "value longer than 64 KiB");
	joined = realloc(*slot, a + b + 2);
	if (joined == NULL)
		return cfg_fail(p, k->section, k->name, "out of memory");
	joined[a] = ' ';
	memcpy(joined + a + 1, value, b + 1);
	*slot = joined;
	if (k->check != NULL) {
		char why[160] = "";
		if (k->check(joined, why, sizeof(why)) != 0)
			return cfg_fail(p, k->section, k->name, "%s", why);
	}
	return 1;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse *p = user;
	const struct cfg_key *k;
	size_t i;

	if (p->failed)
		return 0;
	if (p->continuation && p->last != NULL && strcmp(p->last->section, section) == 0 &&
	    strcmp(p->last->name, name) == 0)
		return cfg_append(p, p->last, value);
	p->last = NULL;
	for (i = 0, k = p->keys; k->name != NULL; k++, i++)
		if (strcmp(k->section, section) == 0 && strcmp(k->name, name) == 0)
			break;
	if (k->name == NULL) {
		int known_section = 0;
		for (const struct cfg_key *s = p->keys; s->name != NULL; s++)
			known_section |= strcmp(s->section, section) == 0;
		if (*section == '\0')
			return cfg_fail(p, NULL, NULL,
					"'%.60s' is outside any [section] (is a header above it "
					"malformed?)",
					name);
		if (!known_section) {
			p->line = p->section_line;
			return cfg_fail(p, NULL, NULL, "unknown section [%.60s]", section);
		}
		return cfg_fail(p, section, name, "unknown key");
	}
	if (p->seen[i] && k->type != CFG_LIST)
		return cfg_fail(p, section, name, "set twice (first value kept nowhere: remove one)");
	if (*value == '\0' && k->type != CFG_STRING && k->type != CFG_LIST)
		return cfg_fail(p, section, name, "empty value");
	if (cfg_assign(p, k, value) != 0)
		return 0;
	p->seen[i] = 1;
	p->last = k;
	return 1;
}

static int cfg_run(const char *name, const char *text, const struct cfg_key *keys, void *target,
		   struct err *err)
{
	struct cfg_parse p;
	size_t nkeys = 0, i;
	int rc;

	for (const struct cfg_key *k = keys; k->name != NULL; k++)
		nkeys++;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.text = p.cursor = text;
	p.keys = keys;
	p.target = target;
	p.err = err;
	p.seen = calloc(nkeys + 1, 1);
	if (p.seen == NULL)
		return err_set(err, ERR_INTERNAL, "%s: out of memory", name);

	rc = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
	if (!p.failed && rc > 0) {
		p.line = rc;
		cfg_fail(&p, NULL, NULL, "syntax error: expected [section], key = value or a comment");
	}
	for (i = 0; !p.failed && i < nkeys; i++) {
		const struct cfg_key *k = &keys[i];
		if (p.seen[i])
			continue;
		if (k->flags & CFG_REQUIRED) {
			err_set(err, ERR_INVALID, "%s: [%s] %s: required key missing", name,
				k->section, k->name);
			p.failed = 1;
		} else if (k->def != NULL) {
			p.line = 0;
			if (cfg_assign(&p, k, k->def) != 0)
				/* a bad default is our bug; say so plainly */
				err_set(err, ERR_INTERNAL, "%s: [%s] %s: built-in default '%s' invalid",
					name, k->section, k->name, k->def);
		}
	}
	free(p.seen);
	if (p.failed) {
		cfg_free(keys, target);
		return err->code != 0 ? err->code : ERR_INVALID;
	}
	return 0;
}

int cfg_load_string(const char *name, const char *text, const struct cfg_key *keys, void *target,
		    struct err *err)
{
	struct err local;

	if (err == NULL)
		err = &local;
	err_clear(err);
	if (strlen(text) > CFG_MAX_FILE)
		return err_set(err, ERR_LIMIT, "%s: larger than %d bytes", name, CFG_MAX_FILE);
	return cfg_run(name, text, keys, target, err);
}

int cfg_load(const char *path, const struct cfg_key *keys, void *target, struct err *err)
{
	struct err local;
	struct stat st;
	char *text = NULL;
	size_t len;
	FILE *f;
	int rc;

	if (err == NULL)
		err = &local;
	err_clear(err);
	f = fopen(path, "re");
	if (f == NULL)
		return err_set(err, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, "%s: %s", path,
			       strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return err_set(err, ERR_INVALID, "%s: not a regular file", path);
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		fclose(f);
		return err_set(err, ERR_DENIED,
			       "%s: group or others may write it (mode %04o); chmod go-w it", path,
			       (unsigned)(st.st_mode & 07777));
	}
	if (st.st_size > CFG_MAX_FILE) {
		fclose(f);
		return err_set(err, ERR_LIMIT, "%s: larger than %d bytes", path, CFG_MAX_FILE);
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		fclose(f);
		return err_set(err, ERR_INTERNAL, "%s: out of memory", path);
	}
	len = fread(text, 1, (size_t)st.st_size, f);
	fclose(f);
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		free(text);
		return err_set(err, ERR_INVALID, "%s: contains a NUL byte: not a text file", path);
	}
	rc = cfg_run(path, text, keys, target, err);
	free(text);
	return rc;
}

void cfg_free(const struct cfg_key *keys, void *target)
{
	for (const struct cfg_key *k = keys; k->name != NULL; k++) {
		char *field = (char *)target + k->offset;
		if (k->type == CFG_STRING) {
			free(*(char **)field);
			*(char **)field = NULL;
		} else if (k->type == CFG_LIST) {
			struct cfg_list *l = (struct cfg_list *)field;
			for (size_t i = 0; i < l->n; i++)
				free(l->v[i]);
			free(l->v);
			l->v = NULL;
			l->n = 0;
		}
	}
}
