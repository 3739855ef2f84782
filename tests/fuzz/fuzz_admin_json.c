/*
 * fuzz_admin_json: JSON request bodies of the admin API, SCIM 2.0 and the
 * authz endpoints, sent with a valid admin token so that every body gets
 * past authentication and authorization to the strict parser (api_body,
 * api_check) and on into the handlers and the store (see fuzz_world.h).
 *
 * Input: one byte choosing the endpoint (method and path, from the table
 * below), one byte choosing the Content-Type, then the body, in which the
 * world's placeholders (@USER@, @GROUP@...) are filled in.
 *
 * Properties: fuzz_world_serve()'s response checks, in particular that
 * bad JSON always gets a 4xx with a JSON error, never a 500.  Deny
 * assignments a body created are removed before the next input, so that
 * one lucky body cannot lock the fuzzer out of the API.
 */
#include "fuzz.h"
#include "fuzz_world.h"

static const struct {
	const char *method, *path;
} fz_endpoints[] = {
        {"POST", "/acme/admin/users"},
        {"PATCH", "/acme/admin/users/@USER@"},
        {"POST", "/acme/admin/groups"},
        {"PATCH", "/acme/admin/groups/@GROUP@"},
        {"POST", "/acme/admin/groups/@GROUP@/members"},
        {"POST", "/acme/admin/apps"},
        {"PATCH", "/acme/admin/apps/@APP@"},
        {"POST", "/acme/admin/roleDefinitions"},
        {"PATCH", "/acme/admin/roleDefinitions/@ROLE@"},
        {"POST", "/acme/admin/roleAssignments"},
        {"POST", "/acme/admin/denyAssignments"},
        {"POST", "/acme/scim/v2/Users"},
        {"PUT", "/acme/scim/v2/Users/@USER@"},
        {"PATCH", "/acme/scim/v2/Users/@USER@"},
        {"POST", "/acme/scim/v2/Groups"},
        {"PATCH", "/acme/scim/v2/Groups/@GROUP@"},
        {"PUT", "/acme/scim/v2/Groups/@GROUP@"},
        {"POST", "/acme/authz/check"},
        {"POST", "/acme/authz/permissions"},
        {"POST", "/acme/admin/users/@USER@/mfa/reset"},
};

static const char *const fz_types[] = {"application/json", "application/scim+json",
                                       "application/json; charset=utf-8", "text/plain"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_world_get();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_world *w = fuzz_world_get();
	struct fuzz_in in = {data, size};
	size_t which = fuzz_byte(&in) % (sizeof(fz_endpoints) / sizeof(fz_endpoints[0]));
	const char *ctype = fz_types[fuzz_byte(&in) % 4];
	struct http_param headers[3];
	struct http_resp resp;
	char auth[4200], *path, *body;
	size_t plen, blen;

	fuzz_world_tidy(w);
	path = fuzz_world_expand(w, fz_endpoints[which].path, strlen(fz_endpoints[which].path),
	                         &plen);
	body = fuzz_world_expand(w, (const char *)in.p, in.n, &blen);
	{
		size_t alen;
		char *tok = fuzz_world_expand(w, "@ADMIN@", 7, &alen);
		snprintf(auth, sizeof(auth), "Bearer %s", tok);
		free(tok);
	}
	headers[0].name = "Authorization";
	headers[0].value = auth;
	headers[1].name = "Content-Type";
	headers[1].value = (char *)ctype;
	headers[2].name = "User-Agent";
	headers[2].value = "fuzz_admin_json";
	fuzz_world_serve(w, fz_endpoints[which].method, path, headers, 3, body, blen, &resp);
	http_resp_free(&resp);
	free(path);
	free(body);
	return 0;
}
