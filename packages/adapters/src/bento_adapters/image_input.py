"""ImageInput and MultiImageInput: image files decoded with Pillow to numpy arrays (H, W, C)."""
from __future__ import annotations

import io
import threading
from typing import Any, Optional, Sequence

from bento.exceptions import BadInput, InvalidArgument
from bento.types import FileLike

from ._lazy import numpy, pil_image
from .file_input import FileInput, MultiFileInput
from .limits import check_limit, positive_limit
from .schemas import BINARY, form_files

__all__ = ["ImageInput", "MultiImageInput", "decode_image", "DEFAULT_IMAGE_FORMATS"]

# BentoML 0.13's default: the formats browsers and cameras produce.
DEFAULT_IMAGE_FORMATS = (".jpg", ".jpeg", ".png", ".tiff", ".webp", ".bmp")
# Decoded pixels per image: a 5000x5000 photo. Pillow's own bomb limit (89 Mpx) lets through a
# 344 KB PNG that takes a worker 12 s and 1.07 GB to decode. A decode peaks at about 10 bytes a
# pixel (RGBA decoded, converted to RGB, copied to an array): 242 MiB measured at 25 Mpx.
DEFAULT_MAX_PIXELS = 25_000_000
# Per API and worker process. Workers run on one CPU each (bento-server's cpu_affinity), where a
# second decode at once adds memory, not speed.
DEFAULT_MAX_CONCURRENT_DECODES = 1
PIL_MODES = ("1", "L", "P", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "F", "LA", "PA", "I;16")


class ImageInput(FileInput):
    """The API receives a numpy array per image, in `pilmode` (RGB: shape (H, W, 3)).

    `accept_image_formats` lists extensions with the dot (".png", ".jpg"); the decoded format
    is checked, not the client's filename or Content-Type. `max_pixels` (default 25,000,000) is
    checked from the image's header, before decoding: over it is a 413. At most
    `max_concurrent_decodes` (default 1) images are decoded at once per worker process; more wait.
    """

    BODY_TYPES = "image/*, application/octet-stream"

    def __init__(self, accept_image_formats: Optional[Sequence[str]] = None, pilmode: str = "RGB",
                 max_pixels: Optional[int] = None, max_concurrent_decodes: Optional[int] = None) -> None:
        if accept_image_formats is not None:
            if isinstance(accept_image_formats, str) or not all(
                    isinstance(f, str) and f.startswith(".") for f in accept_image_formats):
                raise InvalidArgument('accept_image_formats takes extensions with the dot, e.g. [".png", ".jpg"]')
            accept_image_formats = [f.lower() for f in accept_image_formats]
        if pilmode not in PIL_MODES:
            raise InvalidArgument(f"pilmode {pilmode!r} is not a Pillow mode ({', '.join(PIL_MODES)})")
        super().__init__(accept_image_formats=accept_image_formats, pilmode=pilmode, max_pixels=max_pixels,
                         max_concurrent_decodes=max_concurrent_decodes)
        self.accept_image_formats = tuple(accept_image_formats or DEFAULT_IMAGE_FORMATS)
        self.pilmode = pilmode
        self.max_pixels = positive_limit("ImageInput", "max_pixels", max_pixels, DEFAULT_MAX_PIXELS)
        self._decodes = threading.BoundedSemaphore(positive_limit(
            "ImageInput", "max_concurrent_decodes", max_concurrent_decodes, DEFAULT_MAX_CONCURRENT_DECODES))

    def request_schema(self) -> dict:
        return {"image/*": {"schema": dict(BINARY)}, **form_files(["image"])}

    def accepts_body_type(self, content_type: str) -> bool:
        return content_type.startswith("image/") or content_type in ("", "application/octet-stream")

    def from_file(self, file: FileLike) -> Any:
        return decode_image(file.bytes, self.accept_image_formats, self.pilmode, self.max_pixels, self._decodes)

    def coerce(self, value: Any) -> Any:
        """A numpy array (used as is), or what FileInput takes: FileLike, bytes, a path."""
        if isinstance(value, numpy().ndarray):
            return value
        return super().coerce(value)


class MultiImageInput(MultiFileInput):
    """Several images per request, one multipart field per name, each decoded as by ImageInput."""

    ITEM = ImageInput

    def __init__(self, input_names: Sequence[str], accept_image_formats: Optional[Sequence[str]] = None,
                 pilmode: str = "RGB", allow_none: bool = False, max_pixels: Optional[int] = None,
                 max_concurrent_decodes: Optional[int] = None) -> None:
        super().__init__(input_names, allow_none, accept_image_formats=accept_image_formats, pilmode=pilmode,
                         max_pixels=max_pixels, max_concurrent_decodes=max_concurrent_decodes)


def decode_image(data: bytes, accepted: Sequence[str], pilmode: str, max_pixels: int,
                 slots: threading.BoundedSemaphore) -> Any:
    """Decode to a numpy array, refusing formats not in `accepted`, truncated files and images
    larger than `PIL.Image.MAX_IMAGE_PIXELS` (Pillow's decompression-bomb limit) or `max_pixels`
    (a 413), both read from the header. The decode itself holds one of `slots`."""
    image = pil_image()
    try:
        img = image.open(io.BytesIO(data))
    except image.DecompressionBombError as e:
        raise BadInput(f"image rejected as a decompression bomb: {e}") from None
    except (OSError, SyntaxError, ValueError):  # UnidentifiedImageError is an OSError
        raise BadInput("not an image Pillow can read") from None
    with img:
        extensions = {ext for ext, fmt in image.registered_extensions().items() if fmt == img.format}
        if not extensions & set(accepted):
            shown = f".{img.format.lower()}" if f".{img.format.lower()}" in extensions else min(extensions, default="?")
            raise BadInput(f"image format {shown} not accepted (accepted: {', '.join(accepted)})")
        width, height = img.size
        limit = image.MAX_IMAGE_PIXELS
        if limit and width * height > limit:
            raise BadInput(f"image rejected as a decompression bomb: {width}x{height} pixels is over the limit "
                           f"of {limit} pixels (PIL.Image.MAX_IMAGE_PIXELS)")
        check_limit(f"image of {width}x{height} pixels", width * height, "ImageInput", "max_pixels", max_pixels)
        with slots:
            return _decoded(img, pilmode)


def _decoded(img: Any, pilmode: str) -> Any:
    """The pixels in `pilmode`, as a numpy array; the decoded image is let go once converted."""
    try:
        img.load()
        if img.mode != pilmode:
            converted = img.convert(pilmode)
            img.close()
            img = converted
        return numpy().array(img)
    except (OSError, SyntaxError, ValueError) as e:
        raise BadInput(f"image could not be decoded: {e}") from None
