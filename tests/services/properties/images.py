"""Images generated for the photo tests (Pillow; no files in the repository)."""
from __future__ import annotations

import functools
import io
import random
import struct
import zlib

import pillow_heif
from PIL import Image, ImageDraw, ImageFilter, ImageFont

pillow_heif.register_heif_opener()

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@functools.cache
def _picture(width: int, height: int, seed: int) -> Image.Image:
    rnd = random.Random(seed)
    small = Image.new("RGB", (32, 24))
    small.putdata([(rnd.randrange(60, 255), rnd.randrange(60, 255), rnd.randrange(60, 255)) for _ in range(32 * 24)])
    blocks = small.resize((width, height), Image.Resampling.NEAREST)
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    return Image.blend(blocks, noise, 0.2)


def picture(width: int = 2048, height: int = 1536, seed: int = 1) -> Image.Image:
    """A busy picture (blocks of colour and noise): bright enough, sharp, unlike another seed's."""
    return _picture(width, height, seed).copy()


def exif(gps: bool = True, orientation: int | None = None) -> Image.Exif:
    e = Image.Exif()
    e[0x010F] = "PhoneMaker"  # Make
    e[0x0110] = "Phone 15"  # Model
    e[0x0132] = "2026:07:14 10:31:00"  # DateTime
    if orientation:
        e[ORIENTATION] = orientation
    if gps:
        e.get_ifd(GPS_IFD).update({1: "N", 2: (47.0, 25.0, 12.0), 3: "E", 4: (10.0, 59.0, 5.0)})
    return e


def encode(img: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    if fmt == "HEIF":  # x265's default preset takes ~10 s for 3 megapixels
        options = {"quality": 80, "enc_params": {"preset": "ultrafast"}, **options}
        if isinstance(options.get("exif"), Image.Exif):
            options["exif"] = options["exif"].tobytes()
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def jpeg(width: int = 2048, height: int = 1536, seed: int = 1, **options) -> bytes:
    return encode(picture(width, height, seed), "JPEG", **{"quality": 85, **options})


def dark(width: int = 2048, height: int = 1536) -> bytes:
    return encode(picture(width, height).point(lambda v: v // 8), "JPEG", quality=85)


def blurred(width: int = 2048, height: int = 1536) -> bytes:
    return encode(picture(width, height).filter(ImageFilter.GaussianBlur(10)), "JPEG", quality=85)


def with_text(width: int = 2048, height: int = 1536) -> bytes:
    """Big black words on white, as a caption or a sign with a phone number would be."""
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=130)
    draw.text((120, 400), "Haus Alpenblick", fill="black", font=font)
    draw.text((120, 800), "Telefon 0831 123456", fill="black", font=font)
    return encode(img, "JPEG", quality=90)


def animated(fmt: str, width: int = 64, height: int = 48) -> bytes:
    frames = [picture(width, height, seed) for seed in (1, 2, 3)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=200, loop=0)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def metadata_of(data: bytes) -> dict:
    """What a stored file carries besides its pixels, as Pillow reads it."""
    img = opened(data)
    exif_ = img.getexif()
    return {"exif": dict(exif_), "gps": dict(exif_.get_ifd(GPS_IFD)),
            "info": sorted(k for k in img.info if k in ("exif", "xmp", "icc_profile", "comment", "photoshop",
                                                         "XML:com.adobe.xmp"))}
