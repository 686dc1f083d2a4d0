"""Checkpoints are untrusted files: a declared schema checked on load, and a resume refused when the
checkpoint is incomplete or belongs to another scenario (naming the file and the entry)."""

import json
import zipfile

import numpy as np
import pytest
from test_training_scenarios import GENERATION, run, write

from clocksim.train.checkpoint import load_checkpoint, save_checkpoint
from clocksim.app.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder whose checkpoint.npz holds 4 epochs of the small generation scenario."""
    tmp = tmp_path_factory.mktemp("ck")
    path = write(tmp, GENERATION)
    assert main(["run", str(path), "--out", str(tmp / "o"), "--quiet", "--set", "train.epochs=4"]) == 0
    return path, tmp / "o" / "checkpoint.npz"


def resume(capsys, path, out, *sets):
    args = ["run", path, "--out", out, "--quiet", "--resume"] + [a for s in sets for a in ("--set", s)]
    return run(capsys, *args)


def damaged(tmp_path, source, change):
    """A copy of the folder with the checkpoint's state changed by ``change(state)``."""
    out = tmp_path / "o"
    out.mkdir()
    state = load_checkpoint(source)
    change(state)
    state.pop("path")
    save_checkpoint(out / "checkpoint.npz", state)
    return out


@pytest.mark.parametrize("set_,key", [("task.piece=1", "task.piece"), ("model.family=\"fibonacci\"", "model.family"),
                                      ("model.seed=5", "model.seed")])
def test_resume_with_another_scenario_is_refused(trained, tmp_path, capsys, set_, key):
    path, ck = trained
    out = tmp_path / "o"
    out.mkdir()
    (out / "checkpoint.npz").write_bytes(ck.read_bytes())
    if key == "model.family":      # the family only counts when periods are not given
        text = GENERATION.replace("periods = [1, 2, 4, 8]", "modules = 4")
        path = write(tmp_path, text)
        assert main(["run", str(path), "--out", str(tmp_path / "f"), "--quiet", "--set", "train.epochs=2"]) == 0
        out = tmp_path / "f"
    code, _, err = resume(capsys, path, out, set_, "train.epochs=8")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "--resume: the checkpoint belongs to another scenario" in err and key in err


@pytest.mark.parametrize("change,entry", [
    (lambda s: s["params"].pop("W_rec"), "params/W_rec: missing"),
    (lambda s: s["optimizer"].clear(), "optimizer/velocity/"),
    (lambda s: s["params"].__setitem__("W_out", np.zeros((3, 3))), "params/W_out: got shape (3, 3)"),
    (lambda s: s["meta"]["history"].update({k: list(range(1, 100)) for k in s["meta"]["history"]
                                            if isinstance(s["meta"]["history"][k], list)}),
     "more than train.epochs"),
    (lambda s: s["meta"]["history"]["train_loss"].pop(), "meta.history.train_loss: got 3 entries for 4 epochs"),
    (lambda s: s["meta"].__setitem__("rng", {"bit_generator": "PCG64", "state": "x"}), "meta.rng"),
    (lambda s: s["params"]["b"].__setitem__(0, np.nan), "params/b: holds NaN"),
])
def test_incomplete_checkpoint_is_refused(trained, tmp_path, capsys, change, entry):
    path, ck = trained
    out = damaged(tmp_path, ck, change)
    code, _, err = resume(capsys, path, out, "train.epochs=8")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert entry in err and "checkpoint.npz" in err


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"garbage" * 10, "é".encode("latin-1")])
def test_unreadable_checkpoint_is_refused(trained, tmp_path, capsys, content):
    path, _ = trained
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "checkpoint.npz").write_bytes(content)
    code, _, err = resume(capsys, path, tmp_path / "o", "train.epochs=8")
    assert code == 2 and err.count("\n") == 1 and "checkpoint.npz" in err and "Traceback" not in err


def test_huge_declared_shape_is_refused_from_the_header(trained, tmp_path, capsys):
    path, _ = trained
    (tmp_path / "o").mkdir()
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (10**7, 10**7)
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(tmp_path / "o" / "checkpoint.npz", "w") as zf:
        zf.writestr("meta.npy", _npy(np.array(json.dumps({}))))
        zf.writestr("params/W_rec.npy", buf.getvalue() + b"\0" * 64)
    code, _, err = resume(capsys, path, tmp_path / "o", "train.epochs=8")
    assert code == 2 and "params/W_rec: declares shape (10000000, 10000000)" in err


def test_checkpoint_bytes_are_reproducible(trained, tmp_path):
    _, ck = trained
    state = load_checkpoint(ck)
    state.pop("path")
    save_checkpoint(tmp_path / "a.npz", state)
    save_checkpoint(tmp_path / "b.npz", state)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def _npy(arr):
    import io
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()
