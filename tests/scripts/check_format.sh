#!/usr/bin/env bash
# Fails if any C++ file under src/ include/ tests/ bench/ differs from what clang-format
# (with the repository's .clang-format) would write, and shows the difference.
# Usage: check_format.sh [SOURCE_DIR]      (default: the repository holding this script)
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
clang_format=${CLANG_FORMAT:-clang-format}
command -v "$clang_format" >/dev/null || { echo "check_format: $clang_format not found (run scripts/setup.sh)"; exit 1; }

mapfile -t files < <(find src include tests bench -type f \
  \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.cc' \) | LC_ALL=C sort)
bad=()
for f in "${files[@]}"; do
  if ! "$clang_format" --dry-run -Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
    "$clang_format" "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" - | head -n 40 || true
  fi
done
if ((${#bad[@]})); then
  echo "check_format: ${#bad[@]} of ${#files[@]} files need clang-format: ${bad[*]}"
  echo "check_format: fix with: clang-format -i ${bad[*]}"
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
