#!/bin/bash
# install-deps: the Debian packages the project needs, installed only when
# missing, so running it again costs a few dpkg queries.
#
#   scripts/install-deps.sh run    build and run (daemons, demo LDAP)
#   scripts/install-deps.sh test   also what the tests need (clang, Chromium...)
set -euo pipefail

what=${1:-run}
run_pkgs=(
	gcc libc6-dev meson ninja-build pkg-config
	libsqlite3-dev libssl-dev libjansson-dev libinih-dev libargon2-dev
	libldap-dev liboath-dev libjwt-dev libmicrohttpd-dev libqrencode-dev
	libmaxminddb-dev check libcurl4-openssl-dev
	slapd ldap-utils
)
test_pkgs=(
	oathtool clang libclang-rt-14-dev wrk sqlite3 chromium
	openssl
)
pkgs=("${run_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: these packages are missing and installing them needs root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# slapd's post-install start fails where there is no init system; the
	# package itself is installed all the same, and the project runs its own.
	apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		apt-get install -y -q --no-install-recommends --fix-broken
fi

# npm modules of tests and benchmarks, from their lock files.  Browsers are
# never downloaded: the browser tests drive Debian's Chromium.
if [ "$what" = test ]; then
	if ! command -v npm >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q --no-install-recommends nodejs npm
	fi
	while IFS= read -r lock; do
		d=$(dirname "$lock")
		if [ ! -f "$d/node_modules/.package-lock.json" ] ||
			[ "$lock" -nt "$d/node_modules/.package-lock.json" ]; then
			echo "install-deps: npm ci in $d"
			(cd "$d" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
				--loglevel=error)
		fi
	done < <(find tests bench -name package-lock.json -not -path '*/node_modules/*' 2>/dev/null)
fi
