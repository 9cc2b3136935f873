"""Hostile archives: `fitbit-sleep import` as a user types it, its peak memory measured by the kernel.

A sandbox export with hostile sleep members added: one that inflates far past the limit (the zip says so), one of
spaces that inflates 1000x (ratio limit), one of zeros, one of millions of repeated records, one nested 100,000 deep, and in a
folder export a 100 MB file of repeated records (no zip header to trust: counted as it streams). Each ends in one
line naming the file, no traceback; every other record imports (the tables equal those of the clean archive) and
the import's peak RSS (``wait4``) stays far under 1 GB. Before: RecursionError, MemoryError at 2.2-6.4 GB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fitbit_sandbox.export import export_history
from tests.clock import TEST_TODAY
from tests.dagster_project.dagster_helpers import table_rows

CLI = str(Path(sys.executable).with_name("fitbit-sleep"))
RECORD = b'{"logId":1,"dateOfSleep":"2031-01-02","startTime":"2031-01-01T23:00:00.000","duration":1},'
PEAK_LIMIT_MB = 1024


def _import(archive: Path, home: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the import in a child and return it with its own peak RSS in MB (``wait4``: this child only)."""
    env = {**os.environ, "FITBIT_SLEEP_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home")}
    home.mkdir(parents=True, exist_ok=True)
    out_path, err_path = home.parent / f"{home.name}.out", home.parent / f"{home.name}.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [CLI, "import", str(archive), "--tz", "America/Los_Angeles"], env=env, stdout=out, stderr=err
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out_path.read_text(), err_path.read_text())
    return done, usage.ru_maxrss / 1024


def _hostile_members(archive: zipfile.ZipFile, sleep_dir: str) -> None:
    bomb = zipfile.ZipInfo(f"{sleep_dir}/sleep-2030-01-01.json")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(bomb, "w", force_zip64=True) as handle:  # 200 MB of records, the header says so
        block = RECORD * 10_000
        for _ in range(200 * 2**20 // len(block)):
            handle.write(block)
    spaces = b"[" + b" " * (40 * 2**20) + b"]"  # valid JSON that inflates 1000x
    archive.writestr(f"{sleep_dir}/sleep-2030-02-01.json", spaces, zipfile.ZIP_DEFLATED)
    archive.writestr(f"{sleep_dir}/sleep-2030-02-15.json", b"\0" * (40 * 2**20), zipfile.ZIP_DEFLATED)
    archive.writestr(
        f"{sleep_dir}/sleep-2030-03-01.json",
        b"[" + RECORD * 600_000 + RECORD[:-1] + b"]",
        zipfile.ZIP_DEFLATED,
    )
    archive.writestr(
        f"{sleep_dir}/sleep-2030-04-01.json", b"[" * 100_000 + b"]" * 100_000, zipfile.ZIP_DEFLATED
    )


@pytest.mark.timeout(900)
def test_hostile_members_end_in_one_line_each_and_the_rest_imports_in_bounded_memory(tmp_path: Path) -> None:
    clean = export_history(tmp_path / "clean.zip", seed=5, days=90, today=TEST_TODAY).path
    hostile = tmp_path / "hostile.zip"
    with zipfile.ZipFile(clean) as source, zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as target:
        sleep_dir = ""
        for info in source.infolist():
            target.writestr(info, source.read(info))
            if "/sleep-" in info.filename:
                sleep_dir = info.filename.rsplit("/", 1)[0]
        _hostile_members(target, sleep_dir)

    done, peak_mb = _import(hostile, tmp_path / "hostile_home")
    output = " ".join((done.stdout + done.stderr).split())
    assert "Traceback" not in done.stderr and "RecursionError" not in output and "MemoryError" not in output
    assert "sleep-2030-01-01.json inflates to 199 MB, past the import's limit of 64 MB per file" in output
    assert "sleep-2030-02-01.json inflates more than 100x" in output
    assert "sleep-2030-02-15.json does not hold a JSON array" in output
    assert "sleep-2030-03-01.json holds more than 5000 records" in output
    assert (
        "sleep-2030-04-01.json is damaged after 0 records: nested deeper than 64 levels; no record" in output
    )
    assert peak_mb < PEAK_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"

    reference, _ = _import(clean, tmp_path / "clean_home")
    assert reference.returncode == 0, reference.stderr
    for name in ("sleep_logs", "sleep_segments", "nights"):
        rows = table_rows(tmp_path / "hostile_home", name, exclude=("ingested_at",))
        assert rows == table_rows(tmp_path / "clean_home", name, exclude=("ingested_at",)), name
    print(f"peak RSS of the hostile import: {peak_mb:.0f} MB")


def test_a_folder_file_without_a_zip_header_is_capped_as_it_streams(tmp_path: Path) -> None:
    folder = export_history(tmp_path / "export", seed=5, days=40, today=TEST_TODAY, as_zip=False).path
    sleep_file = next(folder.rglob("sleep-*.json"))
    big = sleep_file.with_name("sleep-2030-05-01.json")
    with big.open("wb") as handle:
        handle.write(b"[")
        block = RECORD * 10_000
        for _ in range(100 * 2**20 // len(block)):
            handle.write(block)
        handle.write(RECORD[:-1] + b"]")
    done, peak_mb = _import(folder, tmp_path / "home")
    output = " ".join((done.stdout + done.stderr).split())
    assert "Traceback" not in done.stderr
    assert "sleep-2030-05-01.json" in output and "holds more than 5000 records" in output
    assert peak_mb < PEAK_LIMIT_MB
    assert table_rows(tmp_path / "home", "sleep_logs")  # the rest imported
