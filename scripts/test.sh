#!/usr/bin/env bash
# The test command: formatting, lints, then every test (domain unit and property tests, and the
# integration tests that start moto's AWS server and a fake Telegram Bot API by themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
# Installs what the tests need into .venv/ (once; later runs find it there).
bash scripts/setup.sh
source scripts/tools.sh
command -v terraform >/dev/null || { echo "terraform is missing: install Terraform 1.5 or newer" >&2; exit 1; }
# The Terraform test deploys the Lambda zips; build them (x86_64) when they are not there yet.
for f in poller command archiver; do
  [ -f "$LAMBDA_DIR/$f/bootstrap.zip" ] || { ARCH=x86_64 bash scripts/build-lambdas.sh; break; }
done
# Security scan of the Terraform: every check passes or is skipped inline with its reason.
"$CHECKOV" --directory terraform --framework terraform --quiet --compact
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
