#!/bin/bash
# bench/sync: idp-sync against the floor of reading the same data.
#
#   bench/sync/run.sh BUILD_DIR [USERS [GROUPS [MEMBERS]]]
#
# Defaults: 100,000 users and 1,000 groups of 100 members (groups nested ten
# to a parent).  For each size (half of it first, then the full one, to
# show that memory does not grow with the directory) it loads a private
# slapd (127.0.0.1, a free port, a temp directory, the demo's cn=config
# template) with slapadd, then measures in the same run, BENCH_RUNS times
# (default 3) interleaved, printing the medians:
#   - a bare paged ldapsearch (RFC 2696) of the tree, and of the same
#     searches and attributes idp-sync asks for, output to /dev/null: the
#     floors;
#   - idp-sync --once, a full sync into an empty store: time, entries/s,
#     peak RSS (getrusage of the child; the largest of the runs);
# then once:
#   - idp-sync --once again: the restart that resumes from the cookie;
#   - with idp-sync persisting, 100 single modifies, each timed from the
#     modify until the store shows it: p50, p99, max.
# It prints a table and never passes or fails.  Everything it starts is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: bench/sync/run.sh BUILD_DIR [USERS [GROUPS [MEMBERS]]]}
users=${2:-100000}
groups=${3:-1000}
members=${4:-100}
bench="$build/bench/sync/sync_bench"
sync="$build/sync/idp-sync"
ctl="$build/idp/idpctl"
for f in "$bench" "$sync" "$ctl"; do
	[ -x "$f" ] || {
		echo "bench/sync: $f is missing: build $build first" >&2
		exit 1
	}
done

suffix="dc=bench,dc=example"
syncdn="cn=idp-sync,ou=system,$suffix"
tmp=$(mktemp -d /tmp/idp-bench-sync-XXXXXX)
slapd_pid=""
sync_pid=""
cleanup() {
	[ -n "$sync_pid" ] && kill "$sync_pid" 2>/dev/null && wait "$sync_pid" 2>/dev/null
	[ -n "$slapd_pid" ] && kill "$slapd_pid" 2>/dev/null && wait "$slapd_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	# bind to port 0 and let the kernel choose
	perl -MIO::Socket::INET -e \
		'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
			Listen => 1) or die; print $s->sockport, "\n"'
}

# LDIF of the directory: users uid=uNNNNNN, groups cn=gNNNN of $3 members
# each (users taken in turn), group i nested in group i/10 (i > 0).
make_ldif() {
	awk -v n="$1" -v g="$2" -v k="$3" -v s="$suffix" -v pw="$4" 'BEGIN {
		printf "dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: Bench\ndc: bench\n\n", s
		printf "dn: ou=system,%s\nobjectClass: organizationalUnit\nou: system\n\n", s
		printf "dn: cn=idp-sync,ou=system,%s\nobjectClass: applicationProcess\n", s
		printf "objectClass: simpleSecurityObject\ncn: idp-sync\nuserPassword: %s\n\n", pw
		printf "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", s
		printf "dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n", s
		for (i = 0; i < n; i++) {
			printf "dn: uid=u%06d,ou=people,%s\nobjectClass: inetOrgPerson\n", i, s
			printf "uid: u%06d\ncn: User %d\ngivenName: User\nsn: Number %d\n", i, i, i
			printf "mail: u%06d@bench.example\n\n", i
		}
		for (j = 0; j < g; j++) {
			printf "dn: cn=g%04d,ou=groups,%s\nobjectClass: groupOfNames\ncn: g%04d\n", j, s, j
			printf "description: Group %d\n", j
			for (m = 0; m < k; m++)
				printf "member: uid=u%06d,ou=people,%s\n", (j * k + m) % n, s
			for (c = j * 10 + 1; c <= j * 10 + 10 && c < g; c++)
				printf "member: cn=g%04d,ou=groups,%s\n", c, s
			printf "\n"
		}
	}'
}

ms() { date +%s%N | cut -c1-13; }

# The median of integers (the lower middle of an even count).
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# CPU time (user + system, ms) slapd has used so far; the kernel counts in ticks.
slapd_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$slapd_pid/stat"
}

# One size: load, measure, print a row into $tmp/rows.
measure() {
	local n=$1 g=$2 k=$3 dir="$tmp/$1"
	local port syncpw adminpw
	mkdir -p "$dir/slapd.d" "$dir/data"
	syncpw=$(head -c 12 /dev/urandom | base64 | tr -d '\n/+=')
	adminpw=$(head -c 12 /dev/urandom | base64 | tr -d '\n/+=')
	printf '%s' "$syncpw" >"$dir/sync.pw"
	printf '%s' "$adminpw" >"$dir/admin.pw"
	chmod 600 "$dir/sync.pw" "$dir/admin.pw"
	sed -e "s|@DIR@|$dir|g" -e "s|@SUFFIX@|$suffix|g" -e "s|@ROOTPW@|$adminpw|g" \
		-e "s|@SYNCDN@|$syncdn|g" conf/demo/slapd-config.ldif.in >"$dir/config.ldif"
	slapadd -q -n 0 -F "$dir/slapd.d" -l "$dir/config.ldif"
	make_ldif "$n" "$g" "$k" "$syncpw" >"$dir/data.ldif"
	slapadd -q -w -F "$dir/slapd.d" -b "$suffix" -l "$dir/data.ldif"
	rm -f "$dir/data.ldif"
	# the load's writes go to the disk now, not during the measurements
	# (the kernel's writeback of slapd's database competed with the sync's)
	sync
	port=$(free_port)
	slapd -d 0 -h "ldap://127.0.0.1:$port/" -F "$dir/slapd.d" >"$dir/slapd.log" 2>&1 &
	slapd_pid=$!
	for _ in $(seq 1 200); do
		ldapwhoami -x -H "ldap://127.0.0.1:$port" -D "$syncdn" -y "$dir/sync.pw" \
			>/dev/null 2>&1 && break
		sleep 0.05
	done

	cat >"$dir/sync.conf" <<EOF
[ldap]
uri = ldap://127.0.0.1:$port
bind_dn = $syncdn
bind_password_file = $dir/sync.pw
[users]
base = ou=people,$suffix
[groups]
base = ou=groups,$suffix
[mapping]
upn = {uid}@bench.example
[store]
path = $dir/store.db
tenant = bench
[sync]
batch_size = ${SYNC_BENCH_BATCH:-10000}
[log]
level = warn
EOF
	chmod 600 "$dir/sync.conf"

	# BENCH_RUNS rounds (default 3), each: the floors, a dump of the tree
	# (every user attribute) and the same two paged searches with the
	# same attributes idp-sync asks for, then a full sync into a fresh
	# store.  Interleaved, so that the machine's drift hits both sides;
	# the medians are printed (the peak RSS is the largest).
	local runs=${BENCH_RUNS:-3} r
	local t0 t1 c0 dumps=() floors=() fulls=() rsss=() dslapds=() dclients=() sslapds=() scpus=()
	local d_client full rss rc s_cpu
	for ((r = 0; r < runs; r++)); do
		c0=$(slapd_cpu)
		t0=$(ms)
		read -r _ _ _ d_client < <("$bench" run "$(command -v ldapsearch)" -x -LLL \
			-H "ldap://127.0.0.1:$port" -D "$syncdn" -y "$dir/sync.pw" -b "$suffix" \
			-E pr=1000/noprompt '(objectClass=*)')
		t1=$(ms)
		dumps+=($((t1 - t0)))
		dslapds+=($(($(slapd_cpu) - c0)))
		dclients+=("$d_client")
		t0=$(ms)
		ldapsearch -x -LLL -H "ldap://127.0.0.1:$port" -D "$syncdn" -y "$dir/sync.pw" \
			-b "ou=people,$suffix" -E pr=1000/noprompt '(objectClass=inetOrgPerson)' \
			entryUUID uid cn givenName sn mail >/dev/null
		ldapsearch -x -LLL -H "ldap://127.0.0.1:$port" -D "$syncdn" -y "$dir/sync.pw" \
			-b "ou=groups,$suffix" -E pr=1000/noprompt \
			'(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))' \
			entryUUID member uniqueMember memberUid cn description >/dev/null
		t1=$(ms)
		floors+=($((t1 - t0)))
		rm -f "$dir/store.db" "$dir/store.db-wal" "$dir/store.db-shm"
		"$ctl" -d "$dir/store.db" tenant create bench >/dev/null
		chmod 600 "$dir/store.db"
		c0=$(slapd_cpu)
		read -r full rss rc s_cpu < <("$bench" run "$sync" -c "$dir/sync.conf" --once)
		sslapds+=($(($(slapd_cpu) - c0)))
		[ "$rc" = 0 ] || echo "bench/sync: idp-sync --once exited $rc" >&2
		fulls+=("$full")
		rsss+=("$rss")
		scpus+=("$s_cpu")
	done
	local dump floor dump_slapd dump_client sync_slapd sync_cpu
	dump=$(median "${dumps[@]}")
	floor=$(median "${floors[@]}")
	full=$(median "${fulls[@]}")
	rss=$(printf '%s\n' "${rsss[@]}" | sort -n | tail -1)
	dump_slapd=$(median "${dslapds[@]}")
	dump_client=$(median "${dclients[@]}")
	sync_slapd=$(median "${sslapds[@]}")
	sync_cpu=$(median "${scpus[@]}")
	echo "bench/sync: $n users: full syncs ${fulls[*]} ms, dumps ${dumps[*]} ms; the store after the last: $(stat -c %s "$dir/store.db") bytes" >&2
	read -r resume _ _ _ < <("$bench" run "$sync" -c "$dir/sync.conf" --once)

	local p50="-" p99="-" pmax="-"
	if [ "${BENCH_PERSIST:-1}" = 1 ]; then
		"$sync" -c "$dir/sync.conf" >"$dir/persist.log" 2>&1 &
		sync_pid=$!
		sleep 1
		read -r p50 p99 pmax < <("$bench" persist "$dir/store.db" bench \
			"ldap://127.0.0.1:$port" "cn=admin,$suffix" "$dir/admin.pw" "$n" 100)
		kill "$sync_pid"
		wait "$sync_pid" || true
		sync_pid=""
	fi
	kill "$slapd_pid"
	wait "$slapd_pid" || true
	slapd_pid=""

	local entries=$((n + g))
	awk -v e="$entries" -v f="$floor" -v dmp="$dump" -v s="$full" -v r="$rss" -v res="$resume" \
		-v p50="$p50" -v p99="$p99" -v pmax="$pmax" -v n="$n" -v g="$g" -v k="$k" 'BEGIN {
		printf "| %d users, %d groups x %d | %d | %.2f s | %.2f s | %.2f s | %.0f | %.2f | %.2f | %.1f MB | %d ms | %s / %s / %s ms |\n",
			n, g, k, e, dmp / 1000, f / 1000, s / 1000, e / (s / 1000), s / dmp, s / f,
			r / 1024, res, p50, p99, pmax
	}' >>"$tmp/rows"
	awk -v n="$n" -v dmp="$dump" -v ds="$dump_slapd" -v dc="$dump_client" -v s="$full" \
		-v ss="$sync_slapd" -v sc="$sync_cpu" 'BEGIN {
		printf "| %d users | %.2f s | %.2f + %.2f s | %.2f s | %.2f + %.2f s | %.2f |\n",
			n, dmp / 1000, ds / 1000, dc / 1000, s / 1000, ss / 1000, sc / 1000,
			(ss + sc) / (ds + dc)
	}' >>"$tmp/cpu"
	rm -rf "$dir"
}

small_u=$((users / 2))
small_g=$((groups / 2))
[ "$small_g" -gt 0 ] || small_g=1
echo "bench/sync: $(nproc) cores; loading and measuring $small_u, then $users users" >&2
BENCH_PERSIST=0 measure "$small_u" "$small_g" "$members"
measure "$users" "$groups" "$members"

echo
echo "Full sync (idp-sync --once into an empty store) against bare paged ldapsearch"
echo "runs measured in the same run: a dump of the tree (every user attribute) and the"
echo "same two searches with the same attributes idp-sync asks for; medians of"
echo "${BENCH_RUNS:-3} interleaved rounds (peak RSS: the largest).  Persist: single"
echo "modifies, each from the modify until the store shows it."
echo
echo "| directory | entries | ldapsearch dump | ldapsearch same searches | idp-sync full | entries/s | ratio to dump | ratio to same searches | peak RSS | restart (cookie) | persist p50 / p99 / max |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
cat "$tmp/rows"
echo
echo "Targets: ratio <= 2; peak RSS <= 64 MB and flat; persist p50 <= 100 ms, p99 <= 500 ms."
echo
echo "Where the time goes: CPU (user + system) of slapd and of the client in the"
echo "dump and in the full sync, on $(nproc) cores."
echo
echo "| directory | dump wall | dump CPU: slapd + ldapsearch | sync wall | sync CPU: slapd + idp-sync | CPU ratio |"
echo "|---|---|---|---|---|---|"
cat "$tmp/cpu"
