#!/usr/bin/env bash
# Install newman (the Postman collection runner) from the npm registry into .cache/newman,
# never globally, and print the path of its executable. Does nothing when it is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${NEWMAN_PREFIX:-$ROOT/.cache/newman}"
NEWMAN="$PREFIX/node_modules/.bin/newman"
VERSION="6"

if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm is not installed (hint: install Node.js >= 16 with npm, e.g. apt-get install -y npm)" >&2
    exit 1
fi

if [[ -x "$NEWMAN" ]] && [[ "$("$NEWMAN" --version 2>/dev/null)" == "$VERSION".* ]]; then
    echo "$NEWMAN"
    exit 0
fi

mkdir -p "$PREFIX"
# npm's progress goes to stderr; stdout carries only the path for the caller.
npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$PREFIX" "newman@$VERSION" >&2
"$NEWMAN" --version >/dev/null
echo "$NEWMAN"
