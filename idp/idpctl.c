/*
 * idpctl: entry point, option handling and the helpers every command uses.
 *
 * idpctl works on the store directly (the path comes from the idp's config
 * file, or -d).  Secrets never come from argv, where any user of the
 * machine can read them: passwords are prompted for or read from an
 * owner-only file.
 */
#include "idpctl.h"

#include "clock.h"
#include "idp_config.h"
#include "log.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: idpctl [-c CONFIG | -d STORE] [--json] COMMAND ...\n"
	"\n"
	"  -c CONFIG   the idp's config file (default $IDP_CONFIG, else /etc/idp/idp.conf)\n"
	"  -d STORE    use this store file instead of the config's [store] path\n"
	"  --json      print results as JSON\n"
	"\n"
	"commands:\n"
	"  tenant create NAME [--display-name TEXT] [--mfa-required]\n"
	"  tenant list | show NAME | delete NAME --yes\n"
	"  user create TENANT UPN [--display-name T] [--given-name T] [--surname T]\n"
	"              [--mail M] [--mfa-required] [--password-file F | --no-password]\n"
	"  user list TENANT [--deleted] [--after UPN] [--limit N]\n"
	"  user show TENANT UPN|ID\n"
	"  user enable|disable|delete|restore TENANT UPN|ID\n"
	"  user set-password TENANT UPN|ID [--password-file F]\n"
	"  user purge TENANT UPN|ID --yes\n"
	"  user groups TENANT UPN|ID             (transitive membership)\n"
	"  group create TENANT NAME [--description TEXT]\n"
	"  group list TENANT | show TENANT NAME | delete TENANT NAME\n"
	"  group add-member|remove-member TENANT GROUP (--user UPN | --group NAME)\n"
	"  app create TENANT NAME [--redirect-uri URI]... [--grant G]... [--public]\n"
	"             [--mfa-required] [--alg RS256|ES256]\n"
	"  app list TENANT | show|delete|rotate-secret TENANT CLIENT_ID\n"
	"  export TENANT [--output FILE]\n"
	"  import FILE\n"
	"  audit TENANT [--after ID] [--limit N]\n"
	"  keys list|rotate TENANT               (token-signing keys)\n"
	"  mfa status TENANT UPN|ID              (second factor, no secrets)\n"
	"  mfa reset TENANT UPN|ID [--reason TEXT]   (audited; the user enrolls again)\n"
	"  mfa keygen FILE                       (a new secret key file, mode 600)\n"
	"  mfa check-keys --key-file FILE        (does FILE open every sealed secret?)\n"
	"  mfa rotate-key --key-file FILE [--resume]  (new key, re-seal every secret)\n"
	"  mfa prune-keys --key-file FILE        (drop retired keys nothing uses)\n"
	"  role list TENANT | show TENANT ROLE | delete TENANT ROLE\n"
	"  role create TENANT NAME [--description T] [--action P]... [--not-action P]...\n"
	"              [--data-action P]... [--not-data-action P]... [--assignable-scope S]...\n"
	"  role update TENANT ROLE [--name N] [--description T] [list options as in create;\n"
	"              each replaces its list, '' empties it]\n"
	"  assignment create TENANT --role ROLE (--user UPN | --group NAME | --app CLIENT_ID)\n"
	"              --scope S\n"
	"  assignment list TENANT [--role ROLE] [--user U | --group G | --app A] [--scope S]\n"
	"  assignment delete TENANT ID\n"
	"  deny create TENANT NAME --scope S (--user U | --group G | --app A | --everyone)...\n"
	"              [--exclude-user U | --exclude-group G | --exclude-app A]...\n"
	"              [--action P]... [--not-action P]... [--data-action P]...\n"
	"              [--not-data-action P]... [--description T]\n"
	"  deny update TENANT ID [--name N] [--scope S] [--description T] [options as in\n"
	"              create; principals, exclusions and each list replace; --no-exclusions]\n"
	"  deny list TENANT | show TENANT ID | delete TENANT ID\n"
	"  report signins TENANT [--user U] [--app A] [--result R] [--risk L] [--ip IP]\n"
	"              [--since DUR | --from T] [--to T] [--limit N]   (sign-in log)\n"
	"  report risky TENANT [--state S] [--since DUR]   (risky users and sign-ins)\n"
	"  report lockouts TENANT | unlock TENANT NAME       (brute-force locks)\n"
	"  report dismiss|confirm TENANT UPN|ID [--note T]   (confirm revokes sessions\n"
	"              and refresh tokens; both audited)\n"
	"  report policy TENANT [--require-mfa-at L --block-at L | --reset]\n"
	"              (L: low, medium, high or never)\n"
	"  report purge --older-than DUR                     (sign-in rows, every tenant)\n"
	"\n"
	"  remote --url https://HOST/TENANT --client-id ID --client-secret-file F [--ca F]\n"
	"         METHOD PATH [--data JSON | --data-file F]   (the admin API of a running idp)\n"
	"\n"
	"exit codes: 0 done, 1 failed, 2 usage error, 3 not found, 4 exists or conflict,\n"
	"            5 refused\n";

static void ctl_usage(FILE *f)
{
	fputs(usage_text, f);
}

int ctl_usage_error(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", c->me);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(run '%s --help' for usage)\n", c->me);
	return CTL_USAGE;
}

int ctl_fail(struct ctl *c, const struct err *err)
{
	fprintf(stderr, "%s: %s\n", c->me, err->msg);
	switch (err->code) {
	case ERR_NOT_FOUND:
		return CTL_NOT_FOUND;
	case ERR_EXISTS:
		return CTL_EXISTS;
	case ERR_DENIED:
		return CTL_DENIED;
	case ERR_INVALID:
		return CTL_USAGE;
	default:
		return CTL_FAIL;
	}
}

int ctl_args_init(struct ctl_args *a, int argc, char **argv)
{
	a->argc = argc;
	a->argv = argv;
	a->used = calloc((size_t)argc + 1, 1);
	return a->used != NULL ? 0 : -1;
}

void ctl_args_free(struct ctl_args *a)
{
	free(a->used);
	a->used = NULL;
}

const char *ctl_opt(struct ctl_args *a, const char *name)
{
	for (int i = 0; i + 1 < a->argc; i++) {
		if (strcmp(a->argv[i], name) == 0 && !a->used[i]) {
			a->used[i] = a->used[i + 1] = 1;
			return a->argv[i + 1];
		}
	}
	return NULL;
}

int ctl_flag(struct ctl_args *a, const char *name)
{
	for (int i = 0; i < a->argc; i++) {
		if (strcmp(a->argv[i], name) == 0 && !a->used[i]) {
			a->used[i] = 1;
			return 1;
		}
	}
	return 0;
}

const char *ctl_pos(struct ctl_args *a, int n)
{
	for (int i = 0; i < a->argc; i++) {
		if (a->used[i] || (a->argv[i][0] == '-' && a->argv[i][1] == '-'))
			continue;
		if (n-- == 0)
			return a->argv[i];
	}
	return NULL;
}

int ctl_args_done(struct ctl *c, struct ctl_args *a, int npos)
{
	int seen = 0;

	for (int i = 0; i < a->argc; i++) {
		if (a->used[i])
			continue;
		if (a->argv[i][0] == '-' && a->argv[i][1] == '-')
			return ctl_usage_error(c, "unknown option '%s' (or it needs a value)",
					       a->argv[i]);
		if (++seen > npos)
			return ctl_usage_error(c, "unexpected argument '%s'", a->argv[i]);
	}
	if (seen < npos)
		return ctl_usage_error(c, "missing argument");
	return CTL_OK;
}

int ctl_tenant(struct ctl *c, const char *name, struct dir_tenant *t)
{
	struct err err = {0};

	if (dir_tenant_get_by_name(c->dir, name, t, &err) == 0)
		return CTL_OK;
	if (err.code == ERR_NOT_FOUND && dir_tenant_get(c->dir, name, t, &err) == 0)
		return CTL_OK;
	return ctl_fail(c, &err);
}

const char *ctl_time(long long t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(buf, cap, "-");
		return buf;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

/* Read one line from the terminal with echo off. */
static int ctl_read_hidden(int fd, const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	size_t n = 0;
	int rc = 0;

	if (write(fd, prompt, strlen(prompt)) < 0 || tcgetattr(fd, &old) != 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
		return -1;
	for (;;) {
		char ch;
		ssize_t got = read(fd, &ch, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || ch == '\n')
			break;
		if (n + 1 >= cap) {
			rc = -1;
			continue;
		}
		buf[n++] = ch;
	}
	buf[n] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		rc = -1;
	return rc;
}

int ctl_password(struct ctl *c, struct ctl_args *a, char *buf, size_t cap)
{
	const char *file = ctl_opt(a, "--password-file");
	char again[DIR_PASSWORD_MAX + 2];
	struct err err = {0};
	int fd, rc;

	if (file != NULL) {
		if (secret_read_file(file, buf, cap, &err) < 0)
			return ctl_fail(c, &err);
		if (buf[0] == '\0')
			return ctl_usage_error(c, "%s: the password file is empty", file);
		return CTL_OK;
	}
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return ctl_usage_error(c, "no terminal to ask for a password on: use "
					  "--password-file FILE (mode 600)");
	rc = ctl_read_hidden(fd, "Password: ", buf, cap);
	if (rc == 0)
		rc = ctl_read_hidden(fd, "Again: ", again, sizeof(again));
	close(fd);
	if (rc != 0 || buf[0] == '\0') {
		secret_wipe(again, sizeof(again));
		return ctl_usage_error(c, "no password given (or longer than %d bytes)",
				       DIR_PASSWORD_MAX);
	}
	rc = strcmp(buf, again) == 0 ? CTL_OK : CTL_USAGE;
	secret_wipe(again, sizeof(again));
	if (rc != CTL_OK)
		return ctl_usage_error(c, "the two passwords differ");
	return CTL_OK;
}

void ctl_actor(char *out, size_t cap)
{
	const char *who = getenv("SUDO_USER");
	struct passwd *pw = who == NULL ? getpwuid(geteuid()) : NULL;

	if (who == NULL)
		who = pw != NULL ? pw->pw_name : "?";
	snprintf(out, cap, "idpctl:%s", who);
}

void ctl_audit(struct ctl *c, const char *tenant_id, const char *action, const char *type,
	       const char *target_id, const char *summary)
{
	struct dir_audit a = {0};
	struct err err = {0};

	ctl_actor(a.actor, sizeof(a.actor));
	snprintf(a.action, sizeof(a.action), "%s", action);
	snprintf(a.target_type, sizeof(a.target_type), "%s", type);
	snprintf(a.target_id, sizeof(a.target_id), "%s", target_id);
	snprintf(a.summary, sizeof(a.summary), "%s", summary);
	if (dir_audit_append(c->dir, tenant_id, &a, &err) != 0)
		fprintf(stderr, "%s: warning: audit record not written: %s\n", c->me, err.msg);
}

static const struct {
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
} ctl_commands[] = {
	{"tenant", ctl_cmd_tenant}, {"user", ctl_cmd_user},     {"group", ctl_cmd_group},
	{"app", ctl_cmd_app},       {"export", ctl_cmd_export}, {"import", ctl_cmd_import},
	{"audit", ctl_cmd_audit},   {"keys", ctl_cmd_keys},     {"mfa", ctl_cmd_mfa},
	{"role", ctl_cmd_role},     {"assignment", ctl_cmd_assignment}, {"deny", ctl_cmd_deny},
	{"remote", ctl_cmd_remote},
	{"report", ctl_cmd_report},
};

int main(int argc, char **argv)
{
	struct ctl c = {NULL, NULL, 0, "idpctl"};
	struct idp_config cfg = {0};
	struct dir_options opts = {0};
	const char *config = NULL, *store = NULL;
	struct err err = {0};
	int i, rc = CTL_USAGE, have_cfg = 0;

	log_init("idpctl", LOG_LEVEL_WARN);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			ctl_usage(stdout);
			return CTL_OK;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			store = argv[++i];
		} else if (strcmp(argv[i], "--json") == 0) {
			c.json = 1;
		} else {
			return ctl_usage_error(&c, "unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	/* remote talks to a running idp over HTTPS: no store, no config here */
	if (strcmp(argv[i], "remote") == 0)
		return ctl_cmd_remote(&c, argc - i - 1, argv + i + 1);
	if (config == NULL)
		config = getenv("IDP_CONFIG");
	for (size_t k = 0; k < sizeof(ctl_commands) / sizeof(ctl_commands[0]); k++)
		if (strcmp(argv[i], ctl_commands[k].name) == 0)
			rc = CTL_OK;
	if (rc != CTL_OK)
		return ctl_usage_error(&c, "unknown command '%s'", argv[i]);

	{
		/* -c must load; the default config may be absent when -d names the store */
		int optional = config == NULL && store != NULL;
		if (config == NULL)
			config = "/etc/idp/idp.conf";
		if (idp_config_load(config, &cfg, &err) != 0) {
			if (!optional || err.code != ERR_NOT_FOUND)
				return ctl_fail(&c, &err);
		} else {
			have_cfg = 1;
			c.cfg = &cfg;
			opts.busy_timeout_ms = (int)cfg.busy_timeout_ms;
			opts.argon2.t_cost = (uint32_t)cfg.argon2_t_cost;
			opts.argon2.m_cost_kib = (uint32_t)cfg.argon2_m_cost_kib;
			opts.argon2.lanes = (uint32_t)cfg.argon2_lanes;
		}
	}
	opts.path = store != NULL ? store : cfg.store_path;
	c.dir = dir_open(&opts, &err);
	if (c.dir == NULL) {
		rc = ctl_fail(&c, &err);
		goto out;
	}
	rc = CTL_USAGE;
	for (size_t k = 0; k < sizeof(ctl_commands) / sizeof(ctl_commands[0]); k++)
		if (strcmp(argv[i], ctl_commands[k].name) == 0)
			rc = ctl_commands[k].run(&c, argc - i - 1, argv + i + 1);
out:
	dir_close(c.dir);
	if (have_cfg)
		idp_config_free(&cfg);
	if (fflush(stdout) != 0 && rc == CTL_OK)
		rc = CTL_FAIL;
	return rc;
}
