#!/bin/bash
# idpctl_test: the admin CLI end to end against a real store file: usage,
# errors and exit codes, and a tenant's whole life.
set -u
ctl=${1:?usage: idpctl_test.sh PATH_TO_IDPCTL SOURCE_DIR}
src=${2:?usage: idpctl_test.sh PATH_TO_IDPCTL SOURCE_DIR}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
db="$dir/store.db"

# expect CODE DESCRIPTION -- command...: run it, compare the exit code
expect() {
	local want=$1 what=$2
	shift 3
	"$@" >"$dir/out" 2>"$dir/err"
	local got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: exit $got, want $want"; cat "$dir/out" "$dir/err"; fails=$((fails + 1))
	fi
}
# contains FILE TEXT DESCRIPTION
contains() {
	if ! grep -qF -- "$2" "$dir/$1"; then
		echo "FAIL: $3: '$2' not in $1:"; cat "$dir/$1"; fails=$((fails + 1))
	fi
}

cat >"$dir/idp.conf" <<CONF
[store]
path = $db
[passwords]
argon2_passes = 1
argon2_memory = 64k
[http]
public_url = http://127.0.0.1:8080
plain_http = true
CONF
printf 'first-pass\n' >"$dir/pw"; chmod 600 "$dir/pw"
printf 'open-pass\n' >"$dir/pw-open"; chmod 644 "$dir/pw-open"

expect 0 "help" -- "$ctl" --help
contains out "usage: idpctl" "help text"
contains out "exit codes" "help lists exit codes"
expect 2 "no command" -- "$ctl" -d "$db"
contains err "usage: idpctl" "usage on stderr"
expect 2 "unknown command" -- "$ctl" -d "$db" frobnicate
contains err "unknown command 'frobnicate'" "names the unknown command"
expect 2 "unknown option" -- "$ctl" --frob
expect 3 "missing config" -- "$ctl" -c "$dir/none.conf" tenant list
contains err "none.conf: No such file" "names the missing config"
printf '[store]\npath = x\nbogus = 1\n[http]\npublic_url = http://x:1\nplain_http = true\n' >"$dir/bad.conf"
expect 2 "bad config" -- "$ctl" -c "$dir/bad.conf" tenant list
contains err "bad.conf:3: [store] bogus: unknown key" "names file, line and key"

# the documented example config is valid as shipped
expect 0 "example config" -- "$ctl" -c "$src/conf/idp.conf" -d "$dir/example.db" tenant list

export IDP_CONFIG="$dir/idp.conf"
expect 0 "tenant create" -- "$ctl" tenant create acme --display-name "Acme Corp"
contains out "created tenant acme" "tenant created"
expect 4 "tenant exists" -- "$ctl" tenant create acme
contains err "exists" "conflict message"
expect 2 "bad tenant name" -- "$ctl" tenant create "Not Valid"
expect 0 "second tenant" -- "$ctl" tenant create globex
expect 0 "tenant list" -- "$ctl" tenant list
contains out "Acme Corp" "tenant listed"
expect 3 "unknown tenant" -- "$ctl" user list nosuch
contains err "no tenant 'nosuch'" "names the tenant"

expect 0 "user create" -- "$ctl" user create acme alice@acme.test --display-name "Alice" --password-file "$dir/pw"
expect 5 "world-readable password file" -- "$ctl" user create acme bob@acme.test --password-file "$dir/pw-open"
contains err "chmod 600" "explains the fix"
expect 2 "no tty for a prompt" -- "$ctl" user create acme carol@acme.test </dev/null
contains err "password-file" "suggests --password-file"
expect 0 "user without password" -- "$ctl" user create acme bob@acme.test --no-password
expect 4 "duplicate upn any case" -- "$ctl" user create acme ALICE@ACME.TEST --no-password
expect 2 "bad upn" -- "$ctl" user create acme not-an-address --no-password
expect 2 "unknown option" -- "$ctl" user create acme dave@acme.test --no-password --colour blue
contains err "unknown option '--colour'" "names the option"
expect 0 "user in other tenant, same name" -- "$ctl" user create globex alice@acme.test --no-password
expect 0 "user show" -- "$ctl" --json user show acme Alice@Acme.Test
contains out '"displayName": "Alice"' "json user"
if grep -q argon2 "$dir/out"; then echo "FAIL: show prints the password hash"; fails=$((fails + 1)); fi
expect 0 "user disable" -- "$ctl" user disable acme alice@acme.test
expect 0 "user list" -- "$ctl" user list acme
contains out "disabled" "disabled shown"
expect 3 "user not found" -- "$ctl" user show acme nobody@acme.test

expect 0 "group create" -- "$ctl" group create acme engineers --description "All engineers"
expect 0 "group create 2" -- "$ctl" group create acme staff
expect 0 "add user" -- "$ctl" group add-member acme engineers --user alice@acme.test
expect 0 "nest" -- "$ctl" group add-member acme staff --group engineers
expect 0 "cycle" -- "$ctl" group add-member acme engineers --group staff
expect 2 "member kind missing" -- "$ctl" group add-member acme staff
expect 3 "cross-tenant member" -- "$ctl" group add-member globex staff --user alice@acme.test
expect 0 "transitive groups" -- "$ctl" user groups acme alice@acme.test
contains out "engineers" "direct group"
contains out "staff" "nested group"
expect 0 "group show" -- "$ctl" group show acme engineers
contains out "alice@acme.test" "member listed"

expect 0 "app create" -- "$ctl" --json app create acme portal --redirect-uri https://portal.acme.test/cb --grant authorization_code --grant client_credentials
contains out '"client_secret"' "secret shown once"
expect 2 "bad redirect" -- "$ctl" app create acme evil --redirect-uri http://evil.test/cb
contains err "redirect URI" "names the bad field"

expect 0 "export" -- "$ctl" export acme --output "$dir/acme.json"
if [ "$(stat -c %a "$dir/acme.json")" != 600 ]; then echo "FAIL: export file mode"; fails=$((fails + 1)); fi
contains acme.json "alice@acme.test" "export has users"
if grep -q globex "$dir/acme.json"; then echo "FAIL: export leaks another tenant"; fails=$((fails + 1)); fi
expect 4 "import over existing" -- "$ctl" import "$dir/acme.json"
expect 2 "tenant delete needs --yes" -- "$ctl" tenant delete acme
expect 0 "tenant delete" -- "$ctl" tenant delete acme --yes
expect 0 "import" -- "$ctl" import "$dir/acme.json"
expect 0 "user back" -- "$ctl" user show acme alice@acme.test
expect 0 "audit" -- "$ctl" audit acme
contains out "group.add_member" "audit records membership"
contains out "user.create" "audit records creation"

expect 0 "user purge" -- "$ctl" user purge acme bob@acme.test --yes
expect 3 "purged is gone" -- "$ctl" user show acme bob@acme.test
alice_id=$("$ctl" --json user show acme alice@acme.test | sed -n 's/.*"id": "\(.*\)".*/\1/p')
expect 0 "soft delete" -- "$ctl" user delete acme alice@acme.test
expect 3 "deleted is not found by name" -- "$ctl" user show acme alice@acme.test
expect 0 "restore by id" -- "$ctl" user restore acme "$alice_id"
expect 0 "restored is back" -- "$ctl" user show acme alice@acme.test

if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "idpctl: all checks passed"
