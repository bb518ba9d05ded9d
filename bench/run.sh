#!/usr/bin/env bash
# Benchmarks against the Python reference path, on the same file in one run.
# Reports the median of RUNS wall times and the peak RSS of each command.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/venv.sh --print-python)
RUNS=${RUNS:-5}
DATA=bench/data/big.safetensors
"$PY" bench/make_data.py "$DATA"
ls -l "$DATA"

measure() { # label, command...
    local label=$1; shift
    local times=() rss=0
    "$@" > /dev/null  # warm the page cache
    for _ in $(seq "$RUNS"); do
        local out
        out=$( { /usr/bin/time -f '%e %M' "$@" > /dev/null; } 2>&1 | tail -n 1)
        times+=("${out% *}")
        local r=${out#* }
        (( r > rss )) && rss=$r
    done
    local med
    med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%-40s median %6.2f s   peak RSS %8.1f MiB\n' "$label" "$med" "$(echo "$rss / 1024" | bc -l)"
    echo "$med"  > "bench/data/.last"
}

echo "== ls --hash ($RUNS runs, warm cache)"
measure "mft ls --hash" build/mft ls --hash "$DATA"
a=$(cat bench/data/.last)
measure "python safetensors + hashlib" "$PY" bench/hash_ref.py "$DATA"
b=$(cat bench/data/.last)
printf 'ratio (python / mft): %.2fx\n' "$(echo "$b / $a" | bc -l)"
# the digests agree
diff <(build/mft ls --hash "$DATA" | awk 'NR>1 && NF==0 {exit} NR>1 {print $1, $NF}' | sort) \
     <("$PY" bench/hash_ref.py "$DATA" | sort) && echo "digests agree"

echo "== stats ($RUNS runs, warm cache)"
measure "mft stats" build/mft stats "$DATA"
a=$(cat bench/data/.last)
measure "torch 1.13: isnan/isinf/aminmax/std_mean" /usr/bin/python3 bench/stats_ref.py "$DATA"
b=$(cat bench/data/.last)
printf 'ratio (torch / mft): %.2fx, mft %.2f GB/s\n' "$(echo "$b / $a" | bc -l)" \
    "$(echo "$(stat -c %s "$DATA") / $a / 1000000000" | bc -l)"
build/mft stats --json "$DATA" > bench/data/stats.json
/usr/bin/python3 bench/stats_ref.py "$DATA" --compare bench/data/stats.json > /dev/null
rm -f bench/data/stats.json

echo "== convert safetensors -> gguf ($RUNS runs, warm cache)"
measure "mft convert x.safetensors y.gguf" build/mft convert "$DATA" bench/data/mft.gguf --force
a=$(cat bench/data/.last)
measure "python safetensors.numpy + GGUFWriter" "$PY" bench/gguf_ref.py "$DATA" bench/data/ref.gguf
b=$(cat bench/data/.last)
printf 'ratio (python / mft): %.2fx\n' "$(echo "$b / $a" | bc -l)"
cmp bench/data/mft.gguf bench/data/ref.gguf && echo "outputs identical"
rm -f bench/data/mft.gguf bench/data/ref.gguf

echo "== convert safetensors -> pth ($RUNS runs, warm cache)"
# torch 2.x venv only when it exists (scripts/venv-torch.sh builds it: ~4 GB)
TPY="${MFT_CACHE:-$HOME/.cache/mft}/venv-torch/bin/python"
measure "mft convert x.safetensors y.pth" build/mft convert "$DATA" bench/data/mft.pth --force
a=$(cat bench/data/.last)
measure "cp x.safetensors (no CRC, no fsync)" cp "$DATA" bench/data/copy.bin
c=$(cat bench/data/.last)
printf 'ratio (mft / cp): %.2fx\n' "$(echo "$a / $c" | bc -l)"
if [ -x "$TPY" ]; then
    measure "torch 2.x: safetensors.torch.load_file + torch.save" "$TPY" bench/convert_pth_ref.py "$DATA" bench/data/ref.pth
    b=$(cat bench/data/.last)
    printf 'ratio (python / mft): %.2fx\n' "$(echo "$b / $a" | bc -l)"
    "$TPY" bench/convert_pth_ref.py --check bench/data/mft.pth bench/data/ref.pth
else
    echo "skipped the torch reference: no torch 2.x venv at $TPY (bash scripts/venv-torch.sh)"
fi
rm -f bench/data/mft.pth bench/data/ref.pth bench/data/copy.bin
