"""numba's cache never runs a stale kernel: an edit of any jitted source deletes the cache entries
that may have it compiled in (clocksim.kernels._cache)."""

import numba

from clocksim.kernels import _cache


def _tree(tmp_path):
    src = tmp_path / "kernels"
    (src / "__pycache__").mkdir(parents=True)
    (src / "core.py").write_text("x = 1\n")
    (src / "events.py").write_text("y = 2\n")
    return src


def _entry(src, name):
    path = src / "__pycache__" / name
    path.write_bytes(b"cached")
    return path


def test_an_edit_of_a_callee_deletes_the_callers_entries(tmp_path, monkeypatch):
    src = _tree(tmp_path)
    monkeypatch.setattr(_cache, "JITTED", (src / "core.py", src / "events.py"))
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    first = [_entry(src, "events.activate-10.py311.nbi"), _entry(src, "core.run-3.py311.1.nbc")]
    other = _entry(src, "unrelated.f-1.py311.nbi")
    assert _cache.purge_stale() == 2                      # no stamp yet: entries of unknown age go
    assert not any(p.exists() for p in first) and other.exists()
    kept = _entry(src, "events.activate-10.py311.nbi")
    assert _cache.purge_stale() == 0 and kept.exists()    # sources unchanged: the cache is kept
    (src / "core.py").write_text("x = 2\n")               # the callee's file changes ...
    assert _cache.purge_stale() == 1 and not kept.exists()  # ... so the caller's entry goes too


def test_a_user_cache_folder_is_purged_by_the_files_parent(tmp_path, monkeypatch):
    src = _tree(tmp_path)
    user = tmp_path / "numba-cache"
    (user / "kernels_1a2b").mkdir(parents=True)
    (user / "mine_9f").mkdir()
    monkeypatch.setattr(_cache, "JITTED", (src / "core.py",))
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(user))
    ours = user / "kernels_1a2b" / "core.run-3.py311.nbi"
    theirs = user / "mine_9f" / "core.run-3.py311.nbi"
    ours.write_bytes(b"c")
    theirs.write_bytes(b"c")
    assert _cache.purge_stale() == 1
    assert not ours.exists() and theirs.exists()


def test_the_digest_covers_every_jitted_file():
    names = {p.name for p in _cache.JITTED}
    assert {"core.py", "events.py", "lstm.py", "modmajor.py"} <= names
    assert any(p.parent.name == "engine" for p in _cache.JITTED)
    assert len(_cache.sources_digest()) == 64
