"""How exact are the reproduction's numbers? Re-run committed records under several OpenBLAS CPU kernels.

Each kernel runs in its own process (``OPENBLAS_CORETYPE`` must be set before
numpy loads; one BLAS thread, as the reproduction's workers). The records are a
few of ``results/reproduction/results.json`` (generation at 100 and 1000
parameters, classification). Writes ``results/reproduction/reruns.json``: per
record the committed value and epochs, and per kernel the re-run's value,
epochs and ``provenance()``.

Run: python benchmarks/exp_reruns.py        (about 5 minutes on one core)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "results" / "reproduction" / "results.json"
OUT = ROOT / "results" / "reproduction" / "reruns.json"
KERNELS = ("Haswell", "SkylakeX", "Sandybridge")
PICKS = ([{"experiment": "generation", "model": m, "budget": b, "piece": 0, "seed": 0}
          for b in (100, 1000) for m in ("rnn", "lstm", "cwrnn")]
         + [{"experiment": e, "model": m, "seed": s} for e in ("synthetic_words", "japanese_vowels")
            for m in ("lstm", "cwrnn") for s in (0, 1)])
JOB_KEYS = ("experiment", "stage", "model", "budget", "rule", "periods", "schedule", "task", "train",
            "learning_rate", "seed")


def committed_records() -> list[dict]:
    records = json.loads(COMMITTED.read_text())["records"]
    out = []
    for pick in PICKS:
        [rec] = [r for r in records if r["stage"] == "main" and r["schedule"] is None
                 and r["task"].get("piece") == pick.get("piece")
                 and all(r[k] == v for k, v in pick.items() if k != "piece")]
        out.append(rec)
    return out


def rerun_here() -> None:
    """In the child process: re-run every pick, print one JSON document."""
    from clocksim.app.provenance import provenance
    from clocksim.app.reproduce.worker import run_job

    rows = [run_job({k: rec[k] for k in JOB_KEYS}) for rec in committed_records()]
    print(json.dumps({"provenance": provenance(), "runs": [{"value": r["value"], "epochs": r["epochs"]}
                                                           for r in rows]}))


def main() -> None:
    by_kernel = {}
    for kernel in KERNELS:
        env = dict(os.environ, OPENBLAS_CORETYPE=kernel, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                   PYTHONPATH=str(ROOT))
        proc = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True,
                              check=True)
        by_kernel[kernel] = json.loads(proc.stdout)
        print(kernel, "done", flush=True)
    records = committed_records()
    rows = [{"record": pick, "committed": {"value": rec["value"], "epochs": rec["epochs"]},
             "reruns": {k: by_kernel[k]["runs"][i] for k in KERNELS}} for i, (pick, rec) in enumerate(zip(PICKS,
                                                                                                        records))]
    payload = {"kernels": list(KERNELS), "rows": rows,
               "provenance": {k: by_kernel[k]["provenance"] for k in KERNELS}}
    tmp = OUT.with_name(".reruns.json.tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, OUT)
    for row in rows:
        cells = "  ".join(f"{k} {r['value']:.8g} ({r['epochs']})" for k, r in row["reruns"].items())
        print(f"{row['record']}  committed {row['committed']['value']:.8g} ({row['committed']['epochs']})  {cells}")


if __name__ == "__main__":
    rerun_here() if sys.argv[1:] == ["--child"] else main()
