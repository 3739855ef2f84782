/*
 * dir_schema: the store's schema as a list of versioned migrations.
 *
 * A store records its version in PRAGMA user_version.  Opening applies the
 * missing migrations in order, each in its own write transaction, after
 * re-reading the version inside it (another process may have migrated the
 * store meanwhile).  Migrations are append-only: a released one is never
 * edited, a change is a new one.
 *
 * Tenant isolation is also enforced by the schema itself, not just by the
 * queries: every tenant-owned table carries tenant_id, and references
 * between objects are composite foreign keys on (tenant_id, id), so a row
 * can never point at another tenant's object.  Memberships (schema 10)
 * reference users and groups by an integer rid instead; triggers keep the
 * same guarantee for them.  Tables are STRICT: a value of the wrong type
 * is an error, not a silent conversion.
 *
 * Migrations run with foreign keys off (a table rebuild needs it) and
 * check every key before they commit.
 */
#include "dir_internal.h"

#include <stdio.h>

/* Each migration is a list of statements, run in order in one transaction. */
static const char *const dir_migration_1[] = {
	/* 1: tenants, users, groups, membership. */
	"PRAGMA application_id = 1229213745;",
	"CREATE TABLE tenants ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  display_name TEXT NOT NULL,"
	"  mfa_required INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	") STRICT;",
	"CREATE TABLE users ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id TEXT PRIMARY KEY,"
	"  upn TEXT NOT NULL,"
	"  upn_key TEXT NOT NULL,"
	"  display_name TEXT NOT NULL DEFAULT '',"
	"  given_name TEXT NOT NULL DEFAULT '',"
	"  surname TEXT NOT NULL DEFAULT '',"
	"  mail TEXT NOT NULL DEFAULT '',"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  mfa_required INTEGER NOT NULL DEFAULT 0,"
	"  source TEXT NOT NULL CHECK (source IN ('cloud', 'ldap')),"
	"  source_anchor TEXT,"
	"  source_dn TEXT,"
	"  password_hash TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  deleted_at INTEGER,"
	"  UNIQUE (tenant_id, id)"
	") STRICT;"
	/* A soft-deleted user gives its name back; restoring it needs the name free. */
	"CREATE UNIQUE INDEX users_upn ON users(tenant_id, upn_key) WHERE deleted_at IS NULL;"
	"CREATE UNIQUE INDEX users_anchor ON users(tenant_id, source_anchor)"
	"  WHERE source_anchor IS NOT NULL;",
	"CREATE TABLE groups ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  name_key TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  source TEXT NOT NULL CHECK (source IN ('cloud', 'ldap')),"
	"  source_anchor TEXT,"
	"  source_dn TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  deleted_at INTEGER,"
	"  UNIQUE (tenant_id, id)"
	") STRICT;"
	"CREATE UNIQUE INDEX groups_name ON groups(tenant_id, name_key) WHERE deleted_at IS NULL;"
	"CREATE UNIQUE INDEX groups_anchor ON groups(tenant_id, source_anchor)"
	"  WHERE source_anchor IS NOT NULL;",
	/*
	 * WITHOUT ROWID tables list their key columns first: SQLite 3.40's
	 * integrity_check wrongly reports "NULL value" in a NOT NULL column
	 * that precedes them.
	 */
	"CREATE TABLE group_member_users ("
	"  group_id TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  tenant_id TEXT NOT NULL,"
	"  PRIMARY KEY (group_id, user_id),"
	"  FOREIGN KEY (tenant_id, group_id) REFERENCES groups(tenant_id, id) ON DELETE CASCADE,"
	"  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX group_member_users_user ON group_member_users(user_id, group_id);",
	"CREATE TABLE group_member_groups ("
	"  group_id TEXT NOT NULL,"
	"  member_id TEXT NOT NULL,"
	"  tenant_id TEXT NOT NULL,"
	"  PRIMARY KEY (group_id, member_id),"
	"  CHECK (group_id <> member_id),"
	"  FOREIGN KEY (tenant_id, group_id) REFERENCES groups(tenant_id, id) ON DELETE CASCADE,"
	"  FOREIGN KEY (tenant_id, member_id) REFERENCES groups(tenant_id, id) ON DELETE CASCADE"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX group_member_groups_member ON group_member_groups(member_id, group_id);",
	NULL,
};

static const char *const dir_migration_2[] = {
	/*
	 * 2: apps, role data, second factors, sessions and tokens, logs, sync
	 * state, signing keys.  Secrets are never stored in the clear: client
	 * secrets, codes and tokens as SHA-256 digests, TOTP secrets and private
	 * keys encrypted by the idp before they get here.
	 */
	"CREATE TABLE apps ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id TEXT PRIMARY KEY,"
	"  client_id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  confidential INTEGER NOT NULL,"
	"  secret_hash TEXT,"
	"  redirect_uris TEXT NOT NULL DEFAULT '[]',"
	"  grants INTEGER NOT NULL,"
	"  mfa_required INTEGER NOT NULL DEFAULT 0,"
	"  token_alg TEXT NOT NULL DEFAULT 'RS256' CHECK (token_alg IN ('RS256', 'ES256')),"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, id),"
	"  UNIQUE (tenant_id, client_id),"
	"  CHECK ((confidential = 1) = (secret_hash IS NOT NULL))"
	") STRICT;",
	"CREATE TABLE role_definitions ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  name_key TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  builtin INTEGER NOT NULL DEFAULT 0,"
	"  actions TEXT NOT NULL DEFAULT '[]',"
	"  not_actions TEXT NOT NULL DEFAULT '[]',"
	"  data_actions TEXT NOT NULL DEFAULT '[]',"
	"  not_data_actions TEXT NOT NULL DEFAULT '[]',"
	"  assignable_scopes TEXT NOT NULL DEFAULT '[\"/\"]',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, id),"
	"  UNIQUE (tenant_id, name_key)"
	") STRICT;",
	"CREATE TABLE role_assignments ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id TEXT PRIMARY KEY,"
	"  role_id TEXT NOT NULL,"
	"  principal_type TEXT NOT NULL CHECK (principal_type IN ('user', 'group', 'app')),"
	"  principal_id TEXT NOT NULL,"
	"  scope TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, role_id, principal_id, scope),"
	"  FOREIGN KEY (tenant_id, role_id) REFERENCES role_definitions(tenant_id, id)"
	") STRICT;"
	"CREATE INDEX role_assignments_principal ON role_assignments(tenant_id, principal_id);",
	"CREATE TABLE deny_assignments ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  principals TEXT NOT NULL DEFAULT '[]',"
	"  excluded_principals TEXT NOT NULL DEFAULT '[]',"
	"  actions TEXT NOT NULL DEFAULT '[]',"
	"  not_actions TEXT NOT NULL DEFAULT '[]',"
	"  data_actions TEXT NOT NULL DEFAULT '[]',"
	"  not_data_actions TEXT NOT NULL DEFAULT '[]',"
	"  scope TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL"
	") STRICT;",
	"CREATE TABLE totp_credentials ("
	"  tenant_id TEXT NOT NULL,"
	"  user_id TEXT PRIMARY KEY,"
	"  secret_enc TEXT NOT NULL,"
	"  algorithm TEXT NOT NULL DEFAULT 'SHA1' CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),"
	"  digits INTEGER NOT NULL DEFAULT 6 CHECK (digits IN (6, 8)),"
	"  period INTEGER NOT NULL DEFAULT 30,"
	"  confirmed INTEGER NOT NULL DEFAULT 0,"
	"  last_step INTEGER NOT NULL DEFAULT 0,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  window_start INTEGER NOT NULL DEFAULT 0,"
	"  locked_until INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
	") STRICT;",
	"CREATE TABLE recovery_codes ("
	"  user_id TEXT NOT NULL,"
	"  code_hash TEXT NOT NULL,"
	"  tenant_id TEXT NOT NULL,"
	"  used_at INTEGER,"
	"  PRIMARY KEY (user_id, code_hash),"
	"  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
	") STRICT, WITHOUT ROWID;",
	"CREATE TABLE sessions ("
	"  tenant_id TEXT NOT NULL,"
	"  id_hash TEXT PRIMARY KEY,"
	"  user_id TEXT NOT NULL,"
	"  auth_time INTEGER NOT NULL,"
	"  amr TEXT NOT NULL DEFAULT '',"
	"  mfa_time INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  last_seen_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  ip TEXT NOT NULL DEFAULT '',"
	"  user_agent TEXT NOT NULL DEFAULT '',"
	"  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
	") STRICT;"
	"CREATE INDEX sessions_user ON sessions(tenant_id, user_id);",
	"CREATE TABLE auth_codes ("
	"  tenant_id TEXT NOT NULL,"
	"  code_hash TEXT PRIMARY KEY,"
	"  app_id TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  session_hash TEXT,"
	"  redirect_uri TEXT NOT NULL,"
	"  scope TEXT NOT NULL DEFAULT '',"
	"  nonce TEXT,"
	"  code_challenge TEXT NOT NULL,"
	"  auth_time INTEGER NOT NULL,"
	"  amr TEXT NOT NULL DEFAULT '',"
	"  family_id TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER,"
	"  FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE,"
	"  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
	") STRICT;",
	"CREATE TABLE refresh_tokens ("
	"  tenant_id TEXT NOT NULL,"
	"  token_hash TEXT PRIMARY KEY,"
	"  family_id TEXT NOT NULL,"
	"  app_id TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  scope TEXT NOT NULL DEFAULT '',"
	"  auth_time INTEGER NOT NULL,"
	"  amr TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  rotated_at INTEGER,"
	"  revoked_at INTEGER,"
	"  FOREIGN KEY (tenant_id, app_id) REFERENCES apps(tenant_id, id) ON DELETE CASCADE,"
	"  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
	") STRICT;"
	"CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);",
	"CREATE TABLE signins ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  user_id TEXT,"
	"  username TEXT NOT NULL DEFAULT '',"
	"  app_id TEXT,"
	"  step TEXT NOT NULL,"
	"  result TEXT NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  ip TEXT NOT NULL DEFAULT '',"
	"  user_agent TEXT NOT NULL DEFAULT '',"
	"  country TEXT NOT NULL DEFAULT '',"
	"  city TEXT NOT NULL DEFAULT '',"
	"  lat REAL,"
	"  lon REAL,"
	"  factors TEXT NOT NULL DEFAULT '',"
	"  risk TEXT NOT NULL DEFAULT 'none',"
	"  detections TEXT NOT NULL DEFAULT '[]'"
	") STRICT;"
	"CREATE INDEX signins_time ON signins(tenant_id, time);"
	"CREATE INDEX signins_user ON signins(tenant_id, user_id, time);",
	"CREATE TABLE audit_log ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target_type TEXT NOT NULL DEFAULT '',"
	"  target_id TEXT NOT NULL DEFAULT '',"
	"  summary TEXT NOT NULL DEFAULT '',"
	"  ip TEXT NOT NULL DEFAULT ''"
	") STRICT;"
	"CREATE INDEX audit_log_time ON audit_log(tenant_id, time);"
	"CREATE INDEX audit_log_target ON audit_log(tenant_id, target_id);",
	"CREATE TABLE sync_state ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  connector TEXT NOT NULL,"
	"  cookie TEXT,"
	"  last_full_at INTEGER,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant_id, connector)"
	") STRICT;",
	"CREATE TABLE sync_cycles ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id INTEGER PRIMARY KEY,"
	"  connector TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  finished_at INTEGER,"
	"  added INTEGER NOT NULL DEFAULT 0,"
	"  updated INTEGER NOT NULL DEFAULT 0,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"
	"  unchanged INTEGER NOT NULL DEFAULT 0,"
	"  errors INTEGER NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL,"
	"  message TEXT NOT NULL DEFAULT ''"
	") STRICT;",
	"CREATE TABLE signing_keys ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  kid TEXT PRIMARY KEY,"
	"  alg TEXT NOT NULL CHECK (alg IN ('RS256', 'ES256')),"
	"  private_enc TEXT NOT NULL,"
	"  public_jwk TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  retired_at INTEGER,"
	"  expires_at INTEGER"
	") STRICT;",
	NULL,
};

/* 3: revocation records for access tokens (by jti or by grant). */
static const char *const dir_migration_3[] = {
	"CREATE TABLE revoked_tokens ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('jti', 'grant')),"
	"  value TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant_id, kind, value)"
	") STRICT, WITHOUT ROWID;",
	"CREATE INDEX auth_codes_expiry ON auth_codes(expires_at);",
	"CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);",
	"CREATE INDEX sessions_expiry ON sessions(expires_at);",
	NULL,
};

/*
 * The role-data version bump, for the triggers of migration 4: a plain
 * update of the tenant's row (made with the tenant), the cheapest write a
 * trigger can do, since membership triggers fire once per row of a sync.
 */
#define DIR_RBAC_TRIGGER(name, when, row)                                                          \
	"CREATE TRIGGER " name " AFTER " when " BEGIN UPDATE role_data_versions SET version = "    \
	"version + 1 WHERE tenant_id = " row ".tenant_id; END;"

static const char *const dir_migration_4[] = {
	/*
	 * 4 (rbac): a per-tenant counter of changes to anything the
	 * authorization index is built from, kept by triggers so that changes
	 * by any process (idpctl beside a running idp) are seen, and an index
	 * can be reloaded only when it is stale.
	 */
	"CREATE TABLE role_data_versions ("
	"  tenant_id TEXT PRIMARY KEY,"
	"  version INTEGER NOT NULL"
	") STRICT;",
	"INSERT INTO role_data_versions (tenant_id, version) SELECT id, 1 FROM tenants;",
	"CREATE TRIGGER role_data_versions_tenant_new AFTER INSERT ON tenants BEGIN"
	"  INSERT INTO role_data_versions (tenant_id, version) VALUES (NEW.id, 1); END;",
	"CREATE TRIGGER role_data_versions_tenant_gone AFTER DELETE ON tenants BEGIN"
	"  DELETE FROM role_data_versions WHERE tenant_id = OLD.id; END;",
	DIR_RBAC_TRIGGER("rbac_v_rd_i", "INSERT ON role_definitions", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_rd_u", "UPDATE ON role_definitions", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_rd_d", "DELETE ON role_definitions", "OLD"),
	DIR_RBAC_TRIGGER("rbac_v_ra_i", "INSERT ON role_assignments", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_ra_u", "UPDATE ON role_assignments", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_ra_d", "DELETE ON role_assignments", "OLD"),
	DIR_RBAC_TRIGGER("rbac_v_da_i", "INSERT ON deny_assignments", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_da_u", "UPDATE ON deny_assignments", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_da_d", "DELETE ON deny_assignments", "OLD"),
	DIR_RBAC_TRIGGER("rbac_v_gmu_i", "INSERT ON group_member_users", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_gmu_d", "DELETE ON group_member_users", "OLD"),
	DIR_RBAC_TRIGGER("rbac_v_gmg_i", "INSERT ON group_member_groups", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_gmg_d", "DELETE ON group_member_groups", "OLD"),
	DIR_RBAC_TRIGGER("rbac_v_u_u", "UPDATE OF deleted_at ON users", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_u_d", "DELETE ON users", "OLD"),
	DIR_RBAC_TRIGGER("rbac_v_g_u", "UPDATE OF deleted_at ON groups", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_g_d", "DELETE ON groups", "OLD"),
	DIR_RBAC_TRIGGER("rbac_v_a_d", "DELETE ON apps", "OLD"),
	NULL,
};

/* 5: the resource (RFC 8707) a code or refresh token was issued for. */
static const char *const dir_migration_5[] = {
	"ALTER TABLE auth_codes ADD COLUMN resource TEXT;",
	"ALTER TABLE refresh_tokens ADD COLUMN resource TEXT;",
	NULL,
};

static const char *const dir_migration_6[] = {
	/*
	 * 6 (sync): the keys group members are named by in LDAP (a synced
	 * object's normalized DN, a user's uid), set by the sync and indexed,
	 * so that membership resolves through the store rather than a copy of
	 * the tree in memory; the member references of synced groups as LDAP
	 * gives them, resolved or not; cycles listed per connector.
	 */
	"ALTER TABLE users ADD COLUMN source_dn_key TEXT;"
	"ALTER TABLE users ADD COLUMN source_uid_key TEXT;"
	"ALTER TABLE groups ADD COLUMN source_dn_key TEXT;"
	"CREATE INDEX users_source_dn_key ON users(tenant_id, source_dn_key)"
	"  WHERE source_dn_key IS NOT NULL;"
	"CREATE INDEX users_source_uid_key ON users(tenant_id, source_uid_key)"
	"  WHERE source_uid_key IS NOT NULL;"
	"CREATE INDEX groups_source_dn_key ON groups(tenant_id, source_dn_key)"
	"  WHERE source_dn_key IS NOT NULL;",
	"CREATE TABLE sync_member_refs ("
	"  group_id TEXT NOT NULL,"
	"  member_key TEXT NOT NULL,"
	"  tenant_id TEXT NOT NULL,"
	"  PRIMARY KEY (group_id, member_key),"
	"  FOREIGN KEY (tenant_id, group_id) REFERENCES groups(tenant_id, id) ON DELETE CASCADE"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX sync_member_refs_key ON sync_member_refs(tenant_id, member_key);"
	"CREATE INDEX sync_cycles_connector ON sync_cycles(tenant_id, connector, id);",
	NULL,
};

/*
 * 7 (risk): what the sign-in risk engine keeps beside the sign-in log:
 * brute-force counters and lockouts (keyed by the folded name typed, so a
 * name that matches no user locks the same way and a lockout reveals
 * nothing), each user's familiar sign-in properties, risky users, step-up
 * marks on sessions, per-tenant risk policy; and the indexes the
 * detections and reports read the log through.
 */
static const char *const dir_migration_7[] = {
	"CREATE TABLE risk_lockouts ("
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  name_key TEXT NOT NULL,"
	"  username TEXT NOT NULL,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  window_start INTEGER NOT NULL,"
	"  locked_at INTEGER NOT NULL DEFAULT 0,"
	"  locked_until INTEGER NOT NULL DEFAULT 0,"
	"  last_ip TEXT NOT NULL DEFAULT '',"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant_id, name_key)"
	") STRICT, WITHOUT ROWID;",
	"CREATE TABLE risk_profiles ("
	"  tenant_id TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('signin', 'country', 'device', 'network')),"
	"  value TEXT NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  seen INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY (tenant_id, user_id, kind, value),"
	"  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
	") STRICT, WITHOUT ROWID;",
	"CREATE INDEX risk_profiles_seen ON risk_profiles(last_seen);",
	"CREATE TABLE risky_users ("
	"  tenant_id TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  level TEXT NOT NULL CHECK (level IN ('low', 'medium', 'high')),"
	"  state TEXT NOT NULL CHECK (state IN ('at_risk', 'dismissed', 'confirmed')),"
	"  detections TEXT NOT NULL DEFAULT '[]',"
	"  signin_id INTEGER NOT NULL DEFAULT 0,"
	"  first_at INTEGER NOT NULL,"
	"  last_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  updated_by TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (tenant_id, user_id),"
	"  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
	") STRICT, WITHOUT ROWID;",
	"CREATE TABLE risk_stepups ("
	"  session_hash TEXT PRIMARY KEY REFERENCES sessions(id_hash) ON DELETE CASCADE,"
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  level TEXT NOT NULL CHECK (level IN ('low', 'medium', 'high')),"
	"  created_at INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;",
	"CREATE TABLE risk_policies ("
	"  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,"
	"  mfa_at TEXT NOT NULL CHECK (mfa_at IN ('low', 'medium', 'high', 'never')),"
	"  block_at TEXT NOT NULL CHECK (block_at IN ('low', 'medium', 'high', 'never')),"
	"  updated_at INTEGER NOT NULL,"
	"  updated_by TEXT NOT NULL DEFAULT ''"
	") STRICT;",
	/* password spray and the top failing sources: one address's attempts by time */
	"CREATE INDEX signins_ip ON signins(tenant_id, ip, time);",
	/*
	 * Impossible travel: the user's last sign-in from a place known good.
	 * Queries repeat this WHERE clause word for word so the planner uses it.
	 */
	"CREATE INDEX signins_trusted ON signins(tenant_id, user_id, time) WHERE result = "
	"'success' AND step IN ('password', 'sso', 'mfa', 'recovery') AND risk IN ('none', 'low');",
	/* the risky sign-ins report */
	"CREATE INDEX signins_risky ON signins(tenant_id, time) WHERE risk <> 'none';",
	NULL,
};

/*
 * A confirmed compromise is remediated by a password reset: a fourth state
 * of a risky user.  SQLite cannot change a CHECK in place, so the table is
 * rebuilt (nothing references it).
 */
static const char *const dir_migration_8[] = {
	"CREATE TABLE risky_users_8 ("
	"  tenant_id TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  level TEXT NOT NULL CHECK (level IN ('low', 'medium', 'high')),"
	"  state TEXT NOT NULL CHECK (state IN ('at_risk', 'dismissed', 'confirmed', "
	"'remediated')),"
	"  detections TEXT NOT NULL DEFAULT '[]',"
	"  signin_id INTEGER NOT NULL DEFAULT 0,"
	"  first_at INTEGER NOT NULL,"
	"  last_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  updated_by TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (tenant_id, user_id),"
	"  FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE"
	") STRICT, WITHOUT ROWID;",
	"INSERT INTO risky_users_8 SELECT tenant_id, user_id, level, state, detections, signin_id, "
	"first_at, last_at, updated_at, updated_by FROM risky_users;",
	"DROP TABLE risky_users;",
	"ALTER TABLE risky_users_8 RENAME TO risky_users;",
	NULL,
};

/*
 * 9: membership changes bump the role-data version once per statement
 * (dir_role_data_bump(), in the same transaction) instead of once per row
 * by trigger: a sync links a group's hundred members in one statement, and
 * the per-row trigger was 8% of a full sync's time.  Deletes of users and
 * groups, which cascade to their memberships, keep their triggers.
 */
static const char *const dir_migration_9[] = {
	"DROP TRIGGER rbac_v_gmu_i;",
	"DROP TRIGGER rbac_v_gmu_d;",
	"DROP TRIGGER rbac_v_gmg_i;",
	"DROP TRIGGER rbac_v_gmg_d;",
	NULL,
};

/*
 * 10: integer surrogate keys for membership.  Users and groups get a rid
 * (INTEGER PRIMARY KEY, their rowid: the old tables' rowids are kept), and
 * the membership tables and sync references hold rids instead of
 * (tenant_id, text id): half the bytes per row and per index entry, and
 * joins by rowid.  Users and groups keep UNIQUE (tenant_id, id), which
 * every other table's composite foreign key references.
 *
 * SQLite cannot add a primary key, so the tables are rebuilt as its
 * documented procedure says (the runner turns foreign keys off around
 * migrations and checks them before the commit): new tables, copy, drop
 * the old ones, rename, then the indexes and triggers that lived on them.
 *
 * A rid carries no tenant, so what the composite foreign keys guaranteed
 * (a membership never links two tenants' objects) is kept by triggers:
 * a membership's two sides must have the same tenant, and an object's
 * tenant never changes.
 */
static const char *const dir_migration_10[] = {
	"CREATE TABLE users_10 ("
	"  rid INTEGER PRIMARY KEY,"
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id TEXT NOT NULL,"
	"  upn TEXT NOT NULL,"
	"  upn_key TEXT NOT NULL,"
	"  display_name TEXT NOT NULL DEFAULT '',"
	"  given_name TEXT NOT NULL DEFAULT '',"
	"  surname TEXT NOT NULL DEFAULT '',"
	"  mail TEXT NOT NULL DEFAULT '',"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  mfa_required INTEGER NOT NULL DEFAULT 0,"
	"  source TEXT NOT NULL CHECK (source IN ('cloud', 'ldap')),"
	"  source_anchor TEXT,"
	"  source_dn TEXT,"
	"  password_hash TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  deleted_at INTEGER,"
	"  source_dn_key TEXT,"
	"  source_uid_key TEXT,"
	"  UNIQUE (tenant_id, id)"
	") STRICT;",
	"INSERT INTO users_10 (rid, tenant_id, id, upn, upn_key, display_name, given_name, surname, "
	"mail, enabled, mfa_required, source, source_anchor, source_dn, password_hash, created_at, "
	"updated_at, deleted_at, source_dn_key, source_uid_key) "
	"SELECT rowid, tenant_id, id, upn, upn_key, display_name, given_name, surname, mail, "
	"enabled, mfa_required, source, source_anchor, source_dn, password_hash, created_at, "
	"updated_at, deleted_at, source_dn_key, source_uid_key FROM users ORDER BY rowid;",
	"CREATE TABLE groups_10 ("
	"  rid INTEGER PRIMARY KEY,"
	"  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
	"  id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  name_key TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  source TEXT NOT NULL CHECK (source IN ('cloud', 'ldap')),"
	"  source_anchor TEXT,"
	"  source_dn TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  deleted_at INTEGER,"
	"  source_dn_key TEXT,"
	"  UNIQUE (tenant_id, id)"
	") STRICT;",
	"INSERT INTO groups_10 (rid, tenant_id, id, name, name_key, description, source, "
	"source_anchor, source_dn, created_at, updated_at, deleted_at, source_dn_key) "
	"SELECT rowid, tenant_id, id, name, name_key, description, source, source_anchor, "
	"source_dn, created_at, updated_at, deleted_at, source_dn_key FROM groups ORDER BY rowid;",
	/* only key columns: see migration 1 on WITHOUT ROWID tables */
	"CREATE TABLE group_member_users_10 ("
	"  group_rid INTEGER NOT NULL REFERENCES groups(rid) ON DELETE CASCADE,"
	"  user_rid INTEGER NOT NULL REFERENCES users(rid) ON DELETE CASCADE,"
	"  PRIMARY KEY (group_rid, user_rid)"
	") STRICT, WITHOUT ROWID;",
	"INSERT INTO group_member_users_10 (group_rid, user_rid) "
	"SELECT g.rowid, u.rowid FROM group_member_users m "
	"JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id "
	"JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id;",
	"CREATE TABLE group_member_groups_10 ("
	"  group_rid INTEGER NOT NULL REFERENCES groups(rid) ON DELETE CASCADE,"
	"  member_rid INTEGER NOT NULL REFERENCES groups(rid) ON DELETE CASCADE,"
	"  PRIMARY KEY (group_rid, member_rid),"
	"  CHECK (group_rid <> member_rid)"
	") STRICT, WITHOUT ROWID;",
	"INSERT INTO group_member_groups_10 (group_rid, member_rid) "
	"SELECT g.rowid, c.rowid FROM group_member_groups m "
	"JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id "
	"JOIN groups c ON c.tenant_id = m.tenant_id AND c.id = m.member_id;",
	"CREATE TABLE sync_member_refs_10 ("
	"  group_rid INTEGER NOT NULL REFERENCES groups(rid) ON DELETE CASCADE,"
	"  member_key TEXT NOT NULL,"
	"  PRIMARY KEY (group_rid, member_key)"
	") STRICT, WITHOUT ROWID;",
	"INSERT INTO sync_member_refs_10 (group_rid, member_key) "
	"SELECT g.rowid, r.member_key FROM sync_member_refs r "
	"JOIN groups g ON g.tenant_id = r.tenant_id AND g.id = r.group_id;",
	"DROP TABLE sync_member_refs;",
	"DROP TABLE group_member_groups;",
	"DROP TABLE group_member_users;",
	"DROP TABLE groups;",
	"DROP TABLE users;",
	"ALTER TABLE users_10 RENAME TO users;",
	"ALTER TABLE groups_10 RENAME TO groups;",
	"ALTER TABLE group_member_users_10 RENAME TO group_member_users;",
	"ALTER TABLE group_member_groups_10 RENAME TO group_member_groups;",
	"ALTER TABLE sync_member_refs_10 RENAME TO sync_member_refs;",
	/* the indexes of migrations 1 and 6 */
	"CREATE UNIQUE INDEX users_upn ON users(tenant_id, upn_key) WHERE deleted_at IS NULL;",
	"CREATE UNIQUE INDEX users_anchor ON users(tenant_id, source_anchor)"
	"  WHERE source_anchor IS NOT NULL;",
	"CREATE INDEX users_source_dn_key ON users(tenant_id, source_dn_key)"
	"  WHERE source_dn_key IS NOT NULL;",
	"CREATE INDEX users_source_uid_key ON users(tenant_id, source_uid_key)"
	"  WHERE source_uid_key IS NOT NULL;",
	"CREATE UNIQUE INDEX groups_name ON groups(tenant_id, name_key) WHERE deleted_at IS NULL;",
	"CREATE UNIQUE INDEX groups_anchor ON groups(tenant_id, source_anchor)"
	"  WHERE source_anchor IS NOT NULL;",
	"CREATE INDEX groups_source_dn_key ON groups(tenant_id, source_dn_key)"
	"  WHERE source_dn_key IS NOT NULL;",
	/* the reverse lookups: a user's groups, a group's parents, a key's groups */
	"CREATE INDEX group_member_users_user ON group_member_users(user_rid, group_rid);",
	"CREATE INDEX group_member_groups_member ON group_member_groups(member_rid, group_rid);",
	"CREATE INDEX sync_member_refs_key ON sync_member_refs(member_key);",
	/* the role-data version triggers of migration 4 on users and groups */
	DIR_RBAC_TRIGGER("rbac_v_u_u", "UPDATE OF deleted_at ON users", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_u_d", "DELETE ON users", "OLD"),
	DIR_RBAC_TRIGGER("rbac_v_g_u", "UPDATE OF deleted_at ON groups", "NEW"),
	DIR_RBAC_TRIGGER("rbac_v_g_d", "DELETE ON groups", "OLD"),
	/*
	 * Tenant isolation.  A side that does not exist compares as NULL, so
	 * the trigger lets it through and the foreign key refuses it.
	 */
	"CREATE TRIGGER group_member_users_tenant BEFORE INSERT ON group_member_users "
	"WHEN (SELECT tenant_id FROM groups WHERE rid = NEW.group_rid) <> "
	"(SELECT tenant_id FROM users WHERE rid = NEW.user_rid) "
	"BEGIN SELECT RAISE(ABORT, 'membership across tenants'); END;",
	"CREATE TRIGGER group_member_users_tenant_u BEFORE UPDATE ON group_member_users "
	"WHEN (SELECT tenant_id FROM groups WHERE rid = NEW.group_rid) <> "
	"(SELECT tenant_id FROM users WHERE rid = NEW.user_rid) "
	"BEGIN SELECT RAISE(ABORT, 'membership across tenants'); END;",
	"CREATE TRIGGER group_member_groups_tenant BEFORE INSERT ON group_member_groups "
	"WHEN (SELECT tenant_id FROM groups WHERE rid = NEW.group_rid) <> "
	"(SELECT tenant_id FROM groups WHERE rid = NEW.member_rid) "
	"BEGIN SELECT RAISE(ABORT, 'membership across tenants'); END;",
	"CREATE TRIGGER group_member_groups_tenant_u BEFORE UPDATE ON group_member_groups "
	"WHEN (SELECT tenant_id FROM groups WHERE rid = NEW.group_rid) <> "
	"(SELECT tenant_id FROM groups WHERE rid = NEW.member_rid) "
	"BEGIN SELECT RAISE(ABORT, 'membership across tenants'); END;",
	"CREATE TRIGGER users_tenant_fixed BEFORE UPDATE OF tenant_id ON users "
	"WHEN NEW.tenant_id IS NOT OLD.tenant_id "
	"BEGIN SELECT RAISE(ABORT, 'the tenant of a user cannot change'); END;",
	"CREATE TRIGGER groups_tenant_fixed BEFORE UPDATE OF tenant_id ON groups "
	"WHEN NEW.tenant_id IS NOT OLD.tenant_id "
	"BEGIN SELECT RAISE(ABORT, 'the tenant of a group cannot change'); END;",
	NULL,
};

/*
 * 11: the DN and uid key indexes also hold deleted_at, so linking a
 * group's members ("live object with this key") reads the index alone:
 * in a full sync of 100k memberships the table reads were a random walk
 * over every user row.
 */
static const char *const dir_migration_11[] = {
	"DROP INDEX users_source_dn_key;",
	"CREATE INDEX users_source_dn_key ON users(tenant_id, source_dn_key, deleted_at)"
	"  WHERE source_dn_key IS NOT NULL;",
	"DROP INDEX users_source_uid_key;",
	"CREATE INDEX users_source_uid_key ON users(tenant_id, source_uid_key, deleted_at)"
	"  WHERE source_uid_key IS NOT NULL;",
	"DROP INDEX groups_source_dn_key;",
	"CREATE INDEX groups_source_dn_key ON groups(tenant_id, source_dn_key, deleted_at)"
	"  WHERE source_dn_key IS NOT NULL;",
	NULL,
};

static const char *const *const dir_migrations[] = {
	dir_migration_1, dir_migration_2, dir_migration_3, dir_migration_4, dir_migration_5,
	dir_migration_6, dir_migration_7, dir_migration_8, dir_migration_9, dir_migration_10,
	dir_migration_11};

_Static_assert(sizeof(dir_migrations) / sizeof(dir_migrations[0]) == DIR_SCHEMA_VERSION,
	       "one migration per schema version");

static int dir_read_version(struct dir *d, int *out, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(d->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return dir_fail(d, err, "read schema version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : dir_fail(d, err, "read schema version");
}

static int dir_schema_migrate_fk_off(struct dir *d, int target, struct err *err)
{
	for (int v = d->version + 1; v <= target; v++) {
		char bump[48];
		int now = 0;

		if (dir_exec(d, "BEGIN IMMEDIATE", err) != 0)
			return err->code;
		if (dir_read_version(d, &now, err) != 0)
			goto fail;
		if (now >= v) { /* another process got here first */
			dir_exec(d, "COMMIT", err);
			d->version = now;
			v = now;
			continue;
		}
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v);
		for (const char *const *step = dir_migrations[v - 1]; *step != NULL; step++) {
			if (dir_exec(d, *step, err) != 0) {
				err_prefix(err, "migration to schema version %d", v);
				goto fail;
			}
		}
		if (dir_foreign_keys_hold(d, err) != 0 || dir_exec(d, bump, err) != 0 ||
		    dir_exec(d, "COMMIT", err) != 0) {
			err_prefix(err, "migration to schema version %d", v);
			goto fail;
		}
		d->version = v;
	}
	return 0;
fail:
	sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	return err->code;
}

/*
 * Migrations run with foreign keys off, as SQLite's procedure for
 * rebuilding a table asks (PRAGMA foreign_keys is a no-op inside a
 * transaction, so it is set around them): dropping a referenced table
 * would otherwise delete, and cascade to, every row referencing it.
 * Each migration checks the keys itself before it commits.
 */
int dir_schema_migrate(struct dir *d, int target, struct err *err)
{
	struct err ignored = {0};
	int rc;

	if (d->version >= target)
		return 0;
	if (dir_exec(d, "PRAGMA foreign_keys=OFF", err) != 0)
		return err->code;
	rc = dir_schema_migrate_fk_off(d, target, err);
	if (dir_exec(d, "PRAGMA foreign_keys=ON", rc == 0 ? err : &ignored) != 0 && rc == 0)
		rc = err->code;
	return rc;
}
