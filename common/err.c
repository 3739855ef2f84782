/*
 * err: filling the caller-owned error record.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void err_prefix(struct err *err, const char *fmt, ...)
{
	char prefix[128], old[sizeof(err->msg)];
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
}

void err_clear(struct err *err)
{
	if (err == NULL)
		return;
	err->code = ERR_OK;
	err->msg[0] = '\0';
}

const char *err_name(int code)
{
	switch (code) {
	case ERR_OK:
		return "ok";
	case ERR_NOT_FOUND:
		return "not_found";
	case ERR_EXISTS:
		return "exists";
	case ERR_INVALID:
		return "invalid";
	case ERR_DENIED:
		return "denied";
	case ERR_IO:
		return "io";
	case ERR_BUSY:
		return "busy";
	case ERR_VERSION:
		return "version";
	case ERR_CORRUPT:
		return "corrupt";
	case ERR_READONLY:
		return "readonly";
	case ERR_LIMIT:
		return "limit";
	case ERR_UNAVAILABLE:
		return "unavailable";
	default:
		return "internal";
	}
}
