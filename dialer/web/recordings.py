"""Sending a recording over HTTP: the one byte range asked for, the headers of a 200 or 206,
and the file streamed in chunks as the connection takes them (never read whole). Shared by
RetailCRM's signed record links and the supervisors' ``/api/v1/calls/{attempt}/recording``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from twisted.web.server import NOT_DONE_YET

PARTIAL, UNSATISFIABLE = 206, 416
CHUNK = 64 * 1024
_RANGE = re.compile(r"bytes=(\d{0,15})-(\d{0,15})")
_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".gsm": "audio/gsm"}


class RangeNotSatisfiable(Exception):
    """The range starts past the end of the file (answer 416 with ``bytes */size``)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"range not satisfiable: the recording has {size} bytes")
        self.size = size


def parse_range(header: str | None, size: int) -> tuple[int, int]:
    """The one byte range asked for (``bytes=a-b``, ``a-``, ``-n``) within ``size``, as
    inclusive (start, end); the whole file without a header, for several ranges or a
    malformed one (a server may ignore Range). RangeNotSatisfiable past the end."""
    whole = (0, size - 1)
    match = None if header is None else _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return whole
    first, last = match.group(1), match.group(2)
    if first == "":
        start, end = max(0, size - int(last)), size - 1
        if int(last) == 0:
            raise RangeNotSatisfiable(size)
    else:
        start = int(first)
        end = min(size - 1, int(last)) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(size)
    return start, end


def content_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower(), "application/octet-stream")


@dataclass(frozen=True, slots=True)
class Slice:
    """The part of a file to send: bytes ``start..end`` (inclusive) of ``size``."""

    path: Path
    start: int
    end: int
    size: int

    @classmethod
    def of(cls, path: Path, range_header: str | None) -> Slice:
        """The slice ``range_header`` asks for; RangeNotSatisfiable, OSError."""
        size = path.stat().st_size
        start, end = parse_range(range_header, size)
        return cls(path, start, end, size)

    @property
    def partial(self) -> bool:
        return self.size > 0 and (self.start, self.end) != (0, self.size - 1)

    @property
    def length(self) -> int:
        return max(0, self.end - self.start + 1)

    def headers(self) -> dict[str, str]:
        """Content type, length, Accept-Ranges and (for a 206) Content-Range."""
        sent = {
            "content-type": content_type(self.path),
            "accept-ranges": "bytes",
            "content-length": str(self.length),
            "x-content-type-options": "nosniff",
        }
        if self.partial:
            sent["content-range"] = f"bytes {self.start}-{self.end}/{self.size}"
        return sent

    def send(self, request: Any) -> Any:
        """Streams the slice to ``request`` (HEAD: nothing); returns what render returns."""
        if request.method == b"HEAD" or self.length == 0:
            return b""
        file = self.path.open("rb")
        file.seek(self.start)
        _FileProducer(request, file, self.length).start()
        return NOT_DONE_YET


class _FileProducer:
    """A push producer (``IPushProducer``'s three methods): writes the file in chunks while
    the connection is not paused, then finishes the request; closes the file either way."""

    def __init__(self, request: Any, file: IO[bytes], length: int) -> None:
        self._request, self._file, self._left = request, file, length
        self._paused = self._done = False

    def start(self) -> None:
        self._request.notifyFinish().addErrback(lambda _: self._close())
        self._request.registerProducer(self, True)
        self.resumeProducing()

    def resumeProducing(self) -> None:
        self._paused = False
        while not self._paused and not self._done:
            chunk = self._file.read(min(CHUNK, self._left))
            self._left -= len(chunk)
            if not chunk or self._left <= 0:
                self._finish(chunk)
                return
            self._request.write(chunk)

    def pauseProducing(self) -> None:
        self._paused = True

    def stopProducing(self) -> None:
        self._close()

    def _finish(self, last: bytes) -> None:
        self._close()
        if last:
            self._request.write(last)
        self._request.unregisterProducer()
        self._request.finish()

    def _close(self) -> None:
        self._done = True
        self._file.close()
