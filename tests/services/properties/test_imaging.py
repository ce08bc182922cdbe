"""services.properties.imaging: the checks of an uploaded photo (R70, issue 13), by content, and
what is kept of it: orientation applied, no metadata, 72 dpi, a web size and a thumbnail; the
warnings a photo editor would give. Every image is generated here."""
from __future__ import annotations

import io

import pillow_heif
import pytest
from PIL import Image, ImageCms

from services.properties import imaging
from tests.services.properties import images

needs_tesseract = pytest.mark.skipif(not imaging.tesseract_available(), reason="tesseract is not installed")


def _refused(data: bytes, code: str) -> str:
    result = imaging.inspect(data)
    assert not result.ok, result
    assert result.code == code, (result.code, str(result.message))
    return str(result.message)


# -- R70: dimensions ------------------------------------------------------------------------

def test_the_smallest_landscape_photo_is_accepted():
    checked = imaging.inspect(images.jpeg(2048, 1536))
    assert checked.ok and (checked.width, checked.height) == (2048, 1536)
    assert checked.source_format == "JPEG"


@pytest.mark.parametrize("width,height", [(2047, 1536), (2048, 1535)])
def test_one_pixel_less_is_refused_with_the_actual_size(width, height):
    message = _refused(images.jpeg(width, height), "too_small")
    assert message == f"{width} x {height} px: at least 2048 x 1536 px needed."


def test_portrait_photos_need_1536_by_2048():
    """The rule turned by 90 degrees: the long side at least 2048, the short side at least 1536."""
    assert imaging.inspect(images.jpeg(1536, 2048)).ok
    assert _refused(images.jpeg(1535, 2048), "too_small") == "1535 x 2048 px: at least 1536 x 2048 px needed."
    assert _refused(images.jpeg(1536, 2047), "too_small") == "1536 x 2047 px: at least 1536 x 2048 px needed."
    # a square photo is a landscape one
    assert imaging.inspect(images.jpeg(2048, 2048)).ok
    assert _refused(images.jpeg(2000, 2000), "too_small") == "2000 x 2000 px: at least 2048 x 1536 px needed."


def test_orientation_is_applied_before_the_rule_decides():
    """A phone shot upright: 2048 x 1536 pixels stored, EXIF orientation 6 (turn by 90 degrees)."""
    checked = imaging.inspect(images.jpeg(2048, 1536, exif=images.exif(orientation=6)))
    assert checked.ok and (checked.width, checked.height) == (1536, 2048)
    derived = imaging.derive(checked, text=False)
    original = images.opened(derived.original)
    assert original.size == (1536, 2048) and (derived.width, derived.height) == (1536, 2048)
    assert images.ORIENTATION not in original.getexif()
    assert derived.web_size == (1200, 1600) and images.opened(derived.web).size == (1200, 1600)
    assert derived.thumb_size == (300, 400)
    # then the portrait rule: 2048 x 1535 stored, upright 1535 x 2048, one pixel too narrow
    message = _refused(images.jpeg(2048, 1535, exif=images.exif(orientation=6)), "too_small")
    assert message == "1535 x 2048 px: at least 1536 x 2048 px needed."


def test_the_pixels_turn_with_the_orientation():
    img = Image.new("RGB", (2048, 1536), "white")
    img.paste((255, 0, 0), (0, 0, 400, 300))  # red in the top left corner as stored
    checked = imaging.inspect(images.encode(img, "JPEG", quality=95, exif=images.exif(orientation=6)))
    original = images.opened(imaging.derive(checked, text=False).original).convert("RGB")
    # orientation 6: turned 90 degrees clockwise for viewing, the top left corner goes to the top right
    r, g, b = original.getpixel((1536 - 50, 50))
    assert r > 200 and g < 60 and b < 60
    assert original.getpixel((50, 50)) == pytest.approx((255, 255, 255), abs=8)


# -- by content, never by name -----------------------------------------------------------------

def test_png_webp_and_heic_are_accepted_by_content():
    pic = images.picture()
    for fmt, kind, ext in (("PNG", "PNG", "png"), ("WEBP", "WEBP", "webp"), ("HEIF", "HEIF", "jpg")):
        checked = imaging.inspect(images.encode(pic, fmt, **({"quality": 90} if fmt == "WEBP" else {})))
        assert checked.ok and checked.source_format == kind, fmt
        derived = imaging.derive(checked, text=False)
        assert derived.original_ext == ext
        assert images.opened(derived.original).format == {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[ext]
        assert images.opened(derived.web).format == "WEBP" and images.opened(derived.thumb).format == "WEBP"


def test_an_iphone_heic_is_converted_on_arrival():
    data = images.encode(images.picture(4032, 3024), "HEIF", exif=images.exif())
    assert pillow_heif.is_supported(data)
    assert images.metadata_of(data)["gps"]  # the upload carries GPS
    checked = imaging.inspect(data)
    assert checked.ok and checked.source_format == "HEIF"
    derived = imaging.derive(checked, text=False)
    original = images.opened(derived.original)
    assert original.format == "JPEG" and original.size == (4032, 3024)
    for data in (derived.original, derived.web, derived.thumb):
        assert images.metadata_of(data) == {"exif": {}, "gps": {}, "info": []}


def test_a_heic_shot_upright_is_turned_once():
    """pillow-heif turns a HEIF picture itself (and resets its EXIF orientation): not twice."""
    data = images.encode(images.picture(2048, 1536), "HEIF", exif=images.exif(orientation=6))
    checked = imaging.inspect(data)
    assert checked.ok and (checked.width, checked.height) == (1536, 2048)
    assert images.opened(imaging.derive(checked, text=False).original).size == (1536, 2048)


def test_a_jpeg_with_a_second_picture_counts_as_a_jpeg():
    """MPO: iPhones' HDR gain map, 3D cameras. Not an animation; the first picture is the photo."""
    data = images.encode(images.picture(), "MPO", save_all=True, append_images=[images.picture(seed=2)])
    assert images.opened(data).format == "MPO"
    checked = imaging.inspect(data)
    assert checked.ok and checked.source_format == "JPEG"
    assert imaging.derive(checked, text=False).original_ext == "jpg"


@pytest.mark.parametrize("data,type_", [
    (b"Tel. 0831 123456, Haus Alpenblick\n" * 100, None),
    (b"", None),
    (b"<svg xmlns='http://www.w3.org/2000/svg' width='4000' height='3000'></svg>", "SVG"),
    (b"%PDF-1.7\n" + b"0" * 1000, "PDF"),
])
def test_what_is_not_a_photo_is_refused_with_the_accepted_formats(data, type_):
    result = imaging.inspect(data)
    assert not result.ok
    message = str(result.message)
    if not data:
        assert result.code == "empty"
        return
    assert "JPEG, PNG, WebP, HEIC/HEIF" in message
    if type_ is None:
        assert result.code == "not_an_image" and message.startswith("Not an image")
    else:
        assert result.code == "unsupported_format" and message.startswith(f"{type_}:")


@pytest.mark.parametrize("fmt,type_", [("GIF", "GIF"), ("TIFF", "TIFF"), ("BMP", "BMP")])
def test_other_image_formats_are_refused_by_name(fmt, type_):
    data = images.encode(images.picture().convert("P") if fmt == "GIF" else images.picture(), fmt)
    message = _refused(data, "unsupported_format")
    assert message == f"{type_}: only JPEG, PNG, WebP, HEIC/HEIF photos are accepted."


# -- refused: broken, bombs, animations, too large ------------------------------------------------

def test_a_truncated_jpeg_is_refused():
    data = images.jpeg()
    assert imaging.inspect(data).ok
    assert _refused(data[: len(data) // 2], "damaged") == "JPEG: the file is damaged or incomplete. Please upload it again."


def test_a_truncated_png_and_a_broken_header_are_refused():
    data = images.encode(images.picture(), "PNG", compress_level=1)
    _refused(data[: len(data) // 2], "damaged")
    _refused(data[:40] + b"\x00" * 100, "damaged")


def test_a_decompression_bomb_is_refused_not_warned_about(monkeypatch):
    """Between MAX_IMAGE_PIXELS and twice that Pillow only warns: refused as well."""
    data = images.jpeg(2048, 1536)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2048 * 1536 - 1)  # just under: Pillow's warning
    message = _refused(data, "too_many_pixels")
    assert message == "4 megapixels: at most 3 megapixels can be processed."
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # far under: Pillow's error
    _refused(data, "too_many_pixels")


def test_a_png_claiming_a_billion_pixels_is_refused_before_decoding():
    data = images.png_claiming(40_000, 30_000)  # 1.2 gigapixels in 100 bytes
    assert len(data) < 200
    message = _refused(data, "too_many_pixels")
    assert message == "1200 megapixels: at most 89 megapixels can be processed."


@pytest.mark.parametrize("fmt,type_", [("WEBP", "WebP"), ("PNG", "PNG")])
def test_animated_images_are_refused(fmt, type_):
    assert _refused(images.animated(fmt), "animated") == f"Animated {type_}: only still photos are accepted."


def test_an_animated_gif_is_refused():
    data = images.encode(images.picture().convert("P"), "GIF", save_all=True,
                         append_images=[images.picture(seed=2).convert("P")], duration=100, loop=0)
    assert images.opened(data).is_animated
    assert _refused(data, "unsupported_format").startswith("GIF:")


def test_more_than_25_mb_is_refused_before_it_is_opened():
    data = images.jpeg()
    big = data[:-2] + b"\x00" * (26 * 1024 * 1024 - len(data)) + data[-2:]
    assert _refused(big, "too_large") == "26 MB: a photo can be at most 25 MB."
    assert imaging.too_large(26 * 1024 * 1024).code == "too_large"
    assert imaging.too_large(imaging.MAX_BYTES) is None
    assert str(imaging.too_large(imaging.MAX_BYTES + 1).message) == "26 MB: a photo can be at most 25 MB."


# -- what is kept --------------------------------------------------------------------------------

def test_gps_and_every_other_metadata_are_gone_from_all_three_files():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = images.jpeg(exif=images.exif(orientation=1), comment=b"shot at Haus Alpenblick",
                       xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>GPSLatitude 47,25</x:xmpmeta>", icc_profile=srgb)
    before = images.metadata_of(data)
    assert before["gps"] and before["exif"] and {"exif", "xmp", "icc_profile", "comment"} <= set(before["info"])
    derived = imaging.derive(imaging.inspect(data), text=False)
    for stored in (derived.original, derived.web, derived.thumb):
        assert images.metadata_of(stored) == {"exif": {}, "gps": {}, "info": []}
        assert b"PhoneMaker" not in stored and b"Alpenblick" not in stored and b"GPS" not in stored


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_metadata_is_gone_whatever_the_format(fmt):
    data = images.encode(images.picture(), fmt, exif=images.exif().tobytes(), **({"quality": 90} if fmt == "WEBP" else {}))
    assert images.metadata_of(data)["gps"]
    derived = imaging.derive(imaging.inspect(data), text=False)
    for stored in (derived.original, derived.web, derived.thumb):
        assert images.metadata_of(stored) == {"exif": {}, "gps": {}, "info": []}


def test_density_is_72_dpi():
    jpeg = imaging.derive(imaging.inspect(images.jpeg(dpi=(300, 300))), text=False)
    assert images.opened(jpeg.original).info["dpi"] == (72, 72)
    png = imaging.derive(imaging.inspect(images.encode(images.picture(), "PNG", dpi=(300, 300))), text=False)
    assert images.opened(png.original).info["dpi"] == pytest.approx((72, 72), abs=0.1)


def test_sizes_of_the_three_files():
    derived = imaging.derive(imaging.inspect(images.jpeg(4000, 3000)), text=False)
    assert images.opened(derived.original).size == (4000, 3000)
    assert images.opened(derived.web).size == (1600, 1200) == derived.web_size
    assert images.opened(derived.thumb).size == (400, 300) == derived.thumb_size
    assert derived.size_bytes == len(images.jpeg(4000, 3000)) and derived.source_format == "JPEG"
    assert len(derived.phash) == 16 and int(derived.phash, 16) >= 0


def test_transparency_stays_in_png_and_webp_and_becomes_white_in_jpeg():
    img = images.picture().convert("RGBA")
    img.paste((0, 0, 0, 0), (0, 0, 300, 300))
    png = imaging.derive(imaging.inspect(images.encode(img, "PNG")), text=False)
    assert images.opened(png.original).mode == "RGBA" and images.opened(png.original).getpixel((5, 5))[3] == 0
    assert images.opened(png.web).mode == "RGBA"
    heif = imaging.derive(imaging.inspect(images.encode(img, "HEIF")), text=False)
    flat = images.opened(heif.original)
    assert flat.mode == "RGB" and flat.getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=6)


def test_a_colour_profile_is_applied_then_dropped():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pic = images.picture()
    derived = imaging.derive(imaging.inspect(images.encode(pic, "PNG", icc_profile=srgb)), text=False)
    original = images.opened(derived.original)
    assert "icc_profile" not in original.info
    assert original.getpixel((10, 10)) == pic.getpixel((10, 10))  # sRGB in, the same colours out


def test_grey_and_palette_pictures_become_rgb():
    for img in (images.picture().convert("L"), images.picture().convert("P"), images.picture().convert("CMYK")):
        fmt = "JPEG" if img.mode in ("L", "CMYK") else "PNG"
        derived = imaging.derive(imaging.inspect(images.encode(img, fmt)), text=False)
        assert images.opened(derived.web).mode == "RGB", img.mode


def test_a_16_bit_grey_png_is_scaled_not_clipped():
    img = Image.new("I;16", (2048, 1536), 32768)
    derived = imaging.derive(imaging.inspect(images.encode(img, "PNG")), text=False)
    assert images.opened(derived.web).convert("L").getpixel((100, 100)) == pytest.approx(128, abs=2)


# -- warnings: never a refusal --------------------------------------------------------------------

def _codes(data: bytes, text: bool = False) -> list[str]:
    checked = imaging.inspect(data)
    assert checked.ok  # a warning never refuses
    return [f.code for f in imaging.derive(checked, text=text).findings]


def test_a_good_photo_has_no_warnings():
    assert _codes(images.jpeg()) == []


def test_a_dark_photo_is_pointed_out():
    checked = imaging.inspect(images.dark())
    derived = imaging.derive(checked, text=False)
    (finding,) = derived.findings
    assert finding.code == "dark" and not finding.is_note and finding.params["percent"] < 15
    assert str(finding.message).startswith(f"Quite dark (brightness {finding.params['percent']} of 100)")


def test_a_blurred_photo_is_pointed_out():
    assert _codes(images.blurred()) == ["blurred"]
    finding = imaging.Finding.from_stored({"code": "blurred", "score": 3.2})
    assert str(finding.message) == "Looks blurred or out of focus: a sharp photo shows the place better."


@needs_tesseract
def test_visible_text_is_pointed_out():
    derived = imaging.derive(imaging.inspect(images.with_text()))
    texts = [f for f in derived.findings if f.code == "text_visible"]
    assert texts, derived.findings
    assert "0831" in texts[0].params["words"] or "Alpenblick" in texts[0].params["words"]
    assert str(texts[0].message).startswith("Text seems visible in the photo (“")


@needs_tesseract
def test_a_photo_without_text_has_no_text_warning():
    assert _codes(images.jpeg(), text=True) == []


def test_without_tesseract_the_text_check_is_skipped_with_a_note(monkeypatch):
    monkeypatch.setattr(imaging.pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    derived = imaging.derive(imaging.inspect(images.with_text()))
    notes = [f for f in derived.findings if f.is_note]
    assert [f.code for f in notes] == ["text_check_skipped"] and notes == derived.notes
    assert "text_check_skipped" not in [f.code for f in derived.warnings]
    assert str(notes[0].message) == "Not checked for visible text: the text recognition (Tesseract) is not installed here."


@needs_tesseract
def test_a_slow_text_check_is_skipped_with_a_note(monkeypatch):
    monkeypatch.setattr(imaging, "TEXT_TIMEOUT", 0.001)
    finding = imaging.text_check(Image.open(io.BytesIO(images.with_text())).convert("L"))
    assert finding.code == "text_check_skipped" and finding.params == {"reason": "timeout"}
    assert str(finding.message) == "Not checked for visible text: the text recognition took too long."


def test_perceptual_hash_finds_near_duplicates():
    first = imaging.derive(imaging.inspect(images.jpeg(seed=1)), text=False).phash
    again = imaging.derive(imaging.inspect(images.jpeg(seed=1, quality=60)), text=False).phash  # re-saved
    brighter = imaging.derive(imaging.inspect(images.encode(images.picture(seed=1).point(lambda v: min(255, v + 20)),
                                                            "JPEG")), text=False).phash
    other = imaging.derive(imaging.inspect(images.jpeg(seed=7)), text=False).phash
    assert imaging.distance(first, again) <= imaging.NEAR_DUPLICATE
    assert imaging.distance(first, brighter) <= imaging.NEAR_DUPLICATE
    assert imaging.distance(first, other) > imaging.NEAR_DUPLICATE
    assert imaging.distance(first, "") == 64


def test_findings_are_kept_as_parameters_and_worded_again():
    finding = imaging.Finding("near_duplicate", {"photo_id": 5, "number": 2, "distance": 3})
    assert finding.stored() == {"code": "near_duplicate", "photo_id": 5, "number": 2, "distance": 3}
    again = imaging.Finding.from_stored(finding.stored())
    assert again == finding and str(again.message) == "Looks almost the same as photo 2 already there."
    named = imaging.Finding("near_duplicate", {"filename": "IMG_1.jpg", "distance": 0})
    assert str(named.message) == "Looks almost the same as IMG_1.jpg of this upload."


def test_making_a_statement_pdf_leaves_truncated_photos_refused():
    """WeasyPrint sets Pillow's LOAD_TRUNCATED_IMAGES when imported; the statements restore it."""
    from portal.blueprints.statements import formats

    formats._weasyprint()
    data = images.jpeg()
    assert _refused(data[: len(data) // 2], "damaged")
