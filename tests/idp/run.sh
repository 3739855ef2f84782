#!/bin/bash
# tests/idp/run.sh BUILD_DIR TEST_FILE...: the idp over real HTTPS on 127.0.0.1.
#
# Makes a throw-away world in a temp directory (a self-signed certificate, a
# key file, a store with two tenants, their users and apps), starts two idp
# daemons on it (the normal one, and one with 5-second code and token
# lifetimes for the expiry tests), runs the given node test files against
# them, and stops everything, whatever happens.
set -euo pipefail

build=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
ctl="$build/idp/idpctl"
idp="$build/idp/idp"
dir=$(mktemp -d /tmp/idp-it-XXXXXX)
pids=()
cleanup() {
	DEMO_LDAP_DIR="$dir/ldap" DEMO_LDAP_PORT="$ldap_port" "$here/../../scripts/demo-ldap.sh" \
		stop >/dev/null 2>&1 || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "${KEEP_TEST_DIR:-}" ]; then echo "test dir kept: $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

if [ ! -d "$here/node_modules/openid-client" ]; then
	echo "node modules missing: run scripts/install-deps.sh test" >&2
	exit 1
fi

free_port() {
	node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
port=$(free_port)
port_short=$(free_port)
cb_port=$(free_port)
ldap_port=$(free_port)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
chmod 600 "$dir/tls.key"

write_conf() { # FILE PORT CODE_TTL TOKEN_TTL
	cat >"$1" <<EOF
[store]
path = $dir/store.db
[passwords]
argon2_passes = 1
argon2_memory = 64k
[http]
listen = 127.0.0.1
port = $2
public_url = https://127.0.0.1:$2
tls_cert = $dir/tls.crt
tls_key = $dir/tls.key
threads = 2
max_body = 16k
[tokens]
code_lifetime = $3
access_token_lifetime = $4
id_token_lifetime = $4
[secrets]
key_file = $dir/keys.txt
[passthrough]
sync_config = $dir/sync.conf
[log]
level = warn
EOF
}
write_conf "$dir/idp.conf" "$port" 60s 10m
write_conf "$dir/short.conf" "$port_short" 5s 5s
export IDP_CONFIG="$dir/idp.conf"
"$ctl" mfa keygen "$dir/keys.txt" >/dev/null

# Two tenants, each with users and apps; the secrets land in JSON files.
umask 077
printf 'Correct-Horse-1\n' >"$dir/pw"
for t in acme globex; do
	"$ctl" tenant create "$t" --display-name "${t^} Corporation" >/dev/null
	"$ctl" user create "$t" "alice@$t.test" --display-name "Alice Liddell" --given-name Alice \
		--surname Liddell --mail "alice@$t.test" --password-file "$dir/pw" >/dev/null
	"$ctl" user create "$t" "bob@$t.test" --display-name "Bob" --password-file "$dir/pw" >/dev/null
	"$ctl" group create "$t" staff >/dev/null
	"$ctl" group add-member "$t" staff --user "alice@$t.test" >/dev/null
	"$ctl" --json app create "$t" "App A" --redirect-uri "http://127.0.0.1:$cb_port/a/cb" \
		--grant authorization_code --grant refresh_token >"$dir/$t-a.json"
	"$ctl" --json app create "$t" "App B" --public --redirect-uri "http://127.0.0.1:$cb_port/b/cb" \
		--grant authorization_code --grant refresh_token >"$dir/$t-b.json"
	"$ctl" --json app create "$t" "Service" --grant client_credentials >"$dir/$t-svc.json"
	"$ctl" --json app create "$t" "EC App" --alg ES256 --redirect-uri "http://127.0.0.1:$cb_port/e/cb" \
		--grant authorization_code --grant client_credentials >"$dir/$t-es.json"
done
"$ctl" --json app create acme "MFA App" --mfa-required --redirect-uri "http://127.0.0.1:$cb_port/m/cb" \
	--grant authorization_code >"$dir/acme-mfa.json"
for u in carol dave erin frank; do
	"$ctl" user create acme "$u@acme.test" --display-name "${u^}" --password-file "$dir/pw" >/dev/null
done
"$ctl" user create acme mallory@acme.test --mfa-required --password-file "$dir/pw" >/dev/null
"$ctl" user create acme disabled@acme.test --password-file "$dir/pw" >/dev/null

# Admin API callers: apps with roles at the tenant root, and users.
for t in acme globex; do
	"$ctl" --json app create "$t" "Admin Tool" --grant client_credentials >"$dir/$t-admin.json"
	"$ctl" --json app create "$t" "Reader Tool" --grant client_credentials >"$dir/$t-reader.json"
	"$ctl" --json app create "$t" "Authz App" --grant client_credentials >"$dir/$t-authz.json"
	cid() { sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$1"; }
	"$ctl" assignment create "$t" --role Owner --app "$(cid "$dir/$t-admin.json")" --scope / >/dev/null
	"$ctl" assignment create "$t" --role Reader --app "$(cid "$dir/$t-reader.json")" --scope / >/dev/null
	# the authz app may ask for decisions; the reader app may not
	"$ctl" role create "$t" "Decision Asker" --action idp/authz/check/action >/dev/null
	"$ctl" assignment create "$t" --role "Decision Asker" --app "$(cid "$dir/$t-authz.json")" --scope / >/dev/null
	# App A may read for its users; alice may do anything; bob only read
	"$ctl" assignment create "$t" --role Reader --app "$(cid "$dir/$t-a.json")" --scope / >/dev/null
	"$ctl" assignment create "$t" --role Owner --user "alice@$t.test" --scope / >/dev/null
	"$ctl" assignment create "$t" --role Reader --user "bob@$t.test" --scope / >/dev/null
done

# A tenant with objects synced from LDAP (made through an import, as a sync
# would leave them), to show they are read-only through the APIs.
cat >"$dir/initech.json" <<'JSON'
{"format":"idp-tenant-export","schema_version":5,
 "tenant":{"id":"6d0c6f6e-0000-4000-8000-000000000001","name":"initech","display_name":"Initech","mfa_required":0,"created_at":1,"updated_at":1},
 "users":[{"id":"6d0c6f6e-0000-4000-8000-000000000002","upn":"peter@initech.test","display_name":"Peter Gibbons","given_name":"Peter","surname":"Gibbons","mail":"","enabled":1,"mfa_required":0,"source":"ldap","source_anchor":"1f3e8a52-7c31-103f-9c2a-2b5d5e0f6a11","source_dn":"uid=peter,ou=people,dc=initech,dc=test","password_hash":null,"created_at":1,"updated_at":1,"deleted_at":null}],
 "groups":[{"id":"6d0c6f6e-0000-4000-8000-000000000003","name":"tps","description":"","source":"ldap","source_anchor":"1f3e8a52-7c31-103f-9c2a-2b5d5e0f6a12","source_dn":"cn=tps,ou=groups,dc=initech,dc=test","created_at":1,"updated_at":1,"deleted_at":null}]}
JSON
"$ctl" import "$dir/initech.json" >/dev/null
"$ctl" --json app create initech "Admin Tool" --grant client_credentials >"$dir/initech-admin.json"
"$ctl" assignment create initech --role Owner --app "$(cid "$dir/initech-admin.json")" --scope / >/dev/null
"$ctl" user disable acme disabled@acme.test >/dev/null

# The demo LDAP directory on its own port, synced into acme: users whose
# passwords the idp checks by pass-through bind.
DEMO_LDAP_DIR="$dir/ldap" DEMO_LDAP_PORT="$ldap_port" "$here/../../scripts/demo-ldap.sh" \
	start >/dev/null
sed -e "s|^uri = .*|uri = ldap://127.0.0.1:$ldap_port|" \
	-e "s|^bind_password_file = .*|bind_password_file = $dir/ldap/sync.password|" \
	-e "s|^path = .*|path = $dir/store.db|" -e "s|^tenant = .*|tenant = acme|" \
	-e "s|^upn = .*|upn = {uid}@ldap.acme.test|" -e "s|^level = .*|level = warn|" \
	"$here/../../conf/sync.conf" >"$dir/sync.conf"
"$build/sync/idp-sync" -c "$dir/sync.conf" --once >"$dir/sync.log" 2>&1 || {
	cat "$dir/sync.log" >&2
	exit 1
}
export IDP_LDAP_PASSWORD_FILE="$dir/ldap/user.password"

start() { # CONF PORT LOG
	"$idp" -c "$1" >"$3" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		if curl -sk "https://127.0.0.1:$2/healthz" >/dev/null 2>&1; then return 0; fi
		sleep 0.05
	done
	echo "idp did not start:" >&2
	cat "$3" >&2
	exit 1
}
start "$dir/idp.conf" "$port" "$dir/idp.log"
start "$dir/short.conf" "$port_short" "$dir/short.log"

export IDP_URL="https://127.0.0.1:$port" IDP_SHORT_URL="https://127.0.0.1:$port_short"
export IDP_TEST_DIR="$dir" IDP_CB_PORT="$cb_port" IDP_BUILD="$build"
export IDP_ARTIFACTS="${IDP_ARTIFACTS:-$(cd "$here/../.." && pwd)/tests/artifacts}"
export NODE_EXTRA_CA_CERTS="$dir/tls.crt"
mkdir -p "$IDP_ARTIFACTS"
status=0
node --test --test-reporter=spec "$@" || status=$?
# the daemons must have survived every test, and stop cleanly (a leak report
# under the sanitizers changes the exit code)
for p in "${pids[@]}"; do
	if ! kill -0 "$p" 2>/dev/null; then
		echo "an idp daemon died during the tests:" >&2
		cat "$dir/idp.log" "$dir/short.log" >&2
		status=1
	fi
	kill -TERM "$p" 2>/dev/null || true
	code=0
	wait "$p" || code=$?
	if [ "$code" -ne 0 ]; then
		echo "an idp daemon exited with $code:" >&2
		cat "$dir/idp.log" "$dir/short.log" >&2
		status=1
	fi
done
pids=()
if grep -qE "AddressSanitizer|runtime error" "$dir/idp.log" "$dir/short.log"; then
	echo "sanitizer report in the daemon's log:" >&2
	cat "$dir/idp.log" "$dir/short.log" >&2
	status=1
fi
exit $status
