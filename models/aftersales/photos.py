"""After-sale photos: at most 9 per after-sale, JPEG, PNG or WebP of at most 5 MB.

Each is decoded and re-encoded from its pixels alone (turned upright first), so nothing
the camera wrote — EXIF with GPS position and serial numbers, XMP, comments, ICC — is
kept, and a file that only claims to be an image is refused. The file goes under
AFTERSALE_PHOTO_DIR with a random name (never under static files: nothing serves that
directory), and is shown only through a signed link that expires after
AFTERSALE_PHOTO_URL_TTL_S (itsdangerous, keyed by SECRET_KEY with a salt of its own)."""
from __future__ import annotations

import io
import os
import secrets
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from app.config import INSTANCE_DIR
from app.extensions import db
from models.aftersales import locks
from models.aftersales.requests import owned
from models.aftersales.errors import PhotoLinkInvalid, PhotoRejected, TooManyPhotos
from models.aftersales.tables import AfterSale, AfterSalePhoto

MAX_PHOTOS = 9
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 5 MB file can decode to gigabytes (a "decompression bomb")
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
_SALT = "aftersale-photo-v1"


def directory() -> Path:
    return Path(current_app.config.get("AFTERSALE_PHOTO_DIR") or INSTANCE_DIR / "aftersale-photos")


def clean(data: bytes) -> tuple[bytes, str, str, int, int]:
    """(re-encoded bytes, content type, extension, width, height) of an uploaded image;
    PhotoRejected for anything else."""
    if not data or len(data) > MAX_BYTES:
        raise PhotoRejected(details={"bytes": len(data), "max_bytes": MAX_BYTES})
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in FORMATS or img.width * img.height > MAX_PIXELS:
                raise PhotoRejected(details={"format": img.format})
            img.load()
            upright = ImageOps.exif_transpose(img)
            fmt = img.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise PhotoRejected() from None
    # A new image from the pixels only: no info, EXIF, ICC or text chunks travel with it.
    mode = "RGBA" if fmt != "JPEG" and upright.mode in ("RGBA", "LA", "P") else "RGB"
    pixels = upright.convert(mode)
    bare = Image.new(mode, pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    if fmt == "JPEG":
        bare.save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "PNG":
        bare.save(out, "PNG", optimize=True)
    else:
        bare.save(out, "WEBP", quality=85)
    content_type, ext = FORMATS[fmt]
    return out.getvalue(), content_type, ext, bare.width, bare.height


def add(user_id: int, after_sale_no: str, data: bytes) -> AfterSalePhoto:
    """One more photo on the shopper's after-sale (counted under the locks, so ten sent at
    once still make nine)."""
    body, content_type, ext, width, height = clean(data)
    order, sale = locks.locked(owned(user_id, after_sale_no))
    count = db.session.scalar(select(func.count()).select_from(AfterSalePhoto)
                              .where(AfterSalePhoto.after_sale_id == sale.id))
    if count >= MAX_PHOTOS:
        raise TooManyPhotos(details={"max": MAX_PHOTOS})
    name = secrets.token_hex(16) + ext
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written before the row: a rolled-back request leaves an unreferenced file, never a
    # row without its file.
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    photo = AfterSalePhoto(after_sale_id=sale.id, file_name=name, content_type=content_type, size=len(body),
                           width=width, height=height)
    db.session.add(photo)
    db.session.flush()
    return photo


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def link(sale: AfterSale, photo_id: int) -> dict:
    """A short-lived link to one photo of an after-sale the caller may read."""
    photo = db.session.get(AfterSalePhoto, photo_id)
    if photo is None or photo.after_sale_id != sale.id:
        raise locks.AfterSaleNotFound("No such photo.", details={"photo_id": photo_id})
    ttl = current_app.config["AFTERSALE_PHOTO_URL_TTL_S"]
    return {"url": f"/api/aftersales/photos/{_serializer().dumps(photo.id)}", "expires_in_s": ttl}


def open_link(token: str) -> tuple[Path, str]:
    """(file, content type) of a link still valid; PhotoLinkInvalid otherwise."""
    try:
        photo_id = _serializer().loads(token, max_age=current_app.config["AFTERSALE_PHOTO_URL_TTL_S"])
    except (SignatureExpired, BadSignature):
        raise PhotoLinkInvalid() from None
    photo = db.session.get(AfterSalePhoto, photo_id) if isinstance(photo_id, int) else None
    if photo is None:
        raise PhotoLinkInvalid()
    return directory() / photo.file_name, photo.content_type
