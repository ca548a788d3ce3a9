#!/usr/bin/env bash
# Regenerates the golden fixtures (test/golden/messages.jsonl.gz, answers.json.gz) from round 1,
# commit 055cd4f: makes (or reuses) a checkout of it, installs its dependencies, shares this
# checkout's downloaded engines with it, copies generate.ts in and runs it there, on round 1's own
# local stack. Usage: test/golden/generator/regenerate.sh [checkout dir, default ../round1]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
commit=055cd4f
checkout=$(realpath -m "${1:-$repo/../round1}")

if [ ! -d "$checkout" ]; then
  git -C "$repo" worktree add --detach "$checkout" "$commit"
fi
if [ "$(git -C "$checkout" rev-parse --short=7 HEAD)" != "$commit" ]; then
  echo "$checkout is not a checkout of $commit" >&2
  exit 1
fi
[ -d "$checkout/node_modules" ] || (cd "$checkout" && npm ci --no-audit --no-fund)
# The engines (Kafka jars, chDB) are large downloads: reuse this checkout's when it has them.
mkdir -p "$checkout/.local"
for dir in cache venv; do
  if [ -e "$repo/.local/$dir" ] && [ ! -e "$checkout/.local/$dir" ]; then
    ln -s "$(readlink -f "$repo/.local/$dir")" "$checkout/.local/$dir"
  fi
done
mkdir -p "$checkout/test/golden"
cp "$here/generate.ts" "$checkout/test/golden/generate.ts"
cd "$checkout" && npx tsx test/golden/generate.ts "$repo/test/golden"
