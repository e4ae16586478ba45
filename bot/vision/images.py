"""Images to what Claude accepts (pure, over bytes): PNG, JPEG, GIF or WebP, the long edge within
the model's limit, the encoded size within the API's. Other formats Pillow opens are converted.

Limits (Claude docs, "Vision"): 5 MB per image as base64 (so 3.75 MB of bytes), 8000 px per edge
(2000 px when a request has more than 20 images); the model's own edge (ModelInfo.max_image_edge)
is what it sees, so anything larger is downscaled here rather than by the API.
"""

from __future__ import annotations

import importlib
import io
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageOps, UnidentifiedImageError

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
MAX_PIXELS = 100_000_000  # decoding more would take gigabytes; a tiny file can claim this many
TOO_MANY_PIXELS = "it has too many pixels to open safely."
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
def register_optional_formats() -> bool:
    """Let Pillow open HEIC/HEIF photos when the pillow-heif plugin is installed."""
    try:
        plugin = importlib.import_module("pillow_heif")
    except ImportError:
        return False
    plugin.register_heif_opener()
    return True


def open_image(data: bytes) -> Image.Image:
    """The image, opened lazily; FileProblem when it is not one Pillow can read."""
    register_optional_formats()
    try:
        image = Image.open(io.BytesIO(data))
        image.size  # noqa: B018  # the header is parsed; pixels are read later
    except Image.DecompressionBombError:
        raise FileProblem(TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise FileProblem(NOT_AN_IMAGE) from None
    if image.width * image.height > MAX_PIXELS:
        raise FileProblem(TOO_MANY_PIXELS)
    return image


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
    media_type = NATIVE_FORMATS.get(image.format or "")
    animated = bool(getattr(image, "is_animated", False))
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    width, height = image.size
    if (
        media_type is not None
        and not animated
        and orientation in (0, 1)
        and max(width, height) <= max_edge
        and len(data) <= max_bytes
    ):
        return PreparedImage(data, media_type, width, height, converted=False)
    try:
        return _convert(image, max_edge, max_bytes, animated)
    except (OSError, ValueError, SyntaxError):
        raise FileProblem(NOT_AN_IMAGE) from None
    except Image.DecompressionBombError:
        raise FileProblem(TOO_MANY_PIXELS) from None


def _convert(image: Image.Image, max_edge: int, max_bytes: int, animated: bool) -> PreparedImage:
    photo = image.format == "JPEG"
    if photo:
        image.draft("RGB", fits(image.size, max_edge))  # decode at a reduced scale: much faster
    image.seek(0)
    frame = ImageOps.exif_transpose(normal_mode(image))
    frame = frame.resize(fits(frame.size, max_edge), Image.Resampling.LANCZOS)
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
    """The first frame in a mode PNG and resizing handle well (RGB, RGBA, L or LA)."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return image.copy()
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
