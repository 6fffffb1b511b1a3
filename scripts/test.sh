#!/usr/bin/env bash
# The test command: formatting, lints, then every test (domain unit and property tests, and the
# integration tests that start moto's AWS server and a fake Telegram Bot API by themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/steps.sh
source scripts/tools.sh
# Installs what the tests need into .venv/ (once; later runs find it there). llama.cpp's server,
# built from source on a machine's first run, builds in the background while cargo compiles; the
# tests wait for it.
step "set-up: Python tools" bash scripts/setup.sh tools checkov
mkdir -p "$CLOUD_AI_VENV"
llama_log="$CLOUD_AI_VENV/setup-llama.test.log"
bash scripts/setup.sh llama >"$llama_log" 2>&1 &
llama_setup=$!
wait_for_llama() {
  wait "$llama_setup" || { cat "$llama_log" >&2; return 1; }
}
# Terraform at least as new as the stack's required_version (one place: terraform/versions.tf).
tf_floor=$(sed -n 's/^ *required_version *= *">= *\([0-9.]*\)".*/\1/p' terraform/versions.tf)
command -v terraform >/dev/null || { echo "terraform is missing: install Terraform $tf_floor or newer" >&2; exit 1; }
tf_version=$(terraform version -json | python3 -c 'import json, sys; print(json.load(sys.stdin)["terraform_version"])')
[ "$(printf '%s\n%s\n' "$tf_floor" "$tf_version" | sort -V | head -n1)" = "$tf_floor" ] || {
  echo "Terraform $tf_version is too old: the stack needs Terraform $tf_floor or newer (ephemeral resources, write-only arguments)" >&2
  exit 1
}
# The Terraform test deploys the Lambda zips (either architecture: moto keeps them, never runs
# them); build them for this machine when there are none yet.
for f in poller webhook command archiver; do
  [ -f "$LAMBDA_DIR/$f/bootstrap.zip" ] || {
    step "Lambda zips, $(uname -m) (release)" env ARCH="$(uname -m | sed 's/aarch64/arm64/')" bash scripts/build-lambdas.sh
    break
  }
done
# Security scan of the Terraform: every check passes or is skipped inline with its reason.
# --skip-download: offline, so the output holds only what it found (no call to its vendor's service).
step checkov "$CHECKOV" --directory terraform --framework terraform --quiet --compact --skip-download
step "cargo fmt" cargo fmt --all -- --check
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
binaries=$(mktemp)
trap 'rm -f "$log" "$binaries"; steps_table' EXIT
# Lints and the test build in one compilation: clippy's driver compiles the workspace's own crates
# (as `cargo clippy` would have it, with -D warnings) while cargo builds the tests, so the
# dependencies, the AWS SDK among them, compile once instead of once for clippy and once for the
# tests. (CLIPPY_ARGS is how `cargo clippy` hands its arguments to the driver; the toolchain is
# pinned in rust-toolchain.toml.) The test binaries' list comes from cargo's own report.
build_tests() {
  CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" \
    RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver" \
    cargo test --workspace --all-targets --locked --no-run --message-format=json-render-diagnostics |
    python3 -c '
import json, os, sys
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    kinds = m.get("target", {}).get("kind", [])
    if m.get("reason") == "compiler-artifact" and m["profile"]["test"] and m.get("executable") and "bench" not in kinds:
        print(os.path.dirname(m["manifest_path"]) + "\t" + m["executable"])
' >"$binaries"
}
step "cargo clippy and the test build" build_tests
step "set-up: llama.cpp's server (waited for)" wait_for_llama
# The full-disk test mounts a tmpfs, which only root may do: for anyone else it is left out, and
# said so here and in the closing line, never silently.
skip=()
not_run=()
if [ "$(id -u)" != 0 ]; then
  skip+=(--skip a_full_disk_pauses_quietly_and_resumes_by_itself)
  not_run+=("faults::a_full_disk_pauses_quietly_and_resumes_by_itself: it mounts a 4 MiB tmpfs, which needs root")
fi
for reason in "${not_run[@]}"; do echo "not run: $reason"; done
status=0
step "tests" bash -o pipefail -c 'bash scripts/run-test-binaries.sh "$1" "${@:3}" 2>&1 | tee "$2"' _ "$binaries" "$log" "${skip[@]}" || status=$?
steps_table
for reason in "${not_run[@]}"; do echo "not run: $reason"; done
# One closing line for the whole run, summed over every test binary.
awk -v skipped="${#not_run[@]}" '/^test result:/ { passed += $4; failed += $6 }
  END { printf "%d passed, %d failed", passed, failed; if (skipped) printf ", %d skipped", skipped; printf "\n" }' "$log"
exit "$status"
