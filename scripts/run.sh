#!/bin/bash
# run: install what is missing, build, and start the system on the embedded
# default: a SQLite store under var/demo with a demo tenant.
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
	rm -f var/demo/store.db var/demo/store.db-wal var/demo/store.db-shm var/demo/password
fi

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
fi

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
echo
echo "Demo users' password: $(cat var/demo/password)   (in var/demo/password)"
echo "Try: IDP_CONFIG=conf/idp.conf $ctl --help"
