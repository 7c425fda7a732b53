#!/usr/bin/env bash
# parapet detect vs github.com/bradleyjkemp/sigma-go v0.6.6 on SigmaHQ's AWS CloudTrail rules, same events:
# the matches must be identical on the rules sigma-go evaluates; throughput per core.
# Usage: bench/compare-sigma.sh [RULES_DIR] [demo|s3]
#   RULES_DIR defaults to ../shared/data/sigma/rules/cloud/aws; the corpus is 28 days of demo data (many small
#   hourly files) or S3-style files of 2,000 records (150 MB). Writes bench/out/sigma-<corpus>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
rules=${1:-../shared/data/sigma/rules/cloud/aws}
corpus=${2:-demo}
out=bench/out; mkdir -p "$out"
make -s build
(cd bench && go build -o ../$out/sigmago ./sigmago)
rm -rf "$out/sigma-$corpus"
case "$corpus" in
  demo) bin/parapet demo --dir "$out/sigma-demo" --days 28 --progress never > /dev/null 2>&1 ;;
  s3) (cd bench/gencorpus && go run . -dir "../../$out/sigma-s3" -size $((150<<20)) > /dev/null) ;;
  *) echo "corpus: demo or s3" >&2; exit 2 ;;
esac
logs=$(ls -d "$out"/sigma-$corpus/AWSLogs/*/CloudTrail)
# Both tools on one core (GOMAXPROCS=1: the garbage collector's work counts too), best of three runs each:
# single runs vary on a shared machine.
sgbest=
for run in 1 2 3; do
  GOMAXPROCS=1 "$out/sigmago" -rules "$rules" -logs "$out/sigma-$corpus/AWSLogs" > "$out/sigmago-matches.txt" 2> "$out/sigmago-run.err"
  rate=$(tail -1 "$out/sigmago-run.err" | grep -o '[0-9]* events/s end to end' | grep -o '^[0-9]*')
  if [ -z "$sgbest" ] || [ "$rate" -gt "$sgbest" ]; then sgbest=$rate; cp "$out/sigmago-run.err" "$out/sigmago.err"; fi
done
grep 'not evaluated' "$out/sigmago.err" | sed 's/^rule not evaluated: \([^:]*\):.*/\1/' > "$out/sigmago-failed.txt" || true
best=; bestrate=0
for run in 1 2 3; do
  start=$(date +%s.%N)
  # Rules against rules: no behavioural models (on by default since issue 4), one finding per match (not per
  # episode, as since issue 13) at every level, as sigma-go reports them.
  GOMAXPROCS=1 bin/parapet detect --progress never --no-ueba --no-aggregate --min-level informational --no-builtin --rules "$rules" $logs > "$out/parapet-findings.jsonl" 2> "$out/parapet-run.err"
  end=$(date +%s.%N)
  took=$(echo "$end - $start" | bc -l)
  if [ -z "$best" ] || [ "$(echo "$took < $best" | bc -l)" = 1 ]; then best=$took; fi
  # parapet's own timer, like sigma-go's: from the first read to the last finding written (no process start
  # or rule loading, which sigma-go's figure leaves out too).
  rate=$(grep -o 'in [0-9.]* s: [0-9.]*k events/s' "$out/parapet-run.err" | sed 's/.*: \([0-9.]*\)k.*/\1/')
  if [ "$(echo "$rate > $bestrate" | bc -l)" = 1 ]; then bestrate=$rate; cp "$out/parapet-run.err" "$out/parapet.err"; fi
done
events=$(grep -o '^parapet: [0-9]* events from' "$out/parapet.err" | grep -o '[0-9]*')
jq -r '[.rule_id, .event_ids[0]] | @tsv' "$out/parapet-findings.jsonl" | sort > "$out/parapet-matches.txt"
grep -v -F -f "$out/sigmago-failed.txt" "$out/parapet-matches.txt" > "$out/parapet-matches-common.txt" || true
sort "$out/sigmago-matches.txt" > "$out/sigmago-matches-sorted.txt"
differ=$(diff "$out/sigmago-matches-sorted.txt" "$out/parapet-matches-common.txt" | grep -c '^[<>]' || true)
pp=$(echo "$bestrate * 1000" | bc -l)
wall=$(echo "$events / $best" | bc -l)
{
  echo "$(tail -1 "$out/sigmago.err") (1 core, best of 3)"
  printf "parapet (1 core, best of 3; decode + rules + findings as JSON): %d events: %.0f events/s by its own timer, %.0f events/s by wall clock (process start and rule loading included)\n" "$events" "$pp" "$wall"
  echo "rules sigma-go could not evaluate: $(wc -l < "$out/sigmago-failed.txt") ($(tr '\n' ' ' < "$out/sigmago-failed.txt"))"
  echo "matches: sigma-go $(wc -l < "$out/sigmago-matches.txt"), parapet on the same rules $(wc -l < "$out/parapet-matches-common.txt"), parapet on all rules $(wc -l < "$out/parapet-matches.txt"); differences: $differ"
  sg=$(tail -1 "$out/sigmago.err" | grep -o '[0-9]* events/s end to end' | grep -o '^[0-9]*')
  printf "parapet is %.1fx faster end to end (per core, both by their own timers); %.1fx by parapet's wall clock\n" "$(echo "$pp / $sg" | bc -l)" "$(echo "$wall / $sg" | bc -l)"
} | tee "$out/sigma-$corpus.txt"
[ "$differ" = 0 ]
