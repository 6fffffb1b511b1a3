# Sourced by .ci/run and scripts/test.sh: `step NAME COMMAND...` runs COMMAND, prints one line with
# its wall time, and adds it to the run's table ($CLOUD_AI_STEPS, shared with the scripts it calls),
# so every run says where its time went. `steps_table` prints that table and the total, once.
if [ -z "${CLOUD_AI_STEPS:-}" ]; then
  CLOUD_AI_STEPS="$(mktemp)"
  CLOUD_AI_STEPS_START="$(date +%s)"
  export CLOUD_AI_STEPS CLOUD_AI_STEPS_START
fi

step() {
  local name="$1" start status=0
  shift
  start="$(date +%s)"
  echo "==> $name"
  "$@" || status=$?
  local took=$(($(date +%s) - start))
  printf '%s\t%d\t%d\n' "$name" "$took" "$status" >>"$CLOUD_AI_STEPS"
  printf '==> %s: %dm%02ds%s\n' "$name" $((took / 60)) $((took % 60)) "$([ "$status" = 0 ] || echo " (exit $status)")"
  return "$status"
}

# Printed once per run, by whichever script ends it (test.sh before its closing count).
steps_table() {
  [ ! -e "$CLOUD_AI_STEPS.printed" ] || return 0
  touch "$CLOUD_AI_STEPS.printed"
  local total=$(($(date +%s) - CLOUD_AI_STEPS_START))
  echo "step times (wall clock):"
  awk -F'\t' '{ printf "  %-44s %3dm%02ds%s\n", $1, $2 / 60, $2 % 60, ($3 == 0 ? "" : "  exit " $3) }' "$CLOUD_AI_STEPS"
  printf '  %-44s %3dm%02ds\n' "total" $((total / 60)) $((total % 60))
}
