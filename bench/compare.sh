#!/usr/bin/env bash
# Side by side on the same gzipped CloudTrail files: parapet events --format jsonl vs jq.
# Usage: bench/compare.sh [SIZE_BYTES]   (default 1 GiB uncompressed). Writes bench/out/compare.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-$((1<<30))}
out=bench/out; mkdir -p "$out"
corpus=$out/corpus
command -v jq >/dev/null || { echo "installing jq"; apt-get install -y jq >/dev/null; }
make -s build
if [ ! -f "$corpus/.size-$size" ]; then
  rm -rf "$corpus"
  (cd bench/gencorpus && go run . -dir "../../$corpus" -size "$size") | tee "$out/corpus.txt"
  touch "$corpus/.size-$size"
fi
records=$(grep -o '^[0-9]*' "$out/corpus.txt")
files=$(find "$corpus/AWSLogs" -name '*.json.gz' | sort)
gz=$(du -cb $files | tail -1 | cut -f1)
run() { python3 bench/measure.py 3 "$1"; }
read -r p2 prss <<<"$(run "bin/parapet events --progress never --format jsonl $corpus/AWSLogs > /dev/null")"
read -r p1 p1rss <<<"$(run "GOMAXPROCS=1 bin/parapet events --progress never --format jsonl $corpus/AWSLogs > /dev/null")"
read -r jq jqrss <<<"$(run "for f in $corpus/AWSLogs/111122223333/CloudTrail/*/*/*/*/*.json.gz; do zcat \$f; done | jq -c '.Records[]' > /dev/null")"
{
  echo "corpus: $records CloudTrail records, $size bytes uncompressed, $gz bytes gzipped, $(echo "$files" | wc -l) files"
  printf "%-42s %8s %12s %10s\n" "command" "seconds" "events/s" "peak RSS"
  printf "%-42s %8s %12.0f %7s MiB\n" "parapet events --format jsonl (2 cores)" "$p2" "$(echo "$records/$p2" | bc -l)" "$prss"
  printf "%-42s %8s %12.0f %7s MiB\n" "parapet events --format jsonl (1 core)" "$p1" "$(echo "$records/$p1" | bc -l)" "$p1rss"
  printf "%-42s %8s %12.0f %7s MiB\n" "zcat | jq -c '.Records[]'" "$jq" "$(echo "$records/$jq" | bc -l)" "$jqrss"
  printf "parapet (2 cores) is %.1fx faster than jq\n" "$(echo "$jq/$p2" | bc -l)"
} | tee "$out/compare.txt"
