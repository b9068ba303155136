#!/usr/bin/env bash
# Installs Ember with its test extra and runs every test: pytest, then the
# C++ GoogleTest suite through ctest (built in its own folder, see DESIGN notes).
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install ".[test]"
python -m pytest -q
cmake -S . -B build/ctest -DEMBER_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release
cmake --build build/ctest -j 2
ctest --test-dir build/ctest --output-on-failure
