#!/bin/bash
# bench/token/run.sh BUILD_DIR [--smoke]: the token service over loopback HTTP, with
# the references it is judged against measured in the same run, as one table.
#
#  - client_credentials grants/s, RS256 and ES256, with wrk (keep-alive, 16
#    connections), p50/p99, beside `openssl speed -multi 2` sign/s for the
#    same algorithm on both cores;
#  - the idp's JWKS endpoint req/s: the HTTP floor;
#  - idle and loaded RSS of the idp;
#  - offline validations/s through idp-verify's library, one core;
#  - the same grant against glewlwyd (Debian) and node's oidc-provider (npm),
#    with the ratios; a peer that cannot run gets "not measured: why";
#  - /authz/check, single and batch, checks/s, on a tenant of 10k users.
#
# Everything runs on 127.0.0.1 in a temp directory and is stopped at the end,
# whatever happens.  It measures; it never passes or fails on a figure.
#
# Environment: TOKEN_BENCH_SECONDS (default 10) per wrk run and per openssl
# operation; TOKEN_BENCH_THREADS ([http] threads of the idp, default 2: one
# per core); TOKEN_BENCH_CONNECTIONS (default 16); TOKEN_BENCH_NO_PEERS=1
# skips glewlwyd and oidc-provider; KEEP_BENCH_DIR=1 keeps the temp dir.
#
# --smoke (or TOKEN_BENCH_SMOKE=1) is the benchmark's own test (meson test
# bench-token-smoke): 1-second runs on a smaller tenant, no peers, and it
# fails when a figure of the idp is missing, a request failed, a tampered
# token validated, or the daemon did not stop cleanly (sanitizer builds).
set -euo pipefail

build=$(cd "${1:?usage: bench/token/run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
smoke=${TOKEN_BENCH_SMOKE:-}
if [ "${2:-}" = --smoke ]; then smoke=1; fi
secs=${TOKEN_BENCH_SECONDS:-10}
world_size=()
if [ -n "$smoke" ]; then
	secs=1
	world_size=(--users 2000 --groups 50 --assignments 400 --checks 2000)
fi
threads=${TOKEN_BENCH_THREADS:-2}
conns=${TOKEN_BENCH_CONNECTIONS:-16}
cores=$(nproc)
wrk_threads=$((cores < conns ? cores : conns))
ctl="$build/idp/idpctl"
tenant=bench
batch=100

for tool in wrk openssl curl node; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench/token: $tool is missing: run scripts/install-deps.sh test" >&2
		exit 1
	fi
done
for bin in "$build/idp/idp" "$ctl" "$build/bench/token/token_bench" "$build/bench/token/token_world"; do
	if [ ! -x "$bin" ]; then
		echo "bench/token: $bin is missing: build $build first" >&2
		exit 1
	fi
done

umask 077
work=$(mktemp -d /tmp/token-bench-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "${KEEP_BENCH_DIR:-}" ]; then echo "bench dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() {
	node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
json_field() { # FILE KEY: a string field of idpctl's JSON output
	sed -n "s/.*\"$2\": \"\\(.*\\)\".*/\\1/p" "$1" | head -n 1
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
note() { echo "bench/token: $*" >&2; }

# ---- figures: every measured value lands in $work/fig/NAME ---------------
mkdir -p "$work/fig"
put() { printf '%s\n' "$2" >"$work/fig/$1"; }
get() { cat "$work/fig/$1" 2>/dev/null || true; }
problems=()

# The server under test: its pids (the idp, glewlwyd, or node's primary and
# workers), for the CPU each request costs it and for settle.
server_pids=""
clk_tck=$(getconf CLK_TCK)
server_ticks() {
	local t=0 p v
	for p in $server_pids; do
		v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || v=0
		t=$((t + v))
	done
	echo "$t"
}

# settle: wait (at most 15 s) until the server has stopped using CPU, so a
# run does not pay for the backlog the previous one left queued (glewlwyd
# keeps hashing for connections wrk has closed).
settle() {
	local prev cur
	[ -n "$server_pids" ] || return 0
	prev=$(server_ticks)
	for _ in $(seq 75); do
		sleep 0.2
		cur=$(server_ticks)
		[ $((cur - prev)) -le 1 ] && return 0
		prev=$cur
	done
}

# wrk_run NAME URL [LUA [ENV=VALUE...]]: one wrk run.  Saves NAME_rate,
# NAME_p50 and NAME_p99 (ms), and NAME_cpu (server CPU µs per request).
wrk_run() {
	local name=$1 url=$2 script=${3:-} out="$work/wrk-$1.txt" errs t0 t1 n
	shift 3 || shift $#
	settle
	t0=$(server_ticks)
	env "$@" wrk -t"$wrk_threads" -c"$conns" -d"${secs}s" --timeout 10s --latency \
		${script:+-s "$script"} \
		"$url" >"$out" 2>&1 || true
	t1=$(server_ticks)
	put "${name}_rate" "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
	for p in 50 99; do
		put "${name}_p$p" "$(awk -v p="$p%" '$1 == p {
			v = $2
			if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
			else if (v ~ /ms$/) { sub(/ms$/, "", v) }
			else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60000 }
			else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
			printf "%.2f", v }' "$out")"
	done
	n=$(awk '/ requests in / {print $1}' "$out")
	if [ -n "$server_pids" ] && [ -n "$n" ] && [ "$n" -gt 0 ]; then
		put "${name}_cpu" "$(awk -v t=$((t1 - t0)) -v hz="$clk_tck" -v n="$n" \
			'BEGIN {printf "%.0f", t * 1e6 / hz / n}')"
	fi
	errs=$(awk '/Non-2xx or 3xx responses:/ {n += $NF}
		/Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
		END {print n + 0}' "$out")
	if [ -z "$(get "${name}_rate")" ]; then
		problems+=("$name: wrk gave no rate: $(tail -n 2 "$out" | tr '\n' ' ')")
	elif [ "$errs" -gt 0 ]; then
		problems+=("$name: $errs failed requests (non-2xx or socket errors); its rate counts them")
	fi
}

# speed ALG: `openssl speed` on every core at once, divided by wall-clock
# time (-elapsed) as wrk's rates are; NAME_sign and NAME_verify per second.
speed() {
	local out="$work/speed-$1.txt"
	openssl speed -elapsed -multi "$cores" -seconds "$secs" "$1" >"$out" 2>&1 || true
	case $1 in
	rsa2048) awk '/^rsa 2048 bits/ {s = $(NF - 1); v = $NF} END {printf "%.0f %.0f", s, v}' "$out" ;;
	ecdsap256) awk '/nistp256\)/ {s = $(NF - 1); v = $NF} END {printf "%.0f %.0f", s, v}' "$out" ;;
	esac >"$work/speed-$1.fig"
	read -r s v <"$work/speed-$1.fig" || true
	put "$1_sign" "${s:-}"
	put "$1_verify" "${v:-}"
}

rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# ---- the idp: a store, a tenant, apps, role data ---------------------------
load_start=$(loadavg)
port=$(free_port)
cat >"$work/idp.conf" <<EOF
[store]
path = $work/store.db
[http]
listen = 127.0.0.1
port = $port
public_url = http://127.0.0.1:$port
plain_http = true
threads = $threads
[tokens]
access_token_lifetime = 1h
[secrets]
key_file = $work/keys.txt
[log]
level = warn
EOF
export IDP_CONFIG="$work/idp.conf"
"$ctl" mfa keygen "$work/keys.txt" >/dev/null
"$ctl" tenant create "$tenant" >/dev/null
"$ctl" --json app create "$tenant" "Service RS256" --grant client_credentials >"$work/app-rs.json"
"$ctl" --json app create "$tenant" "Service ES256" --grant client_credentials --alg ES256 \
	>"$work/app-es.json"
"$ctl" --json app create "$tenant" "Authz caller" --grant client_credentials >"$work/app-authz.json"
# the caller needs idp/authz/check/action at its /apps/{id}
"$ctl" role create "$tenant" "Decision Asker" --action idp/authz/check/action >/dev/null
"$ctl" assignment create "$tenant" --role "Decision Asker" --scope / --app \
	"$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$work/app-authz.json")" >/dev/null
mkdir -p "$work/authz"
world=$("$build/bench/token/token_world" "$work/store.db" "$tenant" "$work/authz" --batch "$batch" \
	"${world_size[@]}")

"$build/idp/idp" -c "$work/idp.conf" >"$work/idp.log" 2>&1 &
idp_pid=$!
pids+=("$idp_pid")
server_pids=$idp_pid
base="http://127.0.0.1:$port/$tenant"
for _ in $(seq 200); do
	if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
	if ! kill -0 "$idp_pid" 2>/dev/null; then
		cat "$work/idp.log" >&2
		exit 1
	fi
	sleep 0.05
done

basic() { printf '%s:%s' "$(json_field "$1" client_id)" "$(json_field "$1" client_secret)" | base64 -w0; }
grant() { # APP_JSON: an access token, or nothing
	curl -s -H "Authorization: Basic $(basic "$1")" -d grant_type=client_credentials \
		"$base/oauth2/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}
# Warm up: the tenant's signing keys, the app cache, the role data.
for a in rs es authz; do
	grant "$work/app-$a.json" >"$work/token-$a.txt"
	if [ ! -s "$work/token-$a.txt" ]; then
		echo "bench/token: the idp issued no token for app-$a:" >&2
		cat "$work/idp.log" >&2
		exit 1
	fi
done
curl -sf "$base/discovery/keys" >"$work/jwks.json"
sleep 1
put idle_rss "$(rss_kb "$idp_pid" VmRSS)"
put idle_anon "$(rss_kb "$idp_pid" RssAnon)"
authz_token=$(cat "$work/token-authz.txt")
authz_one() { # BODY: the reply
	curl -s -H "Authorization: Bearer $authz_token" -H 'Content-Type: application/json' \
		--data-binary "$1" "$base/authz/check"
}
authz_one "$(head -n 1 "$work/authz/checks.txt")" >"$work/authz-first.json"
if ! grep -q '"allowed"' "$work/authz-first.json"; then
	problems+=("/authz/check answered $(head -c 200 "$work/authz-first.json")")
fi
# What the checks decide, from the first ten batches: the mix the rates are made of.
head -n 10 "$work/authz/batch.txt" | while IFS= read -r body; do
	authz_one "$body"
	echo
done >"$work/authz-batch.json"
count() { grep -o "$1" "$work/authz-batch.json" | wc -l || true; }
mix_n=$(count '"reason"\|"error"')
mix_allow=$(count '"allowed":true')
mix_deny=$(count '"deniedBy"')
mix_err=$(count '"error"')
sleep 1
put idle_rss_authz "$(rss_kb "$idp_pid" VmRSS)"
put idle_anon_authz "$(rss_kb "$idp_pid" RssAnon)"

# ---- the runs ---------------------------------------------------------------
note "openssl speed rsa2048 on $cores cores, ${secs}s per operation"
speed rsa2048
note "RS256 grants, wrk ${secs}s"
wrk_run rs "$base/oauth2/token" "$here/grant.lua" BASIC="$(basic "$work/app-rs.json")"
note "openssl speed ecdsap256"
speed ecdsap256
note "ES256 grants"
wrk_run es "$base/oauth2/token" "$here/grant.lua" BASIC="$(basic "$work/app-es.json")"
note "JWKS"
wrk_run jwks "$base/discovery/keys"
note "/authz/check, single and batch of $batch"
wrk_run authz1 "$base/authz/check" "$here/authz.lua" TOKEN="$authz_token" \
	BODIES="$work/authz/checks.txt"
wrk_run authzb "$base/authz/check" "$here/authz.lua" TOKEN="$authz_token" \
	BODIES="$work/authz/batch.txt"
put loaded_rss "$(rss_kb "$idp_pid" VmRSS)"
put loaded_anon "$(rss_kb "$idp_pid" RssAnon)"
put peak_rss "$(rss_kb "$idp_pid" VmHWM)"

note "offline validations, one core"
iss="http://127.0.0.1:$port/$tenant/v2.0"
for a in rs es; do
	"$build/bench/token/token_bench" --jwks "$work/jwks.json" --iss "$iss" \
		--aud "$(json_field "$work/app-$a.json" client_id)" --seconds "$(((secs + 1) / 2))" \
		"$work/token-$a.txt" >>"$work/validate.txt" 2>&1 || true
done
put val_rs "$(awk '$1 == "validate" && $2 == "RS256" {print $3}' "$work/validate.txt")"
put val_rs_cpu "$(awk '$1 == "validate" && $2 == "RS256" {print $4}' "$work/validate.txt")"
put val_es "$(awk '$1 == "validate" && $2 == "ES256" {print $3}' "$work/validate.txt")"
put val_es_cpu "$(awk '$1 == "validate" && $2 == "ES256" {print $4}' "$work/validate.txt")"
grep -qv '^validate ' "$work/validate.txt" && problems+=("token_bench: $(grep -v '^validate ' "$work/validate.txt" | head -n 1)")
if [ -n "$smoke" ]; then
	# a validator that accepts a forged signature would time nothing worth timing
	tok=$(cat "$work/token-rs.txt")
	sig=${tok##*.}
	[ "${sig:10:1}" = A ] && c=B || c=A
	printf '%s.%s%s%s\n' "${tok%.*}" "${sig:0:10}" "$c" "${sig:11}" >"$work/token-bad.txt"
	if "$build/bench/token/token_bench" --jwks "$work/jwks.json" --iss "$iss" --seconds 0.1 \
		"$work/token-bad.txt" >"$work/token-bad.out" 2>&1; then
		problems+=("token_bench timed a token with a tampered signature")
	fi
fi

# The idp is done: stop it so the peers have the cores to themselves.
kill "$idp_pid" 2>/dev/null || true
idp_exit=0
wait "$idp_pid" 2>/dev/null || idp_exit=$?
server_pids=""
if [ "$idp_exit" -ne 0 ] || grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$work/idp.log"; then
	problems+=("the idp exited with $idp_exit: $(grep -m 3 -E 'ERROR|error|Sanitizer' "$work/idp.log" | tr '\n' ' ')")
fi

# ---- peers ------------------------------------------------------------------
glw_status="" op_status=""
peer_secret=$(openssl rand -hex 24)
if [ -n "${TOKEN_BENCH_NO_PEERS:-}" ] || [ -n "$smoke" ]; then
	glw_status="not measured: TOKEN_BENCH_NO_PEERS or TOKEN_BENCH_SMOKE is set"
	op_status=$glw_status
fi

if [ -z "$glw_status" ]; then
	# shellcheck source=bench/token/glewlwyd.sh
	. "$here/glewlwyd.sh"
	mkdir -p "$work/glewlwyd"
	gport=$(free_port)
	if glewlwyd_install "$work/glewlwyd" && glewlwyd_start "$work/glewlwyd" "$gport"; then
		pids+=("$glw_pid")
		server_pids=$glw_pid
		if glewlwyd_setup "$work/glewlwyd" "$gport" "$peer_secret"; then
			gurl="http://127.0.0.1:$gport/api"
			gbasic=$(printf 'bench:%s' "$peer_secret" | base64 -w0)
			check=$(curl -s -H "Authorization: Basic $gbasic" \
				-d 'grant_type=client_credentials&scope=bench' "$gurl/oidc/token")
			if [[ "$check" == *access_token* ]]; then
				note "glewlwyd $(glewlwyd --version 2>&1 | grep -o '[0-9][0-9.]*' | head -n 1): RS256, ES256, RS256 at 1 PBKDF2 iteration"
				wrk_run glw_rs "$gurl/oidc/token" "$here/grant.lua" BASIC="$gbasic" \
					BODY='grant_type=client_credentials&scope=bench'
				wrk_run glw_es "$gurl/oidc-es/token" "$here/grant.lua" BASIC="$gbasic" \
					BODY='grant_type=client_credentials&scope=bench'
				wrk_run glw_fast "$gurl/oidc/token" "$here/grant.lua" \
					BASIC="$(printf 'bench-fast:%s' "$peer_secret" | base64 -w0)" \
					BODY='grant_type=client_credentials&scope=bench'
			else
				glw_status="not measured: its token endpoint answered $(printf '%s' "$check" | head -c 120)"
			fi
		else
			glw_status="not measured: $glw_why"
		fi
		kill "$glw_pid" 2>/dev/null || true
		wait "$glw_pid" 2>/dev/null || true
		server_pids=""
	else
		glw_status="not measured: $glw_why"
	fi
fi

if [ -z "$op_status" ]; then
	if [ ! -d "$here/node_modules/oidc-provider" ]; then
		(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) || true
	fi
	if [ ! -d "$here/node_modules/oidc-provider" ]; then
		op_status="not measured: npm could not install oidc-provider (scripts/install-deps.sh test)"
	else
		oport=$(free_port)
		NODE_ENV=production node "$here/oidc_provider_server.mjs" "$oport" "$peer_secret" "$cores" \
			>"$work/op.log" 2>&1 &
		op_pid=$!
		pids+=("$op_pid")
		for _ in $(seq 200); do
			if grep -q '^ready' "$work/op.log" || ! kill -0 "$op_pid" 2>/dev/null; then break; fi
			sleep 0.05
		done
		obasic_rs=$(printf 'bench-rs:%s' "$peer_secret" | base64 -w0)
		obasic_es=$(printf 'bench-es:%s' "$peer_secret" | base64 -w0)
		check=$(curl -s -H "Authorization: Basic $obasic_rs" -d grant_type=client_credentials \
			"http://127.0.0.1:$oport/token" || true)
		if [[ "$check" == *access_token* ]]; then
			server_pids="$op_pid $(pgrep -P "$op_pid" | tr '\n' ' ')"
			note "oidc-provider $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$here/node_modules/oidc-provider/package.json"): RS256, ES256"
			wrk_run op_rs "http://127.0.0.1:$oport/token" "$here/grant.lua" BASIC="$obasic_rs"
			wrk_run op_es "http://127.0.0.1:$oport/token" "$here/grant.lua" BASIC="$obasic_es"
		else
			op_status="not measured: $(grep -v WARNING "$work/op.log" | tail -n 1) ${check:0:120}"
		fi
		kill "$op_pid" 2>/dev/null || true
		wait "$op_pid" 2>/dev/null || true
		server_pids=""
	fi
fi
load_end=$(loadavg)

if [ -n "$smoke" ]; then
	for f in rs_rate es_rate jwks_rate authz1_rate authzb_rate rs_p99 idle_rss val_rs val_es \
		rsa2048_sign ecdsap256_sign; do
		[ -n "$(get "$f")" ] || problems+=("no figure for $f")
	done
	if [ "$mix_allow" -eq 0 ] || [ "$mix_deny" -eq 0 ] || [ "$mix_allow" -eq "$mix_n" ] ||
		[ "$mix_err" -ne 0 ]; then
		problems+=("the authz checks are not a mix ($mix_allow allowed, $mix_deny denied, $mix_err malformed of $mix_n)")
	fi
fi

# ---- the table --------------------------------------------------------------
num() { # a number with thousands separators, or "-"
	if [ -z "${1:-}" ]; then echo "-"; else printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; fi
}
pct() { # A B: A as a percentage of B
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {if (a == "" || b == "" || b == 0) print "-"; else printf "%.0f%%", 100 * a / b}'
}
ratio_x() { # A B: A / B as "N.N×"
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {if (a == "" || b == "" || b == 0) print "-"; else printf "%.1f×", a / b}'
}
met() { # CONDITION A B: "yes" or "no" by an awk condition on a and b; "-" if one is missing
	awk -v a="${2:-}" -v b="${3:-}" "BEGIN {if (a == \"\" || b == \"\") print \"-\"; else print (($1) ? \"yes\" : \"no\")}"
}
lat() { # NAME: "p50 / p99 ms"
	if [ -z "$(get "$1_p50")" ]; then echo "-"; else echo "$(get "$1_p50") / $(get "$1_p99") ms"; fi
}
cpu() { # NAME: server CPU per request
	if [ -z "$(get "$1_cpu")" ]; then echo ""; else echo "$(num "$(get "$1_cpu")") µs"; fi
}
mb() { awk -v k="${1:-}" 'BEGIN {if (k == "") print "-"; else printf "%.1f MB", k / 1024}'; }
per_core() { awk -v v="${1:-}" -v c="$cores" 'BEGIN {if (v != "") printf "%.0f", v / c}'; }
us_per() { awk -v v="${1:-}" -v c="$cores" 'BEGIN {if (v != "" && v > 0) printf "%.0f µs", c * 1e6 / v}'; }
# measure | value | p50 / p99 | server CPU per request | reference | ratio | target | met
row() { printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }

rs=$(get rs_rate) es=$(get es_rate) jwks=$(get jwks_rate)
rsa_sign=$(get rsa2048_sign) ec_sign=$(get ecdsap256_sign)
a1=$(get authz1_rate)
ab=$(awk -v r="$(get authzb_rate)" -v n="$batch" 'BEGIN {if (r != "") printf "%.0f", r * n}')
ab_cpu=$(awk -v c="$(get authzb_cpu)" -v n="$batch" 'BEGIN {if (c != "") printf "%.1f", c / n}')
rsa_verify1=$(per_core "$(get rsa2048_verify)") ec_verify1=$(per_core "$(get ecdsap256_verify)")

echo
echo "bench/token: the token service over loopback HTTP (wrk: $wrk_threads threads, $conns keep-alive connections, ${secs}s per run)"
echo
row "measure" "value" "p50 / p99" "server CPU per request" "reference (same run)" "ratio" "target" "met"
row "---" "---:" "---:" "---:" "---" "---:" "---" "---"
row "RS256 client_credentials grants/s" "$(num "$rs")" "$(lat rs)" "$(cpu rs)" \
	"openssl speed rsa2048 sign/s, $cores cores: $(num "$rsa_sign") ($(us_per "$rsa_sign") of a core per sign)" \
	"$(pct "$rs" "$rsa_sign")" "≥ 60% of raw sign/s" "$(met 'a >= 0.6 * b' "$rs" "$rsa_sign")"
row "ES256 client_credentials grants/s" "$(num "$es")" "$(lat es)" "$(cpu es)" \
	"JWKS req/s (below): $(num "$jwks")" "$(pct "$es" "$jwks")" \
	"≥ 50% of JWKS req/s" "$(met 'a >= 0.5 * b' "$es" "$jwks")"
row "ES256 grants/s beside raw sign/s" "$(num "$es")" "" "" \
	"openssl speed ecdsap256 sign/s, $cores cores: $(num "$ec_sign") ($(us_per "$ec_sign") of a core per sign)" \
	"$(pct "$es" "$ec_sign")" "" ""
row "grant p99 latency at $conns connections" "RS256 $(get rs_p99) ms, ES256 $(get es_p99) ms" "" "" "" "" \
	"p99 ≤ 10 ms" "$(met 'a <= 10 && b <= 10' "$(get rs_p99)" "$(get es_p99)")"
row "JWKS req/s (the HTTP floor)" "$(num "$jwks")" "$(lat jwks)" "$(cpu jwks)" "" "" "" ""
row "idle RSS (started, signing keys loaded)" "$(mb "$(get idle_rss)")" "" "" \
	"of which private (RssAnon): $(mb "$(get idle_anon)")" "" "≤ 20 MB" \
	"$(met 'a <= 20 * 1024' "$(get idle_rss)" 1)"
row "idle RSS, the authz tenant's role data loaded too" "$(mb "$(get idle_rss_authz)")" "" "" \
	"of which private: $(mb "$(get idle_anon_authz)")" "" "" ""
row "loaded RSS (after the runs)" "$(mb "$(get loaded_rss)")" "" "" \
	"of which private: $(mb "$(get loaded_anon)"); peak (VmHWM): $(mb "$(get peak_rss)")" "" "" ""
row "offline validations/s, RS256, 1 core" "$(num "$(get val_rs)")" "" "" \
	"openssl rsa2048 verify/s per core: $(num "$rsa_verify1"); validations per CPU-second: $(num "$(get val_rs_cpu)")" \
	"$(pct "$(get val_rs)" "$rsa_verify1")" "" ""
row "offline validations/s, ES256, 1 core" "$(num "$(get val_es)")" "" "" \
	"openssl ecdsap256 verify/s per core: $(num "$ec_verify1"); validations per CPU-second: $(num "$(get val_es_cpu)")" \
	"$(pct "$(get val_es)" "$ec_verify1")" "" ""
if [ -n "$glw_status" ]; then
	row "glewlwyd grants/s" "$glw_status" "" "" "" "" "idp ≥ 20×" "-"
else
	row "glewlwyd RS256 grants/s (PBKDF2 150,000: its default)" "$(num "$(get glw_rs_rate)")" \
		"$(lat glw_rs)" "$(cpu glw_rs)" "idp RS256: $(num "$rs")" \
		"idp $(ratio_x "$rs" "$(get glw_rs_rate)")" \
		"idp ≥ 20×" "$(met 'a >= 20 * b' "$rs" "$(get glw_rs_rate)")"
	row "glewlwyd ES256 grants/s (PBKDF2 150,000: its default)" "$(num "$(get glw_es_rate)")" \
		"$(lat glw_es)" "$(cpu glw_es)" "idp ES256: $(num "$es")" \
		"idp $(ratio_x "$es" "$(get glw_es_rate)")" \
		"idp ≥ 20×" "$(met 'a >= 20 * b' "$es" "$(get glw_es_rate)")"
	row "glewlwyd RS256 grants/s, PBKDF2 at 1 iteration (not its default)" \
		"$(num "$(get glw_fast_rate)")" "$(lat glw_fast)" "$(cpu glw_fast)" \
		"idp RS256: $(num "$rs")" "idp $(ratio_x "$rs" "$(get glw_fast_rate)")" "" ""
fi
if [ -n "$op_status" ]; then
	row "oidc-provider grants/s" "$op_status" "" "" "" "" "" ""
else
	row "oidc-provider RS256 grants/s ($cores node workers)" "$(num "$(get op_rs_rate)")" \
		"$(lat op_rs)" "$(cpu op_rs)" "idp RS256: $(num "$rs")" \
		"idp $(ratio_x "$rs" "$(get op_rs_rate)")" "" ""
	row "oidc-provider ES256 grants/s ($cores node workers)" "$(num "$(get op_es_rate)")" \
		"$(lat op_es)" "$(cpu op_es)" "idp ES256: $(num "$es")" \
		"idp $(ratio_x "$es" "$(get op_es_rate)")" "" ""
fi
row "/authz/check checks/s, one per request" "$(num "$a1")" "$(lat authz1)" "$(cpu authz1)" "" "" \
	"≥ 20,000" "$(met 'a >= 20000' "$a1" 1)"
row "/authz/check checks/s, $batch per request" "$(num "$ab")" "$(lat authzb)" \
	"${ab_cpu:+$ab_cpu µs per check}" "one per request: $(num "$a1")" "$(ratio_x "$ab" "$a1")" "" ""
echo
echo "- idp: [http] threads = $threads (one per core), plain HTTP on 127.0.0.1, log level warn;"
echo "  access tokens of 1 h; the build in $build."
echo "- authz: $world."
echo "  The first $mix_n checks: $mix_allow allowed, $mix_deny denied by a deny assignment,"
echo "  $((mix_n - mix_allow - mix_deny - mix_err)) not granted, $mix_err malformed."
echo "  The caller is an app with its own RS256 client_credentials token."
echo "- openssl speed -elapsed -multi $cores -seconds $secs ($(openssl version | cut -d' ' -f1-2)):"
echo "  every core at once, wall-clock rates like wrk's, run just before the grants it is beside."
echo "- server CPU per request: user + system time of the server's processes during the run,"
echo "  divided by the requests wrk completed; steadier than rates on a shared machine."
echo "- peers: glewlwyd keeps its client-secret hashing (PBKDF2, 150,000 iterations) for the"
echo "  comparison; the 1-iteration row shows its grant without that cost.  glewlwyd also"
echo "  writes every token it issues to its SQLite file (beside the idp's store, in $(dirname "$work")),"
echo "  so its rate follows that disk's sync latency; the idp's client_credentials grant writes"
echo "  nothing.  oidc-provider: JWT access tokens (resource indicators), in-memory adapter, one"
echo "  worker per core (node's cluster), Node $(node --version)."
echo "- machine: $cores cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)."
echo "- load average: $load_start at the start, $load_end at the end."
for p in "${problems[@]}"; do echo "- PROBLEM: $p"; done
if [ -n "$smoke" ] && [ ${#problems[@]} -gt 0 ]; then
	echo "bench/token smoke: ${#problems[@]} problem(s), listed above" >&2
	exit 1
fi
