package imageio

import (
	"errors"
	"image/png"
	"os"
	"strings"
	"testing"
)

// The Pillow goldens of package jpeg, read here through Read: the samplings
// image/jpeg got most wrong (4:4:0, where it was up to 46 levels off, and
// 4:1:1), progressive, CMYK and YCCK must come out equal to Pillow's.
const jpegGoldens = "jpeg/testdata/golden/"

func TestReadJPEGExact(t *testing.T) {
	for _, name := range []string{"cjpeg_440_q85_67x45", "cjpeg_440_big_257x193", "cjpeg_411_q85_45x29",
		"pil_420_prog_big_257x193", "pil_cmyk_q90_45x29", "ycck_q90_45x29", "pil_gray_31x23", "cjpeg_2x2_1x2_1x2_45x29"} {
		t.Run(name, func(t *testing.T) {
			got := mustRead(t, jpegGoldens+name+".jpg")
			f, err := os.Open(jpegGoldens + name + ".png")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if b := want.Bounds(); got.W != b.Dx() || got.H != b.Dy() {
				t.Fatalf("size %d x %d, want %v", got.W, got.H, b.Size())
			}
			for y := 0; y < got.H; y++ {
				for x := 0; x < got.W; x++ {
					r, g, b, _ := want.At(x, y).RGBA()
					wantPixel(t, got, x, y, [3]float32{float32(r >> 8), float32(g >> 8), float32(b >> 8)}, 0)
				}
			}
		})
	}
}

func TestReadJPEGRefusals(t *testing.T) {
	_, err := Read("jpeg/testdata/arithmetic.jpg", ReadOptions{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "JPEG with arithmetic coding (SOF9) is not supported") {
		t.Errorf("arithmetic JPEG: %v, want ErrUnsupported naming arithmetic coding", err)
	}
	_, err = Read(jpegGoldens+"cjpeg_440_big_257x193.jpg", ReadOptions{MaxPixels: 257*193 - 1})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the pixel limit: %v, want ErrTooLarge", err)
	}
	data, err := os.ReadFile(jpegGoldens + "pil_420_q90_67x45.jpg")
	if err != nil {
		t.Fatal(err)
	}
	// Without its EOI marker the file is truncated, as Pillow says too.
	_, err = Read(writeTemp(t, "cut.jpg", data[:len(data)-2]), ReadOptions{})
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("JPEG without EOI: %v, want ErrTruncated", err)
	}
}
