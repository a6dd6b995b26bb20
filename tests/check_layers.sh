#!/usr/bin/env bash
# Checks the engine's layering: each folder may include headers only from itself and the layers
# below it:  core <- layers, optim, datasets, metrics <- lessons/common <- lessons.
#   bash tests/check_layers.sh [SOURCE_DIR]
# Prints every include that reaches upwards (file:line) and exits 1 when there is one.
set -u
cd "${1:-$(dirname "$0")/..}" || exit 2

# folder (with its sub-folders, unless a sub-folder has a rule of its own): where its files may
# include from. Programs (metrics/programs) sit on top, like the lessons.
rules=(
  "core:core"
  "cuda:core cuda"
  "layers:core layers"
  "optim:core optim"
  "datasets:core datasets"
  "metrics:core metrics"
  "distributed:core layers distributed"
  "metrics/programs:core layers optim datasets metrics distributed lessons/common"
  "lessons/common:core layers optim datasets metrics distributed lessons/common"
)

bad=0
folders=()
for r in "${rules[@]}"; do [ -d "${r%%:*}" ] && folders+=("${r%%:*}"); done
while IFS=: read -r file line text; do
  # the most specific rule: the longest rule folder that holds the file
  best="" best_len=0
  for r in "${rules[@]}"; do
    f=${r%%:*}
    if [[ "$file" == "$f"/* ]] && [ ${#f} -gt $best_len ]; then best=$r; best_len=${#f}; fi
  done
  folder=${best%%:*}
  allowed=${best#*:}
  target=$(sed -E 's/^[[:space:]]*#include "([^"]+)".*/\1/' <<<"$text")
  [[ "$target" == */* ]] || continue  # "file.h": a header beside the including file
  ok=0
  for a in $allowed; do
    [[ "$target" == "$a"/* ]] && ok=1
  done
  if [ $ok -eq 0 ]; then
    echo "$file:$line includes \"$target\": $folder/ may include only from $allowed" >&2
    bad=1
  fi
done < <(grep -rn --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' \
           '^[[:space:]]*#include "' "${folders[@]}" | sort -u)
[ $bad -eq 0 ] && echo "layering ok: no folder includes from a layer above it"
exit $bad
