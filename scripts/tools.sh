# Sourced by the scripts: puts the project's own Python tools first (the virtual environment
# scripts/setup.sh makes in .venv/tools, never the system Python, which PEP 668 guards).
CLOUD_AI_VENV="${CLOUD_AI_VENV:-$PWD/.venv}"
export PATH="$CLOUD_AI_VENV/tools/bin:$PATH"
# The integration tests start moto's server with this interpreter (tests/harness/moto.rs).
export MOTO_PYTHON="$CLOUD_AI_VENV/tools/bin/python"
CHECKOV="$CLOUD_AI_VENV/checkov/bin/checkov"
