#!/usr/bin/env bash
# Proves that the repository tests itself: the committed tree is copied to a folder with no ../shared beside it,
# and the command given (.ci/run: the README's test command, `npm test`) runs there.
# Needs node_modules and the services of `npm run setup`.
#   bash scripts/ci-standalone.sh npm test
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
work=$(mktemp -d /tmp/dify-ops-standalone.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/repo"
git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$work/repo"
ln -s "$here/node_modules" "$work/repo/node_modules"
cd "$work/repo"
if [ -e ../shared ]; then
  echo "ci-standalone: $work/shared exists; the check needs a folder without ../shared" >&2
  exit 1
fi
echo "ci-standalone: running '$*' in a copy of the repository with no ../shared ($work/repo)"
"$@"
