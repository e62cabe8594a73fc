#!/usr/bin/env bash
# Issue 16 check: is neuralstyle's end-to-end output as close to the reference
# program's (anishathalye/neural-style, TensorFlow) for JPEG inputs as for PNG
# inputs? Runs both on the tiny VGG-19 fixture, 64x48 pictures, no noise
# (--initial CONTENT --initial-noiseblend 0), and prints per-pixel figures.
#
# Usage: refcheck.sh WORK REFDIR PYTHON NETWORK BIN...
#   WORK    scratch folder (images and outputs go there)
#   REFDIR  an unpacked copy of anishathalye/neural-style (not in this repo: GPL)
#   PYTHON  a python with tensorflow, numpy, scipy and Pillow
#   NETWORK testdata/vgg19-tiny/vgg19-tiny-new.mat
#   BIN...  neuralstyle binaries to compare (name=path, e.g. new=bin/neuralstyle)
# Needs cjpeg (libjpeg-turbo-progs) for the 4:4:0 JPEG.
set -euo pipefail
work=$1 ref=$2 py=$3 net=$4; shift 4
td=$(cd "$(dirname "$net")" && pwd)
mkdir -p "$work/img" "$work/out"
export TF_CPP_MIN_LOG_LEVEL=3 OMP_NUM_THREADS=2 TF_NUM_INTRAOP_THREADS=2 TF_NUM_INTEROP_THREADS=1

# Pictures: the fixture's content and style scaled to 64x48 with a little
# noise (a), a smooth gradient with noise (b); JPEGs from Pillow (quality 90,
# 4:2:0) and cjpeg (quality 90, -sample 1x2: 4:4:0); each JPEG decoded by
# Pillow and saved as PNG.
"$py" - "$td" "$work/img" <<'PY'
import sys, subprocess, numpy as np
from PIL import Image
td, d = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(16)
def noisy(a, s):
    return Image.fromarray(np.clip(a + rng.normal(0, s, a.shape), 0, 255).astype(np.uint8))
a = np.asarray(Image.open(td + "/content.png").convert("RGB").resize((64, 48), Image.BICUBIC), np.float64)
st = np.asarray(Image.open(td + "/style1.png").convert("RGB").resize((64, 48), Image.BICUBIC), np.float64)
y, x = np.mgrid[0:48, 0:64]
b = np.stack([40 + 3 * x, 200 - 3 * y, 90 + 1.5 * (x + y)], -1).astype(np.float64)
pics = {"a": noisy(a, 6), "b": noisy(b, 10), "s": noisy(st, 6)}
for k, im in pics.items():
    im.save(f"{d}/{k}-src.png")
    im.save(f"{d}/{k}420.jpg", quality=90, subsampling=2)
    im.save(f"{d}/{k}-src.ppm")
    subprocess.run(["cjpeg", "-quality", "90", "-sample", "1x2", "-outfile", f"{d}/{k}440.jpg", f"{d}/{k}-src.ppm"], check=True)
import glob, os
for j in sorted(glob.glob(d + "/*.jpg")):
    im = Image.open(j)
    print(os.path.basename(j), im.size, im.mode, getattr(im, "layer", None))
    im.convert("RGB").save(j[:-4] + "_jpg.png")
PY

run_ref() { # content style iters out
  (cd "$ref" && "$py" neural_style.py --network "$net" --content "$1" --styles "$2" \
     --initial "$1" --initial-noiseblend 0 --iterations "$3" --output "$4" --overwrite >/dev/null 2>&1)
}
run_go() { # bin content style iters out
  "$1" --network "$net" --content "$2" --styles "$3" --initial "$2" --initial-noiseblend 0 \
     --seed 1 --iterations "$4" --output "$5" --overwrite --quiet
}
cases="a420 a440 b420"
for it in 3 10; do
  for c in $cases; do
    for f in jpg png; do
      if [ $f = jpg ]; then cin=$work/img/$c.jpg sin=$work/img/s420.jpg
      else cin=$work/img/${c}_jpg.png sin=$work/img/s420_jpg.png; fi
      run_ref "$cin" "$sin" $it "$work/out/ref-$c-$f-$it.png"
      for nb in "$@"; do
        run_go "${nb#*=}" "$cin" "$sin" $it "$work/out/${nb%%=*}-$c-$f-$it.png"
      done
    done
  done
done

names=""; for nb in "$@"; do names="$names ${nb%%=*}"; done
"$py" - "$work/out" "$cases" $names <<'PY'
import sys, numpy as np
from PIL import Image
d, cases, names = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
ld = lambda p: np.asarray(Image.open(p).convert("RGB"), np.int32)
print("| binary | iters | picture | inputs | mean abs diff | max abs diff | share > 1 level |")
print("|---|---|---|---|---|---|---|")
for n in names:
    for it in (3, 10):
        for c in cases:
            for f in ("jpg", "png"):
                r, g = ld(f"{d}/ref-{c}-{f}-{it}.png"), ld(f"{d}/{n}-{c}-{f}-{it}.png")
                e = np.abs(r - g)
                print(f"| {n} | {it} | {c} | {f} | {e.mean():.4f} | {e.max()} | {(e > 1).mean():.4%} |")
PY
