#!/bin/bash
# tests/risk/run.sh BUILD_DIR TEST_FILE...: the risk engine and reports over
# real HTTPS on 127.0.0.1.
#
# Makes a throw-away world in a temp directory: a self-signed certificate, a
# key file, a geo database written by mmdb_tool from geo-spec.txt, a list of
# anonymous and malicious networks, a store with the tenant acme (admins,
# apps, and the users of the generated day), and an idp whose [risk] section
# trusts X-Forwarded-For from 127.0.0.1 only, so the tests speak for clients
# at any address.  Runs the node test files one after another against it,
# then stops everything, whatever happens.
set -euo pipefail

build=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
ctl="$build/idp/idpctl"
idp="$build/idp/idp"
dir=$(mktemp -d /tmp/idp-risk-XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	if [ -n "${KEEP_TEST_DIR:-}" ]; then echo "test dir kept: $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

if [ ! -d "$here/node_modules/playwright-core" ]; then
	echo "node modules missing: run scripts/install-deps.sh test" >&2
	exit 1
fi

free_port() {
	node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
port=$(free_port)
cb_port=$(free_port)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
chmod 600 "$dir/tls.key"

"$build/tests/risk/mmdb_tool" "$dir/geo.mmdb" "$here/geo-spec.txt"
cat >"$dir/networks.txt" <<'EOF2'
# anonymous and malicious networks (the admin's list)
203.0.113.0/24  anonymous  Tor exit relays
198.51.100.0/24 malicious  botnet command and control
EOF2

cat >"$dir/idp.conf" <<EOF2
[store]
path = $dir/store.db
[passwords]
argon2_passes = 1
argon2_memory = 64k
[http]
listen = 127.0.0.1
port = $port
public_url = https://127.0.0.1:$port
tls_cert = $dir/tls.crt
tls_key = $dir/tls.key
threads = 4
max_body = 16k
[secrets]
key_file = $dir/keys.txt
[log]
level = warn
[risk]
geo_database = $dir/geo.mmdb
listed_networks = $dir/networks.txt
trusted_proxy = 127.0.0.1
EOF2
export IDP_CONFIG="$dir/idp.conf"
"$ctl" mfa keygen "$dir/keys.txt" >/dev/null

umask 077
printf 'Correct-Horse-1\n' >"$dir/pw"
cid() { sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$1"; }
"$ctl" tenant create acme --display-name "Acme Corporation" >/dev/null
"$ctl" --json app create acme "App A" --redirect-uri "http://127.0.0.1:$cb_port/a/cb" \
	--grant authorization_code --grant refresh_token >"$dir/acme-a.json"
"$ctl" --json app create acme "Admin Tool" --grant client_credentials >"$dir/acme-admin.json"
"$ctl" --json app create acme "Reader Tool" --grant client_credentials >"$dir/acme-reader.json"
"$ctl" --json app create acme "Nobody Tool" --grant client_credentials >"$dir/acme-nobody.json"
"$ctl" assignment create acme --role Owner --app "$(cid "$dir/acme-admin.json")" --scope / >/dev/null
"$ctl" assignment create acme --role Reader --app "$(cid "$dir/acme-reader.json")" --scope / >/dev/null
"$ctl" user create acme admin@acme.test --display-name "Ada Admin" --password-file "$dir/pw" >/dev/null
"$ctl" assignment create acme --role Reader --user admin@acme.test --scope / >/dev/null
"$ctl" user create acme plain@acme.test --password-file "$dir/pw" >/dev/null
# the generated day's users: u000..u149
for i in $(seq -w 0 149); do
	echo "u$i"
done | while read -r u; do
	"$ctl" user create acme "$u@acme.test" --password-file "$dir/pw" >/dev/null
done
# a second tenant, to show its reports are its own
"$ctl" tenant create globex >/dev/null
"$ctl" --json app create globex "Admin Tool" --grant client_credentials >"$dir/globex-admin.json"
"$ctl" assignment create globex --role Owner --app "$(cid "$dir/globex-admin.json")" --scope / >/dev/null

"$idp" -c "$dir/idp.conf" >"$dir/idp.log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	if curl -sk "https://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
	sleep 0.05
done
if ! curl -sk "https://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
	echo "idp did not start:" >&2
	cat "$dir/idp.log" >&2
	exit 1
fi

export IDP_URL="https://127.0.0.1:$port" IDP_TEST_DIR="$dir" IDP_CB_PORT="$cb_port"
export IDP_BUILD="$build"
export IDP_ARTIFACTS="${IDP_ARTIFACTS:-$(cd "$here/../.." && pwd)/tests/artifacts}"
export NODE_EXTRA_CA_CERTS="$dir/tls.crt"
mkdir -p "$IDP_ARTIFACTS"
status=0
for f in "$@"; do
	node --test --test-reporter=spec "$f" || status=$?
done
if ! kill -0 "$pid" 2>/dev/null; then
	echo "the idp died during the tests:" >&2
	cat "$dir/idp.log" >&2
	status=1
fi
kill -TERM "$pid" 2>/dev/null || true
code=0
wait "$pid" || code=$?
pid=
if [ "$code" -ne 0 ]; then
	echo "the idp exited with $code:" >&2
	cat "$dir/idp.log" >&2
	status=1
fi
if grep -qE "AddressSanitizer|runtime error" "$dir/idp.log"; then
	echo "sanitizer report in the daemon's log:" >&2
	cat "$dir/idp.log" >&2
	status=1
fi
exit $status
