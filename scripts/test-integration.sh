#!/usr/bin/env bash
# The integration tests: each area (test/integration/<dir>) in a private host of its own, so no area
# sees what another left behind (a runtime's bridges, a dockerd's routes, a daemon's config); the
# runtimes' files (podman, containerd, tsnet-netavark) each in their own, as each keeps per-host state.
# Every area runs even when one fails; the exit status says whether any did.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
run() {
  node build/test/helpers/private-host.js node_modules/.bin/mocha --forbid-only --timeout 60000 "$@" || failed+=("$*")
}
for dir in build/test/integration/*/; do
  if [ "$(basename "$dir")" = runtimes ]; then
    for f in "$dir"*.test.js; do run "$f"; done
  else
    run "$dir"*.test.js
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'integration: failures in %s\n' "${failed[@]}" >&2
  exit 1
fi
