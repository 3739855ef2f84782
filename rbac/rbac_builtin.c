/*
 * rbac_builtin: the four built-in roles, as in the cloud RBAC we follow.
 *
 * The idp's own admin API names its actions in the "idp" provider
 * (idp/users/read, idp/roleAssignments/write, ...; the full list is in the
 * README).  Authorization data is the roleDefinitions, roleAssignments and
 * denyAssignments types: Contributor may do everything except write or
 * delete those, User Access Administrator may read everything and manage
 * exactly those.  Like their models, built-in roles grant no data actions:
 * data-plane access is always granted by a role that says so.
 *
 * The well-known ids are the ones the cloud RBAC uses for these roles, so
 * that people who know them recognise them.  Each tenant holds the roles
 * as rows of its own (rbac_store_seed_builtins) under ids derived from the
 * tenant and the well-known id.
 */
#include "rbac.h"

static const char *const owner_actions[] = {"*"};
static const char *const contributor_actions[] = {"*"};
static const char *const contributor_not_actions[] = {
	"idp/roleDefinitions/write",  "idp/roleDefinitions/delete",
	"idp/roleAssignments/write",  "idp/roleAssignments/delete",
	"idp/denyAssignments/write",  "idp/denyAssignments/delete",
};
static const char *const reader_actions[] = {"*/read"};
static const char *const uaa_actions[] = {
	"*/read",
	"idp/roleDefinitions/*",
	"idp/roleAssignments/*",
	"idp/denyAssignments/*",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct rbac_builtin_def rbac_builtins[RBAC_BUILTIN_COUNT] = {
	[RBAC_BUILTIN_OWNER] = {"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner",
				"Full access to manage everything, including access for others.",
				owner_actions, N(owner_actions), NULL, 0},
	[RBAC_BUILTIN_CONTRIBUTOR] = {"b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor",
				      "Full access to manage everything, but not to grant, "
				      "change or remove access (role definitions, role "
				      "assignments, deny assignments).",
				      contributor_actions, N(contributor_actions),
				      contributor_not_actions, N(contributor_not_actions)},
	[RBAC_BUILTIN_READER] = {"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader",
				 "View everything, change nothing.", reader_actions,
				 N(reader_actions), NULL, 0},
	[RBAC_BUILTIN_USER_ACCESS_ADMIN] = {"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
					    "User Access Administrator",
					    "Manage access for others: role definitions, role "
					    "assignments and deny assignments; view everything.",
					    uaa_actions, N(uaa_actions), NULL, 0},
};

const struct rbac_builtin_def *rbac_builtin(enum rbac_builtin which)
{
	if ((unsigned)which >= RBAC_BUILTIN_COUNT)
		return NULL;
	return &rbac_builtins[which];
}
