#!/usr/bin/env bash
# Proves that the repository tests itself: the committed tree is copied to a folder with no reference data set beside
# it (the folder `shared` next to the repository, CONTRIBUTING.md) and without DIFY_OPS_REFERENCE, and the command
# given (.ci/run: the README's test command, `npm test`) runs there.
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
beside="$work/shared"
if [ -e "$beside" ]; then
  echo "ci-standalone: $beside exists; the check needs a copy with no reference data set beside it" >&2
  exit 1
fi
unset DIFY_OPS_REFERENCE
echo "ci-standalone: running '$*' in a copy of the repository with no reference data set beside it ($work/repo)"
"$@"
