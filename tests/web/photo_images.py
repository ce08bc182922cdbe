"""Generated images for the web tests of photos (Pillow, no files in the repository)."""
from __future__ import annotations

import functools
import io
import random

from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

GPS_IFD = 0x8825


def picture(width: int, height: int, seed: int = 1, noise: bool = True) -> Image.Image:
    """A busy picture (blocks of colour and noise): not dark, not blurred, unlike any other seed.
    Without noise it compresses to a small file."""
    rnd = random.Random(seed)
    small = Image.new("RGB", (32, 24))
    small.putdata([(rnd.randrange(40, 255), rnd.randrange(40, 255), rnd.randrange(40, 255)) for _ in range(32 * 24)])
    img = small.resize((width, height), Image.Resampling.NEAREST)
    if not noise:
        return img
    return Image.blend(img, Image.effect_noise((width, height), 40).convert("RGB"), 0.25)


def with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[GPS_IFD] = {1: "N", 2: (47.0, 25.0, 12.0), 3: "E", 4: (10.0, 59.0, 5.0)}
    return exif


@functools.cache
def jpeg(width: int = 2048, height: int = 1536, seed: int = 1, gps: bool = False, quality: int = 85) -> bytes:
    out = io.BytesIO()
    kwargs = {"exif": with_gps()} if gps else {}
    picture(width, height, seed).save(out, "JPEG", quality=quality, **kwargs)
    return out.getvalue()


@functools.cache
def small_jpeg(width: int = 2048, height: int = 1536, seed: int = 1) -> bytes:
    """A valid photo of a few hundred KB at most: what the test client keeps in memory."""
    out = io.BytesIO()
    picture(width, height, seed, noise=False).save(out, "JPEG", quality=70)
    return out.getvalue()


def multipart(files, **fields) -> tuple[bytes, str]:
    """The body and content type of a form with the files in `photos`, built in memory (the test
    client spools a large one to a temporary file it never closes: a ResourceWarning)."""
    data = MultiDict([("photos", FileStorage(io.BytesIO(content), name)) for name, content in files])
    for key, value in fields.items():
        data.add(key, value)
    boundary, body = encode_multipart(data)
    return body, f"multipart/form-data; boundary={boundary}"


@functools.cache
def png(width: int = 2048, height: int = 1536, seed: int = 1) -> bytes:
    out = io.BytesIO()
    picture(width, height, seed).save(out, "PNG", compress_level=1)
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    """Whether an image file carries a GPS block (or any EXIF with one) in any form Pillow reads."""
    img = Image.open(io.BytesIO(data))
    exif = img.getexif()
    if exif.get(GPS_IFD) or exif.get_ifd(GPS_IFD):
        return True
    raw = img.info.get("exif") or b""
    return b"GPS" in raw or (b"PhoneMaker" in data)


def size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size
