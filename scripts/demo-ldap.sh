#!/bin/bash
# demo-ldap: a local OpenLDAP server with the demo directory of "Globex"
# (conf/demo/demo.ldif.in), for idp-sync to sync from (conf/sync.conf).
#
#   scripts/demo-ldap.sh start    create it if needed, start it (idempotent)
#   scripts/demo-ldap.sh stop     stop it (idempotent)
#   scripts/demo-ldap.sh status   say whether it runs; exit 0 if it does
#   scripts/demo-ldap.sh reset    stop it and delete its data
#
# It listens on ldap://127.0.0.1:$DEMO_LDAP_PORT (default 3389) only; its
# data, pid file and passwords live in var/demo/ldap/ (mode 700):
#   sync.password   the idp-sync account's password (conf/sync.conf reads it)
#   admin.password  cn=admin,dc=demo,dc=example (the rootdn: change the demo)
#   user.password   every demo person's password (pass-through sign-in)
# The passwords are random, made when the data is created.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${DEMO_LDAP_PORT:-3389}
suffix="dc=demo,dc=example"
# DEMO_LDAP_DIR puts it elsewhere (the idp's integration tests do)
dir=${DEMO_LDAP_DIR:-"$(pwd)/var/demo/ldap"}
pidfile="$dir/slapd.pid"

running() {
	[ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

create() {
	echo "demo-ldap: creating the demo directory in $dir"
	rm -rf "$dir"
	mkdir -p "$dir/slapd.d" "$dir/data"
	chmod 700 "$dir"
	[ -z "${DEMO_LDAP_DIR:-}" ] && chmod 700 var var/demo
	umask 077
	for f in sync admin user; do
		head -c 18 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n' >"$dir/$f.password"
	done
	local rootpw syncpw userpw
	rootpw=$(slappasswd -T "$dir/admin.password")
	syncpw=$(slappasswd -T "$dir/sync.password")
	userpw=$(slappasswd -T "$dir/user.password")
	sed -e "s|@DIR@|$dir|g" -e "s|@SUFFIX@|$suffix|g" -e "s|@ROOTPW@|$rootpw|g" \
		-e "s|@SYNCDN@|cn=idp-sync,ou=system,$suffix|g" \
		conf/demo/slapd-config.ldif.in >"$dir/config.ldif"
	sed -e "s|@SUFFIX@|$suffix|g" -e "s|@SYNCPW@|$syncpw|g" -e "s|@USERPW@|$userpw|g" \
		conf/demo/demo.ldif.in >"$dir/demo.ldif"
	slapadd -q -n 0 -F "$dir/slapd.d" -l "$dir/config.ldif"
	slapadd -q -w -F "$dir/slapd.d" -b "$suffix" -l "$dir/demo.ldif"
}

start() {
	if running; then
		echo "demo-ldap: already running on ldap://127.0.0.1:$port (pid $(cat "$pidfile"))"
		return 0
	fi
	[ -d "$dir/slapd.d" ] || create
	rm -f "$pidfile"
	slapd -h "ldap://127.0.0.1:$port/" -F "$dir/slapd.d"
	for _ in $(seq 1 100); do
		if ldapwhoami -x -H "ldap://127.0.0.1:$port" -D "cn=idp-sync,ou=system,$suffix" \
			-y "$dir/sync.password" >/dev/null 2>&1; then
			echo "demo-ldap: running on ldap://127.0.0.1:$port (pid $(cat "$pidfile"))"
			return 0
		fi
		sleep 0.1
	done
	echo "demo-ldap: slapd did not come up on port $port" >&2
	return 1
}

stop() {
	if ! running; then
		echo "demo-ldap: not running"
		return 0
	fi
	local pid
	pid=$(cat "$pidfile")
	kill "$pid"
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || {
			echo "demo-ldap: stopped"
			return 0
		}
		sleep 0.1
	done
	echo "demo-ldap: slapd (pid $pid) did not stop" >&2
	return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status)
	if running; then
		echo "demo-ldap: running on ldap://127.0.0.1:$port (pid $(cat "$pidfile"))"
	else
		echo "demo-ldap: not running"
		exit 1
	fi
	;;
reset)
	stop
	rm -rf "$dir"
	echo "demo-ldap: data removed"
	;;
*)
	echo "usage: scripts/demo-ldap.sh start|stop|status|reset" >&2
	exit 2
	;;
esac
