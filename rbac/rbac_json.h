/*
 * rbac_json: the stored JSON lists of role data, parsed into the arrays the
 * evaluator's builder takes.  Shared by rbac_store.c and rbac_load.c.
 */
#ifndef IDP_RBAC_JSON_H
#define IDP_RBAC_JSON_H

#include "rbac.h"

#include <jansson.h>

/*
 * Parse text (a JSON array of strings; "" = empty) into *v (n entries, a
 * heap array the caller frees) pointing into *hold (json_decref it after).
 * 0, or ERR_INVALID naming field.
 */
int rbac_json_strings(const char *field, const char *text, json_t **hold, const char ***v,
		      size_t *n, struct err *err);

/* The same for a JSON array of {"type": ..., "id": ...} principals. */
int rbac_json_principals(const char *field, const char *text, json_t **hold,
			 struct rbac_principal_ref **v, size_t *n, struct err *err);

#endif
