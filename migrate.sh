#!/usr/bin/env bash
# Thin wrapper over `conduit migrate`: ./migrate.sh create|upgrade|downgrade|current|history [args]
set -euo pipefail

usage() {
    echo "usage: ./migrate.sh create|upgrade|downgrade|current|history [args]" >&2
    echo "       (the same as: conduit migrate <verb> [args]; see conduit migrate --help)" >&2
}

verb="${1:-}"
case "$verb" in
    create | upgrade | downgrade | current | history) ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage
        exit 2
        ;;
esac

# Prefer the project's virtualenv, wherever the script is run from.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -x "$here/.venv/bin/conduit" ]]; then
    conduit="$here/.venv/bin/conduit"
elif command -v conduit >/dev/null 2>&1; then
    conduit="conduit"
else
    echo "error: conduit is not installed (hint: run \`make run\` or \`pip install -e .\`)" >&2
    exit 1
fi

exec "$conduit" migrate "$@"
