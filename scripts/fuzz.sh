#!/usr/bin/env bash
# Fuzz the published contract: schemathesis, every check, against a live Conduit on PostgreSQL.
#
# Starts `conduit serve` on a fresh PostgreSQL database (scripts/live_server.sh), then runs
# schemathesis on /openapi.json with a fixed seed and a bounded number of examples per operation:
# anonymous, as a user, as an admin (accounts registered through the API, the admin promoted with
# `conduit users promote`), then `PUT /api/user` on an account of its own (a password change
# retires the account's tokens). The user and admin runs must end still signed in. Any failure
# of any check fails the run.
# Exit status: 0 when every run passes; schemathesis's status, or 1 when the set-up fails.
#
# Environment:
#   TEST_DATABASE_URL   any database on the PostgreSQL server to use (required)
#   FUZZ_SEED           the seed (default: 20261207)
#   FUZZ_EXAMPLES       examples per operation and phase (default: 10)
#   FUZZ_WORKERS        concurrent schemathesis workers (default: 1: with more, the threads can
#                       meet CPython 3.11's "AST constructor recursion depth mismatch" inside
#                       hypothesis, an error of the tool, not of the server)
#   FUZZ_REPORT_DIR     keep the JUnit reports here (default: a temporary directory)
#   HEALTH_TIMEOUT      seconds to wait for the server to answer /health (default: 60)
#
# Checks: all of them (`--checks all`); none is disabled. scripts/fuzz.toml, the schemathesis
# configuration, lists with its reason each status a check is told to expect beyond its defaults.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SCHEMATHESIS="$ROOT/.venv/bin/schemathesis"
SEED="${FUZZ_SEED:-20261207}"
EXAMPLES="${FUZZ_EXAMPLES:-10}"
WORKERS="${FUZZ_WORKERS:-1}"

# shellcheck source=scripts/live_server.sh
source "$ROOT/scripts/live_server.sh"
[[ -x "$SCHEMATHESIS" ]] || fail "$SCHEMATHESIS is missing (hint: make install)"

# The fuzzer logs in and registers far more often than any person: the abuse limits on those
# endpoints are switched off for this server so that they do not answer 429 to the fuzzer.
live_server_start fuzz RATE_LIMIT_ENABLED=false
REPORTS="$(realpath -m "${FUZZ_REPORT_DIR:-$WORK/reports}")"
mkdir -p "$REPORTS"

# Registers an account through the API and prints its token.
register() {
    "$PY" - "$BASE/api/users" "$1" <<'PY'
import json
import sys
import urllib.request

url, name = sys.argv[1], sys.argv[2]
user = {"username": name, "email": f"{name}@fuzz.example", "password": "fuzz-password"}
request = urllib.request.Request(
    url,
    data=json.dumps({"user": user}).encode(),
    headers={"Content-Type": "application/json"},
    method="POST",
)
with urllib.request.urlopen(request, timeout=10) as response:
    print(json.load(response)["user"]["token"])
PY
}

USER_TOKEN="$(register fuzz-user)"
ADMIN_TOKEN="$(register fuzz-admin)"
env "${LIVE_SERVER_ENV[@]}" "$CONDUIT" users promote fuzz-admin --role admin

# A run that meant to be signed in must end signed in: a token refused halfway would turn the
# rest of the run into 401s that pass every check and test nothing.
still_signed_in() {
    "$PY" - "$BASE/api/user" "$2" "$1" <<'PY' || fail "$1: the token no longer works after the run"
import sys
import urllib.request

url, token, who = sys.argv[1:]
request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
with urllib.request.urlopen(request, timeout=10) as response:
    sys.exit(response.status != 200)
PY
}

fuzz() {
    local who="$1"
    shift
    echo
    echo "fuzz: ---- $who ----"
    local started=$SECONDS
    # From the scratch directory: schemathesis keeps a cache in its working directory.
    (cd "$WORK" && "$SCHEMATHESIS" --config-file "$ROOT/scripts/fuzz.toml" run "$BASE/openapi.json" \
        --checks all \
        --seed "$SEED" \
        --max-examples "$EXAMPLES" \
        --workers "$WORKERS" \
        --report junit,json,ndjson \
        --report-junit-path "$REPORTS/$who.xml" \
        --report-json-path "$REPORTS/$who.json" \
        --report-ndjson-path "$REPORTS/$who.ndjson" \
        --generation-database none \
        --no-color \
        "$@")
    summary "$who" "$((SECONDS - started))"
}

# One line of totals from a run's reports: operations, test cases, checks run, failures.
summary() {
    "$PY" - "$REPORTS/$1" "$1" "$2" <<'PY'
import json
import sys

reports, who, seconds = sys.argv[1:]
with open(f"{reports}.json") as file:
    run = json.load(file)
checks = failed = 0
with open(f"{reports}.ndjson") as file:
    for line in file:
        event = json.loads(line).get("ScenarioFinished")
        for results in (event or {}).get("recorder", {}).get("checks", {}).values():
            checks += len(results)
            failed += sum(result["status"] == "failure" for result in results)
print(
    f"fuzz: {who}: {run['operations']['tested']} operations, "
    f"{run['test_cases']['generated']} test cases, {checks} checks run, {failed} failed, "
    f"in {seconds} s"
)
PY
}

total=$SECONDS
fuzz anonymous
# A password change moves the account's token version on and retires its token (by design), so
# `PUT /api/user` runs last, on an account of its own; the other runs leave it out.
fuzz user --header "Authorization: Token $USER_TOKEN" --exclude-name "PUT /api/user"
still_signed_in user "$USER_TOKEN"
fuzz admin --header "Authorization: Token $ADMIN_TOKEN" --exclude-name "PUT /api/user"
still_signed_in admin "$ADMIN_TOKEN"
# Registered after the admin run, whose deactivations would otherwise sign it out.
UPDATER_TOKEN="$(register fuzz-updater)"
fuzz account-update --header "Authorization: Token $UPDATER_TOKEN" --include-name "PUT /api/user"
echo "fuzz: all four runs passed in $((SECONDS - total)) s"
