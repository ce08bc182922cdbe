"""Checking and deriving one uploaded photo (issue 13): services.properties.imaging.inspect +
derive of a 4000 x 3000 JPEG (about 2 MB, EXIF with GPS and orientation 6, as a phone writes it).

    .venv/bin/python bench/photos_bench.py [--runs 20] [--warmup 2]

Target: under 600 ms median for checking + deriving (the whole of it: decoding, orientation,
the metadata-free original, web size, thumbnail, warnings including Tesseract's text check
where it is installed). Also prints the parts. No database, no app. Prints a Markdown table
and writes it to bench/results/photos-latest.md (gitignored).
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from services.properties import imaging  # noqa: E402

TARGET_MS = 600


def photo_jpeg(width: int = 4000, height: int = 3000, seed: int = 13) -> bytes:
    """A photo-like JPEG: gradients, shapes, fine texture and sensor noise; EXIF with the camera,
    a date, orientation 6 (shot upright) and GPS coordinates."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    sky = np.stack([90 + 80 * y / height, 140 + 60 * y / height, 220 - 40 * y / height], -1)
    texture = 25 * np.sin(x / 7.0)[..., None] * np.cos(y / 11.0)[..., None]
    arr = sky + texture + rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(60):
        x0, y0 = int(rng.integers(0, width - 200)), int(rng.integers(0, height - 200))
        x1, y1 = x0 + int(rng.integers(50, 900)), y0 + int(rng.integers(50, 700))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)((x0, y0, x1, y1), fill=colour, outline=(20, 20, 20))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Phone 15"
    exif[0x0112] = 6
    exif[0x0132] = "2026:07:14 10:31:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (47.0, 30.0, 12.5), 3: "E", 4: (10.0, 17.0, 3.2)})
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p90 * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()

    data = photo_jpeg()
    tesseract = imaging.tesseract_available()
    totals, inspects, derives, derives_no_text, texts = [], [], [], [], []
    last = None
    for i in range(args.warmup + args.runs):
        t0 = time.perf_counter()
        checked = imaging.inspect(data)
        t1 = time.perf_counter()
        derived = imaging.derive(checked)
        t2 = time.perf_counter()
        assert checked.ok and (derived.width, derived.height) == (3000, 4000), (checked, derived)
        checked = imaging.inspect(data)
        t3 = time.perf_counter()
        imaging.derive(checked, text=False)
        t4 = time.perf_counter()
        grey = imaging._grey(imaging._scaled(checked.image, imaging._fit(checked.image.size, imaging.WEB_SIDE)),
                             imaging.GREY_SIDE)
        t5 = time.perf_counter()
        imaging.text_check(grey)
        t6 = time.perf_counter()
        if i >= args.warmup:
            totals.append(t2 - t0)
            inspects.append(t1 - t0)
            derives.append(t2 - t1)
            derives_no_text.append(t4 - t3)
            texts.append(t6 - t5)
        last = derived

    rows = [
        ("check + derive, 4000 x 3000 JPEG (inspect + derive)", totals, f"< {TARGET_MS} ms median"),
        ("of which inspect (open, checks, full decode, orientation)", inspects, ""),
        ("of which derive (original, web, thumbnail, warnings, text in a thread)", derives, ""),
        ("derive without the text check", derives_no_text, ""),
        ("text check alone (Tesseract, %d px grey)" % imaging.GREY_SIDE + ("" if tesseract else ": not installed, skipped"),
         texts, ""),
    ]
    median_total, _ = _stats(totals)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [
        "## Photo checks (bench/photos_bench.py)",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: nproc {os.cpu_count()}, {platform.platform()}, load average {load}",
        f"- python: {platform.python_implementation()} {platform.python_version()}, Pillow {Image.__version__}",
        f"- input: 4000 x 3000 JPEG, {len(data) / 1e6:.1f} MB, EXIF orientation 6 and GPS; "
        f"Tesseract {'installed' if tesseract else 'missing'}",
        f"- output: original {len(last.original) / 1e6:.1f} MB ({last.original_ext}, {last.width} x {last.height}), "
        f"web {len(last.web) / 1e3:.0f} kB ({last.web_size[0]} x {last.web_size[1]}), "
        f"thumbnail {len(last.thumb) / 1e3:.0f} kB ({last.thumb_size[0]} x {last.thumb_size[1]}); "
        f"findings: {', '.join(f.code for f in last.findings) or 'none'}",
        f"- {args.runs} timed runs after {args.warmup} warm-up runs",
        "",
        "| metric | median ms | p90 ms | target | result |",
        "|---|---:|---:|---|---|",
    ]
    for label, samples, target in rows:
        median, p90 = _stats(samples)
        result = ("pass" if median < TARGET_MS else "FAIL") if target else "—"
        lines.append(f"| {label} | {median:.0f} | {p90:.0f} | {target or '—'} | {result} |")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "photos-latest.md"), "w") as f:
        f.write(text)
    return 0 if median_total < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
