"""Real files made on the spot for tests: screenshots, photos, GIFs, BMPs (Pillow) and PDFs
(Pillow draws the pages, pypdf writes blank or encrypted ones)."""

from __future__ import annotations

import io
import zipfile

from PIL import Image, ImageDraw
from pypdf import PdfWriter
from pypdf.generic import NameObject, NumberObject


def screenshot(width: int = 640, height: int = 400, *, mode: str = "RGB") -> Image.Image:
    """A screenshot-like image: flat colours, a title bar, some 'text' lines."""
    image = Image.new(mode, (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, max(1, height // 10)), fill=(40, 90, 200))
    for row in range(3, 9):
        y = row * height // 12
        draw.line((width // 20, y, width * (row + 8) // 20, y), fill=(30, 30, 30), width=3)
    return image


def encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    """The image saved in a format."""
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def png(width: int = 640, height: int = 400) -> bytes:
    """A PNG screenshot."""
    return encoded(screenshot(width, height), "PNG")


def photo_jpeg(width: int = 6000, height: int = 4000, *, orientation: int | None = None) -> bytes:
    """A large JPEG 'photo' (a gradient with shapes), optionally with an EXIF orientation."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 4, height // 4, width // 2, height // 2), fill=(200, 40, 40))
    options: dict[str, object] = {"quality": 85}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif
    return encoded(image, "JPEG", **options)


def animated_gif(frames: int = 3, size: tuple[int, int] = (120, 80)) -> bytes:
    """An animated GIF whose frames differ in colour."""
    colours = [(255, 0, 0), (0, 160, 0), (0, 0, 255), (200, 200, 0)]
    images = [Image.new("RGB", size, colours[i % len(colours)]) for i in range(frames)]
    return encoded(images[0], "GIF", save_all=True, append_images=images[1:], duration=200, loop=0)


def bmp(width: int = 300, height: int = 200) -> bytes:
    """A BMP screenshot (a format the API does not take)."""
    return encoded(screenshot(width, height), "BMP")


def pdf(pages: int = 3) -> bytes:
    """A PDF whose pages are drawn by Pillow (each shows its number as bars)."""
    images = [screenshot(420, 595) for _ in range(pages)]
    for number, image in enumerate(images, start=1):
        draw = ImageDraw.Draw(image)
        for bar in range(number):
            draw.rectangle((20 + bar * 30, 500, 40 + bar * 30, 560), fill="black")
    return encoded(images[0], "PDF", save_all=True, append_images=images[1:], resolution=72.0)


def blank_pdf(pages: int, *, password: str | None = None, declared: int | None = None) -> bytes:
    """A PDF of blank pages written by pypdf, optionally encrypted, or with a page tree whose
    /Count declares `declared` pages whatever it holds."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if declared is not None:
        tree = writer.root_object["/Pages"].get_object()
        tree[NameObject("/Count")] = NumberObject(declared)
    if password is not None:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_archive() -> bytes:
    """A small ZIP archive."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return out.getvalue()


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    """Mode, size and raw RGBA pixels of an encoded image, for comparing images."""
    with Image.open(io.BytesIO(data)) as image:
        rgba = image.convert("RGBA")
        return image.format or "", rgba.size, rgba.tobytes()
