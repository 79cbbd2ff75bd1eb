"""An export's file at rest: encrypted chunks in the database (see models/exports/__init__.py
for why not the disk). Written as it is made, read back a chunk at a time: memory holds
one chunk, whatever the file's size."""
from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from sqlalchemy import delete, insert, select

from app.crypto import cipher
from app.extensions import db
from models.exports.tables import ExportChunk

CHUNK_BYTES = 1 << 20  # 1 MiB a row: well under MariaDB's max_allowed_packet (16 MiB by default)
CHUNKS = ExportChunk.__table__


def _aad(export_id: int, staff_id: int, seq: int) -> bytes:
    """What a chunk is bound to: copied to another job, staff member or place, it does not decrypt."""
    return f"export_chunks:{export_id}:staff:{staff_id}:seq:{seq}".encode()


class ChunkSink:
    """A write-only binary file whose bytes go to the job's chunks, CHUNK_BYTES at a time,
    in the caller's open transaction (committed with the run's next progress)."""

    def __init__(self, export_id: int, staff_id: int):
        self.export_id, self.staff_id = export_id, staff_id
        self.buffer = bytearray()
        self.chunks = 0
        self.size = 0

    def write(self, data) -> int:
        self.buffer += data
        self.size += len(data)
        while len(self.buffer) >= CHUNK_BYTES:
            self._store(bytes(self.buffer[:CHUNK_BYTES]))
            del self.buffer[:CHUNK_BYTES]
        return len(data)

    def copy_from(self, source: BinaryIO) -> None:
        while block := source.read(CHUNK_BYTES):
            self.write(block)

    def close(self) -> None:
        if self.buffer:
            self._store(bytes(self.buffer))
            self.buffer.clear()

    def _store(self, data: bytes) -> None:
        seq = self.chunks
        db.session.execute(insert(CHUNKS).values(
            export_id=self.export_id, seq=seq,
            data=cipher().seal(data, aad=_aad(self.export_id, self.staff_id, seq))))
        self.chunks += 1


def read(export_id: int, staff_id: int, chunks: int) -> Iterator[bytes]:
    """The file, a chunk at a time (each read by the primary key)."""
    for seq in range(chunks):
        blob = db.session.scalar(select(CHUNKS.c.data).where(CHUNKS.c.export_id == export_id, CHUNKS.c.seq == seq))
        if blob is None:
            raise LookupError(f"export {export_id}: chunk {seq} is missing")
        yield cipher().unseal(blob, aad=_aad(export_id, staff_id, seq))


def drop(export_id: int) -> int:
    return db.session.execute(delete(CHUNKS).where(CHUNKS.c.export_id == export_id)).rowcount
