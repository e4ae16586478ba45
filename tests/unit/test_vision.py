"""Image, PDF and text conversion (bot/vision, pure functions over bytes)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.claude.catalog import CATALOG
from bot.vision.documents import pdf_page_limit, prepare_pdf, prepare_text
from bot.vision.images import fits, prepare_image
from bot.vision.problems import FileProblem
from tests import samples

NEWEST_EDGE = CATALOG["claude-sonnet-5-5"].max_image_edge
OLDER_EDGE = CATALOG["claude-sonnet-4-6"].max_image_edge


def test_a_png_that_fits_goes_unchanged() -> None:
    """A PNG within the edge and size limits is passed on byte for byte."""
    data = samples.png(800, 600)
    image = prepare_image(data, NEWEST_EDGE)
    assert (image.data, image.media_type, image.converted) == (data, "image/png", False)
    assert (image.width, image.height) == (800, 600)


@pytest.mark.parametrize("edge", [NEWEST_EDGE, OLDER_EDGE])
def test_a_large_photo_is_downscaled_to_the_models_edge(edge: int) -> None:
    """A 6000×4000 JPEG comes out as a JPEG whose long edge is the model's, aspect kept."""
    image = prepare_image(samples.photo_jpeg(), edge)
    assert image.media_type == "image/jpeg"
    assert image.converted
    assert (image.width, image.height) == (edge, round(edge * 4000 / 6000))
    assert samples.pixels(image.data)[1] == (image.width, image.height)


def test_a_bmp_is_converted_to_png_with_the_same_pixels() -> None:
    """BMP is not an API format: it becomes a PNG showing exactly the same pixels."""
    data = samples.bmp()
    image = prepare_image(data, NEWEST_EDGE)
    assert image.media_type == "image/png"
    assert image.converted
    assert samples.pixels(image.data)[1:] == samples.pixels(data)[1:]


def test_an_animated_gif_becomes_its_first_frame() -> None:
    """An animation is sent as its first frame (a PNG), flagged as animated."""
    image = prepare_image(samples.animated_gif(), NEWEST_EDGE)
    assert image.media_type == "image/png"
    assert image.animated
    with Image.open(io.BytesIO(image.data)) as frame:
        assert frame.convert("RGB").getpixel((5, 5)) == (255, 0, 0)


def test_exif_orientation_is_applied() -> None:
    """A photo taken sideways (EXIF orientation 6) is rotated upright before sending."""
    image = prepare_image(samples.photo_jpeg(400, 200, orientation=6), NEWEST_EDGE)
    assert (image.width, image.height) == (200, 400)


def test_an_image_over_the_size_limit_is_re_encoded_within_it() -> None:
    """A PNG too big in bytes becomes a JPEG (then smaller, if need be) within the limit."""
    noisy = Image.effect_noise((1200, 1200), 120).convert("RGB")
    data = samples.encoded(noisy, "PNG")
    limit = len(data) // 4
    image = prepare_image(data, NEWEST_EDGE, max_bytes=limit)
    assert len(image.data) <= limit
    assert image.media_type == "image/jpeg"


def test_a_transparent_screenshot_over_the_edge_stays_png() -> None:
    """A screenshot with transparency over the edge is scaled and stays a lossless PNG."""
    data = samples.encoded(samples.screenshot(4000, 1000, mode="RGBA"), "PNG")
    image = prepare_image(data, OLDER_EDGE)
    assert image.media_type == "image/png"
    assert (image.width, image.height) == (OLDER_EDGE, 392)


def test_what_is_not_an_image_is_a_problem() -> None:
    """Bytes Pillow cannot open give a FileProblem naming the formats that work."""
    with pytest.raises(FileProblem, match="PNG, JPEG"):
        prepare_image(b"definitely not an image", NEWEST_EDGE)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_claiming_too_many_pixels_is_refused_before_decoding() -> None:
    """A small file that would decode to 100 megapixels is refused from its header, with its
    size and the limit in words."""
    data = samples.encoded(Image.new("1", (10_000, 9_999)), "PNG")
    assert len(data) < 100_000
    with pytest.raises(FileProblem) as caught:
        prepare_image(data, NEWEST_EDGE)
    assert caught.value.reason.startswith(
        "it is 10,000×9,999 pixels (100 megapixels) and I read images up to 25 megapixels."
    )


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_over_pillows_own_limit_is_refused_in_words() -> None:
    """Past Pillow's own limit (about 179 megapixels) the user still gets the same sentence."""
    data = samples.encoded(Image.new("1", (20_000, 10_000)), "PNG")
    with pytest.raises(FileProblem, match="over 179 megapixels and I read images up to 25"):
        prepare_image(data, NEWEST_EDGE)


def test_a_big_jpeg_photo_is_decoded_at_a_reduced_scale_and_kept() -> None:
    """A 35-megapixel JPEG is over the limit at full size but decodes at half scale, which
    still covers the model's edge: it is read, downscaled to the edge."""
    big = Image.linear_gradient("L").resize((7000, 5000))
    image = prepare_image(samples.encoded(big, "JPEG", quality=70), NEWEST_EDGE)
    assert (image.width, image.height) == (NEWEST_EDGE, round(NEWEST_EDGE * 5000 / 7000))


def test_a_sideways_photo_is_shrunk_then_turned_upright() -> None:
    """A 6000×4000 photo with EXIF orientation 6 comes out 1717×2576: within the edge, upright."""
    image = prepare_image(samples.photo_jpeg(orientation=6), NEWEST_EDGE)
    assert (image.width, image.height) == (1717, NEWEST_EDGE)


def test_formats_we_do_not_take_are_not_decoded() -> None:
    """Pillow opens PCX or ICO, but only the formats we take are tried: the user is told."""
    for image_format in ("PCX", "ICO"):
        with pytest.raises(FileProblem, match="isn't an image I can open"):
            prepare_image(samples.encoded(samples.screenshot(64, 64), image_format), NEWEST_EDGE)


def test_fits_keeps_the_aspect_ratio() -> None:
    """fits() scales the long edge down to the limit and never up."""
    assert fits((6000, 4000), 1500) == (1500, 1000)
    assert fits((100, 50), 1500) == (100, 50)
    assert fits((1, 9000), 1568) == (1, 1568)


def test_a_pdf_within_the_limits_is_counted() -> None:
    """A 3-page PDF passes unchanged, with its page count."""
    data = samples.pdf(3)
    pdf = prepare_pdf(data, max_pages=100)
    assert (pdf.data, pdf.pages) == (data, 3)


def test_a_pdf_over_the_page_limit_says_which_limit_and_what_to_do() -> None:
    """101 pages against a 100-page limit: the problem names both numbers and a way out."""
    with pytest.raises(FileProblem) as caught:
        prepare_pdf(samples.blank_pdf(101), max_pages=100)
    assert "101 pages" in caught.value.reason
    assert "at most 100" in caught.value.reason
    assert "Split it" in caught.value.reason


def test_a_pdf_declaring_too_many_pages_is_refused_without_walking_its_page_tree() -> None:
    """A PDF whose page tree declares a million pages is refused on that count (its tree, which
    could be that big, is not walked: it holds 2 pages here, and that is never found out)."""
    with pytest.raises(FileProblem, match="it has 1,000,000 pages and Claude reads at most 100"):
        prepare_pdf(samples.blank_pdf(2, declared=1_000_000), max_pages=100)


def test_a_pdf_hiding_many_pages_is_refused_once_the_walk_passes_the_limit() -> None:
    """A PDF declaring 1 page but holding 2,000 is walked only as far as the limit allows."""
    with pytest.raises(FileProblem, match="it has more than 100 pages and Claude reads at most"):
        prepare_pdf(samples.blank_pdf(2_000, declared=1), max_pages=100)


def test_a_pdf_over_the_size_limit_says_so() -> None:
    """A PDF over the byte limit is refused before it is parsed, naming the limit."""
    with pytest.raises(FileProblem, match="Compress it"):
        prepare_pdf(samples.pdf(1), max_pages=100, max_bytes=100)


def test_encrypted_and_broken_pdfs_are_problems() -> None:
    """An encrypted PDF and bytes that are no PDF each get their own explanation."""
    with pytest.raises(FileProblem, match="password"):
        prepare_pdf(samples.blank_pdf(1, password="secret"), max_pages=100)
    with pytest.raises(FileProblem, match="isn't a PDF"):
        prepare_pdf(b"%PDF-1.7 but nothing else", max_pages=100)


def test_pdf_page_limit_is_the_smallest_of_the_tiers() -> None:
    """200k-context models take 100 pages, 1M ones 600; a thread must suit every tier."""
    assert pdf_page_limit([CATALOG["claude-opus-5-5"], CATALOG["claude-sonnet-5-5"]]) == 600
    assert pdf_page_limit([CATALOG["claude-opus-5-5"], CATALOG["claude-haiku-5-5"]]) == 100


def test_text_files_are_decoded_and_capped() -> None:
    """UTF-8 (BOM dropped, CRLF normalised) and UTF-16 decode; long text is cut and flagged."""
    assert prepare_text("\ufeffa,b\r\n1,2\r\n".encode()).text == "a,b\n1,2\n"
    assert prepare_text("héllo".encode("utf-16")).text == "héllo"
    long = prepare_text(b"x" * 50, max_chars=10)
    assert (long.text, long.truncated) == ("x" * 10, True)


def test_binary_and_empty_files_are_not_text() -> None:
    """NUL bytes mean binary; whitespace only means empty."""
    with pytest.raises(FileProblem, match="binary"):
        prepare_text(b"PK\x03\x04\x00\x00")
    with pytest.raises(FileProblem, match="empty"):
        prepare_text(b"  \n ")
