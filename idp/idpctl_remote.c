/*
 * idpctl_remote: the same operations against a running idp, through its
 * admin API, instead of the store on this machine.
 *
 *     idpctl remote --url https://HOST/TENANT --client-id ID
 *                   --client-secret-file FILE [--ca FILE]
 *                   METHOD PATH [--data JSON | --data-file FILE]
 *
 * PATH is under the tenant's admin API ("users", "users/ID/sessions",
 * "roleAssignments", "export", ...).  idpctl first gets an access token
 * for the admin resource with the app's client credentials (the app needs
 * a role that allows the call), then makes the call and prints the JSON
 * answer.  The secret comes from an owner-only file, never from argv.
 * libcurl does the HTTPS (a well-kept client: certificate checks, proxies,
 * HTTP/1.1 and 2), so idpctl holds no TLS code of its own.
 */
#include "idpctl.h"

#include "buf.h"
#include "secret.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t remote_collect(char *p, size_t size, size_t n, void *ctx)
{
	buf_add(ctx, p, size * n);
	return buf_failed(ctx) ? 0 : size * n;
}

/* One HTTP exchange; the status, or -1 with a message printed. */
static long remote_http(struct ctl *c, const char *method, const char *url, const char *auth,
			const char *ctype, const char *body, const char *ca, struct buf *out)
{
	struct curl_slist *h = NULL;
	char err[CURL_ERROR_SIZE] = "";
	long status = -1;
	CURL *k = curl_easy_init();

	if (k == NULL)
		return -1;
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, remote_collect);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(k, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(k, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "https,http");
	if (ca != NULL)
		curl_easy_setopt(k, CURLOPT_CAINFO, ca);
	if (auth != NULL)
		h = curl_slist_append(h, auth);
	if (ctype != NULL)
		h = curl_slist_append(h, ctype);
	if (h != NULL)
		curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
	if (body != NULL)
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(k) == CURLE_OK)
		curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
	else
		fprintf(stderr, "%s: %s: %s\n", c->me, url, err);
	curl_slist_free_all(h);
	curl_easy_cleanup(k);
	return status;
}

/* "https://host/tenant" into the token URL and the admin resource. */
static int remote_urls(const char *base, char *token, char *resource, size_t cap)
{
	size_t n = strlen(base);

	if (n == 0 || base[n - 1] == '/' || (strncmp(base, "https://", 8) != 0 &&
					     strncmp(base, "http://127.0.0.1", 16) != 0 &&
					     strncmp(base, "http://localhost", 16) != 0))
		return -1;
	snprintf(token, cap, "%s/oauth2/token", base);
	snprintf(resource, cap, "%s/admin", base);
	return 0;
}

int ctl_cmd_remote(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	const char *url, *cid, *secret_file, *ca, *data, *data_file, *method, *path;
	char token_url[1200], resource[1200], secret[256], auth[1300], call[2400];
	struct buf out, form;
	struct err err = {0};
	json_t *doc = NULL;
	char *body = NULL, *esc_id = NULL, *esc_secret = NULL, *esc_res = NULL;
	long status;
	int rc = CTL_FAIL;
	CURL *enc = NULL;

	buf_init(&out);
	buf_init(&form);
	if (ctl_args_init(&a, argc, argv) != 0)
		return CTL_FAIL;
	url = ctl_opt(&a, "--url");
	cid = ctl_opt(&a, "--client-id");
	secret_file = ctl_opt(&a, "--client-secret-file");
	ca = ctl_opt(&a, "--ca");
	data = ctl_opt(&a, "--data");
	data_file = ctl_opt(&a, "--data-file");
	if ((rc = ctl_args_done(c, &a, 2)) != CTL_OK)
		goto out;
	rc = CTL_USAGE;
	method = ctl_pos(&a, 0);
	path = ctl_pos(&a, 1);
	if (url == NULL || cid == NULL || secret_file == NULL) {
		ctl_usage_error(c, "remote needs --url, --client-id and --client-secret-file");
		goto out;
	}
	if (remote_urls(url, token_url, resource, sizeof(token_url)) != 0) {
		ctl_usage_error(c, "--url is https://HOST/TENANT (http only on loopback), no "
				   "trailing '/'");
		goto out;
	}
	if (strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method) ||
	    strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/?=&%.@") !=
		    strlen(path)) {
		ctl_usage_error(c, "METHOD is GET, POST, PATCH or DELETE; PATH a path under the "
				   "admin API");
		goto out;
	}
	if (data != NULL && data_file != NULL) {
		ctl_usage_error(c, "give --data or --data-file, not both");
		goto out;
	}
	rc = CTL_FAIL;
	if (secret_read_file(secret_file, secret, sizeof(secret), &err) < 0) {
		rc = ctl_fail(c, &err);
		goto out;
	}
	if (data_file != NULL) {
		json_error_t jerr;
		doc = json_load_file(data_file, JSON_REJECT_DUPLICATES, &jerr);
		if (doc == NULL) {
			fprintf(stderr, "%s: %s:%d: %s\n", c->me, data_file, jerr.line, jerr.text);
			rc = CTL_USAGE;
			goto out;
		}
		body = json_dumps(doc, JSON_COMPACT);
	} else if (data != NULL) {
		body = strdup(data);
	}

	/* the token: client credentials for the admin resource */
	enc = curl_easy_init();
	esc_id = curl_easy_escape(enc, cid, 0);
	esc_secret = curl_easy_escape(enc, secret, 0);
	esc_res = curl_easy_escape(enc, resource, 0);
	secret_wipe(secret, sizeof(secret));
	buf_printf(&form, "grant_type=client_credentials&client_id=%s&client_secret=%s&resource=%s",
		   esc_id, esc_secret, esc_res);
	status = remote_http(c, "POST", token_url, NULL,
			     "Content-Type: application/x-www-form-urlencoded", form.data, ca, &out);
	secret_wipe(form.data, form.len);
	if (status != 200) {
		if (status > 0)
			fprintf(stderr, "%s: token request refused (%ld): %s\n", c->me, status,
				out.data != NULL ? out.data : "");
		rc = status == 401 ? CTL_DENIED : CTL_FAIL;
		goto out;
	}
	json_decref(doc);
	doc = json_loads(out.data, 0, NULL);
	if (!json_is_string(json_object_get(doc, "access_token"))) {
		fprintf(stderr, "%s: no access token in the answer\n", c->me);
		goto out;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		 json_string_value(json_object_get(doc, "access_token")));
	snprintf(call, sizeof(call), "%s/admin/%s", url, path[0] == '/' ? path + 1 : path);
	out.len = 0;
	status = remote_http(c, method, call, auth, body != NULL ? "Content-Type: application/json"
								 : NULL,
			     body, ca, &out);
	secret_wipe(auth, sizeof(auth));
	if (status < 0)
		goto out;
	if (out.len > 0)
		fwrite(out.data, 1, out.len, stdout);
	if (out.len > 0 && out.data[out.len - 1] != '\n')
		putchar('\n');
	rc = status < 300 ? CTL_OK
	     : status == 404 ? CTL_NOT_FOUND
	     : status == 409 ? CTL_EXISTS
	     : status == 401 || status == 403 ? CTL_DENIED
	     : status < 500 ? CTL_USAGE
			    : CTL_FAIL;
out:
	curl_free(esc_id);
	if (esc_secret != NULL) {
		secret_wipe(esc_secret, strlen(esc_secret));
		curl_free(esc_secret);
	}
	curl_free(esc_res);
	curl_easy_cleanup(enc);
	json_decref(doc);
	free(body);
	buf_free(&out);
	buf_free(&form);
	ctl_args_free(&a);
	return rc;
}
