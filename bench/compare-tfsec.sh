#!/usr/bin/env bash
# parapet scan iac against tfsec v1.26.0 on TerraGoat (AWS): time, peak RSS, and the findings on the controls
# both cover, as (control, resource) pairs. tfsec is installed with
#   go install github.com/aquasecurity/tfsec/cmd/tfsec@v1.26.0
# Usage: bench/compare-tfsec.sh [SHARED_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
tfsec=${TFSEC:-$(command -v tfsec || echo "$HOME/go/bin/tfsec")}
src="$shared/data/terragoat/terraform/aws"
make -s build
out=bench/out; mkdir -p "$out"
best() { # best of three wall-clock seconds and its peak RSS
  local b=; for _ in 1 2 3; do /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" > "$out/run.out" 2>/dev/null || true
    read -r s kb <<< "$(tail -1 "$out/time.txt")"; if [ -z "$b" ] || [ "$(echo "$s < ${b% *}" | bc -l)" = 1 ]; then b="$s $kb"; fi; done; echo "$b"; }
read -r ts tk <<< "$(best "$tfsec" "$src" --format json --no-color)"
"$tfsec" "$src" --format json --no-color > "$out/tfsec.json" 2>/dev/null || true
read -r ps pk <<< "$(best bin/parapet scan iac --format json "$src")"
bin/parapet scan iac --format json "$src" > "$out/parapet-scan.json" 2>/dev/null || true
python3 - "$out/tfsec.json" "$out/parapet-scan.json" "$ts" "$tk" "$ps" "$pk" <<'PY'
import collections, json, sys
MAP = {  # tfsec rule → the Parapet check for the same control
  "aws-s3-specify-public-access-block": "PARAPET-S3-001", "aws-s3-block-public-acls": "PARAPET-S3-001",
  "aws-s3-block-public-policy": "PARAPET-S3-001", "aws-s3-ignore-public-acls": "PARAPET-S3-001",
  "aws-s3-no-public-buckets": "PARAPET-S3-001", "aws-s3-enable-bucket-encryption": "PARAPET-S3-004",
  "aws-s3-enable-versioning": "PARAPET-S3-005", "aws-s3-enable-bucket-logging": "PARAPET-S3-006",
  "aws-ec2-enforce-http-token-imds": "PARAPET-EC2-006", "aws-ec2-enable-at-rest-encryption": "PARAPET-EC2-008",
  "aws-ebs-enable-volume-encryption": "PARAPET-EBS-001", "aws-kms-auto-rotate-keys": "PARAPET-KMS-001",
  "aws-rds-encrypt-cluster-storage-data": "PARAPET-RDS-002", "aws-rds-encrypt-instance-storage-data": "PARAPET-RDS-002",
  "aws-rds-no-public-db-access": "PARAPET-RDS-001", "aws-rds-specify-backup-retention": "PARAPET-RDS-003",
  "aws-iam-no-policy-wildcards": "PARAPET-IAM-008", "aws-s3-encryption-customer-key": "PARAPET-S3-010",
  "aws-vpc-no-public-egress-sgr": "PARAPET-EC2-012",
}
t = json.load(open(sys.argv[1]))["results"] or []
p = json.load(open(sys.argv[2]))
theirs, ours = collections.defaultdict(set), collections.defaultdict(set)
for r in t:
    if r["long_id"] in MAP:
        theirs[MAP[r["long_id"]]].add(r["resource"])
for r in p["results"]:
    if r["status"] == "fail":
        ours[r["check_id"]].add(r["resource"]["address"])
both = ot = op = 0
for c in sorted(set(MAP.values())):
    a, b = theirs[c], ours[c]
    both += len(a & b); ot += len(a - b); op += len(b - a)
    if a - b or b - a:
        print(f"  {c}: tfsec only {sorted(a - b)}; Parapet only {sorted(b - a)}")
print(f"shared controls ({len(set(MAP.values()))}): {both} (control, resource) findings in both, {ot} only tfsec, {op} only Parapet")
print(f"all findings: tfsec {len(t)} (its rules split one control into several), Parapet {p['failed']} failed checks")
print(f"tfsec: {sys.argv[3]} s, {int(sys.argv[4])//1024} MiB; parapet: {sys.argv[5]} s, {int(sys.argv[6])//1024} MiB (best of 3, wall clock, peak RSS)")
PY
