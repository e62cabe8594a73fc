#!/usr/bin/python3
"""Goldens for internal/imageio/jpeg: JPEG files of odd sizes, several
qualities and every chroma sampling, each beside Pillow's decoding of it.

Run with Debian's python3-pil (Pillow 9.4 on libjpeg-turbo 2.1.5) and cjpeg
from libjpeg-turbo-progs, from the repository root:

    /usr/bin/python3 scripts/make_jpeg_goldens.py

It writes internal/imageio/jpeg/testdata/golden/NAME.jpg and NAME.png, where
the PNG is Image.open(NAME.jpg).convert("RGB"), exactly what the reference
neural_style.py computes from a JPEG input, and index.txt listing the cases.
Pillow writes the samplings it can (4:4:4, 4:2:2, 4:2:0, grayscale, CMYK);
cjpeg writes the rest (4:4:0, 4:1:1, per-component factors, RGB, restart
intervals, custom progressive scans). A YCCK file is a CMYK one whose Adobe
marker says transform 2, so libjpeg reads its first three components as YCC.
Each YCbCr/gray golden is also checked against djpeg's output, a second
oracle, before it is written.
"""
import io
import os
import subprocess
import sys

import numpy as np
from PIL import Image, features

OUT = "internal/imageio/jpeg/testdata/golden"


def photo(w, h, seed):
    """A busy, photo-like picture: smooth shading, edges, texture and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(xx / (3 + seed % 4)) * np.cos(yy / 5.0)
    g = 128 + 90 * np.cos(xx / 7.0 + yy / 3.0)
    b = (xx + yy) * 255.0 / max(w + h - 2, 1)
    img = np.stack([r, g, b], -1)
    img[(xx > w / 3) & (xx < w / 2)] = [250, 20, 30]  # a saturated bar: clipping in the IDCT and colour
    img[(yy > 2 * h / 3) & (yy < 2 * h / 3 + 3)] = [5, 5, 240]
    img += rng.normal(0, 18, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def cjpeg(ppm_img, args):
    buf = io.BytesIO()
    ppm_img.save(buf, "PPM" if ppm_img.mode == "RGB" else "PPM")
    p = subprocess.run(["cjpeg"] + args, input=buf.getvalue(), capture_output=True, check=True)
    return p.stdout


def djpeg(data):
    p = subprocess.run(["djpeg", "-pnm"], input=data, capture_output=True)
    if p.returncode not in (0, 2):  # 2: decoded, with warnings (data cut short)
        raise RuntimeError("djpeg: " + p.stderr.decode())
    return np.asarray(Image.open(io.BytesIO(p.stdout)).convert("RGB"))


SCANS = """# A progressive script with spectral selection and successive approximation
0,1,2: 0-0, 0, 1 ;
0: 1-5, 0, 2 ;
2: 1-63, 0, 1 ;
1: 1-63, 0, 1 ;
0: 6-63, 0, 2 ;
0: 1-63, 2, 1 ;
0,1,2: 0-0, 1, 0 ;
2: 1-63, 1, 0 ;
1: 1-63, 1, 0 ;
0: 1-63, 1, 0 ;
"""

SEQ_SCANS = """# Sequential, one scan per component (non-interleaved)
0: 0-63, 0, 0 ;
1: 0-63, 0, 0 ;
2: 0-63, 0, 0 ;
"""


def cases():
    sizes = [(17, 13), (31, 23), (45, 29), (67, 45), (8, 8), (1, 1), (2, 3), (5, 2), (16, 15)]
    for i, (w, h) in enumerate(sizes):
        im = Image.fromarray(photo(w, h, i))
        for q in (50, 90):
            for ss, name in ((0, "444"), (1, "422"), (2, "420")):
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=q, subsampling=ss)
                if (name, q, w) == ("420", 90, 67):
                    pil_420_q90_67x45 = buf.getvalue()
                yield f"pil_{name}_q{q}_{w}x{h}", buf.getvalue()
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=75, subsampling=2, progressive=True)
        yield f"pil_420_prog_{w}x{h}", buf.getvalue()
        buf = io.BytesIO()
        im.convert("L").save(buf, "JPEG", quality=80)
        yield f"pil_gray_{w}x{h}", buf.getvalue()
        for samp, name in (("1x2", "440"), ("4x1", "411"), ("2x1", "422"), ("2x2", "420"), ("1x1", "444")):
            yield f"cjpeg_{name}_q85_{w}x{h}", cjpeg(im, ["-quality", "85", "-sample", samp])
        yield f"cjpeg_440_prog_{w}x{h}", cjpeg(im, ["-quality", "70", "-sample", "1x2", "-progressive"])
    # Per-component factors, restart intervals, scripts, other colour spaces.
    im = Image.fromarray(photo(45, 29, 7))
    big = Image.fromarray(photo(257, 193, 11))
    extra = {
        "cjpeg_4x2_45x29": ["-sample", "4x2"],
        "cjpeg_1x4_45x29": ["-sample", "1x4"],
        "cjpeg_2x2_1x2_1x2_45x29": ["-sample", "2x2,1x2,1x2"],
        "cjpeg_2x2_2x1_1x1_45x29": ["-sample", "2x2,2x1,1x1"],
        "cjpeg_1x1_2x2_1x1_45x29": ["-sample", "1x1,2x2,1x1"],
        "cjpeg_restart1_45x29": ["-restart", "1"],
        "cjpeg_restartB3_45x29": ["-restart", "3B", "-sample", "1x2"],
        "cjpeg_restartB5_prog_45x29": ["-restart", "5B", "-progressive"],
        "cjpeg_rgb_45x29": ["-rgb"],
        "cjpeg_rgb_prog_45x29": ["-rgb", "-progressive"],
        "cjpeg_optimize_q30_45x29": ["-optimize", "-quality", "30"],
        "cjpeg_q100_45x29": ["-quality", "100", "-sample", "1x1"],
        "cjpeg_q5_45x29": ["-quality", "5"],
        "cjpeg_gray_prog_45x29": ["-grayscale", "-progressive"],
        "cjpeg_gray_restart2_45x29": ["-grayscale", "-restart", "2B"],
    }
    for name, args in extra.items():
        yield name, cjpeg(im, args)
    restart1 = cjpeg(im, extra["cjpeg_restart1_45x29"])
    with open("/tmp/jpeg_golden_scans.txt", "w") as f:
        f.write(SCANS)
    with open("/tmp/jpeg_golden_seqscans.txt", "w") as f:
        f.write(SEQ_SCANS)
    yield "cjpeg_scans_45x29", cjpeg(im, ["-scans", "/tmp/jpeg_golden_scans.txt"])
    yield "cjpeg_seqscans_45x29", cjpeg(im, ["-scans", "/tmp/jpeg_golden_seqscans.txt"])
    yield "cjpeg_scans_440_67x45", cjpeg(Image.fromarray(photo(67, 45, 3)), ["-sample", "1x2", "-scans", "/tmp/jpeg_golden_scans.txt"])
    for samp, name in (("2x2", "420"), ("1x2", "440"), ("2x1", "422")):
        yield f"cjpeg_{name}_big_257x193", cjpeg(big, ["-quality", "88", "-sample", samp])
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=92, subsampling=2, progressive=True)
    yield "pil_420_prog_big_257x193", buf.getvalue()
    # libjpeg's colour-space guesses without markers: component ids 'R' 'G'
    # 'B' (cjpeg -rgb writes them) mean RGB, other ids YCbCr.
    rgb = cjpeg(im, ["-rgb"])
    i = rgb.find(b"Adobe") - 4
    assert rgb[i:i + 2] == b"\xff\xee"
    yield "rgb_ids_no_adobe_45x29", rgb[:i] + rgb[i + 2 + (rgb[i + 2] << 8 | rgb[i + 3]):]
    ycc = cjpeg(im, [])
    i = ycc.find(b"JFIF") - 4
    assert ycc[i:i + 2] == b"\xff\xe0"
    ycc = ycc[:i] + ycc[i + 2 + (ycc[i + 2] << 8 | ycc[i + 3]):]
    sof = ycc.find(b"\xff\xc0")
    ycc = bytearray(ycc)
    for k in range(3):
        ycc[sof + 10 + 3 * k] = 7 + k  # ids 7 8 9 (and the SOS selectors to match)
    sos = ycc.find(b"\xff\xda")
    for k in range(3):
        ycc[sos + 5 + 2 * k] = 7 + k
    yield "ycc_ids789_no_jfif_45x29", bytes(ycc)
    # Data cut short by an EOI marker: libjpeg decodes what there is, the
    # rest of the restart interval mid-grey, and Pillow returns the image.
    for name, data in (("pil_420_q90_67x45", pil_420_q90_67x45), ("cjpeg_restart1_45x29", restart1)):
        for frac in (0.6, 0.85):
            cut = data[:int(len(data) * frac)] + b"\xff\xd9"
            try:
                Image.open(io.BytesIO(cut)).load()
            except OSError:
                continue
            yield f"early_eoi_{int(frac * 100)}_{name}", cut
    # CMYK (Pillow writes Adobe transform 0) and YCCK (the same, marked transform 2).
    for w, h, q in ((16, 16, 100), (45, 29, 90), (17, 13, 60)):
        px = photo(w, h, w).astype(np.int32)
        k = np.clip(255 - px.max(-1), 0, 255)
        cmyk = np.dstack([255 - px[..., 0] - k // 2, 255 - px[..., 1] - k // 3, 255 - px[..., 2], k])
        c = Image.fromarray(np.clip(cmyk, 0, 255).astype(np.uint8), "CMYK")
        buf = io.BytesIO()
        c.save(buf, "JPEG", quality=q)
        data = buf.getvalue()
        yield f"pil_cmyk_q{q}_{w}x{h}", data
        i = data.find(b"Adobe") + 11  # APP14: "Adobe", version, flags0, flags1, transform
        assert data[i - 15:i - 13] == b"\xff\xee" and data[i] == 0, "Pillow's CMYK JPEG has an Adobe marker with transform 0"
        yield f"ycck_q{q}_{w}x{h}", data[:i] + b"\x02" + data[i + 1:]


def main():
    print("Pillow", Image.__version__, "libjpeg-turbo", features.version("libjpeg_turbo"), file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    names = []
    for name, data in cases():
        im = Image.open(io.BytesIO(data))
        mode = im.mode
        rgb = np.asarray(im.convert("RGB"))
        if mode in ("RGB", "L"):
            alt = djpeg(data)
            if not np.array_equal(alt, rgb):
                sys.exit(f"{name}: djpeg and Pillow disagree")
        with open(os.path.join(OUT, name + ".jpg"), "wb") as f:
            f.write(data)
        Image.fromarray(rgb).save(os.path.join(OUT, name + ".png"), optimize=True)
        names.append(name)
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    print(len(names), "goldens", file=sys.stderr)
    # Files the decoder refuses (Pillow's libjpeg-turbo reads arithmetic
    # coding; the issue allows refusing it with a clear message).
    im = Image.fromarray(photo(17, 13, 1))
    with open(os.path.join(OUT, "..", "arithmetic.jpg"), "wb") as f:
        f.write(cjpeg(im, ["-arithmetic"]))
    with open(os.path.join(OUT, "..", "arithmetic_prog.jpg"), "wb") as f:
        f.write(cjpeg(im, ["-arithmetic", "-progressive"]))


if __name__ == "__main__":
    main()
