"""Image checks and renditions with Pillow.

An upload must be a PNG, JPEG, GIF or WebP image whose bytes match the media
type it is declared as, at most MAX_BYTES and MAX_PIXELS (a decompression
bomb is refused before it is decoded). Renditions scale down to a width from
RENDITION_WIDTHS (never up) and convert to PNG, JPEG or WebP."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from svc_kit.errors import FieldViolation, InvalidArgument

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
RENDITION_TYPES = ("image/webp", "image/png", "image/jpeg")
RENDITION_WIDTHS = (160, 320, 480, 640, 800, 960, 1280, 1600, 1920, 2560)
STANDARD_WIDTHS = (320, 640, 1280)  # made at upload, in the original's type and as WebP
_BY_FORMAT = {v: k for k, v in FORMATS.items()}


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise Image.DecompressionBombError("too many pixels")
        return image


def inspect(data: bytes, declared: str, field: str = "data") -> tuple[str, int, int]:
    """(media type, width, height) of an upload, or InvalidArgument saying why it is refused."""
    if len(data) > MAX_BYTES:
        raise InvalidArgument(FieldViolation(field, f"{len(data) / 1048576:.1f} MiB; at most "
                                                    f"{MAX_BYTES // 1048576} MiB"))
    if not data:
        raise InvalidArgument(FieldViolation(field, "empty"))
    try:
        image = _open(data)
        image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidArgument(FieldViolation(field, f"more than {MAX_PIXELS:,} pixels")) from None
    except Exception:  # noqa: BLE001 - Pillow raises many types for bytes that are no image
        raise InvalidArgument(FieldViolation(field, "not an image: PNG, JPEG, GIF and WebP are accepted")) from None
    detected = _BY_FORMAT.get(image.format or "")
    if detected is None:
        raise InvalidArgument(FieldViolation(field, f"{image.format} images are not accepted; "
                                                    "PNG, JPEG, GIF and WebP are"))
    declared = declared.split(";")[0].strip().lower()
    if declared and declared != detected:
        raise InvalidArgument(FieldViolation("content_type", f"declared {declared} but the bytes are {detected}"))
    return detected, image.width, image.height


def rendition(data: bytes, width: int, content_type: str) -> tuple[bytes, int, int]:
    """The image scaled to `width` (never up) in `content_type`: (bytes, width, height)."""
    image = _open(data)
    image.seek(0)
    image = ImageOps.exif_transpose(image)
    if width and width < image.width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    target = FORMATS[content_type]
    if target == "JPEG":
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            background = Image.new("RGB", image.size, (255, 255, 255))
            background.paste(image, mask=image.split()[-1])
            image = background
        elif image.mode != "RGB":
            image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    out = io.BytesIO()
    options = {"JPEG": {"quality": 85, "optimize": True}, "WEBP": {"quality": 82, "method": 4},
               "PNG": {"optimize": True}}.get(target, {})
    image.save(out, target, **options)
    return out.getvalue(), image.width, image.height
