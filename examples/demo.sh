#!/usr/bin/env bash
# `make demo`: look inside the bundled example and convert it.
set -euo pipefail
cd "$(dirname "$0")/.."
MFT=build/mft
EX=examples/tiny-gpt.safetensors
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run() { printf '\n$ %s\n' "$*"; "$@"; }
run $MFT --version
run $MFT info $EX
run $MFT ls $EX --filter 'h.0.*'
run $MFT get $EX h.0.attn.c_proj.bias
run $MFT get $EX model
run $MFT convert $EX "$OUT/model.safetensors" --select h.1 --rename mlp.c_fc=mlp.up_proj
run $MFT ls "$OUT/model.safetensors" --hash
mkdir -p "$OUT/sharded"
run $MFT convert $EX "$OUT/sharded/model.safetensors" --shard-size 200KB
run ls "$OUT/sharded"
run $MFT info "$OUT/sharded/model.safetensors.index.json"
