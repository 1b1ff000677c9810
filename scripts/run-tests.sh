#!/usr/bin/env bash
# `make test`: every check CI runs, in order, its output shown as it comes and kept in a
# log; then one closing line with the number of tests that passed and failed (Rust and
# Python together, the baseline check counted as one test). Exit code 1 if anything failed.
#
# It first installs MuJoCo (`make mujoco`: the pinned PyPI wheels into third_party/mujoco)
# and then lints, builds and tests with the `mujoco` feature, so the MuJoCo tasks' tests
# run too. When the install fails (no python3 with pip, or PyPI unreachable) the rest runs
# without the feature and the install counts as one failed test, with its one-line error.
set -uo pipefail
make=${MAKE:-make}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
run() { "$@" 2>&1 | tee -a "$log"; local s=${PIPESTATUS[0]}; [ "$s" -eq 0 ] || status=1; return "$s"; }

if run "$make" --no-print-directory mujoco; then
    mujoco_ok=1 features=mujoco
else
    mujoco_ok=0 features=
    echo "Error: the MuJoCo tests did not run: make mujoco needs python3 with pip and https://pypi.org (mujoco==3.17.0, gymnasium==1.4.0)" | tee -a "$log"
fi
run "$make" --no-print-directory lint || true
run "${CARGO:-cargo}" test --release --no-fail-fast ${features:+--features "$features"} || true
if run "$make" --no-print-directory check-baseline FEATURES="$features"; then baseline_ok=1; else baseline_ok=0; fi
run "$make" --no-print-directory figures-test || true

rust_passed=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
rust_failed=$(grep -oE '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
python_ran=$(grep -oE '^Ran [0-9]+ tests?' "$log" | awk '{s+=$2} END {print s+0}')
python_failed=$(grep -oE '^FAILED \((failures|errors)=[0-9]+(, (failures|errors)=[0-9]+)?\)' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
passed=$((rust_passed + python_ran - python_failed + baseline_ok))
failed=$((rust_failed + python_failed + 1 - baseline_ok + 1 - mujoco_ok))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi   # lint or a build failed
echo "$passed passed, $failed failed"
exit "$status"
