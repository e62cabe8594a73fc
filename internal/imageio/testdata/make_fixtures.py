"""Fixtures Go's standard encoders cannot make, written once with Pillow 9.4
(Debian bookworm python3-pil): run from this folder with /usr/bin/python3.

pattern.webp   lossless RGBA WebP, 6 x 4, the pattern below (alpha 0 where x == 5, colour kept)
lossy.webp     lossy WebP, 16 x 16, flat mid-gray
cmyk.jpg       Adobe CMYK JPEG, 16 x 16, four flat 8 x 8 blocks of the CMYK values below, quality 100
rotated.webp   lossless RGB WebP, 3 x 2 stored pixels rgb(x, y) below, EXIF orientation 6 (turn clockwise)
rotated.tif    uncompressed RGB TIFF, the same pixels, Orientation tag 8 (turn anticlockwise)
photo420.jpg   45 x 29 JPEG, 4:2:0 chroma, quality 85, of the busy image below
photo422.jpg   the same at 4:2:2, progressive
photo420.png, photo422.png   Pillow's decoding of them (libjpeg-turbo 2.1.5), as RGB
"""
import numpy as np
from PIL import Image


def pattern(x, y):
    return (40 * x + 5, 60 * y + 10, 255 - 30 * x - 20 * y, 0 if x == 5 else 255)


def rgb(x, y):
    return (100 * x + 7, 200 * y + 3, 50 + 10 * x + 100 * y)


def main():
    im = Image.new("RGBA", (6, 4))
    for y in range(4):
        for x in range(6):
            im.putpixel((x, y), pattern(x, y))
    im.save("pattern.webp", lossless=True, exact=True)
    Image.new("RGB", (16, 16), (128, 128, 128)).save("lossy.webp", quality=90)
    cmyk = Image.new("CMYK", (16, 16))
    blocks = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 128, 255, 0), (0, 0, 0, 200)]
    for i, c in enumerate(blocks):
        cmyk.paste(c, (8 * (i % 2), 8 * (i // 2), 8 * (i % 2) + 8, 8 * (i // 2) + 8))
    cmyk.save("cmyk.jpg", quality=100)
    small = Image.new("RGB", (3, 2))
    for y in range(2):
        for x in range(3):
            small.putpixel((x, y), rgb(x, y))
    exif = Image.Exif()
    exif[0x0112] = 6
    small.save("rotated.webp", lossless=True, exact=True, exif=exif.tobytes())
    small.save("rotated.tif", tiffinfo={0x0112: 8})
    yy, xx = np.mgrid[0:29, 0:45]
    busy = np.stack([128 + 100 * np.sin(xx / 5.0) * np.cos(yy / 3.0),
                     128 + 90 * np.cos(xx / 3.0 + yy / 7.0),
                     xx * 255 // 45 + 0 * yy], -1)
    busy = np.clip(busy + np.random.default_rng(3).normal(0, 20, busy.shape), 0, 255).astype(np.uint8)
    Image.fromarray(busy).save("photo420.jpg", quality=85, subsampling=2)
    Image.fromarray(busy).save("photo422.jpg", quality=85, subsampling=1, progressive=True)
    for name in ("photo420", "photo422"):
        Image.open(name + ".jpg").convert("RGB").save(name + ".png")


if __name__ == "__main__":
    main()
