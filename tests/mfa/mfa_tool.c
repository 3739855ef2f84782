/*
 * mfa_tool: what the lead's pages will do, as a command, so the shell tests
 * can drive idpctl against factors enrolled through the real library.
 *
 *   mfa_tool enroll STORE KEYFILE TENANT UPN    prints the key URI; confirms with
 *                                              the current code
 *   mfa_tool verify STORE KEYFILE TENANT UPN CODE
 *                                              exit 0 accepted, 1 refused, 3 not
 *                                              enrolled, 2 error; prints the status
 *   mfa_tool qr TEXT                           prints the QR code's SVG
 *
 * Test-only: it prints a secret (the URI).
 */
#include "mfa.h"
#include "qrsvg.h"

#include "err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int tool_open(char **argv, struct dir **d, struct secretbox **sb, struct mfa **m,
                     struct dir_tenant *t, struct dir_user *u, struct err *err)
{
	struct dir_options o = {0};
	struct mfa_config cfg = MFA_CONFIG_DEFAULT;

	o.path = argv[0];
	if ((*d = dir_open(&o, err)) == NULL || (*sb = secretbox_load(argv[1], err)) == NULL ||
	    (*m = mfa_new(&cfg, *sb, err)) == NULL ||
	    dir_tenant_get_by_name(*d, argv[2], t, err) != 0 ||
	    dir_user_get_by_upn(*d, t->id, argv[3], u, err) != 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct dir *d = NULL;
	struct secretbox *sb = NULL;
	struct mfa *m = NULL;
	struct dir_tenant t;
	struct dir_user u;
	struct err err = {0};
	int rc = 2;

	if (argc == 3 && strcmp(argv[1], "qr") == 0) {
		char *svg = qrsvg_render(argv[2], 4, NULL, &err);
		if (svg == NULL) {
			fprintf(stderr, "mfa_tool: %s\n", err.msg);
			return 2;
		}
		fputs(svg, stdout);
		qrsvg_free(svg);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "enroll") == 0) {
		struct mfa_enrollment e;
		struct mfa_recovery_codes codes;
		struct mfa_result res;
		struct otpauth k;
		struct totp_params p;
		char code[TOTP_CODE_MAX];

		if (tool_open(argv + 2, &d, &sb, &m, &t, &u, &err) != 0 ||
		    mfa_enroll_begin(m, d, t.id, u.id, &e, &err) != 0)
			goto out;
		if (otpauth_parse(e.uri, &k, &err) == 0) {
			p.alg = k.alg;
			p.digits = k.digits;
			p.period = k.period;
			if (totp_generate(k.secret, k.secret_len, &p, (int64_t)time(NULL), code,
			                  &err) == 0 &&
			    mfa_enroll_confirm(m, d, t.id, u.id, code, &res, &codes, &err) == 0) {
				printf("%s\n", e.uri);
				rc = 0;
			}
		}
		mfa_enrollment_clear(&e);
		mfa_recovery_codes_clear(&codes);
		goto out;
	}
	if (argc == 7 && strcmp(argv[1], "verify") == 0) {
		struct mfa_result res;

		if (tool_open(argv + 2, &d, &sb, &m, &t, &u, &err) != 0)
			goto out;
		rc = mfa_verify(m, d, t.id, u.id, argv[6], &res, &err);
		printf("%s\n", mfa_status_name(res.status));
		rc = rc == 0 ? 0 : rc == ERR_DENIED ? 1 : rc == ERR_NOT_FOUND ? 3 : 2;
		err_clear(&err);
		goto out;
	}
	fprintf(stderr,
	        "usage: mfa_tool enroll|verify STORE KEYFILE TENANT UPN [CODE] | qr TEXT\n");
	return 2;
out:
	if (err.code != 0)
		fprintf(stderr, "mfa_tool: %s\n", err.msg);
	mfa_free(m);
	secretbox_free(sb);
	dir_close(d);
	return rc;
}
