/*
 * idpctl: the administrator's command line.  What its command files share.
 *
 * Exit codes (also in the usage text): 0 done, 1 failed, 2 usage error,
 * 3 not found, 4 already exists or in conflict, 5 refused.
 */
#ifndef IDP_IDPCTL_H
#define IDP_IDPCTL_H

#include "dir.h"

#include <stdio.h>

enum {
	CTL_OK = 0,
	CTL_FAIL = 1,
	CTL_USAGE = 2,
	CTL_NOT_FOUND = 3,
	CTL_EXISTS = 4,
	CTL_DENIED = 5
};

struct idp_config;

struct ctl {
	struct dir *dir;
	const struct idp_config *cfg; /* NULL when run with -d only */
	int json;       /* --json: machine-readable output */
	const char *me; /* program name for messages */
};

/* Options after the command words: "--name value" pairs and "--flag"s. */
struct ctl_args {
	int argc;
	char **argv;
	unsigned char *used; /* which argv entries an option consumed */
};

/* Take argv for option lookups; ctl_args_free() releases it. */
int ctl_args_init(struct ctl_args *a, int argc, char **argv);
void ctl_args_free(struct ctl_args *a);
/* The value of --name, or NULL; marks it used. */
const char *ctl_opt(struct ctl_args *a, const char *name);
/* 1 if --name is present; marks it used. */
int ctl_flag(struct ctl_args *a, const char *name);
/* The n-th positional argument (not an option), or NULL. */
const char *ctl_pos(struct ctl_args *a, int n);
/* After all lookups: CTL_USAGE (with a message) if any argument was not understood. */
int ctl_args_done(struct ctl *c, struct ctl_args *a, int npos);

/* Print "idpctl: message" for err and map its code to an exit code. */
int ctl_fail(struct ctl *c, const struct err *err);
/* Print a usage error and return CTL_USAGE. */
int ctl_usage_error(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resolve a tenant name (or id) to its record; prints and returns an exit code. */
int ctl_tenant(struct ctl *c, const char *name, struct dir_tenant *t);

/*
 * Get a password: from --password-file (owner-only file) or, on a terminal,
 * prompted twice without echo.  buf is wiped by the caller.
 */
int ctl_password(struct ctl *c, struct ctl_args *a, char *buf, size_t cap);

/* Record an admin action done through idpctl in the tenant's audit log. */
/* The audit actor for what this run does: "idpctl:" and who ran it. */
void ctl_actor(char *out, size_t cap);

void ctl_audit(struct ctl *c, const char *tenant_id, const char *action, const char *type,
	       const char *target_id, const char *summary);

/* Format a time as "2026-11-24 23:40:01Z" (or "-" for 0) into buf. */
const char *ctl_time(long long t, char *buf, size_t cap);

int ctl_cmd_tenant(struct ctl *c, int argc, char **argv);
int ctl_cmd_user(struct ctl *c, int argc, char **argv);
int ctl_cmd_group(struct ctl *c, int argc, char **argv);
int ctl_cmd_app(struct ctl *c, int argc, char **argv);
int ctl_cmd_export(struct ctl *c, int argc, char **argv);
int ctl_cmd_import(struct ctl *c, int argc, char **argv);
int ctl_cmd_audit(struct ctl *c, int argc, char **argv);
int ctl_cmd_keys(struct ctl *c, int argc, char **argv);
int ctl_cmd_remote(struct ctl *c, int argc, char **argv);
int ctl_cmd_mfa(struct ctl *c, int argc, char **argv);
int ctl_cmd_role(struct ctl *c, int argc, char **argv);
int ctl_cmd_assignment(struct ctl *c, int argc, char **argv);
int ctl_cmd_deny(struct ctl *c, int argc, char **argv);
int ctl_cmd_report(struct ctl *c, int argc, char **argv); /* idpctl_report.c (issue 8) */

#endif
