"""The first run after a fresh install (issue 16): what it compiles and what it imports, not how long it takes."""

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba.core.caching import NullCache

from clocksim.app import cli
from clocksim.kernels import core as K

ROOT = Path(__file__).resolve().parents[1]

#: Prints, after an event-engine run of the quickstart, the kernels of each kernel module that
#: were compiled (or loaded from the cache) in that process, with their signatures.
COMPILED = """
import json, sys
from numba.core.registry import CPUDispatcher
from clocksim.app.cli import main
from clocksim.kernels import core as kernels, lstm as lstm_kernels
from clocksim.kernels import events as event_kernels
assert main(["run", "scenarios/quickstart.toml", "--out", sys.argv[1]]) == 0
print(json.dumps({f"{mod.__name__}.{name}": [str(s) for s in d.signatures]
                  for mod in (kernels, event_kernels, lstm_kernels) for name, d in vars(mod).items()
                  if isinstance(d, CPUDispatcher) and d.signatures}))
"""

#: Kernels of the compiled engine, of training and of the event engine's timed (asynchronous) path.
NOT_FOR_A_SYNCHRONOUS_EVENT_RUN = {
    "clocksim.kernels.core.run_sequence", "clocksim.kernels.core.activate", "clocksim.kernels.core.backward_sequence",
    "clocksim.kernels.core.readout_backward", "clocksim.kernels.core.readout_error", "clocksim.kernels.core.gemm_acc",
    "clocksim.kernels.core.act_derivative", "clocksim.kernels.core.buffer_window",
    "clocksim.kernels.events.activate_at", "clocksim.kernels.events.publish_at",
    "clocksim.kernels.events.deliver_at", "clocksim.kernels.events._deliver_block",
    "clocksim.kernels.lstm.lstm_forward", "clocksim.kernels.lstm.lstm_backward",
}


@pytest.mark.slow
def test_a_cold_event_run_compiles_each_kernel_it_needs_once_and_nothing_else(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))   # empty: all compiled
    proc = subprocess.run([sys.executable, "-c", COMPILED, str(tmp_path / "out")], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    compiled = json.loads(proc.stdout.splitlines()[-1])
    assert "clocksim.kernels.events.activate_sync_at" in compiled and "clocksim.kernels.core.readout" in compiled
    assert "clocksim.kernels.events.tick_at" in compiled
    assert "clocksim.kernels.core.module_update" in compiled                       # compiled as a callee
    assert not set(compiled) & NOT_FOR_A_SYNCHRONOUS_EVENT_RUN
    assert {name: len(sigs) for name, sigs in compiled.items() if len(sigs) != 1} == {}   # no literal/layout twins


def test_a_kernel_only_kernels_call_has_no_python_entry_point_but_works_from_python():
    assert isinstance(K.module_update, K._InnerKernel) and not isinstance(K.readout, K._InnerKernel)
    assert abs(K.tanh_scalar(0.5) - np.tanh(0.5)) < 1e-15  # compiled again, with an entry point
    assert isinstance(K.tanh_scalar.from_python._cache, NullCache)    # the cache cannot tell the two apart
    dst = np.zeros(3)
    K.copy_into(dst, np.arange(3.0))                       # an inlined kernel: called from Python as any other
    assert dst.tolist() == [0.0, 1.0, 2.0]


def test_importing_the_command_line_and_the_engines_loads_only_what_a_run_needs():
    code = ("import sys, clocksim.cli; cli = [m for m in ('matplotlib.pyplot', 'clocksim.engine.compiled', "
            "'clocksim.engine.events') if m in sys.modules]; "
            "import clocksim.runner, clocksim.engine.compiled, clocksim.engine.events; "
            "print(cli, [m for m in ('matplotlib.pyplot', 'scipy.linalg', 'asyncio') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT))).stdout
    assert out.strip() == "[] []"          # scipy's BLAS without the scipy.linalg package, tqdm without asyncio


def test_the_console_script_exits_without_collecting_garbage(monkeypatch):
    monkeypatch.setattr(cli, "main", lambda: 0)
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.console()
        assert exit_.value.code == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
