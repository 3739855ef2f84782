#!/bin/bash
# idpctl_mfa_test: "idpctl mfa" end to end against a real store and key
# file, with factors enrolled through the library (mfa_tool, as the pages
# will) and codes computed by Debian's oathtool: status, reset (audited),
# keygen, check-keys, rotate-key (codes keep working), prune-keys, and the
# refusals: wrong or open key files, usage errors.
set -u
ctl=${1:?usage: idpctl_mfa_test.sh IDPCTL MFA_TOOL}
tool=${2:?usage: idpctl_mfa_test.sh IDPCTL MFA_TOOL}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
db="$dir/store.db"
key="$dir/secret.key"

expect() {
	local want=$1 what=$2
	shift 3
	"$@" >"$dir/out" 2>"$dir/err"
	local got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: exit $got, want $want"; cat "$dir/out" "$dir/err"; fails=$((fails + 1))
	fi
}
contains() {
	if ! grep -qF -- "$2" "$dir/$1"; then
		echo "FAIL: $3: '$2' not in $1:"; cat "$dir/$1"; fails=$((fails + 1))
	fi
}
# code URI OFFSET_STEPS: oathtool's code for the URI's secret, OFFSET steps from now
code() {
	local secret
	secret=$(sed -e 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/' <<<"$1")
	oathtool --totp=SHA1 -b -d 6 -s 30s -N "@$(($(date +%s) + 30 * $2))" "$secret"
}

expect 0 "keygen" -- "$ctl" -d "$db" mfa keygen "$key"
contains out "created key file" "keygen says so"
[ "$(stat -c %a "$key")" = 600 ] || { echo "FAIL: key file mode $(stat -c %a "$key")"; fails=$((fails + 1)); }
expect 4 "keygen over an existing file" -- "$ctl" -d "$db" mfa keygen "$key"
expect 0 "tenant" -- "$ctl" -d "$db" tenant create acme
expect 0 "user" -- "$ctl" -d "$db" user create acme alice@acme.test --no-password
expect 0 "user 2" -- "$ctl" -d "$db" user create acme bob@acme.test --no-password --mfa-required
expect 0 "status, none" -- "$ctl" -d "$db" mfa status acme alice@acme.test
contains out "authenticator:   none" "no factor yet"

uri=$("$tool" enroll "$db" "$key" acme alice@acme.test) || { echo "FAIL: enroll"; fails=$((fails + 1)); }
"$tool" enroll "$db" "$key" acme bob@acme.test >/dev/null || { echo "FAIL: enroll bob"; fails=$((fails + 1)); }
expect 0 "status, enrolled" -- "$ctl" -d "$db" mfa status acme alice@acme.test
contains out "authenticator:   enrolled, SHA1, 6 digits, 30 s" "enrolled"
contains out "recovery codes:  10 left, 0 used" "ten recovery codes"
expect 0 "status json" -- "$ctl" -d "$db" --json mfa status acme bob@acme.test
contains out '"state": "enrolled"' "json state"
contains out '"recovery_left": 10' "json codes"
expect 0 "status of bob says required" -- "$ctl" -d "$db" mfa status acme bob@acme.test
contains out "required:        yes (user)" "user requires MFA"
if grep -q "secret" "$dir/out"; then echo "FAIL: status shows a secret"; fails=$((fails + 1)); fi

# the key file opens the store; rotation keeps codes working
expect 0 "check-keys" -- "$ctl" -d "$db" mfa check-keys --key-file "$key"
contains out "2 sealed, 2 under the active key" "counts"
expect 0 "rotate-key" -- "$ctl" -d "$db" mfa rotate-key --key-file "$key"
contains out "re-sealed 2 of 2 sealed secrets" "re-sealed both"
contains out "prune-keys" "says what to do next"
[ "$(grep -vc '^#' "$key")" = 2 ] || { echo "FAIL: two keys after rotation"; cat "$key"; fails=$((fails + 1)); }
[ "$(stat -c %a "$key")" = 600 ] || { echo "FAIL: key file mode after rotation"; fails=$((fails + 1)); }
c=$(code "$uri" 1)
expect 0 "code after rotation" -- "$tool" verify "$db" "$key" acme alice@acme.test "$c"
expect 1 "same code again" -- "$tool" verify "$db" "$key" acme alice@acme.test "$c"
contains out "replayed" "replay refused"
expect 0 "prune-keys" -- "$ctl" -d "$db" mfa prune-keys --key-file "$key"
contains out "dropped 1 retired key" "old key dropped"
[ "$(grep -vc '^#' "$key")" = 1 ] || { echo "FAIL: one key after prune"; cat "$key"; fails=$((fails + 1)); }
expect 0 "check-keys after prune" -- "$ctl" -d "$db" mfa check-keys --key-file "$key"
expect 0 "resume re-seals nothing more" -- "$ctl" -d "$db" mfa rotate-key --key-file "$key" --resume
contains out "re-sealed 0 of 2" "nothing to do"

# wrong and unsafe key files are refused before anything changes
expect 0 "another key file" -- "$ctl" -d "$db" mfa keygen "$dir/other.key"
expect 3 "check with another key file" -- "$ctl" -d "$db" mfa check-keys --key-file "$dir/other.key"
contains err "not in the key file" "names the missing key"
expect 3 "rotate from another key file" -- "$ctl" -d "$db" mfa rotate-key --key-file "$dir/other.key"
[ "$(grep -vc '^#' "$dir/other.key")" = 1 ] || { echo "FAIL: a refused rotation changed the file"; fails=$((fails + 1)); }
sed -e "s/ .*/ AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8/" "$key" | grep -v '^#' >"$dir/bent.key"
chmod 600 "$dir/bent.key"
expect 5 "right key id, wrong key" -- "$ctl" -d "$db" mfa check-keys --key-file "$dir/bent.key"
contains err "wrong key file" "says wrong key file"
expect 3 "missing key file" -- "$ctl" -d "$db" mfa check-keys --key-file "$dir/none.key"
contains err "does not exist" "missing file"
chmod 644 "$dir/other.key"
expect 5 "key file open to others" -- "$ctl" -d "$db" mfa check-keys --key-file "$dir/other.key"
contains err "chmod 600" "explains the fix"

# reset: audited, and the factor is gone
expect 0 "reset" -- "$ctl" -d "$db" mfa reset acme alice@acme.test --reason "lost phone"
contains out "reset the second factor of alice@acme.test" "reset done"
expect 0 "audit" -- "$ctl" -d "$db" audit acme
contains out "mfa.reset" "reset audited"
contains out "lost phone" "reason audited"
expect 3 "verify after reset" -- "$tool" verify "$db" "$key" acme alice@acme.test "$(code "$uri" 0)"
contains out "not_enrolled" "not enrolled"
expect 3 "reset twice" -- "$ctl" -d "$db" mfa reset acme alice@acme.test
expect 0 "re-enroll after reset" -- "$tool" enroll "$db" "$key" acme alice@acme.test

# usage
expect 2 "mfa alone" -- "$ctl" -d "$db" mfa
expect 2 "unknown subcommand" -- "$ctl" -d "$db" mfa frob
expect 2 "rotate without a file" -- "$ctl" -d "$db" mfa rotate-key
contains err "--key-file" "asks for the file"
expect 2 "status without a user" -- "$ctl" -d "$db" mfa status acme
expect 3 "status of nobody" -- "$ctl" -d "$db" mfa status acme nobody@acme.test
expect 3 "status in no tenant" -- "$ctl" -d "$db" mfa status nosuch alice@acme.test
expect 0 "help lists mfa" -- "$ctl" --help
contains out "mfa rotate-key --key-file FILE" "usage text"

if [ "$fails" -eq 0 ]; then
	echo "idpctl_mfa_test: all passed"
	exit 0
fi
echo "idpctl_mfa_test: $fails failed"
exit 1
