"""OpenCV parity fixtures for package augment.

Writes augment/testdata/cv2/: a 40x30 RGB pattern (input.png), one PNG per
case with cv2's output, and manifest.json listing the cases and their
parameters. The Go test (augment/parity_test.go) runs the same operation and
compares pixel by pixel.

The operations are the ones albumentations calls for uint8 images:
cv2.resize, cv2.warpAffine with albumentations' ShiftScaleRotate matrix
(cv2.getRotationMatrix2D about (w/2 - 0.5, h/2 - 0.5) plus the shift),
flips, the brightness/contrast lookup table, cv2.blur, cv2.GaussianBlur,
cv2.copyMakeBorder and the HSV shift.

Run with Debian's interpreter (python3-opencv):
    /usr/bin/python3 tools/fixtures_augment.py
"""
import json
import os

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "augment", "testdata", "cv2")

H, W = 30, 40


def pattern():
    """Smooth gradients, hard edges, a diagonal line and mild noise."""
    rng = np.random.default_rng(20240501)
    y, x = np.mgrid[0:H, 0:W]
    img = np.zeros((H, W, 3), np.float64)
    img[..., 0] = 255 * x / (W - 1)
    img[..., 1] = 255 * y / (H - 1)
    img[..., 2] = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    img[8:20, 10:22] = (250, 30, 40)  # a red box with hard edges
    img[(x - y) == 5] = (255, 255, 255)
    img[((x // 4) + (y // 4)) % 2 == 0, 2] *= 0.5  # checker in blue
    img += rng.normal(0, 6, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def write_png(name, rgb):
    path = os.path.join(OUT, name)
    if rgb.ndim == 2:
        rgb = np.stack([rgb] * 3, -1)
    ok = cv2.imwrite(path, cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert ok, path


def ssr_matrix(angle, scale, dx, dy):
    m = cv2.getRotationMatrix2D((W / 2 - 0.5, H / 2 - 0.5), angle, scale)
    m[0, 2] += dx * W
    m[1, 2] += dy * H
    return m


def main():
    os.makedirs(OUT, exist_ok=True)
    img = pattern()
    write_png("input.png", img)
    cases = []

    def add(op, out, **params):
        name = "%02d_%s.png" % (len(cases), op)
        write_png(name, out)
        cases.append({"op": op, "file": name, "params": params})

    interps = {"Bilinear": cv2.INTER_LINEAR, "Area": cv2.INTER_AREA, "Bicubic": cv2.INTER_CUBIC, "Nearest": cv2.INTER_NEAREST}
    sizes = [(43, 57), (60, 80), (19, 25), (15, 20), (10, 10)]  # up, 2x up, down, 2x down, integer area
    for name, flag in interps.items():
        for (h, w) in sizes:
            if name == "Nearest" and (h, w) not in [(43, 57), (19, 25)]:
                continue
            add("resize", cv2.resize(img, (w, h), interpolation=flag), height=h, width=w, interpolation=name)

    borders = {"Reflect101": cv2.BORDER_REFLECT_101, "Constant": cv2.BORDER_CONSTANT, "Replicate": cv2.BORDER_REPLICATE}
    ssr = [(37.3, 1.08, 0.05, -0.04), (-44.1, 0.91, -0.0625, 0.0625), (12.0, 1.0, 0.0, 0.0)]
    for (angle, scale, dx, dy) in ssr:
        for bname, bflag in borders.items():
            m = ssr_matrix(angle, scale, dx, dy)
            out = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=bflag, borderValue=(20, 140, 220))
            add("ssr", out, angle=angle, scale=scale, dx=dx, dy=dy, border=bname, interpolation="Bilinear", value=[20, 140, 220])
    for iname in ["Nearest", "Bicubic"]:
        angle, scale, dx, dy = ssr[0]
        m = ssr_matrix(angle, scale, dx, dy)
        out = cv2.warpAffine(img, m, (W, H), flags=interps[iname], borderMode=cv2.BORDER_REFLECT_101)
        add("ssr", out, angle=angle, scale=scale, dx=dx, dy=dy, border="Reflect101", interpolation=iname, value=[0])

    add("hflip", cv2.flip(img, 1))
    add("vflip", cv2.flip(img, 0))

    # albumentations' _brightness_contrast_adjust_uint.
    for alpha, beta, by_max in [(1.17, 0.13, True), (0.83, -0.19, True), (1.0, 0.2, True), (1.12, -0.08, False)]:
        lut = np.arange(0, 256).astype("float32")
        if alpha != 1:
            lut *= alpha
        if beta != 0:
            if by_max:
                lut += beta * 255
            else:
                lut += (alpha * beta) * np.mean(img)
        lut = np.clip(lut, 0, 255).astype(np.uint8)
        add("brightness_contrast", cv2.LUT(img, lut), alpha=alpha, beta=beta, by_max=by_max)

    for k in [3, 5, 7]:
        add("blur", cv2.blur(img, (k, k)), ksize=k)
    for k, sigma in [(3, 0), (5, 0), (7, 0), (5, 1.3), (0, 2.0)]:
        add("gaussian_blur", cv2.GaussianBlur(img, (k, k), sigmaX=sigma), ksize=k, sigma=sigma)

    for top, bottom, left, right, bname in [(3, 4, 5, 2, "Reflect101"), (6, 0, 0, 9, "Constant"), (2, 2, 2, 2, "Replicate")]:
        out = cv2.copyMakeBorder(img, top, bottom, left, right, borders[bname], value=(9, 99, 199))
        add("pad", out, top=top, bottom=bottom, left=left, right=right, border=bname, value=[9, 99, 199])

    # albumentations' _shift_hsv_uint8.
    for hue, sat, val in [(12.7, 0, 0), (-17.3, 25.2, -13.9)]:
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        h, s, v = cv2.split(hsv)
        if hue != 0:
            h = cv2.LUT(h, np.mod(np.arange(0, 256, dtype=np.int16) + hue, 180).astype(np.uint8))
        if sat != 0:
            s = cv2.LUT(s, np.clip(np.arange(0, 256, dtype=np.int16) + sat, 0, 255).astype(np.uint8))
        if val != 0:
            v = cv2.LUT(v, np.clip(np.arange(0, 256, dtype=np.int16) + val, 0, 255).astype(np.uint8))
        out = cv2.cvtColor(cv2.merge((h, s, v)).astype(np.uint8), cv2.COLOR_HSV2RGB)
        add("hsv", out, hue=hue, sat=sat, val=val)

    write_exif_fixtures()
    write_format_fixtures(img)

    meta = {"opencv": cv2.__version__, "numpy": np.__version__, "height": H, "width": W, "cases": cases}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print("wrote %d cases to %s (%d bytes)" % (len(cases), os.path.relpath(OUT, ROOT), total))


def write_exif_fixtures():
    """testdata/exif: a 24x16 JPEG of flat 8x8 blocks (quality 100, 4:4:4, so
    any decoder reproduces it within a few levels) saved with each EXIF
    orientation 1..8, and PIL's ImageOps.exif_transpose of it as PNG."""
    from PIL import Image, ImageOps

    out = os.path.join(ROOT, "augment", "testdata", "exif")
    os.makedirs(out, exist_ok=True)
    blocks = np.zeros((16, 24, 3), np.uint8)
    cols = [(250, 20, 20), (20, 250, 20), (20, 20, 250), (250, 250, 20), (20, 250, 250), (250, 20, 250)]
    for by in range(2):
        for bx in range(3):
            blocks[by * 8:(by + 1) * 8, bx * 8:(bx + 1) * 8] = cols[by * 3 + bx]
    for o in range(1, 9):
        im = Image.fromarray(blocks)
        exif = Image.Exif()
        exif[0x0112] = o
        path = os.path.join(out, "orient_%d.jpg" % o)
        im.save(path, quality=100, subsampling=0, exif=exif.tobytes())
        ImageOps.exif_transpose(Image.open(path)).convert("RGB").save(os.path.join(out, "orient_%d.png" % o))


def write_format_fixtures(img):
    """testdata/formats: the pattern as lossless WebP (cv2), the one format
    the Go tests cannot encode themselves."""
    out = os.path.join(ROOT, "augment", "testdata", "formats")
    os.makedirs(out, exist_ok=True)
    ok = cv2.imwrite(os.path.join(out, "pattern.webp"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert ok


if __name__ == "__main__":
    main()
