/*
 * log: formatting and writing one escaped line per event.
 *
 * The level and the program name are the only global state: they are set
 * once at start-up.  Each line is built in a local buffer and written with
 * one write(2), so lines from several threads never interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_progname = "idp";
static enum log_level log_current = LOG_LEVEL_INFO;

static const char *const log_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *progname, enum log_level level)
{
	if (progname != NULL)
		log_progname = progname;
	log_current = level;
}

int log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcasecmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

enum log_level log_level(void)
{
	return log_current;
}

/* Copy src into dst, escaping control bytes as \n, \r, \t or \xHH. */
static size_t log_escape(char *dst, size_t cap, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *src != '\0' && n + 4 < cap; src++) {
		unsigned char c = (unsigned char)*src;
		if (c >= 0x20 && c != 0x7f) {
			dst[n++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			dst[n++] = '\\';
			dst[n++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else {
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[c >> 4];
			dst[n++] = hex[c & 15];
		}
	}
	dst[n] = '\0';
	return n;
}

__attribute__((format(printf, 3, 0))) static void log_emit(enum log_level level, int errnum,
							    const char *fmt, va_list ap)
{
	char msg[2048], line[4096];
	struct tm tm;
	time_t now;
	size_t n;
	int len;

	if (level > log_current)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0) {
		size_t used = strlen(msg);
		snprintf(msg + used, sizeof(msg) - used, ": %s", strerror(errnum));
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	len = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02dZ %s[%ld] %s: ",
		       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		       tm.tm_sec, log_progname, (long)getpid(), log_names[level]);
	if (len < 0)
		return;
	n = (size_t)len;
	n += log_escape(line + n, sizeof(line) - n - 1, msg);
	line[n++] = '\n';
	/* One write per line; a short write on a full pipe is not worth a retry loop. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

#define LOG_FN(name, level, with_errno)                                                            \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_emit(level, with_errno ? saved : 0, fmt, ap);                                  \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
