# Sourced by the scripts: puts the project's own Python tools first (the virtual environment
# scripts/setup.sh makes in .venv/tools, never the system Python, which PEP 668 guards).
CLOUD_AI_VENV="${CLOUD_AI_VENV:-$PWD/.venv}"
export PATH="$CLOUD_AI_VENV/tools/bin:$PATH"
# The integration tests start moto's server with this interpreter (tests/harness/moto.rs).
export MOTO_PYTHON="$CLOUD_AI_VENV/tools/bin/python"
CHECKOV="$CLOUD_AI_VENV/checkov/bin/checkov"
# Where cargo builds (CARGO_TARGET_DIR or the workspace's target/, as cargo itself reports it),
# and the Lambda zips in it: <function>/bootstrap.zip.
CARGO_TARGET="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
LAMBDA_DIR="$CARGO_TARGET/lambda"
