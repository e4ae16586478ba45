"""Images to what Claude accepts (pure, over bytes): PNG, JPEG, GIF or WebP, the long edge within
the model's limit, the encoded size within the API's. Other formats Pillow opens are converted.

Limits (Claude docs, "Vision"): 5 MB per image as base64 (so 3.75 MB of bytes), 8000 px per edge
(2000 px when a request has more than 20 images); the model's own edge (ModelInfo.max_image_edge)
is what it sees, so anything larger is downscaled here rather than by the API.

Decoding is what costs memory (about 4 bytes a pixel, whatever the file's size: a 300 KB PNG can
hold 100 megapixels), so the pixel count is checked from the header before any pixel is read,
and the work keeps one full-size copy at most: a JPEG is decoded at a reduced scale when that
still covers the model's edge, the image is shrunk before it is turned upright, and only the
first frame of an animation is read. Only the formats we take are tried (never EPS, PSD & co.).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from dataclasses import dataclass
from functools import cache

from PIL import Image, UnidentifiedImageError

from bot.vision.problems import FileProblem, megabytes

MAX_IMAGE_BYTES = 5 * 1024 * 1024 * 3 // 4  # 5 MB of base64
NATIVE_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
JPEG_QUALITIES = (90, 80, 70, 60)
SHRINK_STEP = 0.75
EXIF_ORIENTATION = 0x0112
MAX_PIXELS = 25_000_000  # decoded at once (about 100 MB); far more than a model looks at
REDUCING_GAP = 3.0  # shrink by whole factors first, then resample: as sharp, much cheaper
OPENABLE = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "HEIF", "AVIF")  # MPO opens as JPEG
PLUGINS = ("PIL.WebPImagePlugin", "PIL.TiffImagePlugin", "PIL.AvifImagePlugin")
PHOTO_FORMATS = frozenset({"JPEG", "MPO"})
# What makes an image upright, by its EXIF orientation (as PIL.ImageOps.exif_transpose does).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SMALLER_COPY = "Share a smaller copy, or a screenshot of the part that matters."
# Pillow warns (on stderr, outside the logs) of images it still opens past 89 megapixels; they
# are refused here with a message, so the warning says nothing new.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
NOT_AN_IMAGE = "it isn't an image I can open. " + (
    "PNG, JPEG, GIF, WebP, BMP and TIFF images work."
)


@dataclass(frozen=True)
class PreparedImage:
    """An image ready for an image block."""

    data: bytes
    media_type: str
    width: int
    height: int
    converted: bool  # re-encoded: another format, downscaled, rotated or a first frame
    animated: bool = False  # the source was an animation; this is its first frame


@cache
def openable_formats() -> tuple[str, ...]:
    """The formats Pillow may try: its plugins for them loaded (not all forty), and HEIC/HEIF
    when the pillow-heif plugin is installed."""
    Image.preinit()  # BMP, GIF, JPEG, PNG
    for plugin in PLUGINS:
        with contextlib.suppress(ImportError):
            importlib.import_module(plugin)
    with contextlib.suppress(ImportError):
        importlib.import_module("pillow_heif").register_heif_opener()
    return tuple(name for name in OPENABLE if name in Image.OPEN)


def too_many_pixels(size: tuple[int, int] | None) -> FileProblem:
    """The problem of an image that would take too much memory to decode."""
    if size is None:  # over Pillow's own limit: it gives no size
        shown = f"over {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels"
    else:
        shown = f"{size[0]:,}×{size[1]:,} pixels ({size[0] * size[1] / 1e6:.0f} megapixels)"
    return FileProblem(
        f"it is {shown} and I read images up to {MAX_PIXELS / 1e6:.0f} megapixels. {SMALLER_COPY}"
    )


def open_image(data: bytes) -> Image.Image:
    """The image, opened lazily (only its header is read); FileProblem when it is not one of
    the formats we take."""
    try:
        image = Image.open(io.BytesIO(data), formats=openable_formats())
    except Image.DecompressionBombError:
        raise too_many_pixels(None) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise FileProblem(NOT_AN_IMAGE) from None
    return image


def check_pixels(image: Image.Image, max_edge: int) -> None:
    """FileProblem when decoding the image would hold more than MAX_PIXELS at once. A JPEG is
    first set to decode at 1/2, 1/4 or 1/8 scale when that still covers max_edge."""
    size = image.size
    if image.format in PHOTO_FORMATS:
        image.draft("RGB", fits(size, max_edge))
    if image.width * image.height > MAX_PIXELS:
        raise too_many_pixels(size)


def fits(size: tuple[int, int], max_edge: int) -> tuple[int, int]:
    """The size scaled down (aspect kept) so that the long edge is at most max_edge."""
    width, height = size
    longest = max(width, height)
    if longest <= max_edge:
        return width, height
    scale = max_edge / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def prepare_image(data: bytes, max_edge: int, max_bytes: int = MAX_IMAGE_BYTES) -> PreparedImage:
    """The image as Claude should get it: unchanged when it already fits, else converted."""
    image = open_image(data)
    width, height = image.size
    check_pixels(image, max_edge)  # before getexif(), which decodes a PNG
    media_type = NATIVE_FORMATS.get(image.format or "")
    animated = bool(getattr(image, "is_animated", False))
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    if (
        media_type is not None
        and not animated
        and orientation in (0, 1)
        and max(width, height) <= max_edge
        and len(data) <= max_bytes
    ):
        return PreparedImage(data, media_type, width, height, converted=False)
    try:
        return _convert(image, max_edge, max_bytes, animated, orientation)
    except Image.DecompressionBombError:
        raise too_many_pixels((width, height)) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise FileProblem(NOT_AN_IMAGE) from None


def _convert(
    image: Image.Image, max_edge: int, max_bytes: int, animated: bool, orientation: int
) -> PreparedImage:
    photo = image.format in PHOTO_FORMATS
    image.seek(0)
    frame = normal_mode(image)
    size = fits(frame.size, max_edge)
    frame = frame.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    if orientation in UPRIGHT:  # turned after shrinking: the same picture, a small copy
        frame = frame.transpose(UPRIGHT[orientation])
    while True:
        encoded, media_type = _encode(frame, photo, max_bytes)
        if encoded is not None:
            width, height = frame.size
            return PreparedImage(encoded, media_type, width, height, True, animated)
        smaller = (max(1, int(frame.width * SHRINK_STEP)), max(1, int(frame.height * SHRINK_STEP)))
        if smaller == frame.size:
            raise FileProblem(f"it can't be made smaller than {megabytes(max_bytes)}.")
        frame = frame.resize(smaller, Image.Resampling.LANCZOS)


def normal_mode(image: Image.Image) -> Image.Image:
    """The first frame in a mode PNG and resizing handle well (RGB, RGBA, L or LA): the image
    itself when it already is (no copy), else a converted copy."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if mode.startswith("I;16") or mode == "I":
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if mode == "F":
        return image.convert("L")
    has_alpha = "A" in mode or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _encode(frame: Image.Image, photo: bool, max_bytes: int) -> tuple[bytes | None, str]:
    """The smallest good encoding within max_bytes: PNG for screenshots and drawings (lossless,
    sharp text), JPEG for photos or when PNG is too big; None when nothing fits at this size."""
    if not photo:
        png = _save(frame, "PNG")
        if len(png) <= max_bytes:
            return png, "image/png"
    flat = _flatten(frame)
    for quality in JPEG_QUALITIES:
        jpeg = _save(flat, "JPEG", quality=quality)
        if len(jpeg) <= max_bytes:
            return jpeg, "image/jpeg"
    return None, "image/jpeg"


def _flatten(frame: Image.Image) -> Image.Image:
    """The frame without transparency, on white (JPEG has no alpha)."""
    if frame.mode in ("RGB", "L"):
        return frame
    rgba = frame.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _save(frame: Image.Image, image_format: str, **options: int) -> bytes:
    out = io.BytesIO()
    frame.save(out, format=image_format, **options)
    return out.getvalue()
