"""What a careless or hostile user of the command line tries: races on the output, edited
model folders, signals, odd headers and labels. Each test closes a class, not one case."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import EPOCHS, FEATURES, run

from wvad.files import TEMP_SUFFIX, leftovers, staged


def _temporaries(folder: Path) -> list[Path]:
    return sorted(folder.glob(f".*{TEMP_SUFFIX}"))


# -- outputs: never over a file this run did not mean to replace --------------------------------
def test_a_file_that_appears_while_writing_is_never_replaced(tmp_path):
    target = tmp_path / "out.csv"
    appeared = pytest.raises(FileExistsError, match="appeared while wvad was writing it")
    with appeared, staged(target, replace=False) as tmp:
        tmp.write_text("scores")
        target.write_text("precious")  # another program, mid-run
    assert target.read_text() == "precious" and not _temporaries(tmp_path)
    with staged(target, replace=True) as tmp:  # --force replaces it
        tmp.write_text("scores")
    assert target.read_text() == "scores" and not _temporaries(tmp_path)


def test_score_leaves_a_file_that_appeared_during_the_run(
    model_dir, train_csv, tmp_path, capsys, monkeypatch
):
    from wvad.workflow import tables

    out = tmp_path / "same.csv"
    real = tables.AtomicTableWriter.write

    def another_run_finishes_first(self, frame):
        if not out.exists():
            out.write_text("precious\n")
        return real(self, frame)

    monkeypatch.setattr(tables.AtomicTableWriter, "write", another_run_finishes_first)
    code, _, err = run(capsys, "score", model_dir, train_csv, "--out", out)
    assert code == 2 and "appeared while wvad was writing it" in err
    assert out.read_text() == "precious\n" and not _temporaries(tmp_path)


def test_an_output_that_is_a_folder_is_refused_before_any_work(
    model_dir, train_csv, tmp_path, capsys, monkeypatch
):
    from wvad.workflow import operations

    def must_not_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the destination was checked")

    monkeypatch.setattr(operations, "load_table_model", must_not_load)
    folder = tmp_path / "scores.csv"
    folder.mkdir()
    code, _, err = run(capsys, "score", model_dir, train_csv, "--out", folder, "--force")
    assert code == 2 and "is a folder" in err and not _temporaries(tmp_path)


def test_outputs_follow_the_umask_and_a_replaced_files_mode(model_dir, train_csv, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    previous = os.umask(0o027)
    try:
        assert run(capsys, "score", model_dir, train_csv, "--out", out, "--quiet")[0] == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o640
        os.chmod(out, 0o604)
        args = ("score", model_dir, train_csv, "--out", out, "--force", "--quiet")
        assert run(capsys, *args)[0] == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o604
    finally:
        os.umask(previous)


def test_a_killed_runs_leftover_is_removed_by_the_next_run(tmp_path):
    from wvad.files import _host

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    target = tmp_path / "scores.csv"

    def temporary(name: str, pid: int) -> Path:
        path = tmp_path / f".{name}.{_host()}.{pid}.0badf00d{TEMP_SUFFIX}"
        path.write_text("half a file")
        return path

    dead = temporary("scores.csv", ended.pid)  # SIGKILLed mid-write
    live = temporary("scores.csv", os.getpid())  # a run still going
    other = temporary("other.csv", ended.pid)  # another target's
    assert leftovers(target) == [dead]
    with staged(target, replace=False) as tmp:
        tmp.write_text("scores")
    assert not dead.exists() and live.exists() and other.exists()
    assert target.read_text() == "scores"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_mid_write_removes_the_temporary_file(model_dir, train_csv, tmp_path, signum):
    out = tmp_path / "scores.csv"
    script = textwrap.dedent(
        f"""
        import os, sys
        from wvad.cli import main
        from wvad.workflow import tables
        real = tables.AtomicTableWriter.write
        def write(self, frame):
            real(self, frame)
            os.kill(os.getpid(), {int(signum)})
        tables.AtomicTableWriter.write = write
        sys.exit(main(["score", {str(model_dir)!r}, {str(train_csv)!r}, "--out", {str(out)!r}]))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 128 + signum, done.stderr
    assert f"stopped by {signal.Signals(signum).name}" in done.stderr
    assert not out.exists() and not _temporaries(tmp_path)


# -- model folders: everything that changes the scores is under the checksum ----------------
def _edit_table(folder: Path, change) -> None:
    spec = json.loads((folder / "table.json").read_text())
    change(spec)
    (folder / "table.json").write_text(json.dumps(spec))


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["features"].reverse(),
        lambda s: s["one_hot"].update({"x0": ["a", "b"]}),
        lambda s: s.pop("input_columns"),
    ],
    ids=["features-swapped", "one-hot-added", "key-deleted"],
)
def test_an_edited_table_description_is_refused(model_dir, train_csv, tmp_path, capsys, change):
    folder = shutil.copytree(model_dir, tmp_path / "model")
    _edit_table(folder, change)
    for command in (("score", folder, train_csv, "--out", tmp_path / "s.csv"), ("info", folder)):
        code, _, err = run(capsys, *command)
        assert code == 2 and "table.json was changed after the model was saved" in err


def test_a_folder_mixing_two_models_files_is_refused(model_dir, train_csv, tmp_path, capsys):
    other = tmp_path / "other"
    base = ["fit", train_csv, "--label-col", "label", "--clusters", "2", *EPOCHS, "--quiet"]
    assert run(capsys, *base, "--features", *FEATURES[:3], "--out", other)[0] == 0
    mixed = shutil.copytree(model_dir, tmp_path / "mixed")
    shutil.copy(other / "table.json", mixed / "table.json")
    code, _, err = run(capsys, "score", mixed, train_csv, "--out", tmp_path / "s.csv")
    assert code == 2 and "table.json was changed" in err
    (mixed / "table.json").unlink()
    code, _, err = run(capsys, "info", mixed)
    assert code == 2 and "incomplete: table.json is missing" in err


# -- tables: names and cells reported as the file has them --------------------------------------
def test_repeated_column_names_are_refused_by_name(tmp_path, capsys):
    rows = "id,a,a,c,label\nr0,1,2,3,1\nr1,2,3,4,\nr2,3,4,5,\n"
    (tmp_path / "dup.csv").write_text(rows)
    code, _, err = run(capsys, "fit", tmp_path / "dup.csv", "--label-col", "label", "--out", "m")
    assert code == 2 and "names more than one column alike: 'a' (columns 1, 2)" in err
    (tmp_path / "dup_label.csv").write_text(rows.replace("id,a,a,c,label", "id,a,b,label,label"))
    code, _, err = run(
        capsys, "fit", tmp_path / "dup_label.csv", "--label-col", "label", "--out", "m"
    )
    assert code == 2 and "'label' (columns 3, 4)" in err and "label.1" not in err


def test_a_label_cell_is_quoted_as_written(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("a,b,label\n1,2,1\n2,3,-1\n3,4,\n")
    code, _, err = run(capsys, "fit", tmp_path / "t.csv", "--label-col", "label", "--out", "m")
    assert code == 2 and "found '-1' at row 1" in err


def test_a_file_of_a_header_alone_is_named(model_dir, tmp_path, capsys):
    header = tmp_path / "header.csv"
    header.write_text(",".join(["key", *FEATURES]) + "\n")
    code, _, err = run(capsys, "score", model_dir, header, "--out", tmp_path / "s.csv")
    assert code == 2 and "header.csv has no rows to score" in err
    assert not (tmp_path / "s.csv").exists() and not _temporaries(tmp_path)


def test_fit_help_states_the_presets_epochs_and_the_meaning_of_0(capsys):
    from wvad.presets import PRESETS

    code, out, _ = run(capsys, "fit", "--help")
    text = " ".join(out.split())
    assert code == 0 and "0 for known normal rows" in text
    for name, config in PRESETS.items():
        epochs = f"{config.pretrain_epochs} {config.warmup_epochs} {config.joint_epochs}"
        assert f"{name}: {epochs}" in text


def test_loading_on_a_missing_gpu_names_the_device(model_dir, monkeypatch):
    import torch

    from wvad import WVAD

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA device") as caught:
        WVAD.load(model_dir, device="cuda")
    assert "weights" not in str(caught.value)
