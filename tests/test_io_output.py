"""Batch output safety, as a class: every writer goes through rfsearch.io.output.open_output.

Devices and FIFOs are written in place, symlinks are followed and stay links, temporary files
are unpredictable, exclusive and removed on failure, permissions are kept, the input is never
the output, and a failed run leaves an existing output as it was.
"""

import csv
import io
import os
import signal
import stat
import tempfile
import threading
from pathlib import Path

import pytest

from rfsearch.cli import batch as batch_cli
from rfsearch.cli import main
from rfsearch.io import open_output, score_file
from rfsearch.io import writers

SEED = "conv3s1p1,maxpool2s2,conv3s1p1,maxpool2s2"
HEADER = "id,rf,jump,effective_padding,output_size,center,valid,status"


def write_csv(path, rows, header=("id", "spec")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def leftovers(directory):
    """Temporary outputs left behind (mkstemp names start with a dot)."""
    return sorted(p.name for p in Path(directory).iterdir() if p.name.startswith("."))


@pytest.fixture
def stacks(tmp_path):
    return write_csv(tmp_path / "stacks.csv", [["seed", SEED], ["b", "conv3"]])


def expected(tmp_path, stacks):
    """What a plain new file gets (the reference the special targets are compared with)."""
    assert main(["batch", str(stacks), "-i", "32", "-o", str(tmp_path / "reference.csv")]) == 0
    return (tmp_path / "reference.csv").read_bytes()


# ----------------------------------------------------------------------------- special targets


def test_dev_null_is_written_not_replaced(stacks, capsys):
    before = os.stat("/dev/null")
    code, out, err = run(capsys, "batch", stacks, "-o", "/dev/null", "-f", "csv")
    assert (code, out, err) == (0, "", "")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_rdev, after.st_mode) == (before.st_rdev, before.st_mode)


def test_fifo_is_written_in_place(tmp_path, stacks, capsys):
    want = expected(tmp_path, stacks)
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, err = run(capsys, "batch", stacks, "-i", "32", "-o", fifo)
    reader.join(timeout=30)
    assert code == 0 and err == ""
    assert received == [want]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still the FIFO, not a regular file put in its place
    assert leftovers(tmp_path) == []


def test_symlink_is_followed_and_stays_a_link(tmp_path, stacks, capsys):
    want = expected(tmp_path, stacks)
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "scores.csv"
    target.write_text("old\n")
    link = tmp_path / "out.csv"
    link.symlink_to(Path("real") / "scores.csv")  # relative, as users make them
    assert run(capsys, "batch", stacks, "-i", "32", "-o", link)[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(Path("real") / "scores.csv")
    assert target.read_bytes() == want
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "real") == []


def test_dangling_symlink_creates_its_target(tmp_path, stacks, capsys):
    want = expected(tmp_path, stacks)
    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "new.csv")
    assert run(capsys, "batch", stacks, "-i", "32", "-o", link)[0] == 0
    assert link.is_symlink() and (tmp_path / "new.csv").read_bytes() == want


def test_directory_is_refused(tmp_path, stacks, capsys):
    (tmp_path / "out.csv").mkdir()
    code, _, err = run(capsys, "batch", stacks, "-o", tmp_path / "out.csv")
    assert code == 2 and err == f"rfsearch: error: {tmp_path / 'out.csv'}: cannot write output: Is a directory\n"


def test_dash_and_no_output_are_stdout(stacks, capsys):
    for extra in ([], ["-o", "-"]):
        code, out, _ = run(capsys, "batch", stacks, "-i", "32", *extra)
        assert code == 0 and out.splitlines()[:2] == [HEADER, "seed,10,4,3,8,1.5,True,ok"]


# ----------------------------------------------------------------------------- temporary files


def test_temporary_file_is_unpredictable_exclusive_and_beside_the_target(tmp_path, stacks, capsys, monkeypatch):
    made = []
    real_mkstemp = tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        made.append((name, stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    # A trap at the name the old code used (".out.csv.<pid>.tmp"): a symlink to a victim file.
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / f".out.csv.{os.getpid()}.tmp").symlink_to(victim)
    for _ in range(2):
        assert run(capsys, "batch", stacks, "-o", tmp_path / "out.csv")[0] == 0
    assert victim.read_text() == "precious\n"
    names = [Path(n) for n, _ in made]
    assert all(n.parent == tmp_path and n.name.startswith(".out.csv.") and n.suffix == ".tmp" for n in names)
    assert names[0] != names[1] and str(os.getpid()) not in names[0].name
    assert all(mode == 0o600 for _, mode in made)  # mkstemp: O_EXCL, owner only while it is written
    assert leftovers(tmp_path) == [f".out.csv.{os.getpid()}.tmp"]  # only the trap


def test_failure_midway_keeps_the_existing_output(tmp_path, capsys):
    rows = [[i, SEED] for i in range(9)] + [[9, "conv3s0"]]  # the error is in the last chunk
    path = write_csv(tmp_path / "stacks.csv", rows)
    out = tmp_path / "out.csv"
    out.write_text("old content\n")
    out.chmod(0o640)
    code, _, err = run(capsys, "batch", path, "-o", out, "--chunk-rows", "2")
    assert code == 2 and f"stacks.csv:11: layer 0: stride must be >= 1" in err
    assert out.read_text() == "old content\n" and stat.S_IMODE(out.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_ctrl_c_removes_the_temporary_file(tmp_path, stacks, capsys, monkeypatch):
    out = tmp_path / "out.csv"
    out.write_text("old\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(writers._CsvWriter, "write", interrupted)
    code, _, err = run(capsys, "batch", stacks, "-o", out)
    assert code == 130 and err == "rfsearch: interrupted\n"
    assert out.read_text() == "old\n" and leftovers(tmp_path) == []


def test_sigterm_removes_the_temporary_file(tmp_path, stacks, monkeypatch):
    out = tmp_path / "out.csv"

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # the handler raises at once (main thread)

    monkeypatch.setattr(writers._CsvWriter, "write", terminated)
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", str(stacks), "-o", str(out)])
    assert exit_info.value.code == 128 + signal.SIGTERM and isinstance(exit_info.value, batch_cli.Terminated)
    assert not out.exists() and leftovers(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the CLI's handler is gone again


# ----------------------------------------------------------------------------- permissions


def test_existing_output_keeps_its_permissions(tmp_path, stacks, capsys):
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    out.chmod(0o604)
    assert run(capsys, "batch", stacks, "-o", out)[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o604 and out.read_text().startswith("id,rf")


def test_new_output_gets_the_umask(tmp_path, stacks, capsys):
    previous = os.umask(0o027)
    try:
        assert run(capsys, "batch", stacks, "-o", tmp_path / "out.csv")[0] == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o640


def _unwritable_directory(tmp_path):
    """A directory this process cannot create files in (root ignores mode bits: sysfs refuses anyone)."""
    if os.geteuid() != 0:
        d = tmp_path / "read-only"
        d.mkdir()
        d.chmod(0o555)
        return d
    with open("/proc/mounts", encoding="utf-8") as f:  # sysfs refuses new files, to root as well
        assert any(line.split()[1:3] == ["/sys", "sysfs"] for line in f), "root without sysfs at /sys"
    return Path("/sys")


def test_read_only_directory_is_one_clear_line(tmp_path, stacks, capsys):
    target = _unwritable_directory(tmp_path) / "rfsearch-test-out.csv"
    code, out, err = run(capsys, "batch", stacks, "-o", target)
    assert (code, out) == (2, "")
    reasons = ("Permission denied", "Read-only file system")  # a read-only mount of /sys says the latter
    assert err in [f"rfsearch: error: {target}: cannot write output: {reason}\n" for reason in reasons], err
    assert not target.exists()


def test_read_only_file_system_is_one_clear_line(tmp_path, stacks, capsys, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    code, _, err = run(capsys, "batch", stacks, "-o", tmp_path / "out.csv")
    assert code == 2 and err == f"rfsearch: error: {tmp_path / 'out.csv'}: cannot write output: Read-only file system\n"


# ----------------------------------------------------------------------------- input is output


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "stdin redirected"])
def test_output_onto_the_input_is_refused(tmp_path, how):
    import subprocess

    stacks = write_csv(tmp_path / "stacks.csv", [["seed", SEED]])
    original = stacks.read_bytes()
    out = stacks
    if how == "symlink":
        out = tmp_path / "link.csv"
        out.symlink_to(stacks)
    elif how == "hard link":
        out = tmp_path / "hard.csv"
        os.link(stacks, out)
    argv = ["rfsearch", "batch", str(stacks), "-o", str(out)]
    stdin = None
    if how == "stdin redirected":
        argv = ["rfsearch", "batch", "-", "--input-format", "csv", "-o", str(out)]
        stdin = stacks.open("rb")
    try:
        proc = subprocess.run(argv, stdin=stdin, capture_output=True, text=True, cwd=tmp_path, check=False)
    finally:
        if stdin is not None:
            stdin.close()
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.endswith(": the output is the input file: write it to another file\n"), proc.stderr
    assert stacks.read_bytes() == original and leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- the API


def test_open_output_streams_and_text_sinks():
    text = io.StringIO()
    with open_output(text) as out:
        out.file.write("ünï\n".encode())
    assert text.getvalue() == "ünï\n" and not out.restartable
    raw = io.BytesIO()
    with open_output(raw) as out:
        out.file.write(b"x")
    assert raw.getvalue() == b"x"


def test_open_output_restart_empties_the_temporary_file(tmp_path):
    target = tmp_path / "o.txt"
    with open_output(target) as out:
        out.file.write(b"first attempt, longer\n")
        out.restart()
        out.file.write(b"second\n")
    assert target.read_bytes() == b"second\n"


def test_api_writes_through_the_same_rules(tmp_path):
    stacks = write_csv(tmp_path / "stacks.csv", [["seed", SEED]])
    link = tmp_path / "link.jsonl"
    link.symlink_to(tmp_path / "scores.jsonl")
    assert score_file(stacks, link, input_size=32) == 1
    assert link.is_symlink() and '"rf": [10]' in (tmp_path / "scores.jsonl").read_text()
    with pytest.raises(ValueError, match="the output is the input file"):
        score_file(stacks, stacks)
