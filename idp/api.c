/*
 * api: strict JSON request handling and uniform JSON errors.
 */
#include "api.h"

#include "log.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API_MAX_DEPTH 16

static int api_depth(json_t *v, int depth)
{
	const char *key;
	json_t *child;
	size_t i;

	if (depth > API_MAX_DEPTH)
		return -1;
	if (json_is_object(v)) {
		json_object_foreach(v, key, child)
			if (api_depth(child, depth + 1) != 0)
				return -1;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			if (api_depth(child, depth + 1) != 0)
				return -1;
	}
	return 0;
}

void api_reply(struct idp_req *r, int status, json_t *doc)
{
	char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(doc);
	r->resp->body.len = 0;
	r->resp->status = status;
	r->resp->content_type = "application/json";
	http_resp_header(r->resp, "Cache-Control", "no-store");
	if (s == NULL) {
		r->resp->status = 500;
		buf_puts(&r->resp->body,
			 "{\"error\":{\"code\":\"server_error\",\"message\":\"out of memory\"}}");
		return;
	}
	buf_puts(&r->resp->body, s);
	free(s);
}

void api_error(struct idp_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the message may quote input: jansson needs valid UTF-8, so fall back to a plain one */
	/* refusals of the JSON APIs are what isolation probes look like: keep a trace */
	if (status == 401 || status == 403 || status == 404)
		log_info("tenant %s: %s %s from %s: %d %s", r->tenant.name, r->http->method,
			 r->sub, r->http->client_ip, status, code);
	json_t *m = json_string(msg);
	if (m == NULL)
		m = json_string("the request is not valid");
	api_reply(r, status, json_pack("{s:{s:s, s:o}}", "error", "code", code, "message", m));
}

void api_store_error(struct idp_req *r, const struct err *err)
{
	switch (err->code) {
	case ERR_NOT_FOUND:
		api_error(r, 404, "not_found", "%s", err->msg);
		break;
	case ERR_EXISTS:
		api_error(r, 409, "conflict", "%s", err->msg);
		break;
	case ERR_INVALID:
	case ERR_LIMIT:
		api_error(r, 400, "invalid_request", "%s", err->msg);
		break;
	case ERR_DENIED:
		api_error(r, 403, "forbidden", "%s", err->msg);
		break;
	default:
		api_error(r, 503, "unavailable", "the store could not do it; try again");
		break;
	}
}

json_t *api_body(struct idp_req *r)
{
	const char *ctype = http_header(r->http, "Content-Type");
	json_error_t jerr;
	json_t *doc;

	if (ctype == NULL || (strncasecmp(ctype, "application/json", 16) != 0 &&
			      strncasecmp(ctype, "application/scim+json", 21) != 0)) {
		api_error(r, 415, "unsupported_media_type", "send application/json");
		return NULL;
	}
	if (r->http->body_len == 0) {
		api_error(r, 400, "invalid_json", "the body is empty");
		return NULL;
	}
	if (!utf8_valid(r->http->body, r->http->body_len)) {
		api_error(r, 400, "invalid_json", "the body is not valid UTF-8 text");
		return NULL;
	}
	doc = json_loadb(r->http->body, r->http->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		api_error(r, 400, "invalid_json", "line %d, column %d: %s", jerr.line, jerr.column,
			  jerr.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		api_error(r, 400, "invalid_json", "the body must be a JSON object");
		return NULL;
	}
	if (api_depth(doc, 0) != 0) {
		json_decref(doc);
		api_error(r, 400, "invalid_json", "nested deeper than %d levels", API_MAX_DEPTH);
		return NULL;
	}
	return doc;
}

static const char *api_type_name(enum api_type t)
{
	static const char *const names[] = {"a string", "true or false", "an integer",
					    "an array of strings", "an object", "a value"};
	return names[t];
}

int api_check(struct idp_req *r, json_t *obj, const struct api_field *fields, int creating)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const struct api_field *f = fields;
		int ok;
		while (f->name != NULL && strcmp(f->name, key) != 0)
			f++;
		if (f->name == NULL) {
			api_error(r, 400, "unknown_field", "unknown field '%.60s'", key);
			return -1;
		}
		switch (f->type) {
		case API_STRING:
			ok = json_is_string(v) &&
			     strlen(json_string_value(v)) == json_string_length(v) &&
			     (f->max == 0 || json_string_length(v) <= f->max);
			break;
		case API_BOOL:
			ok = json_is_boolean(v);
			break;
		case API_INT:
			ok = json_is_integer(v);
			break;
		case API_STRINGS: {
			size_t i;
			json_t *item;
			ok = json_is_array(v) && (f->max == 0 || json_array_size(v) <= f->max);
			json_array_foreach(v, i, item) ok &= json_is_string(item) &&
							     strlen(json_string_value(item)) ==
								     json_string_length(item);
			break;
		}
		case API_OBJECT:
			ok = json_is_object(v);
			break;
		default:
			ok = 1;
		}
		if (!ok) {
			if ((f->type == API_STRING || f->type == API_STRINGS) && f->max != 0 &&
			    (json_is_string(v) || json_is_array(v)))
				api_error(r, 400, "invalid_field",
					  "%s must be %s (at most %zu%s)", f->name,
					  api_type_name(f->type), f->max,
					  f->type == API_STRING ? " bytes" : " items");
			else
				api_error(r, 400, "invalid_field", "%s must be %s", f->name,
					  api_type_name(f->type));
			return -1;
		}
	}
	for (const struct api_field *f = fields; creating && f->name != NULL; f++) {
		if (f->required && json_object_get(obj, f->name) == NULL) {
			api_error(r, 400, "missing_field", "%s is required", f->name);
			return -1;
		}
	}
	return 0;
}

const char *api_str(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

int api_path_id(const char *path, const char *prefix, char *out, size_t cap, const char **rest)
{
	size_t plen = strlen(prefix), n;
	const char *id;

	if (strncmp(path, prefix, plen) != 0)
		return -1;
	id = path + plen;
	n = strcspn(id, "/");
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, id, n);
	out[n] = '\0';
	if (rest != NULL)
		*rest = id + n;
	return 0;
}

int api_limit(struct idp_req *r)
{
	const char *s = http_param(&r->http->query, "limit", NULL);
	char *end;
	long n;

	if (s == NULL)
		return 100;
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || n < 1 || n > 1000)
		return -1;
	return (int)n;
}
