/*
 * api: JSON in and out for the admin API, SCIM and the reports.
 *
 * Request bodies are parsed strictly: one JSON object, no duplicate keys,
 * bounded size and depth, and every member checked against a table of the
 * fields the endpoint knows (an unknown field is an error, not ignored: a
 * typo must not silently do nothing).  Errors are JSON too:
 *
 *     {"error": {"code": "invalid_field", "message": "displayName: ..."}}
 *
 * and bad input always gets a 4xx, never a 500.
 */
#ifndef IDP_API_H
#define IDP_API_H

#include "idp.h"

#include <jansson.h>

enum api_type { API_STRING, API_BOOL, API_INT, API_STRINGS, API_OBJECT, API_ANY };

struct api_field {
	const char *name;
	enum api_type type;
	size_t max;   /* STRING: longest (bytes); STRINGS: most items; 0 = no limit */
	int required; /* for creation */
};

/*
 * The request body as a JSON object, or NULL with a 400 response made
 * (missing, not JSON, not an object, duplicate keys, too deep).
 */
json_t *api_body(struct idp_req *r);

/*
 * Check obj against fields: unknown members, wrong types, over-long
 * strings, and (when creating) missing required members are refused with a
 * 400 naming the field.  0 if fine.
 */
int api_check(struct idp_req *r, json_t *obj, const struct api_field *fields, int creating);

/* A string member, or NULL when absent. */
const char *api_str(json_t *obj, const char *name);

/* Reply with doc (reference stolen) and status. */
void api_reply(struct idp_req *r, int status, json_t *doc);

/* Reply {"error": {"code", "message"}} with status. */
void api_error(struct idp_req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Map a store error to a reply: not found 404, exists 409, invalid 400, else 503. */
void api_store_error(struct idp_req *r, const struct err *err);

/* The path segment after prefix ("/admin/users/"), copied into out; 0 or -1. */
int api_path_id(const char *path, const char *prefix, char *out, size_t cap, const char **rest);

/* Pagination: ?limit (1..1000, default 100) and ?cursor. */
int api_limit(struct idp_req *r);

#endif
