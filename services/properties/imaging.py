"""Checking an uploaded photo and deriving what is kept of it (R70, R72): Pillow only, no Flask,
no database. services/properties/photo_intake.py stores the result.

`inspect(data)` decides by content, never by a file's name, and returns `Checked` (the decoded
image, orientation applied) or `Rejected` (a code and a message with the file's actual size or
type). `derive(checked)` makes the three files kept of an accepted photo and what a photo editor
would point out (`Finding`s: warnings, never a refusal, and notes).

Decisions:
- Accepted: JPEG (an MPO, a JPEG carrying a second picture as iPhones' HDR gain map or 3D
  cameras write it, counts as a JPEG of its first picture), PNG, WebP, and HEIC/HEIF as iPhones
  shoot them (pillow-heif; its primary picture). Only these formats' parsers ever see the bytes;
  anything else is named by its signature (GIF, TIFF, PDF, ...) in the refusal.
- R70 dimensions, after the EXIF orientation is applied: a landscape photo (width >= height)
  needs at least 2048 x 1536 px; a portrait photo the same turned by 90 degrees, at least
  1536 x 2048 px (the long side >= 2048, the short side >= 1536). A square photo is landscape.
- Refused besides: more than MAX_BYTES (25 MB); more pixels than Pillow's MAX_IMAGE_PIXELS
  (decompression bombs: Pillow's warning is an error here, as its error is); truncated or
  damaged files (decoded in full; PIL.ImageFile.LOAD_TRUNCATED_IMAGES, Pillow's default False,
  is never set); animated images (WebP, APNG; GIF is not accepted at all).
- Kept, every one without EXIF (GPS, camera, dates), XMP, IPTC, comments and ICC profile (a
  photo with a profile is converted to sRGB first, so its colours stay right):
  the original at full size for private keeping, re-encoded (JPEG quality 92 for JPEG and HEIF
  sources, PNG stays PNG, WebP stays WebP), 72 dpi where the format has a density (JPEG, PNG;
  WebP has none); a web size (WebP, 1600 px on the long side: 1600 px wide for a landscape
  photo) and a thumbnail (WebP, 400 px on the long side). Neither is ever enlarged.
- Speed: the whole picture is decoded once. Image.draft() (JPEG's decoding at 1/2, 1/4, 1/8)
  is not used: the original is kept at full size, so it is decoded in full anyway, and that
  full decoding is what finds a truncated file; a picture too small is refused from its header,
  before any decoding. The web size starts from Image.reduce() (a fast box average by a whole
  factor) and is finished with Lanczos; the thumbnail and the grey image come from the web
  size. Text recognition (Tesseract, a separate process) runs in a thread while the files are
  encoded. bench/photos_bench.py measures a 4000 x 3000 JPEG.
- Warnings: too dark (mean luminance), blurred (variance of the Laplacian of a grey image of
  GREY_SIDE px, its contrast stretched first: a dark photo is not a blurred one), visible text (Tesseract on that grey image: TEXT_MIN_WORDS words of
  3+ letters or digits recognised with confidence > TEXT_MIN_CONFIDENCE), near duplicates (the
  perceptual hash `phash`, compared by photo_intake). Where Tesseract is missing or too slow, a
  note says the text check was skipped; it is never an error.
"""
from __future__ import annotations

import functools
import io
import logging
import re
import shutil
import threading
import warnings
from dataclasses import dataclass, field

import imagehash
import numpy as np
from PIL import Image, ImageCms, ImageOps

from services.core.i18n import Message, _l

try:  # HEIC/HEIF as iPhones shoot them
    import pillow_heif
except ImportError:  # pragma: no cover - a pinned dependency
    pillow_heif = None
else:
    pillow_heif.register_heif_opener()

try:
    import pytesseract
except ImportError:  # pragma: no cover - a pinned dependency
    pytesseract = None

log = logging.getLogger(__name__)

MAX_BYTES = 25 * 1024 * 1024
MIN_LONG, MIN_SHORT = 2048, 1536  # R70: landscape 2048 x 1536, portrait 1536 x 2048
ACCEPTED = ("JPEG", "PNG", "WEBP", "HEIF")  # Pillow's format names
ACCEPTED_TEXT = "JPEG, PNG, WebP, HEIC/HEIF"

WEB_SIDE = 1600
THUMB_SIDE = 400
JPEG_QUALITY = 92
WEBP_QUALITY = 82  # web size and thumbnail
WEBP_ORIGINAL_QUALITY = 92
DPI = (72, 72)

DARK_MEAN = 60  # mean luminance 0..255 below which a photo is "too dark"
GREY_SIDE = 1024  # long side of the grey image the warnings look at (brightness, Laplacian, text)
BLUR_VARIANCE = 50.0  # variance of its Laplacian below this: "blurred"
TEXT_MIN_CONFIDENCE = 70
TEXT_MIN_WORDS = 2
TEXT_TIMEOUT = 3  # seconds Tesseract may take per photo
NEAR_DUPLICATE = 6  # Hamming distance of two perceptual hashes (64 bits) at most this: near duplicates

# Findings that are notes (something not checked), not warnings about the photo.
NOTES = ("text_check_skipped",)

# -- results ----------------------------------------------------------------------------------

@dataclass
class Rejected:
    code: str  # too_large, empty, not_an_image, unsupported_format, too_many_pixels, damaged, animated, too_small
    message: Message
    ok: bool = False


@dataclass
class Checked:
    image: Image.Image  # decoded in full, EXIF orientation applied
    source_format: str  # one of ACCEPTED
    size_bytes: int
    icc_profile: bytes | None = None
    ok: bool = True

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


@dataclass
class Finding:
    """A warning (never a refusal) or a note: a code, its parameters (JSON values, kept with the
    photo: Photo.warnings) and its message."""

    code: str
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> Message:
        return finding_message(self.code, self.params)

    @property
    def is_note(self) -> bool:
        return self.code in NOTES

    def stored(self) -> dict:
        return {"code": self.code, **self.params}

    @classmethod
    def from_stored(cls, entry: dict) -> "Finding":
        params = dict(entry)
        return cls(params.pop("code", ""), params)


@dataclass
class Derived:
    original: bytes  # no metadata, full size
    original_ext: str  # jpg, png, webp
    web: bytes  # WebP
    thumb: bytes  # WebP
    width: int  # of the original, orientation applied
    height: int
    web_size: tuple[int, int]
    thumb_size: tuple[int, int]
    source_format: str
    size_bytes: int
    phash: str  # 16 hex digits (64 bits)
    findings: list[Finding] = field(default_factory=list)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_note]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.is_note]


def finding_message(code: str, params: dict) -> Message:
    """A warning's or note's words, also for one kept with a photo (`Finding.from_stored`)."""
    if code == "dark":
        return _l("Quite dark (brightness %(percent)s of 100): guests see more in a brighter photo.", **params)
    if code == "blurred":
        return _l("Looks blurred or out of focus: a sharp photo shows the place better.", **params)
    if code == "text_visible":
        return _l("Text seems visible in the photo (“%(words)s”): photos must show no captions, signs with "
                  "names or contact details.", **params)
    if code == "near_duplicate" and params.get("filename"):
        return _l("Looks almost the same as %(filename)s of this upload.", **params)
    if code == "near_duplicate":
        return _l("Looks almost the same as photo %(number)s already there.", **params)
    if code == "text_check_skipped" and params.get("reason") == "timeout":
        return _l("Not checked for visible text: the text recognition took too long.", **params)
    if code == "text_check_skipped" and params.get("reason") == "failed":
        return _l("Not checked for visible text: the text recognition failed.", **params)
    if code == "text_check_skipped":
        return _l("Not checked for visible text: the text recognition (Tesseract) is not installed here.", **params)
    return Message(code)


# -- checking ---------------------------------------------------------------------------------

def too_large(size: int) -> Rejected | None:
    """The size check alone, for a caller that knows an upload's size before reading it."""
    if size > MAX_BYTES:
        return Rejected("too_large", _l("%(size)s MB: a photo can be at most %(max)s MB.",
                                        size=-(-size // (1024 * 1024)), max=MAX_BYTES // (1024 * 1024)))
    return None


def _sniff(data: bytes) -> str | None:
    """The type a file's first bytes name, for the message about a refused file."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand[:2] in (b"he", b"mi", b"ms") or brand in (b"mif1", b"msf1"):
            return "HEIF"
        return "MP4/MOV"
    for magic, name in ((b"GIF8", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
                        (b"%PDF", "PDF"), (b"8BPS", "PSD"), (b"\x00\x00\x01\x00", "ICO"), (b"PK\x03\x04", "ZIP"),
                        (b"\xff\x0a", "JPEG XL"), (b"\x00\x00\x00\x0cJXL ", "JPEG XL")):
        if head.startswith(magic):
            return name
    text = head.lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "SVG"
    return None


_ACCEPTED_SNIFFED = ("JPEG", "PNG", "WebP", "HEIF")
_BOMB = re.compile(r"\((\d+) pixels\) exceeds limit of (\d+) pixels")


def _unsupported(sniffed: str | None) -> Rejected:
    if sniffed is None:
        return Rejected("not_an_image", _l("Not an image: only %(formats)s photos are accepted.",
                                           formats=ACCEPTED_TEXT))
    return Rejected("unsupported_format", _l("%(type)s: only %(formats)s photos are accepted.",
                                             type=sniffed, formats=ACCEPTED_TEXT))


def damaged(kind: str) -> Rejected:
    return Rejected("damaged", _l("%(type)s: the file is damaged or incomplete. Please upload it again.", type=kind))


def _bomb(pixels: int | None) -> Rejected:
    limit = Image.MAX_IMAGE_PIXELS or 0
    return Rejected("too_many_pixels", _l("%(megapixels)s megapixels: at most %(max)s megapixels can be processed.",
                                          megapixels=-(-(pixels or 0) // 1_000_000) if pixels else "?",
                                          max=limit // 1_000_000))


def _too_small(width: int, height: int) -> Rejected | None:
    min_w, min_h = (MIN_LONG, MIN_SHORT) if width >= height else (MIN_SHORT, MIN_LONG)
    if width >= min_w and height >= min_h:
        return None
    return Rejected("too_small", _l("%(width)s x %(height)s px: at least %(min_width)s x %(min_height)s px needed.",
                                    width=width, height=height, min_width=min_w, min_height=min_h))


def _turned(img: Image.Image) -> bool:
    """Does the EXIF orientation turn the picture by 90 degrees (width and height swap)?"""
    try:
        return img.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    except Exception:  # a broken EXIF block: exif_transpose will find the same, or nothing
        return False


def inspect(data: bytes) -> Checked | Rejected:
    """Check one uploaded file by its content (see the module's decisions)."""
    size = len(data)
    if (refused := too_large(size)) is not None:
        return refused
    if size == 0:
        return Rejected("empty", _l("The file is empty."))
    sniffed = _sniff(data)
    limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refuse those as well.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=ACCEPTED)
        except Image.DecompressionBombError as e:
            m = _BOMB.search(str(e))
            return _bomb(int(m.group(1)) if m else None)
        except Image.DecompressionBombWarning as e:
            m = _BOMB.search(str(e))
            return _bomb(int(m.group(1)) if m else None)
        except Image.UnidentifiedImageError:
            return damaged(sniffed) if sniffed in _ACCEPTED_SNIFFED else _unsupported(sniffed)
        except Exception:
            return damaged(sniffed or "?") if sniffed in _ACCEPTED_SNIFFED else _unsupported(sniffed)
        fmt = "JPEG" if img.format == "MPO" else img.format
        kind = {"WEBP": "WebP"}.get(fmt, fmt)
        if fmt not in ACCEPTED:  # pragma: no cover - `formats` allows no other
            return _unsupported(sniffed)
        width, height = img.size
        if limit and width * height > limit:
            return _bomb(width * height)
        if fmt in ("WEBP", "PNG") and getattr(img, "is_animated", False):
            return Rejected("animated", _l("Animated %(type)s: only still photos are accepted.", type=kind))
        # The rule is the same turned by 90 degrees, so a picture too small is refused before it is
        # decoded; the message names its size as it is seen (a JPEG's or WebP's EXIF orientation
        # is in its header; a PNG's may follow the pixels, and reading it would decode them).
        if _too_small(width, height) is not None:
            if fmt in ("JPEG", "WEBP") and _turned(img):
                width, height = height, width
            return _too_small(width, height)
        icc = img.info.get("icc_profile") or None
        try:
            img.load()  # exactly once: after a failed load Pillow forgets the rest of the file
        except Image.DecompressionBombError:
            return _bomb(width * height)
        except Exception:  # OSError "image file is truncated", SyntaxError, ValueError, EOFError...
            return damaged(kind)
    try:
        oriented = ImageOps.exif_transpose(img)
    except Exception:
        oriented = img  # an unreadable EXIF block: the picture as stored
    return Checked(oriented, fmt, size, icc)


# -- deriving ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _to_srgb(icc: bytes, mode: str, out_mode: str):
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), mode, out_mode)


def _is_srgb(icc: bytes) -> bool:
    try:
        return "srgb" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).lower()
    except Exception:
        return True  # an unreadable profile: treat the colours as sRGB


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def _eight_bit(img: Image.Image) -> Image.Image:
    """A 16- or 32-bit grey picture (some PNGs) as 8-bit grey, scaled rather than clipped."""
    a = np.asarray(img)
    top = 65535 if img.mode.startswith("I;16") or a.max() > 255 else 255
    return Image.fromarray((a.astype(np.float64) * (255 / top)).clip(0, 255).astype(np.uint8), "L")


def _normalised(checked: Checked) -> Image.Image:
    """RGB (RGBA where there is transparency) in sRGB. The metadata goes with `_encode`."""
    img = checked.image
    out_mode = "RGBA" if _has_alpha(img) else "RGB"
    if img.mode.startswith("I") or img.mode == "F":
        img = _eight_bit(img)
    icc = checked.icc_profile
    if icc and img.mode in ("RGB", "RGBA", "CMYK", "L") and not _is_srgb(icc):
        try:
            converted = ImageCms.applyTransform(img, _to_srgb(icc, img.mode, "RGBA" if img.mode == "RGBA" else "RGB"))
            return converted if converted.mode == out_mode else converted.convert(out_mode)
        except Exception:
            pass  # a profile lcms cannot use: the plain conversion
    return img if img.mode == out_mode else img.convert(out_mode)


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    w, h = size
    scale = min(1.0, side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _scaled(img: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Downscale: first Image.reduce() by the largest whole factor that stays at or above the
    target (a fast box average), then Lanczos for the rest."""
    if img.size == target:
        return img
    factor = int(min(img.width / target[0], img.height / target[1]))
    if factor >= 2:
        img = img.reduce(factor)
    return img.resize(target, Image.LANCZOS)


def _encode(img: Image.Image, fmt: str, **options) -> bytes:
    img.info = {}
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def _original(img: Image.Image, source_format: str) -> tuple[bytes, str]:
    if source_format == "PNG":
        return _encode(img, "PNG", dpi=DPI, compress_level=3), "png"  # 6 takes 4x as long for 4 % less
    if source_format == "WEBP":
        return _encode(img, "WEBP", quality=WEBP_ORIGINAL_QUALITY, method=4), "webp"
    if img.mode != "RGB":  # JPEG has no transparency: on white, as the photo would be shown
        flat = Image.new("RGB", img.size, "white")
        flat.paste(img, mask=img.getchannel("A"))
        img = flat
    return _encode(img, "JPEG", quality=JPEG_QUALITY, dpi=DPI, optimize=False), "jpg"


def _grey(img: Image.Image, side: int) -> Image.Image:
    """Grey first (a third of the work), then bicubic (antialiased when shrinking: enough for
    brightness, sharpness and text recognition)."""
    grey = img.convert("L")
    target = _fit(grey.size, side)
    return grey if grey.size == target else grey.resize(target, Image.BICUBIC)


def _laplacian_variance(grey: Image.Image) -> float:
    a = np.asarray(grey, dtype=np.float32)
    if a.shape[0] < 3 or a.shape[1] < 3:
        return 0.0
    lap = a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - 4 * a[1:-1, 1:-1]
    return float(lap.var())


@functools.lru_cache(maxsize=1)
def _tesseract_found(cmd: str) -> bool:
    return shutil.which(cmd) is not None


def tesseract_available() -> bool:
    return pytesseract is not None and _tesseract_found(pytesseract.pytesseract.tesseract_cmd)


_WORD = re.compile(r"[0-9A-Za-zÀ-ÖØ-öø-ÿ]{3,}")


def text_check(grey: Image.Image) -> Finding | None:
    """Visible text (R72) by Tesseract; a note, never an error, where it is missing, takes too
    long or fails."""
    if not tesseract_available():
        return Finding("text_check_skipped", {"reason": "missing"})
    try:  # sparse text (signs, captions anywhere); no second pass for light text on dark ground
        data = pytesseract.image_to_data(grey, output_type=pytesseract.Output.DICT, timeout=TEXT_TIMEOUT,
                                         config="--psm 11 -c tessedit_do_invert=0")
    except pytesseract.TesseractNotFoundError:
        return Finding("text_check_skipped", {"reason": "missing"})
    except Exception as e:  # pytesseract's RuntimeError "Tesseract process timeout", TesseractError
        log.warning("text check of a photo failed: %s", e)
        return Finding("text_check_skipped", {"reason": "timeout" if "timeout" in str(e).lower() else "failed"})
    words = []
    for text, conf in zip(data.get("text", []), data.get("conf", [])):
        try:
            confidence = float(conf)
        except (TypeError, ValueError):
            continue
        word = (text or "").strip()
        if confidence > TEXT_MIN_CONFIDENCE and _WORD.search(word):
            words.append(word)
    if len(words) >= TEXT_MIN_WORDS:
        shown = " ".join(words[:6])
        return Finding("text_visible", {"words": shown[:60], "count": len(words)})
    return None


class _Background(threading.Thread):
    """Run `fn(arg)` beside the caller (Tesseract is a separate process: it works while Pillow
    encodes); `result()` waits for it. A thread per photo: nothing queues behind another upload."""

    def __init__(self, fn, arg):
        super().__init__(name="photo-text", daemon=True)
        self._fn, self._arg, self._result, self._error = fn, arg, None, None
        self.start()

    def run(self) -> None:
        try:
            self._result = self._fn(self._arg)
        except BaseException as e:  # handed to the caller
            self._error = e

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._result


def derive(checked: Checked, text: bool = True) -> Derived:
    """The three files kept of an accepted photo and what a photo editor would point out.
    `text=False` leaves out the text recognition (and its note)."""
    img = _normalised(checked)
    web = _scaled(img, _fit(img.size, WEB_SIDE))
    grey = _grey(web, GREY_SIDE)
    future = _Background(text_check, grey) if text else None  # Tesseract works meanwhile
    try:
        original, ext = _original(img, checked.source_format)
        web_bytes = _encode(web, "WEBP", quality=WEBP_QUALITY, method=4)
        thumb = _scaled(web, _fit(web.size, THUMB_SIDE))
        thumb_bytes = _encode(thumb, "WEBP", quality=WEBP_QUALITY, method=4)
        phash = str(imagehash.phash(thumb))
        findings: list[Finding] = []
        mean = float(np.asarray(grey, dtype=np.float32).mean())
        if mean < DARK_MEAN:
            findings.append(Finding("dark", {"percent": round(mean / 255 * 100)}))
        variance = _laplacian_variance(ImageOps.autocontrast(grey, cutoff=1))  # dark is not blurred
        if variance < BLUR_VARIANCE:
            findings.append(Finding("blurred", {"score": round(variance, 1)}))
    finally:
        found = future.result() if future is not None else None
    if found is not None:
        findings.append(found)
    return Derived(original=original, original_ext=ext, web=web_bytes, thumb=thumb_bytes, width=img.width,
                   height=img.height, web_size=web.size, thumb_size=thumb.size, source_format=checked.source_format,
                   size_bytes=checked.size_bytes, phash=phash, findings=findings)


def distance(a: str, b: str) -> int:
    """Hamming distance of two perceptual hashes (hex); a missing one is far from everything."""
    if not a or not b or len(a) != len(b):
        return 64
    return bin(int(a, 16) ^ int(b, 16)).count("1")
