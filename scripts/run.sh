#!/bin/bash
# run: install what is missing, build, and start the system on the embedded
# default: a SQLite store under var/demo with a demo tenant, a local demo
# LDAP directory (slapd on 127.0.0.1:3389) that idp-sync keeps in step with
# the tenant, and the idp daemon on http://127.0.0.1:8443 (plain HTTP,
# loopback only) in the foreground until Ctrl-C, which stops them all.
#
# Running it again keeps the existing demo store; --reset starts afresh.
set -euo pipefail
cd "$(dirname "$0")/.."

reset=0
[ "${1:-}" = --reset ] && reset=1
scripts/install-deps.sh run
scripts/build.sh build -Dbuildtype=release

export IDP_CONFIG=conf/idp.conf
ctl=build/idp/idpctl
mkdir -p var/demo
chmod 700 var var/demo
if [ $reset = 1 ]; then
	scripts/demo-ldap.sh reset >/dev/null
	rm -f var/demo/store.db var/demo/store.db-wal var/demo/store.db-shm var/demo/password \
		var/demo/secret.key var/demo/demo-app.json
fi
# the key file sealing private keys and second-factor secrets
[ -f var/demo/secret.key ] || $ctl mfa keygen var/demo/secret.key >/dev/null

if ! $ctl tenant show demo >/dev/null 2>&1; then
	echo "run: creating the demo tenant"
	# A random password, never a well-known one: it is printed below and
	# kept in an owner-only file.
	umask 077
	head -c 18 /dev/urandom | base64 | tr '+/' '-_' > var/demo/password
	$ctl tenant create demo --display-name "Demo Organisation" >/dev/null
	for u in alice:Alice:Anderson bob:Bob:Brown carol:Carol:Clark; do
		IFS=: read -r login given sur <<<"$u"
		$ctl user create demo "$login@demo.example" --display-name "$given $sur" \
			--given-name "$given" --surname "$sur" --mail "$login@demo.example" \
			--password-file var/demo/password >/dev/null
	done
	$ctl group create demo engineering --description "Engineering" >/dev/null
	$ctl group create demo staff --description "Everyone" >/dev/null
	$ctl group add-member demo engineering --user alice@demo.example >/dev/null
	$ctl group add-member demo engineering --user bob@demo.example >/dev/null
	$ctl group add-member demo staff --group engineering >/dev/null
	$ctl group add-member demo staff --user carol@demo.example >/dev/null
	$ctl --json app create demo "Demo Portal" --redirect-uri http://127.0.0.1:9000/callback \
		--grant authorization_code --grant refresh_token --grant client_credentials \
		>var/demo/demo-app.json
fi

# The demo directory: people and nested groups synced into the same tenant,
# signing in with their LDAP password (pass-through).
scripts/demo-ldap.sh start
build/sync/idp-sync -c conf/sync.conf --once

echo
echo "== the demo store: $(pwd)/var/demo/store.db =="
$ctl tenant list
echo
$ctl user list demo
echo
$ctl group list demo
echo
echo "alice's groups (transitive):"
$ctl user groups demo alice@demo.example

client_id=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' var/demo/demo-app.json)
cat <<EOF

Demo users' password: $(cat var/demo/password)   (in var/demo/password)
Synced LDAP users (ada@globex.demo.example, ...): $(cat var/demo/ldap/user.password)
   (in var/demo/ldap/user.password; change them in the directory, idp-sync follows)
Demo app "Demo Portal": client_id $client_id (its secret is in var/demo/demo-app.json)

The idp listens on http://127.0.0.1:8443 (Ctrl-C stops it). Try:
  curl http://127.0.0.1:8443/demo/v2.0/.well-known/openid-configuration
  curl -u "$client_id:SECRET" -d grant_type=client_credentials http://127.0.0.1:8443/demo/oauth2/token
  sign in as alice@demo.example in a browser (the code arrives at 127.0.0.1:9000):
  http://127.0.0.1:8443/demo/oauth2/authorize?client_id=$client_id&response_type=code&scope=openid%20profile&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=demo
  IDP_CONFIG=conf/idp.conf $ctl --help
  build/sync/idp-sync -c conf/sync.conf --status
EOF
# idp-sync follows the directory (persist) while the idp serves; Ctrl-C ends both
build/sync/idp-sync -c conf/sync.conf &
sync_pid=$!
trap 'kill $sync_pid 2>/dev/null; wait $sync_pid 2>/dev/null; scripts/demo-ldap.sh stop' EXIT
build/idp/idp -c conf/idp.conf
