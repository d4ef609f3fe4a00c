"""/api/v1/calls/{attempt_id}/recording and /api/v1/agents/{id}/day: recordings of earlier
calls for supervisors (issue 19). SUPERVISE: ops tokens and signed-in supervisors; viewer
and CRM tokens and agents' sessions get 403. The URL names an attempt, never a path: the
file is the one Asterisk reported for that attempt, looked up in ``[service]
recordings_dir`` (``dialer.recordings.files``). Each play (a GET without Range, or with a
range starting at byte 0) is written to the audit log as ``play_recording``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dialer.recordings.files import RecordingFiles, RecordingMissing, UnsafeRecordingName
from dialer.storage.audit import AuditEntry, SqlAuditLog
from dialer.storage.recordings import AttemptRecording, SqlRecordings
from dialer.web.api.errors import ApiError
from dialer.web.api.router import SUPERVISE, ApiRequest, Reply, Router
from dialer.web.recordings import RangeNotSatisfiable, Slice

ATTEMPT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")  # ids only: no / \ NUL %
AGENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
PLAY = "play_recording"
_RESPONSES = {
    "200": "the whole recording (audio/wav), Accept-Ranges: bytes",
    "206": "the byte range asked for, with Content-Range",
    "404": "unknown attempt, no recording, or its file is gone (deleted by retention)",
    "416": "the range starts past the end; Content-Range: bytes */size",
}


class RecordingsApi:
    router = Router()

    def __init__(
        self, recordings: SqlRecordings, files: RecordingFiles, audit: SqlAuditLog,
        clock: Callable[[], datetime], zone: str,
    ) -> None:  # fmt: skip
        self._recordings, self._files, self._audit = recordings, files, audit
        self._clock, self._zone = clock, ZoneInfo(zone)

    @router.route("GET", "/calls/{attempt_id}/recording", SUPERVISE,
                  "The recording of an earlier call, with HTTP range requests; each play "
                  "(no Range, or a range from byte 0) is written to the audit log",
                  responses=_RESPONSES)  # fmt: skip
    def play(self, request: ApiRequest) -> Reply:
        return self._serve(request, head=False)

    @router.route("HEAD", "/calls/{attempt_id}/recording", SUPERVISE,
                  "The recording's headers (size, type) without the body; not audited",
                  responses=_RESPONSES)  # fmt: skip
    def head(self, request: ApiRequest) -> Reply:
        return self._serve(request, head=True)

    @router.route("GET", "/agents/{id}/day", SUPERVISE,
                  "An agent's attempts of one day (the campaign's zone), oldest first, each "
                  "with its recording (null: none)",
                  query=(("date", "YYYY-MM-DD; default today"),))  # fmt: skip
    def agent_day(self, request: ApiRequest) -> Reply:
        agent = request.params["id"]
        if not AGENT_ID.fullmatch(agent):
            raise ApiError(400, "id: an agent id (letters, digits, _ . -; 1-64)", "id")
        day = self._day(request.query.get("date"))
        start = datetime.combine(day, time(), self._zone)
        end = datetime.combine(day + timedelta(days=1), time(), self._zone)
        attempts = self._recordings.agent_day(agent, start, end)
        return Reply({"agent": agent, "date": day.isoformat(), "attempts": attempts})

    def _serve(self, request: ApiRequest, *, head: bool) -> Reply:
        attempt = self._attempt(request.params["attempt_id"])
        path = self._file(attempt)
        range_header = request.headers.get("range")
        try:
            part = Slice.of(path, range_header)
        except RangeNotSatisfiable as exc:
            return Reply({"error": str(exc), "field": "Range"}, 416,
                         headers={"content-range": f"bytes */{exc.size}"})  # fmt: skip
        except OSError as exc:
            raise ApiError(404, "файл записи не найден", "attempt_id") from exc
        if not head and part.start == 0:
            self._audit.write(self._entry(request, attempt))
        status = 206 if part.partial else 200
        headers = part.headers()
        return Reply(part, status, headers.pop("content-type"), headers)

    def _attempt(self, attempt_id: str) -> AttemptRecording:
        if not ATTEMPT_ID.fullmatch(attempt_id) or ".." in attempt_id:
            raise ApiError(400, "attempt_id: an attempt id (letters, digits, _ . -), "
                                "never a path", "attempt_id")  # fmt: skip
        attempt = self._recordings.attempt(attempt_id)
        if attempt is None:
            raise ApiError(404, f"unknown attempt {attempt_id!r}", "attempt_id")
        return attempt

    def _file(self, attempt: AttemptRecording) -> Path:
        if attempt.recording is None:
            raise ApiError(404, "у этого звонка нет записи", "attempt_id")
        recorded_at = attempt.ended_at or attempt.started_at
        try:
            return self._files.locate(attempt.recording, recorded_at, self._clock())
        except UnsafeRecordingName as exc:
            raise ApiError(404, str(exc), "attempt_id") from exc
        except RecordingMissing as exc:
            raise ApiError(404, str(exc), "attempt_id") from exc

    def _entry(self, request: ApiRequest, attempt: AttemptRecording) -> AuditEntry:
        caller = request.caller
        return AuditEntry(self._clock(), caller.name, caller.kind, PLAY, "accepted",
                          attempt.attempt_id, attempt.order_id, attempt.agent)  # fmt: skip

    def _day(self, value: str | None) -> date:
        if value is None:
            return self._clock().astimezone(self._zone).date()
        try:
            if len(value) != 10:  # noqa: PLR2004 - YYYY-MM-DD
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise ApiError(400, f"date: expected YYYY-MM-DD, got {value[:40]!r}",
                           "date") from None  # fmt: skip
