"""The inference log's write-ahead journal: answered predictions survive a SIGKILL.

An :class:`~podium.serving.log.writer.InferenceLogWriter` keeps records in memory for up to
its flush interval before it commits them. With a journal, each record's JSON line is
also appended to a file (one ``write`` system call, no ``fsync``: what the kernel holds
survives the process being killed; only a machine crash can lose it) before the answer
leaves the server. A flush *seals* the journal's open segment and deletes the sealed
segments once everything they hold is committed, so a journal holds at most about one
flush interval of records.

Each journal is a folder of its own under a root (``PODIUM_HOME/journal/...``), holding an
``owner.lock`` file that its process keeps locked (``flock``) while it lives. The kernel
drops that lock when the process dies, however it dies, so a folder whose lock can be
taken belongs to a dead process: an *orphan*. :func:`adopt_orphans` takes each orphan
(holding its lock, so two successors never replay one journal), hands its records to the
caller and removes it once the caller has committed them. Segments are written with mode
0600, as the lake's files, since records hold the features of real requests.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["InferenceJournal", "adopt_orphans"]

_log = logging.getLogger(__name__)
_LOCK = "owner.lock"
_SUFFIX = ".jsonl"


class InferenceJournal:
    """The write-ahead file of one inference-log writer, in a new folder under ``root``.

    :meth:`append` is called on the request path (under the writer's lock); :meth:`seal`
    and :meth:`discard` by the writer's flush. A failed write (a full disk, say) is
    counted in ``errors`` and never fails the prediction: that record is then only in
    memory, as without a journal.
    """

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.folder = root / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.folder.mkdir(mode=0o700)
        self._owner = os.open(self.folder / _LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._sequence = 0
        self._sealed: list[Path] = []
        self._lock = threading.Lock()
        self._segment, self._fd = self._open_segment()
        self.errors = 0
        """Records that could not be written to the journal (kept in memory only)."""

    def append(self, line: bytes) -> None:
        """Append one record's JSON line (ending in a newline) to the open segment."""
        try:
            written = os.write(self._fd, line)
        except OSError:
            self.errors += 1
            return
        if written != len(line):  # a short write: only on a full disk
            self.errors += 1
            with contextlib.suppress(OSError):
                os.write(self._fd, b"\n")  # end the torn line; the reader skips it

    def seal(self) -> list[Path]:
        """Close the open segment and start a new one; every sealed, undiscarded segment.

        The caller must hold the lock that orders appends, so that the records of the
        returned segments are exactly the records it is about to commit.
        """
        with self._lock:
            os.close(self._fd)
            self._sealed.append(self._segment)
            self._segment, self._fd = self._open_segment()
            return list(self._sealed)

    def discard(self, segments: list[Path]) -> None:
        """Delete ``segments``: everything they hold is committed."""
        with self._lock:
            for segment in segments:
                with contextlib.suppress(FileNotFoundError):
                    segment.unlink()
                if segment in self._sealed:
                    self._sealed.remove(segment)

    def close(self, *, committed: bool) -> None:
        """Stop journaling. With ``committed`` (every record is in the log) the folder is
        removed; otherwise it stays, and the next process adopts it as an orphan."""
        with self._lock:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            if committed:
                shutil.rmtree(self.folder, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.close(self._owner)  # releases the lock

    def _open_segment(self) -> tuple[Path, int]:
        self._sequence += 1
        segment = self.folder / f"{self._sequence:08d}{_SUFFIX}"
        flags = os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_EXCL
        return segment, os.open(segment, flags, 0o600)


def adopt_orphans(root: Path, replay: Callable[[bytes], object]) -> int:
    """Replay the journals under ``root`` whose process is dead; the records replayed.

    ``replay`` gets an orphan's records as JSON lines (complete lines only, in the order
    they were written) and must commit them, skipping any already committed; the orphan
    is removed after it returns. When it raises, the orphan stays for the next attempt.
    """
    replayed = 0
    if not root.is_dir():
        return 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        with _adopted(folder) as lines:
            if lines is None:
                continue
            if lines:
                replay(lines)
            replayed += lines.count(b"\n")
            shutil.rmtree(folder, ignore_errors=True)
    return replayed


@contextlib.contextmanager
def _adopted(folder: Path) -> Iterator[bytes | None]:
    """An orphan's complete lines, its lock held; ``None`` when its owner lives (or the
    folder is gone: another process adopted it first)."""
    try:
        fd = os.open(folder / _LOCK, os.O_RDWR)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None  # its process is alive
            return
        if not (folder / _LOCK).exists():
            yield None  # adopted and removed while we waited
            return
        yield b"".join(_complete_lines(segment) for segment in sorted(folder.glob(f"*{_SUFFIX}")))
    finally:
        os.close(fd)


def _complete_lines(segment: Path) -> bytes:
    data = segment.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        _log.warning("skipping a torn record at the end of %s", segment)
    return data[:end]
