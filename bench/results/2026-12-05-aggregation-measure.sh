#!/bin/sh
# Findings on the demo week before and after aggregation (issue 13).
D=demo
COMMON="--cloud-ranges $D/ip-ranges.json --geoip $D/geo.mmdb --asn $D/geo.mmdb --ueba-warmup 72h"
SIGMA=/work/shared/data/sigma/rules/cloud
run() { # name binary args...
  name=$1; bin=$2; shift 2
  /usr/bin/time -f "%e s wall, %M KiB max RSS" $bin detect $COMMON "$@" $D/AWSLogs > out/$name.jsonl 2> out/$name.err
  echo "$name: $(wc -l < out/$name.jsonl) findings  [$(grep -h 'findings (' out/$name.err | sed 's/^parapet: //')] $(tail -1 out/$name.err)"
}
mkdir -p out
run builtin-before      ./parapet-before
run builtin-noagg       ./parapet-after --no-aggregate
run builtin-agg         ./parapet-after
run sigma-before        ./parapet-before --no-builtin --rules $SIGMA
run sigma-noagg         ./parapet-after  --no-builtin --rules $SIGMA --no-aggregate
run sigma-agg           ./parapet-after  --no-builtin --rules $SIGMA
run both-before         ./parapet-before --rules $SIGMA
run both-noagg          ./parapet-after  --rules $SIGMA --no-aggregate
run both-agg            ./parapet-after  --rules $SIGMA
