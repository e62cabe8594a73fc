"""Fixtures Go's standard encoders cannot make, written once with Pillow 9.4
(Debian bookworm python3-pil): run from this folder with /usr/bin/python3.

pattern.webp   lossless RGBA WebP, 6 x 4, the pattern below (alpha 0 where x == 5, colour kept)
lossy.webp     lossy WebP, 16 x 16, flat mid-gray
cmyk.jpg       Adobe CMYK JPEG, 16 x 16, four flat 8 x 8 blocks of the CMYK values below, quality 100
rotated.webp   lossless RGB WebP, 3 x 2 stored pixels rgb(x, y) below, EXIF orientation 6 (turn clockwise)
rotated.tif    uncompressed RGB TIFF, the same pixels, Orientation tag 8 (turn anticlockwise)
"""
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


if __name__ == "__main__":
    main()
