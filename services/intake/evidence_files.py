"""What an evidence file may be, and what is kept of it.

- Its type is read from its first bytes (JPEG, PNG or PDF); the declared content type and name are not trusted.
- A file that carries a web page or script where a browser or viewer would find it (in its first or last
  KBs, or in an image's text chunks, comment or EXIF) is refused: a PNG/HTML polyglot is not evidence.
- A photo is decoded and re-encoded before it is stored: the orientation the camera recorded is applied to
  the pixels, and everything else it carried (EXIF with the GPS position, camera and time, XMP, comments,
  text chunks, trailing bytes) is dropped. The original is not kept, not even for the tourist: nobody,
  the tourist included, downloads a photo with its location in it. Only the colour profile is kept.
  A JPEG larger than `max_pixels` is decoded at 1/2, 1/4 or 1/8 scale (cheap: libjpeg scales while it
  decodes); a PNG that large is refused.
- A PDF is stored as it came (it is served as an attachment, with nosniff, and never rendered here).

CPU-bound: call `clean_evidence` in a worker thread.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from services.intake.errors import EvidenceContainsMarkup, EvidenceUnreadable, ImageTooLarge, UnsupportedEvidenceType
from shared.errors import Problem

# The first bytes of each accepted type, with the Pillow formats that decode it and its file extension.
_SIGNATURES: tuple[tuple[bytes, str, tuple[str, ...], str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", ("JPEG", "MPO"), "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ("PNG",), "png"),
    (b"%PDF-", "application/pdf", (), "pdf"),
)
EXTENSIONS = {content_type: extension for _, content_type, _, extension in _SIGNATURES}

# Markup a browser would run or render if it ever took the file for HTML or SVG.
_MARKUP = re.compile(
    rb"(?i)<(?:!doctype|(?:html|head|body|script|svg|iframe|frame|object|embed|img|meta|style|link"
    rb"|base|form)[\s/>])"
)
_WINDOW = 4096  # where browsers and viewers look for what a file is: its start, and what is appended at its end
_NO_SCALE = 1


@dataclass(frozen=True)
class EvidenceFile:
    """What is stored: the file's real type and the bytes that anyone allowed may download."""

    content_type: str
    content: bytes


def sniff_content_type(head: bytes) -> str:
    for signature, content_type, _, _ in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    raise UnsupportedEvidenceType("Evidence must be a JPEG, PNG or PDF file.")


def _refuse_markup(*texts: Any) -> None:
    for text in texts:
        data = text.encode("utf-8", "replace") if isinstance(text, str) else text
        if isinstance(data, bytes) and _MARKUP.search(data):
            raise EvidenceContainsMarkup(
                "This file carries a web page or script besides its picture or document, so it cannot be "
                "accepted as evidence. Send the photo or PDF itself (a screenshot of it will do)."
            )


def clean_evidence(content: bytes, max_pixels: int) -> EvidenceFile:
    """The file as it will be stored, or a 4xx problem saying why it cannot be evidence."""
    content_type = sniff_content_type(content[:16])
    _refuse_markup(content[:_WINDOW], content[-_WINDOW:])
    formats = next(f for _, t, f, _ in _SIGNATURES if t == content_type)
    if not formats:
        return EvidenceFile(content_type, content)
    try:
        return EvidenceFile(content_type, _reencoded(content, formats, max_pixels))
    except Problem:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, EOFError... for a broken file
        raise EvidenceUnreadable(
            "The picture could not be read: it may be damaged or cut short. Send it again, or a screenshot of it."
        ) from exc


def _reencoded(content: bytes, formats: tuple[str, ...], max_pixels: int) -> bytes:
    try:
        image = Image.open(io.BytesIO(content), formats=list(formats))
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"Pictures are limited to {max_pixels // 1_000_000} megapixels.") from exc
    with image:
        width, height = image.size
        scale = next((s for s in (_NO_SCALE, 2, 4, 8) if (width // s) * (height // s) <= max_pixels), None)
        if scale is None or (scale > _NO_SCALE and image.format == "PNG"):
            raise ImageTooLarge(
                f"Pictures are limited to {max_pixels // 1_000_000} megapixels; "
                f"this one has {width * height // 1_000_000}. Send a smaller copy."
            )
        if scale > _NO_SCALE:
            image.draft(image.mode, (-(-width // scale), -(-height // scale)))
        image.load()
        _refuse_markup(*image.info.values(), *getattr(image, "text", {}).values())
        kept = {key: image.info[key] for key in ("icc_profile", "transparency") if key in image.info}
        ImageOps.exif_transpose(image, in_place=True)
        image.info = {}  # nothing left for a saver to copy (a JPEG's comment, the rest of the EXIF)
        out = io.BytesIO()
        if image.format == "PNG":
            image.save(out, "PNG", **kept)
        else:
            upright = image if image.mode in ("RGB", "L", "CMYK") else image.convert("RGB")
            upright.save(out, "JPEG", quality=90, icc_profile=kept.get("icc_profile"))
        return out.getvalue()
