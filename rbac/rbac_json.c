/*
 * rbac_json: parsing the stored lists.  See rbac_json.h.
 */
#include "rbac_json.h"

#include <stdlib.h>
#include <string.h>

static json_t *rbac_json_array(const char *field, const char *text, struct err *err)
{
	json_error_t jerr;
	json_t *v;

	if (text == NULL || *text == '\0')
		return json_array();
	v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL || !json_is_array(v)) {
		err_set(err, ERR_INVALID, "%s must be a JSON array%s%.100s", field,
			v == NULL ? ": " : "", v == NULL ? jerr.text : "");
		json_decref(v);
		return NULL;
	}
	return v;
}

int rbac_json_strings(const char *field, const char *text, json_t **hold, const char ***v,
		      size_t *n, struct err *err)
{
	json_t *a = rbac_json_array(field, text, err), *item;
	size_t i;

	*hold = NULL;
	*v = NULL;
	*n = 0;
	if (a == NULL)
		return err->code;
	if ((*v = calloc(json_array_size(a) + 1, sizeof(**v))) == NULL) {
		json_decref(a);
		return err_set(err, ERR_INTERNAL, "out of memory");
	}
	json_array_foreach(a, i, item) {
		if (!json_is_string(item)) {
			free(*v);
			*v = NULL;
			json_decref(a);
			return err_set(err, ERR_INVALID, "%s[%zu] must be a string", field, i);
		}
		(*v)[i] = json_string_value(item);
	}
	*n = json_array_size(a);
	*hold = a;
	return 0;
}

int rbac_json_principals(const char *field, const char *text, json_t **hold,
			 struct rbac_principal_ref **v, size_t *n, struct err *err)
{
	json_t *a = rbac_json_array(field, text, err), *item;
	size_t i;

	*hold = NULL;
	*v = NULL;
	*n = 0;
	if (a == NULL)
		return err->code;
	if ((*v = calloc(json_array_size(a) + 1, sizeof(**v))) == NULL) {
		json_decref(a);
		return err_set(err, ERR_INTERNAL, "out of memory");
	}
	json_array_foreach(a, i, item) {
		json_t *type = json_object_get(item, "type"), *id = json_object_get(item, "id");
		int t = rbac_principal_type_parse(json_string_value(type));
		if (!json_is_object(item) || t < 0 ||
		    (t != RBAC_PRINCIPAL_EVERYONE && !json_is_string(id))) {
			free(*v);
			*v = NULL;
			json_decref(a);
			return err_set(err, ERR_INVALID,
				       "%s[%zu] must be {\"type\": \"user\"|\"group\"|\"app\", "
				       "\"id\": ...} or {\"type\": \"everyone\"}",
				       field, i);
		}
		(*v)[i].type = (enum rbac_principal_type)t;
		(*v)[i].id = t == RBAC_PRINCIPAL_EVERYONE ? NULL : json_string_value(id);
	}
	*n = json_array_size(a);
	*hold = a;
	return 0;
}
