#!/usr/bin/env python3
"""Parapet's scan of TerraGoat (AWS) against Checkov's published findings, on the controls both cover.

Usage: bench/terragoat-compare.py [SHARED_DIR]   (writes nothing; prints the comparison)
"""
import collections, json, subprocess, sys

shared = sys.argv[1] if len(sys.argv) > 1 else "../shared"
# Checkov check → the Parapet check covering the same control.
MAP = {
    "CKV2_AWS_6": "PARAPET-S3-001", "CKV_AWS_20": "PARAPET-S3-002", "CKV_AWS_57": "PARAPET-S3-002",
    "CKV_AWS_19": "PARAPET-S3-004", "CKV_AWS_21": "PARAPET-S3-005", "CKV_AWS_18": "PARAPET-S3-006",
    "CKV_AWS_24": "PARAPET-EC2-001", "CKV_AWS_25": "PARAPET-EC2-002", "CKV2_AWS_12": "PARAPET-VPC-002",
    "CKV_AWS_79": "PARAPET-EC2-006", "CKV_AWS_8": "PARAPET-EC2-008", "CKV_AWS_88": "PARAPET-EC2-007",
    "CKV_AWS_16": "PARAPET-RDS-002", "CKV_AWS_96": "PARAPET-RDS-002", "CKV_AWS_17": "PARAPET-RDS-001",
    "CKV_AWS_133": "PARAPET-RDS-003", "CKV_AWS_3": "PARAPET-EBS-001", "CKV_AWS_7": "PARAPET-KMS-001",
    "CKV2_AWS_11": "PARAPET-VPC-001", "CKV_AWS_40": "PARAPET-IAM-003", "CKV_AWS_62": "PARAPET-IAM-001",
    "CKV_AWS_63": "PARAPET-IAM-001", "CKV_AWS_1": "PARAPET-IAM-001",
    "CKV_AWS_145": "PARAPET-S3-010", "CKV_AWS_157": "PARAPET-RDS-004", "CKV_AWS_226": "PARAPET-RDS-005",
    "CKV_AWS_139": "PARAPET-RDS-006", "CKV_AWS_161": "PARAPET-RDS-007", "CKV_AWS_162": "PARAPET-RDS-007",
    "CKV_AWS_128": "PARAPET-RDS-007",
    # Counterparts of checks added since (issue 15's breadth).
    "CKV_AWS_101": "PARAPET-NEPTUNE-002", "CKV_AWS_44": "PARAPET-NEPTUNE-001",
    "CKV_AWS_115": "PARAPET-LAMBDA-005", "CKV_AWS_116": "PARAPET-LAMBDA-004", "CKV_AWS_117": "PARAPET-LAMBDA-006",
    "CKV_AWS_173": "PARAPET-LAMBDA-003", "CKV_AWS_50": "PARAPET-LAMBDA-007",
    "CKV_AWS_118": "PARAPET-RDS-009", "CKV_AWS_129": "PARAPET-RDS-010", "CKV_AWS_126": "PARAPET-EC2-027",
    "CKV_AWS_130": "PARAPET-EC2-024", "CKV_AWS_136": "PARAPET-ECR-003", "CKV_AWS_163": "PARAPET-ECR-001",
    "CKV_AWS_51": "PARAPET-ECR-002", "CKV_AWS_137": "PARAPET-OS-004", "CKV_AWS_5": "PARAPET-OS-001",
    "CKV_AWS_186": "PARAPET-S3-050", "CKV_AWS_37": "PARAPET-EKS-003", "CKV_AWS_38": "PARAPET-EKS-001",
    "CKV_AWS_39": "PARAPET-EKS-001", "CKV_AWS_58": "PARAPET-EKS-002", "CKV_AWS_92": "PARAPET-ELB-006",
}
checkov = json.load(open(f"{shared}/data/terragoat/checkov_findings_README.json"))
theirs = collections.defaultdict(set)
for r in checkov["tables"]["terraform scan results"]:
    if r["file"].startswith("/aws/") and r["check_id"] in MAP:
        theirs[MAP[r["check_id"]]].add(r["resource"])
out = subprocess.run(["bin/parapet", "scan", "iac", "--format", "json", f"{shared}/data/terragoat/terraform/aws"],
                     capture_output=True, text=True)
rep = json.loads(out.stdout)
ours = collections.defaultdict(set)
for r in rep["results"]:
    if r["status"] == "fail":
        ours[r["check_id"]].add(r["resource"]["address"])
covered = sorted(set(MAP.values()))
both = only_them = only_us = 0
for c in covered:
    t, o = theirs.get(c, set()), ours.get(c, set())
    both += len(t & o); only_them += len(t - o); only_us += len(o - t)
    if t - o or o - t:
        print(f"{c}: both {len(t & o)}; Checkov only {sorted(t - o)}; Parapet only {sorted(o - t)}")
print(f"on the {len(covered)} Parapet checks with a Checkov counterpart: {both} findings in both, "
      f"{only_them} only in Checkov's table, {only_us} only in Parapet's")
print(f"Parapet in all: {rep['failed']} failed, {rep['passed']} passed, {rep['unknown']} unknown, {rep['resources']} resources, {rep['seconds']:.3f} s")
