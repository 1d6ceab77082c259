#!/usr/bin/env bash
# Synthesize MemOS-dev, MemOS-staging and MemOS-prod with the pinned CDK CLI, as CI does.
#
# Needs: an activated venv with `pip install -e '.[cdk]'`, node >= 20 and npm. No Docker, no AWS
# account. The Lambda layer is bundled for real (pip downloads manylinux wheels from PyPI) and
# cached in ${MEMOS_LAYER_CACHE:-~/.cache/memos/lambda-layer}. The script fails on any synth
# error and on any unacknowledged cdk-nag finding (the app runs AwsSolutions as a validation
# plugin; the CLI exits non-zero and cdk.out/<env>/validation-report.json lists the findings).
set -euo pipefail

CDK_VERSION="2.1148.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLI_DIR="${MEMOS_CDK_CLI_DIR:-$ROOT/.ci/cdk-cli}"
if [[ $# -gt 0 ]]; then ENVS=("$@"); else ENVS=(dev staging prod); fi

export CDK_DISABLE_CLI_TELEMETRY=true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

if [[ -z "${VIRTUAL_ENV:-}" ]]; then
  echo "ci_synth: activate the project venv first (pip install -e '.[cdk]')" >&2
  exit 2
fi

CDK="$CLI_DIR/node_modules/.bin/cdk"
if [[ ! -x "$CDK" ]] || [[ "$("$CDK" --version 2>/dev/null | cut -d' ' -f1)" != "$CDK_VERSION" ]]; then
  echo "ci_synth: installing aws-cdk@$CDK_VERSION into $CLI_DIR"
  mkdir -p "$CLI_DIR"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$CLI_DIR" "aws-cdk@$CDK_VERSION"
fi
echo "ci_synth: $("$CDK" --version)"

cd "$ROOT"
status=0
for env in "${ENVS[@]}"; do
  out="cdk.out/$env"
  rm -rf "$out"
  start=$SECONDS
  echo "ci_synth: synth MemOS-$env -> $out"
  if "$CDK" synth --quiet --ci --no-notices --output "$out" -c "env=$env"; then
    echo "ci_synth: MemOS-$env ok ($((SECONDS - start)) s)"
  else
    echo "ci_synth: MemOS-$env FAILED; findings (if any) are in $out/validation-report.json" >&2
    status=1
  fi
done
exit $status
