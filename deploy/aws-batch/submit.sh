#!/usr/bin/env bash
# Submits snapaudit collect --org as an AWS Batch array job of N children. Each child gets
# its index (0 … N-1) in AWS_BATCH_JOB_ARRAY_INDEX; `--shard-count N` makes it shard
# index+1 of N. The array size and the `shards` parameter must agree.
# BASE is where the run goes: /data (the EFS volume, the default) or an S3 prefix
# (s3://bucket/prefix, with deploy/iam/worker-s3-policy.json on the job role).
#   deploy/aws-batch/submit.sh QUEUE N RUN [BASE]
set -euo pipefail
queue=${1:?job queue}; n=${2:?number of shards}; run=${3:?run directory name}; base=${4:-/data}
aws batch submit-job \
    --job-name "snapaudit-collect-$run" \
    --job-queue "$queue" \
    --job-definition snapaudit-collect \
    --array-properties "size=$n" \
    --parameters "shards=$n,out=$base/$run"
