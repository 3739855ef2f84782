#!/bin/bash
# rbac_cli_test: idpctl's role, assignment and deny commands and idp-rbac
# check/explain end to end on a real store file: clear errors and exit
# codes for bad input, decisions with reasons, effective permissions, and
# the audit trail.
set -u
ctl=${1:?usage: rbac_cli_test.sh IDPCTL IDP_RBAC}
rbac=${2:?usage: rbac_cli_test.sh IDPCTL IDP_RBAC}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
db="$dir/store.db"

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
lacks() {
	if grep -qF -- "$2" "$dir/$1"; then
		echo "FAIL: $3: '$2' in $1:"; cat "$dir/$1"; fails=$((fails + 1))
	fi
}

C=("$ctl" -d "$db")
R=("$rbac" -d "$db")
expect 0 "tenant" -- "${C[@]}" tenant create acme
expect 0 "tenant 2" -- "${C[@]}" tenant create globex
for u in alice bob carol; do expect 0 "user $u" -- "${C[@]}" user create acme $u@acme.test --no-password; done
expect 0 "other tenant user" -- "${C[@]}" user create globex mallory@globex.test --no-password
expect 0 "group eng" -- "${C[@]}" group create acme eng
expect 0 "group staff" -- "${C[@]}" group create acme staff
expect 0 "member" -- "${C[@]}" group add-member acme eng --user alice@acme.test
expect 0 "nest" -- "${C[@]}" group add-member acme staff --group eng
expect 0 "cycle" -- "${C[@]}" group add-member acme eng --group staff
expect 0 "app" -- "${C[@]}" --json app create acme portal --redirect-uri https://portal.acme.test/cb --grant authorization_code
client_id=$(sed -n 's/.*"client_id": "\(.*\)".*/\1/p' "$dir/out")

# roles
expect 0 "role list shows built-ins" -- "${C[@]}" role list acme
for r in Owner Contributor Reader "User Access Administrator"; do contains out "$r" "built-in $r"; done
expect 0 "role create" -- "${C[@]}" role create acme "Project Reader" --action 'proj/*/read' --data-action 'proj/blobs/read' --assignable-scope /projects --description "reads projects"
contains out "created role Project Reader" "created"
expect 4 "role exists (any case)" -- "${C[@]}" role create acme "project reader" --action 'a/b/c'
expect 2 "malformed pattern" -- "${C[@]}" role create acme Bad --action 'proj//read'
contains err "actions[0]: action pattern 'proj//read': empty segment" "names the bad pattern"
expect 2 "bad char" -- "${C[@]}" role create acme Bad --action 'proj/x y/read'
expect 2 "grants nothing" -- "${C[@]}" role create acme Bad --not-action 'a/b/c'
contains err "grants nothing" "explains"
expect 2 "bad assignable scope" -- "${C[@]}" role create acme Bad --action a/b/c --assignable-scope projects
contains err "must start with '/'" "explains the scope"
expect 5 "built-in is read-only" -- "${C[@]}" role update acme Reader --action 'x/y/z'
contains err "built-in" "says built-in"
expect 5 "built-in delete" -- "${C[@]}" role delete acme Owner
expect 0 "role show by well-known id" -- "${C[@]}" --json role show acme acdd72a7-3385-48ef-bd42-f606fba81ae7
contains out '"name": "Reader"' "found Reader"
expect 3 "unknown role" -- "${C[@]}" role show acme Nope
expect 2 "update nothing" -- "${C[@]}" role update acme "Project Reader"

# assignments
expect 0 "assign group" -- "${C[@]}" assignment create acme --role Reader --group staff --scope /
expect 0 "assign user" -- "${C[@]}" assignment create acme --role "Project Reader" --user alice@acme.test --scope /projects/p1
asg=$(sed -n 's/.*(\(.*\))$/\1/p' "$dir/out")
expect 4 "duplicate" -- "${C[@]}" assignment create acme --role "Project Reader" --user alice@acme.test --scope /projects/p1
expect 2 "outside assignable scopes" -- "${C[@]}" assignment create acme --role "Project Reader" --user alice@acme.test --scope /other
contains err "outside the assignable scopes" "explains"
expect 2 "malformed scope" -- "${C[@]}" assignment create acme --role Reader --user alice@acme.test --scope '/a//b'
expect 3 "unknown role" -- "${C[@]}" assignment create acme --role Nope --user alice@acme.test --scope /
expect 3 "unknown principal" -- "${C[@]}" assignment create acme --role Reader --user nobody@acme.test --scope /
contains err "no user 'nobody@acme.test'" "names the principal"
expect 3 "cross-tenant principal" -- "${C[@]}" assignment create acme --role Reader --user mallory@globex.test --scope /
expect 2 "two principals" -- "${C[@]}" assignment create acme --role Reader --user alice@acme.test --group eng --scope /
expect 2 "missing scope" -- "${C[@]}" assignment create acme --role Reader --user alice@acme.test
expect 0 "assign app" -- "${C[@]}" assignment create acme --role Contributor --app "$client_id" --scope /apps
expect 0 "assignment list" -- "${C[@]}" assignment list acme
contains out "staff" "group named"
contains out "alice@acme.test" "user named"
expect 0 "assignment list filtered" -- "${C[@]}" --json assignment list acme --role Reader
lacks out "Project Reader" "filter by role"
expect 4 "role in use" -- "${C[@]}" role delete acme "Project Reader"
contains err "assignment(s)" "explains"

# deny assignments
expect 2 "deny without principal" -- "${C[@]}" deny create acme freeze --scope /projects/p1/frozen --action '*/write'
expect 2 "deny nothing" -- "${C[@]}" deny create acme freeze --scope /projects/p1/frozen --everyone
expect 3 "deny unknown principal" -- "${C[@]}" deny create acme freeze --scope / --user ghost@acme.test --action '*'
expect 0 "deny create" -- "${C[@]}" deny create acme freeze --scope /projects/p1/frozen --everyone --exclude-user bob@acme.test --action '*/read' --data-action 'proj/blobs/*'
deny=$(sed -n 's/.*(\(.*\))$/\1/p' "$dir/out")
expect 0 "deny list" -- "${C[@]}" deny list acme
contains out "freeze" "listed"

# decisions
expect 0 "check allow via nested group" -- "${R[@]}" check --tenant acme --principal alice@acme.test --action idp/users/read --scope /users/x
contains out "allow" "allowed"
contains out "role 'Reader'" "names the role"
contains out "staff" "names the group"
expect 5 "check deny no grant" -- "${R[@]}" check --tenant acme --principal alice@acme.test --action idp/users/write --scope /
contains out "no role assignment grants" "says why"
expect 5 "check deny by deny assignment" -- "${R[@]}" check --tenant acme --principal alice@acme.test --action proj/docs/read --scope /projects/p1/frozen/x
contains out "$deny" "names the deny"
expect 0 "data action allowed" -- "${R[@]}" --json check --tenant acme --principal alice@acme.test --action proj/blobs/read --data --scope /projects/p1/open
contains out '"allowed": true' "json allowed"
contains out "$asg" "json names the assignment"
expect 5 "a control role grants no data action" -- "${R[@]}" check --tenant acme --principal "$client_id" --action apps/x/write --data --scope /apps/a1
expect 0 "app principal" -- "${R[@]}" check --tenant acme --principal "$client_id" --action apps/x/write --scope /apps/a1
expect 2 "malformed action" -- "${R[@]}" check --tenant acme --principal alice@acme.test --action 'proj/*/read' --scope /
expect 2 "malformed scope" -- "${R[@]}" check --tenant acme --principal alice@acme.test --action a/b/c --scope 'x'
expect 3 "unknown principal" -- "${R[@]}" check --tenant acme --principal nobody --action a/b/c --scope /
expect 3 "unknown tenant" -- "${R[@]}" check --tenant nope --principal alice@acme.test --action a/b/c --scope /
expect 2 "missing args" -- "${R[@]}" check --tenant acme --principal alice@acme.test
expect 2 "unknown option" -- "${R[@]}" check --tenant acme --colour blue
expect 0 "help" -- "$rbac" --help
contains out "exit codes" "usage"
expect 0 "explain" -- "${R[@]}" explain --tenant acme --principal alice@acme.test --scope /projects/p1/frozen
contains out "Project Reader" "own role"
contains out "Reader" "group role"
contains out "freeze" "the deny"
expect 0 "explain json at every scope" -- "${R[@]}" --json explain --tenant acme --principal alice@acme.test
contains out '"role_assignments"' "json"
expect 0 "explain nothing" -- "${R[@]}" explain --tenant acme --principal carol@acme.test --scope /
contains out "everything is denied" "says nothing applies"

# updates and deletes
expect 0 "deny update" -- "${C[@]}" deny update acme "$deny" --no-exclusions
expect 5 "bob now frozen" -- "${R[@]}" check --tenant acme --principal bob@acme.test --action proj/docs/read --scope /projects/p1/frozen
expect 0 "role update" -- "${C[@]}" role update acme "Project Reader" --not-action 'proj/secrets/read'
# notActions subtract from their role only: Reader (through staff) still grants it
expect 0 "notActions are not denies" -- "${R[@]}" check --tenant acme --principal alice@acme.test --action proj/secrets/read --scope /projects/p1/x --type user
contains out "role 'Reader'" "the other role grants it"
expect 0 "the role itself still grants the rest" -- "${R[@]}" explain --tenant acme --principal alice@acme.test --scope /projects/p1
contains out "proj/secrets/read" "notActions listed"
expect 0 "assignment delete" -- "${C[@]}" assignment delete acme "$asg"
expect 3 "assignment gone" -- "${C[@]}" assignment delete acme "$asg"
expect 0 "role delete" -- "${C[@]}" role delete acme "Project Reader"
expect 0 "deny delete" -- "${C[@]}" deny delete acme "$deny"

# every change is in the audit log
expect 0 "audit" -- "${C[@]}" audit acme
for a in role.seed role.create role.update role.delete role_assignment.create role_assignment.delete deny_assignment.create deny_assignment.update deny_assignment.delete; do
	contains out "$a" "audit has $a"
done
contains out "idpctl:" "audit names the operator"

if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "rbac cli: all checks passed"
