#!/bin/sh
# Every tracked C file is formatted by the project's .clang-format.
cd "$VIGIL_SOURCE_ROOT" || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src media signaling tests tools -name '*.[ch]')
clang-format --dry-run -Werror $files
