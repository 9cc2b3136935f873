"""Read a Fitbit account export or a Google Takeout archive in place, as a zip or as a folder.

Why a reader of its own: the archive layouts differ between generations (``MyFitbitData/<Name>/Sleep/…``,
``Takeout/Fitbit/Global Export Data/…``, ``Takeout/Google Health/…``), so files are found by *name pattern*, never
by a fixed path. A zip is read member by member with :mod:`zipfile` (one member in memory at a time); nothing is
ever extracted to disk. The sleep files are JSON arrays that are parsed record by record, so a truncated or corrupt
file still yields the records before the damage, and the damage is reported instead of aborting the import.

Memory stays flat whatever the archive holds: members are read as streams (``Archive.open``) whose inflation is capped
(``MAX_MEMBER_BYTES`` absolute, ``MAX_INFLATION_RATIO`` once past ``RATIO_FLOOR_BYTES``; a zip's headers can lie, so
the bytes are counted as they come), sleep files are parsed incrementally with ``ijson`` with a nesting limit
(``MAX_DEPTH``) and a record limit (``MAX_RECORDS_PER_FILE``; a real file covers ~30 days). A member over a limit
is one :class:`MemberTooLarge` / :class:`JsonArrayError` naming the file, and the rest of the archive imports.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

import ijson

from pipeline.errors import ArchiveError

# `sleep-2024-03-01.json` anywhere in the tree; the date in the name is only a hint (records may not match it).
SLEEP_FILE_RE = re.compile(r"(?:^|/)sleep-(\d{4}-\d{2}-\d{2})\.json$", re.IGNORECASE)
SCORE_FILE_NAME = "sleep_score.csv"
PROFILE_FILE_NAMES = ("profile.csv", "profile.json", "user-profile.json")
# The Google-era sleep CSVs (UserSleeps_, UserSleepStages_, UserSleepScores_), read by pipeline.sources.takeout_csv.
GOOGLE_SLEEP_CSV_RE = re.compile(r"(?:^|/)UserSleep[A-Za-z]*_[^/]*\.csv$", re.IGNORECASE)
_DATE_OF_SLEEP_RE = re.compile(rb'"dateOfSleep"\s*:\s*"(\d{4}-\d{2}-\d{2})"')


# A month of dense stages logs is ~2 MB of JSON and compresses ~10:1; these are far past any real file.
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_INFLATION_RATIO = 100
RATIO_FLOOR_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_RECORDS_PER_FILE = 5_000
_CHUNK = 1024 * 1024


class UnreadableMember(Exception):
    """One member of the archive cannot be read (bad CRC, truncated data, unsupported compression)."""


class MemberTooLarge(UnreadableMember):
    """A member inflates past ``MAX_MEMBER_BYTES`` or ``MAX_INFLATION_RATIO`` (a zip bomb, or not a Fitbit file)."""


class CappedStream(io.RawIOBase):
    """A read-only stream over ``raw`` that raises :class:`MemberTooLarge` once too much has come out of it."""

    def __init__(self, raw: IO[bytes], compressed_size: int | None) -> None:
        self._raw = raw
        self._compressed = compressed_size
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        self.count += len(data)
        if self.count > MAX_MEMBER_BYTES:
            raise MemberTooLarge(
                f"inflates past {MAX_MEMBER_BYTES // 2**20} MB (the import's limit per file)"
            )
        if (
            self._compressed
            and self.count > RATIO_FLOOR_BYTES
            and self.count > self._compressed * MAX_INFLATION_RATIO
        ):
            raise MemberTooLarge(
                f"inflates more than {MAX_INFLATION_RATIO}x ({self._compressed} bytes in the zip; a zip bomb?)"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


@dataclass(frozen=True)
class Member:
    """One file inside the archive: its POSIX path relative to the archive root, size and modification time."""

    name: str
    size: int
    modified: datetime  # UTC; zip timestamps carry no zone and are taken as UTC

    @property
    def basename(self) -> str:
        return PurePosixPath(self.name).name


class Archive:
    """A zip or a folder seen as a sorted list of members that can be read one at a time."""

    def __init__(self, path: Path, members: list[Member]) -> None:
        self.path = path
        self.members = sorted(members, key=lambda m: m.name)

    def open(self, member: Member) -> BinaryIO:  # pragma: no cover - overridden
        """The member as a capped binary stream (see the module docstring); close it after use."""
        raise NotImplementedError

    def read(self, member: Member) -> bytes:
        """The whole member (small files: CSVs, profiles), under the same caps as ``open``."""
        try:
            with self.open(member) as handle:
                return handle.read()
        except UnreadableMember:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
            raise UnreadableMember(f"cannot be read ({exc})") from None

    def close(self) -> None:
        """Release the file handle (a folder holds none)."""

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ZipArchive(Archive):
    def __init__(self, path: Path) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise ArchiveError(
                f"{path.name} is not a readable zip archive ({exc}). If the download was interrupted, download the "
                "archive again; if you unzipped it already, pass the unzipped folder instead."
            ) from None
        members = [
            Member(info.filename, info.file_size, datetime(*info.date_time, tzinfo=UTC))
            for info in self._zip.infolist()
            if not info.is_dir() and _is_content(info.filename)
        ]
        super().__init__(path, members)

    def open(self, member: Member) -> BinaryIO:
        try:
            info = self._zip.getinfo(member.name)
            if (
                info.file_size > MAX_MEMBER_BYTES
            ):  # the header already says so; the stream would find out anyway
                raise MemberTooLarge(
                    f"inflates to {info.file_size // 2**20} MB, past the import's limit of "
                    f"{MAX_MEMBER_BYTES // 2**20} MB per file"
                )
            raw = self._zip.open(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError, KeyError) as exc:
            raise UnreadableMember(f"cannot be read from the zip ({exc})") from None
        return _buffered(CappedStream(raw, info.compress_size))

    def close(self) -> None:
        self._zip.close()


class FolderArchive(Archive):
    def __init__(self, path: Path) -> None:
        members: list[Member] = []
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for filename in filenames:
                full = Path(dirpath) / filename
                rel = full.relative_to(path).as_posix()
                if not _is_content(rel):
                    continue
                stat = full.stat()
                members.append(Member(rel, stat.st_size, datetime.fromtimestamp(int(stat.st_mtime), tz=UTC)))
        super().__init__(path, members)

    def open(self, member: Member) -> BinaryIO:
        try:
            raw = (self.path / member.name).open("rb")
        except OSError as exc:
            raise UnreadableMember(f"cannot be read ({exc.strerror})") from None
        return _buffered(CappedStream(raw, None))


def _buffered(stream: CappedStream) -> BinaryIO:
    return io.BufferedReader(stream, buffer_size=_CHUNK)  # type: ignore[return-value]


def _is_content(name: str) -> bool:
    """Skip macOS resource forks and Finder litter that zip tools add next to real files."""
    parts = PurePosixPath(name).parts
    return not (any(p == "__MACOSX" for p in parts) or parts[-1].startswith("._") or parts[-1] == ".DS_Store")


def open_archive(path: Path) -> Archive:
    """Open PATH as a zip (any file) or a folder; raise :class:`ArchiveError` with what to do otherwise."""
    if path.is_dir():
        return FolderArchive(path)
    if path.is_file():
        return ZipArchive(path)
    raise ArchiveError(
        f"{path} does not exist. Pass the MyFitbitData.zip / Takeout zip you downloaded, or its unzipped folder."
    )


@dataclass(frozen=True)
class ArchiveContents:
    """The members this importer uses, found by pattern, and what they say about the archive."""

    sleep_files: list[Member]
    score_files: list[Member]
    profile_files: list[Member]
    layout: str
    exported_at: datetime  # newest sleep/score member time: a deterministic stand-in for "fetched at"
    csv_files: list[Member] = field(
        default_factory=list
    )  # the Google-era UserSleep*.csv (takeout_csv reads them)


def discover(archive: Archive) -> ArchiveContents:
    """Find the sleep JSON files, the Google-era sleep CSVs, ``sleep_score.csv`` and the profile, in any layout."""
    sleep = [m for m in archive.members if SLEEP_FILE_RE.search(m.name)]
    google = [m for m in archive.members if GOOGLE_SLEEP_CSV_RE.search(m.name)]
    scores = [m for m in archive.members if m.basename.lower() == SCORE_FILE_NAME]
    profiles = [m for m in archive.members if m.basename.lower() in PROFILE_FILE_NAMES]
    if not sleep and not google:
        folders = sorted({str(PurePosixPath(m.name).parent) for m in archive.members})
        shown = ", ".join(f"'{f}'" for f in folders[:6]) + (
            f" and {len(folders) - 6} more" if len(folders) > 6 else ""
        )
        raise ArchiveError(
            f"No Fitbit sleep files were found in {archive.path.name}: no 'sleep-YYYY-MM-DD.json' (Global Export "
            "Data) and no 'UserSleeps_*.csv' (Health Fitness Data_GoogleData) in the folders looked in "
            f"({shown or 'none: the archive is empty'}). Use the archive from fitbit.com "
            "(Settings → Data export → 'Export your account archive', MyFitbitData.zip) or a Google Takeout "
            "export with 'Fitbit' selected, and pass the zip(s) or the unzipped folder."
        )
    exported_at = max(m.modified for m in (*sleep, *google, *scores))
    layout = _layout_name(sleep[0].name) if sleep else "Google Takeout (Fitbit, 2026 CSVs)"
    if sleep and google:
        layout += " + 2026 CSVs"
    return ArchiveContents(sleep, scores, profiles, layout, exported_at, google)


class ArchiveSet(Archive):
    """Several zips (or folders) of one split Takeout read as one archive: ``takeout-…-001.zip``, ``-002.zip``, …

    Why: big Takeouts come in parts with the folders spread across them; a session's stages can be in another part
    than the session. Members are merged by name (the first part that has a name wins; parts never share data
    files), so the order the parts are given in does not matter."""

    def __init__(self, path: Path, parts: list[Archive]) -> None:
        self.parts = parts
        self._owner: dict[str, Archive] = {}
        members: list[Member] = []
        for part in parts:
            for member in part.members:
                if member.name not in self._owner:
                    self._owner[member.name] = part
                    members.append(member)
        super().__init__(path, members)

    def open(self, member: Member) -> BinaryIO:
        return self._owner[member.name].open(member)

    def close(self) -> None:
        for part in self.parts:
            part.close()


_PART_RE = re.compile(r"^(?P<stem>.+)-(?P<n>\d{3})\.zip$", re.IGNORECASE)


def expand_paths(paths: list[Path]) -> list[Path]:
    """The archives to read: the paths given, a folder that holds only zips replaced by its zips; sorted by name
    so the result never depends on the order they were typed in."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir() and not any(p.is_dir() for p in path.iterdir()):
            zips = sorted(
                p for p in path.iterdir() if p.suffix.lower() == ".zip" and not p.name.startswith(".")
            )
            if zips:
                out.extend(zips)
                continue
        out.append(path)
    return sorted(set(out), key=lambda p: (p.name, str(p)))


def part_stem(name: str) -> str | None:
    """``takeout-20261120T120000Z-002.zip`` -> ``takeout-20261120T120000Z``; None for a name that is no part."""
    match = _PART_RE.match(name)
    return match.group("stem") if match else None


def missing_parts(paths: list[Path]) -> list[str]:
    """Names of the parts missing between the numbered parts given (``-001``, ``-003`` given: ``-002`` missing)."""
    numbers: dict[str, set[int]] = {}
    for path in paths:
        match = _PART_RE.match(path.name)
        if match:
            numbers.setdefault(match.group("stem"), set()).add(int(match.group("n")))
    return [
        f"{stem}-{n:03d}.zip"
        for stem, given in sorted(numbers.items())
        for n in range(1, max(given) + 1)
        if n not in given
    ]


def open_archives(paths: list[Path]) -> Archive:
    """One archive for one path, an :class:`ArchiveSet` for several."""
    if len(paths) == 1:
        return open_archive(paths[0])
    opened: list[Archive] = []
    try:
        for path in paths:
            opened.append(open_archive(path))
    except BaseException:
        for part in opened:
            part.close()
        raise
    return ArchiveSet(paths[0], opened)


def _layout_name(sample: str) -> str:
    lowered = sample.lower()
    if "google health/" in lowered:
        return "Google Takeout (Google Health)"
    if "takeout/" in lowered or "global export data/" in lowered:
        return "Google Takeout (Fitbit)"
    if "/sleep/" in lowered or lowered.startswith("sleep/") or "myfitbitdata/" in lowered:
        return "Fitbit account export (MyFitbitData)"
    return "unrecognised folder layout (sleep files found by name)"


def scan_dates(data: bytes | BinaryIO) -> set[date]:
    """The ``dateOfSleep`` values in a sleep file (bytes or a stream), found without parsing it.

    Why: the import lands a date only once every file that mentions it has been read (the same logId and date can
    sit in two adjacent files). A regex pass is far cheaper than a JSON parse and, being an over-approximation,
    can only delay a date's landing, never lose a record. A stream is scanned chunk by chunk (with an overlap so a
    match across two chunks is found), so memory stays one chunk.
    """
    stream: BinaryIO = io.BytesIO(data) if isinstance(data, bytes) else data
    found: set[date] = set()
    tail = b""
    while True:
        chunk = stream.read(_CHUNK)
        window = tail + chunk
        for match in _DATE_OF_SLEEP_RE.finditer(window):
            try:
                found.add(date.fromisoformat(match.group(1).decode()))
            except ValueError:
                continue
        if not chunk:
            return found
        tail = window[-64:]


class JsonArrayError(ValueError):
    """The file is not a complete JSON array; ``parsed`` records before the damage were yielded."""

    def __init__(self, message: str, parsed: int) -> None:
        super().__init__(message)
        self.parsed = parsed


def iter_json_array(
    data: bytes | BinaryIO,
    *,
    limit: int = MAX_RECORDS_PER_FILE,
    typical: str = "a real sleep file covers about 30 days",
) -> Iterator[Any]:
    """Yield the elements of a top-level JSON array one at a time, then raise :class:`JsonArrayError` on damage.

    Why incremental (``ijson``): a truncated download or a corrupt file keeps the records before the damage, and
    memory holds one record, not the file. Nesting deeper than ``MAX_DEPTH`` (a real record is 5 deep) or more than
    ``limit`` records (default ``MAX_RECORDS_PER_FILE``; ``typical`` says what a real file holds) end the file with
    an error instead of a ``RecursionError`` or gigabytes.
    """
    stream: BinaryIO = io.BytesIO(data) if isinstance(data, bytes) else data
    head = stream.read(3)
    if head != b"\xef\xbb\xbf":  # a UTF-8 byte-order mark is skipped (the parser does not take it)
        stream = _Prefixed(head, stream)  # type: ignore[assignment]
    count = 0
    depth = 0
    builder: ijson.ObjectBuilder | None = None
    try:
        for event, value in ijson.basic_parse(stream, use_float=True):
            if depth == 0:
                if event != "start_array":
                    raise JsonArrayError("does not hold a JSON array (expected '[')", 0)
                depth = 1
                continue
            if event in ("start_map", "start_array"):
                depth += 1
                if depth > MAX_DEPTH:
                    raise JsonArrayError(
                        f"is damaged after {count} records: nested deeper than {MAX_DEPTH} levels", count
                    )
            elif event in ("end_map", "end_array"):
                depth -= 1
            if depth == 0:
                continue  # the array's own end; anything after it is the parser's "trailing garbage"
            if builder is None:
                builder = ijson.ObjectBuilder()
            builder.event(event, value)
            if depth == 1:  # a record (or a scalar element) is complete
                if count >= limit:
                    raise JsonArrayError(
                        f"holds more than {limit} records ({typical}); the rest of the file was skipped",
                        count,
                    )
                yield builder.value
                builder = None
                count += 1
    except ijson.JSONError as exc:
        raise JsonArrayError(_damage(str(exc), count), count) from None
    if depth != 0:
        raise JsonArrayError(f"is damaged after {count} records: the file ends (truncated)", count)


def _damage(message: str, count: int) -> str:
    """The parser's first line, in the words the import summary uses."""
    first = message.strip().strip("b'\"").split("\\n")[0].split("\n")[0]
    if "premature EOF" in first:
        return f"is damaged after {count} records: the file ends (truncated or corrupt)"
    if "trailing garbage" in first:
        return f"has extra data after the array of {count} records"
    if "UTF8" in first:
        return f"is not UTF-8 text (after {count} records)"
    if count == 0 and "invalid char" in first:
        return "does not hold a JSON array (expected '[')"
    return f"is damaged after {count} records: unexpected content ({first})"


class _Prefixed(io.RawIOBase):
    """``prefix`` then the rest of ``stream`` (puts back the bytes read to look for a byte-order mark)."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass(frozen=True)
class ArchiveProfile:
    """What the archive says about its owner; the time zone is what the transform needs."""

    user_id: str | None
    timezone: str | None


def read_profile(archive: Archive, members: list[Member]) -> ArchiveProfile | None:
    """Read the first profile (``Profile.csv`` or a profile JSON) that names a time zone."""
    for member in members:
        try:
            data = archive.read(member)
        except UnreadableMember:
            continue
        profile = (
            _profile_from_csv(data) if member.basename.lower().endswith(".csv") else _profile_from_json(data)
        )
        if profile and profile.timezone:
            return profile
    return None


def _profile_from_csv(data: bytes) -> ArchiveProfile | None:
    try:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return None
    row = {(k or "").strip().lower(): (v or "").strip() for k, v in rows[0].items()}
    return ArchiveProfile(row.get("id") or row.get("encoded_id") or None, row.get("timezone") or None)


def _profile_from_json(data: bytes) -> ArchiveProfile | None:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(doc, dict) and isinstance(doc.get("user"), dict):
        doc = doc["user"]
    if not isinstance(doc, dict):
        return None
    tz = doc.get("timezone") or doc.get("timeZone")
    user = doc.get("encodedId") or doc.get("id")
    return ArchiveProfile(str(user) if user else None, str(tz) if tz else None)
