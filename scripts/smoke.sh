#!/usr/bin/env bash
# Smoke test of the built binary: 3 iterations on the tiny fixture, then
# check the exit status, that the output decodes (by feeding it back as the
# next run's content image) and that a usage error exits with status 2.
set -euo pipefail
bin=${1:-bin/neuralstyle}
td=testdata/vgg19-tiny
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" --network "$td/vgg19-tiny-new.mat" --content "$td/content.png" \
  --styles "$td/style1.png" --output "$out/out.png" --iterations 3 --seed 1 --print-iterations 1 >"$out/log"
grep -q "Iteration    3/   3" "$out/log"
"$bin" --network "$td/vgg19-tiny-new.mat" --content "$out/out.png" \
  --styles "$td/style2.png" --output "$out/again.jpg" --iterations 1 --quiet
test -s "$out/again.jpg"
set +e
"$bin" --content x.png --output y.png >/dev/null 2>"$out/err"
status=$?
set -e
if [ "$status" -ne 2 ]; then
  echo "smoke: usage error exited $status, want 2" >&2
  exit 1
fi
echo "smoke: ok"
