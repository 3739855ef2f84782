# glewlwyd.sh: glewlwyd (Debian's glewlwyd 2.7, a C SSO server) set up for
# the client_credentials grant, for bench/token/run.sh (which sources this).
#
# glewlwyd runs by hand against its own SQLite file made from the schema the
# package ships, on 127.0.0.1 only.  It is configured the way its admin
# would: through its admin API, logged in as the schema's default admin.
# Two OIDC plugin instances sign with RS256 (/api/oidc) and ES256
# (/api/oidc-es); one confidential client authenticates with
# client_secret_basic (without it in token_endpoint_auth_method the token
# endpoint answers 403).  Client secrets are hashed as glewlwyd's database
# client module does by default (PBKDF2, 150,000 iterations); that default
# is kept for the comparison.  A second client, in a client module set to 1
# iteration, shows what the grant costs without the secret hash.
#
# Functions set glw_why to the reason when they fail.

glw_why=""

# glewlwyd_install: the package, installed with apt-get only when missing.
glewlwyd_install() {
	if command -v glewlwyd >/dev/null 2>&1; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		glw_why="package glewlwyd missing and installing it needs root"
		return 1
	fi
	echo "bench/token: installing the Debian package glewlwyd (pulls in mariadb-client)" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends glewlwyd >"$1/apt.log" 2>&1; then
		apt-get update -q >>"$1/apt.log" 2>&1 || true
		if ! apt-get install -y -q --no-install-recommends glewlwyd >>"$1/apt.log" 2>&1; then
			glw_why="apt-get install glewlwyd failed (see its log)"
			return 1
		fi
	fi
	command -v glewlwyd >/dev/null 2>&1 || { glw_why="glewlwyd not found after install"; return 1; }
}

# glewlwyd_start DIR PORT: a fresh database and config in DIR, the server
# started in the background; its pid in glw_pid.
glewlwyd_start() {
	local dir=$1 port=$2 schema=/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz
	if [ ! -f "$schema" ]; then
		glw_why="schema $schema missing"
		return 1
	fi
	if ! command -v sqlite3 >/dev/null 2>&1; then
		glw_why="sqlite3 (the CLI) missing"
		return 1
	fi
	zcat "$schema" | sqlite3 "$dir/glewlwyd.db" || { glw_why="schema load failed"; return 1; }
	cat >"$dir/glewlwyd.conf" <<EOF
port=$port
bind_address="127.0.0.1"
external_url="http://127.0.0.1:$port"
login_url="login.html"
api_prefix="api"
allow_origin="*"
log_mode="console"
log_level="ERROR"
cookie_secure=0
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
login_api_enabled=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
use_secure_connection=false
secure_connection_key_file="$dir/unused.key"
secure_connection_pem_file="$dir/unused.pem"
hash_algorithm="SHA512"
database =
{
  type = "sqlite3"
  path = "$dir/glewlwyd.db"
};
EOF
	glewlwyd -c "$dir/glewlwyd.conf" >"$dir/glewlwyd.log" 2>&1 &
	glw_pid=$!
	for _ in $(seq 100); do
		if curl -sf "http://127.0.0.1:$port/config" >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$glw_pid" 2>/dev/null; then break; fi
		sleep 0.05
	done
	glw_why="did not start: $(tail -n 1 "$dir/glewlwyd.log")"
	return 1
}

# glw_api DIR PORT METHOD PATH [JSON_FILE]: one admin API call; fails unless 200.
glw_api() {
	local code
	code=$(curl -s -o "$1/api.out" -w '%{http_code}' -b "$1/cookies" -c "$1/cookies" \
		-X "$3" -H 'Content-Type: application/json' ${5:+--data-binary "@$5"} \
		"http://127.0.0.1:$2/api$4")
	if [ "$code" != 200 ]; then
		glw_why="admin API $3 $4 answered $code: $(head -c 200 "$1/api.out")"
		return 1
	fi
}

# glewlwyd_setup DIR PORT SECRET: the plugins, the scope and the clients.
glewlwyd_setup() {
	local dir=$1 port=$2 secret=$3
	printf '{"username":"admin","password":"password"}' >"$dir/login.json"
	glw_api "$dir" "$port" POST /auth/ "$dir/login.json" || return 1
	openssl genrsa -out "$dir/rsa.key" 2048 2>/dev/null &&
		openssl rsa -in "$dir/rsa.key" -pubout -out "$dir/rsa.pub" 2>/dev/null &&
		openssl ecparam -genkey -name prime256v1 -noout 2>/dev/null |
		openssl pkcs8 -topk8 -nocrypt -out "$dir/ec.key" &&
		openssl ec -in "$dir/ec.key" -pubout -out "$dir/ec.pub" 2>/dev/null ||
		{ glw_why="openssl could not make keys"; return 1; }
	# JSON with PEM keys in it: let node do the escaping
	GLW_DIR=$dir GLW_PORT=$port GLW_SECRET=$secret node --input-type=module -e '
import fs from "node:fs";
const { GLW_DIR: d, GLW_PORT: port, GLW_SECRET: secret } = process.env;
const plugin = (name, type, key) => ({
  module: "oidc", name, display_name: name,
  parameters: {
    iss: `http://127.0.0.1:${port}`, "jwt-type": type, "jwt-key-size": "256",
    key: fs.readFileSync(`${d}/${key}.key`, "utf8"), cert: fs.readFileSync(`${d}/${key}.pub`, "utf8"),
    "access-token-duration": 600, "refresh-token-duration": 1209600, "code-duration": 600,
    "refresh-token-rolling": true, "allow-non-oidc": true,
    "auth-type-client-enabled": true, "auth-type-code-enabled": false,
    "auth-type-token-enabled": false, "auth-type-id-token-enabled": false,
    "auth-type-none-enabled": false, "auth-type-password-enabled": false,
    "auth-type-refresh-enabled": false, scope: [], "additional-parameters": [], claims: [],
  },
});
const client = (id) => ({
  client_id: id, name: id, confidential: true, password: secret, enabled: true,
  authorization_type: ["client_credentials"], scope: ["bench"],
  token_endpoint_auth_method: ["client_secret_basic"], redirect_uri: [],
});
const w = (f, v) => fs.writeFileSync(`${d}/${f}.json`, JSON.stringify(v));
w("plugin-rs", plugin("oidc", "rsa", "rsa"));
w("plugin-es", plugin("oidc-es", "ecdsa", "ec"));
w("scope", { name: "bench", display_name: "bench", description: "bench", password_required: false, scheme: {} });
w("client", client("bench"));
w("client-fast", client("bench-fast"));
' || { glw_why="node could not write the setup JSON"; return 1; }
	glw_api "$dir" "$port" POST /mod/plugin/ "$dir/plugin-rs.json" &&
		glw_api "$dir" "$port" POST /mod/plugin/ "$dir/plugin-es.json" &&
		glw_api "$dir" "$port" POST /scope/ "$dir/scope.json" &&
		glw_api "$dir" "$port" POST "/client/?source=database" "$dir/client.json" || return 1
	# the same client module, but hashing new secrets with 1 PBKDF2 iteration
	glw_api "$dir" "$port" GET /mod/client/database || return 1
	node -e '
const fs = require("fs"), d = process.argv[1];
const m = JSON.parse(fs.readFileSync(`${d}/api.out`, "utf8"));
fs.writeFileSync(`${d}/module-fast.json`, JSON.stringify({ module: "database", name: "fast",
  display_name: "fast", order_rank: 1, parameters: { ...m.parameters, "pbkdf2-iterations": 1 } }));
' "$dir" || { glw_why="node could not write the module JSON"; return 1; }
	glw_api "$dir" "$port" POST /mod/client/ "$dir/module-fast.json" &&
		glw_api "$dir" "$port" POST "/client/?source=fast" "$dir/client-fast.json" || return 1
}
