/*
 * log: one line per event on stderr, with a level.
 *
 *     2026-11-24T23:40:01Z idp-sync[1234] warn: ldap://127.0.0.1:3890: connect: Connection refused
 *
 * Control characters in a message (a newline in a user name someone typed,
 * say) are escaped, so one event is always one line and a client cannot
 * forge log lines.  Never pass a password, code, secret or token: log a
 * token's jti or an object's id instead.
 */
#ifndef IDP_LOG_H
#define IDP_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Name the program (borrowed for the process lifetime) and set the level. */
void log_init(const char *progname, enum log_level level);

/* Parse "error", "warn", "info" or "debug"; -1 if it is none of them. */
int log_level_parse(const char *s);

/* Current level, for callers that want to skip building a debug message. */
enum log_level log_level(void);

/* Error: the program cannot go on with what it was doing. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warning with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warning without errno. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only printed at LOG_LEVEL_DEBUG. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
