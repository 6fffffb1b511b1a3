#!/usr/bin/env bash
# The test command: formatting, lints, then every test (domain unit and property tests, and the
# integration tests that start moto's AWS server and a fake Telegram Bot API by themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/steps.sh
# Installs what the tests need into .venv/ (once; later runs find it there).
step "set-up (scripts/setup.sh)" bash scripts/setup.sh
source scripts/tools.sh
command -v terraform >/dev/null || { echo "terraform is missing: install Terraform 1.5 or newer" >&2; exit 1; }
# The Terraform test deploys the Lambda zips; build them (x86_64) when they are not there yet.
for f in poller webhook command archiver; do
  [ -f "$LAMBDA_DIR/$f/bootstrap.zip" ] || { ARCH=x86_64 bash scripts/build-lambdas.sh; break; }
done
# Security scan of the Terraform: every check passes or is skipped inline with its reason.
step checkov "$CHECKOV" --directory terraform --framework terraform --quiet --compact
step "cargo fmt" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
# The one-process bot builds without the AWS SDK unless asked (--features aws): no aws-sdk crate
# in its tree, and its STORAGE=aws names the feature. (The tests build it with the feature.)
tree=$(cargo tree -p cloud-ai -e normal --prefix none --locked)
if grep -q '^aws-sdk' <<<"$tree"; then
  echo "cloud-ai depends on the AWS SDK without --features aws" >&2
  exit 1
fi
step "cargo build -p cloud-ai (no aws)" cargo build -p cloud-ai --locked
without_aws=$(STORAGE=aws DATA_DIR="$(mktemp -d)" "$CARGO_TARGET/debug/cloud-ai" adopt 2>&1 || true)
grep -q -- '--features aws' <<<"$without_aws" || {
  echo "cloud-ai without the aws feature should name it for STORAGE=aws, but said: $without_aws" >&2
  exit 1
}
log=$(mktemp)
trap 'rm -f "$log"; steps_table' EXIT
status=0
step "cargo test --no-run" cargo test --workspace --locked --no-run
step "cargo test" bash -o pipefail -c 'cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$1"' _ "$log" || status=$?
# Each test binary's own time, longest first (cargo prints "Running <binary>", then its result).
awk '/^ *Running / { name = $2 } /^test result:/ { sub(/s$/, "", $NF); printf "  %-44s %8.1fs\n", name, $NF }' "$log" | sort -k2 -rn | head -40
steps_table
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
