#!/usr/bin/env bash
# Checks that the repository is ready to release VERSION (X.Y.Z) and prints its release notes: the
# body of CHANGELOG.md's "## [X.Y.Z] - YYYY-MM-DD" section. The release workflow runs it before
# anything is built or tagged, so a release never goes out without its notes or with another
# version in package.json.
#
#   bash scripts/release-notes.sh 1.2.0 > notes.md
#
# Exits 1 with one line on stderr saying what to fix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() {
  echo "release-notes: $*" >&2
  exit 1
}

version=${1:-}
[[ $version =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] ||
  fail "the version must be X.Y.Z (three numbers, no leading v), got '$version'"

package=$(node -p 'require("./package.json").version')
[ "$package" = "$version" ] ||
  fail "package.json says version $package: set it to $version (npm version $version --no-git-tag-version) and commit"

# The section's heading, then everything up to the next "## [" heading.
escaped=${version//./\\.}
heading=$(grep -E "^## \[$escaped\]" CHANGELOG.md || true)
[ -n "$heading" ] ||
  fail "CHANGELOG.md has no '## [$version] - YYYY-MM-DD' section: move the Unreleased entries into one and commit"
[[ $heading =~ ^'## ['$escaped'] - '[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] ||
  fail "CHANGELOG.md's heading '$heading' must read '## [$version] - YYYY-MM-DD'"

notes=$(awk -v heading="$heading" '
  $0 == heading { inside = 1; next }
  inside && /^## \[/ { exit }
  inside { print }
' CHANGELOG.md | sed -e '/./,$!d')
[ -n "$(tr -d '[:space:]' <<<"$notes")" ] || fail "CHANGELOG.md's section for $version is empty: say what changed"
printf '%s\n' "$notes"
