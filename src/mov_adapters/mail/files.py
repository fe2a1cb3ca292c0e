"""File mailer: every message becomes an `.eml` file that any mail client opens (the embedded
default, when no SMTP server is configured)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Final

from mov_adapters.clock import SystemClock
from mov_adapters.mail.message import WIRE_POLICY, check_from_address, to_email
from mov_core.ports.clock import Clock
from mov_core.ports.errors import Unavailable
from mov_core.ports.infra import MailMessage

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9.-]+")
_SLUG_MAX: Final = 80
INDEX: Final = ".by-id"


class FileMailer:
    """`Mailer` port writing `<folder>/<UTC time>_<message id slug>.eml`, in CRLF form (RFC 5322).

    A message sent again with the same Message-ID replaces the file it wrote first (keeping
    that file's name), so retries never pile up copies. Each file is written whole to a
    temporary file and renamed into place: a reader never sees half a message.

    Which file holds a Message-ID is kept in `<folder>/.by-id/<slug>`, a symbolic link to it,
    so finding it costs one lookup however many messages the folder holds (a scan per message
    made the folder's thousandth message cost a thousand comparisons). A folder written before
    the index existed is indexed once, on the first message.
    """

    def __init__(self, folder: Path, from_address: str, *, clock: Clock | None = None) -> None:
        self.folder = Path(folder)
        self.from_address = check_from_address(from_address)
        self._clock = clock if clock is not None else SystemClock()

    def __repr__(self) -> str:
        return f"FileMailer({str(self.folder)!r}, from_address={self.from_address!r})"

    async def send(self, message: MailMessage) -> None:
        """Write the message (creating the folder). Raises `Unavailable` when it cannot."""
        now = self._clock.now()
        data = to_email(message, self.from_address, date=now).as_bytes(policy=WIRE_POLICY)
        key = slug(message.message_id)
        try:
            await asyncio.to_thread(self._write, key, f"{now:%Y%m%dT%H%M%SZ}_{key}.eml", data)
        except OSError as exc:
            raise Unavailable(f"cannot write mail to {self.folder}: {_reason(exc)}") from exc

    async def ping(self) -> None:
        """Raises `Unavailable` unless a file can be created in the folder."""
        try:
            await asyncio.to_thread(self._probe)
        except OSError as exc:
            raise Unavailable(f"cannot write mail to {self.folder}: {_reason(exc)}") from exc

    def path_for(self, message_id: str) -> Path | None:
        """The file holding the message with this Message-ID, if one was written."""
        return self._existing(slug(message_id))

    def _existing(self, key: str) -> Path | None:
        index = self.folder / INDEX
        if not index.is_dir():
            # Slugs have no "_", so the one after the time stamp starts the key: exact.
            return next(iter(sorted(self.folder.glob(f"*_{key}.eml"))), None)
        try:
            found = self.folder / (index / key).readlink().name
        except OSError:
            return None
        return found if found.exists() else None

    def _index(self) -> Path:
        """The index folder, made (and filled from the files already there) if missing."""
        index = self.folder / INDEX
        if not index.is_dir():
            staging = Path(tempfile.mkdtemp(dir=self.folder, prefix=".index-"))
            for path in sorted(self.folder.glob("*_*.eml"), reverse=True):  # oldest wins
                key = path.name.split("_", 1)[1].removesuffix(".eml")
                (staging / key).unlink(missing_ok=True)
                (staging / key).symlink_to(Path("..") / path.name)
            try:
                staging.rename(index)
            except OSError:  # another process made it meanwhile
                shutil.rmtree(staging, ignore_errors=True)
        return index

    def _write(self, key: str, name: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        index = self._index()
        target = self._existing(key) or self.folder / name
        descriptor, name_of_temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        temporary = Path(name_of_temporary)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        if target.name == name:  # a new message: index it
            link = index / f".{key}.{os.getpid()}.tmp"
            link.unlink(missing_ok=True)
            link.symlink_to(Path("..") / name)
            link.replace(index / key)

    def _probe(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".ping")
        os.close(descriptor)
        Path(temporary).unlink()


def slug(message_id: str) -> str:
    """A file-name-safe, collision-proof stand-in for a Message-ID: its readable characters,
    then a short hash of the whole (two ids that read alike still get different files)."""
    readable = _UNSAFE.sub("-", message_id).strip("-.")[:_SLUG_MAX] or "message"
    digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:12]
    return f"{readable}-{digest}"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
