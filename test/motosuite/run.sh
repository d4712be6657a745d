#!/usr/bin/env bash
# Runs moto's own tests for EC2 networking, Route 53 and DynamoDB in moto's
# server mode against vpcsim (--any-access-key --timing none) and prints the
# pass rate per service, then checks the failures against deliberate.txt:
# the tests vpcsim fails on purpose because AWS answers otherwise.
# remainder.txt lists the other EC2 tests it still fails, each with why.
#
# Needs python3 with moto, boto3 and pytest importable (Debian:
# python3-pytest, python3-freezegun) and moto's git repository
# (MOTO_GIT: a bare or normal git dir, default: clone of
# https://github.com/getmoto/moto). The tests are exported from the tag of
# the installed moto's version into a temporary directory and never kept.
#
# Environment: MOTO_GIT, PYTHON (python3), VPCSIM_BIN (built here),
# MOTO_SUITE_K (a pytest -k expression), MOTO_SUITE_OUT (directory for the
# junit XML and vpcsim's log; default a temporary one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
out=${MOTO_SUITE_OUT:-$work/out}
mkdir -p "$out"
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# pytest from Debian's python3-pytest when the interpreter has none (the
# interpreter that has moto may not be Debian's).
if ! "$PYTHON" -c 'import pytest' 2>/dev/null; then
  shim=$work/pyshim
  mkdir -p "$shim"
  for m in pytest _pytest pluggy iniconfig py.py freezegun; do
    [ -e "/usr/lib/python3/dist-packages/$m" ] && ln -s "/usr/lib/python3/dist-packages/$m" "$shim/$m"
  done
  export PYTHONPATH=$shim${PYTHONPATH:+:$PYTHONPATH}
fi
"$PYTHON" -c 'import moto, boto3, pytest' || {
  echo "moto-suite: $PYTHON cannot import moto, boto3 and pytest (apt-get install python3-pytest python3-freezegun)" >&2
  exit 1
}
ver=$("$PYTHON" -c 'import moto; print(moto.__version__)')

git_dir=${MOTO_GIT:-}
if [ -z "$git_dir" ]; then
  git_dir=$work/moto.git
  git clone -q --bare --filter=blob:none https://github.com/getmoto/moto "$git_dir"
fi
git --git-dir="$git_dir" rev-parse -q --verify "refs/tags/$ver^{commit}" >/dev/null || {
  echo "moto-suite: $git_dir has no tag $ver (the installed moto's version)" >&2
  exit 1
}
mkdir -p "$work/moto"
git --git-dir="$git_dir" archive "$ver" tests/__init__.py tests/conftest.py tests/markers.py \
  tests/test_ec2 tests/test_route53 tests/test_dynamodb | tar -x -C "$work/moto"

bin=${VPCSIM_BIN:-}
if [ -z "$bin" ]; then
  bin=$work/vpcsim
  (cd "$root" && go build -o "$bin" ./cmd/vpcsim)
fi
"$bin" --listen 127.0.0.1:0 --any-access-key --timing none >"$work/vpcsim.out" 2>"$out/vpcsim.log" &
pid=$!
url=
for _ in $(seq 100); do
  url=$(awk '$1 == "ec2" {print $2; exit}' "$work/vpcsim.out")
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$out/vpcsim.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "moto-suite: vpcsim did not start" >&2; exit 1; }

mapfile -t files < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/files.txt")
cd "$work/moto"
set +e
env -u AWS_PROFILE -u AWS_ENDPOINT_URL -u AWS_DEFAULT_PROFILE \
  TEST_SERVER_MODE=true TEST_SERVER_MODE_ENDPOINT="$url" \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
  AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  timeout 1800 "$PYTHON" -m pytest -q -p no:cacheprovider -o addopts= --tb=line \
  --junitxml="$out/junit.xml" ${MOTO_SUITE_K:+-k "$MOTO_SUITE_K"} "${files[@]}" >"$out/pytest.log" 2>&1
set -e
tail -n 3 "$out/pytest.log"
"$PYTHON" "$here/report.py" "$out/junit.xml" "$here/deliberate.txt"
