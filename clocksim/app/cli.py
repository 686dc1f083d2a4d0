"""The ``clocksim`` command line: parses arguments and calls the library.

Bad input ends with exit status 2 and one line naming the argument (or scenario
key), the value and what was expected — never a traceback.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import signal
import sys
import threading
from pathlib import Path

from .. import __version__, plot
from ..plot import _format as fmt
from ..plot.files import figure_paths
from .._validate import as_int
from ..model.clocks import PERIOD_FAMILIES, Periodic, check_fastest_first
from ..errors import ClocksimError, InvalidValueError
from .explain import schedule_table
from .folders import Terminated, check_signals, handle_signals, restore_signals
from ..model.cwrnn import INPUT_MODES
from ..trace.core import Trace

__all__ = ["main"]



class UsageError(Exception):
    """Raised instead of argparse's print-usage-and-exit, so main() reports one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _int_list(name: str):
    def parse(text: str) -> list[int]:
        try:
            values = [int(v) for v in text.split(",") if v.strip() != ""]
        except ValueError:
            raise argparse.ArgumentTypeError(f"got {text!r}, expected comma-separated integers like 1,2,4,8") from None
        if not values:
            raise argparse.ArgumentTypeError(f"got {text!r}, expected at least one integer")
        return values
    parse.__name__ = name
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The parser; each command is added by one ``_add_<command>`` function (see COMMANDS)."""
    parser = _Parser(prog="clocksim", description="Simulate, trace and explain Clockwork RNN schedules.")
    parser.add_argument("--version", action="version", version=f"clocksim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for add in COMMANDS:
        add(sub)
    return parser


def _add_explain(sub) -> None:
    ex = sub.add_parser("explain", help="print which modules run at each step (what 'clock rate' means)")
    group = ex.add_mutually_exclusive_group()
    group.add_argument("--periods", type=_int_list("periods"), help="comma-separated periods, fastest first")
    group.add_argument("--family", choices=sorted(PERIOD_FAMILIES), help="a period family (with --modules)")
    ex.add_argument("--modules", type=int, default=8, help="number of modules for --family (default 8)")
    ex.add_argument("--phases", type=_int_list("phases"), help="comma-separated phases, one per module")
    ex.add_argument("--start", type=int, default=0, help="number of the first step: 0 (default) or 1")
    ex.add_argument("--steps", type=int, default=8, help="how many steps to list (default 8)")
    ex.add_argument("--at", type=_int_list("at"), default=[],
                    help="steps to ask about, e.g. 128: listed (after the first block if beyond it) and marked ->")
    ex.add_argument("--input-mode", type=_str_list, default=None,
                    help="input mode, one for all modules or comma-separated per module (latest, mean, sum, max): "
                         "buffered modules get a table of the input window each firing reads")
    ex.set_defaults(func=_explain)


def _str_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]
#: Most rows `clocksim explain` lists.
EXPLAIN_MAX_ROWS = 100_000


def _explain(args) -> int:
    as_int("--start", args.start, minimum=0)
    as_int("--steps", args.steps, minimum=1)
    as_int("--modules", args.modules, minimum=1)
    for option, value, most in (("--steps", args.steps, EXPLAIN_MAX_ROWS), ("--modules", args.modules, 256),
                                ("--at", len(args.at), EXPLAIN_MAX_ROWS)):
        if value > most:
            raise InvalidValueError(key=option, value=value, expected=f"at most {most} (a table to read, not a run)")
    if args.periods is not None:
        periods = args.periods
    else:
        periods = PERIOD_FAMILIES[args.family or "exponential"](args.modules)
    phases = args.phases if args.phases is not None else [0] * len(periods)
    if len(phases) != len(periods):
        raise InvalidValueError(
            f"got {len(phases)} phases for {len(periods)} periods, expected one per module", key="--phases")
    clocks = []
    for i, (p, ph) in enumerate(zip(periods, phases)):
        try:
            clocks.append(Periodic(p, ph))
        except InvalidValueError as exc:
            err = copy.copy(exc)
            err.key = f"{'--periods' if exc.key == 'period' else '--phases'} (module M{i + 1})"
            raise err from None
    check_fastest_first(clocks, "--periods", f"list them fastest first, e.g. {','.join(map(str, sorted(periods)))}, "
                        "as the model and `clocksim run` require")
    modes = args.input_mode
    if modes is not None:
        if len(modes) == 1:
            modes = modes * len(clocks)
        if len(modes) != len(clocks):
            raise InvalidValueError(f"got {len(modes)} modes for {len(clocks)} modules, expected one mode or one "
                                    "per module", key="--input-mode")
        for m in modes:
            if m not in INPUT_MODES:
                raise InvalidValueError(f"got {m!r}, expected one of {', '.join(INPUT_MODES)}", key="--input-mode")
    print(schedule_table(clocks, start=args.start, n_steps=args.steps, extra_steps=args.at, input_mode=modes))
    return 0


def _window_arg(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected two times T0,T1 like 0,50") from None
    if not hi > lo:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected T0 < T1")
    return lo, hi


def _add_plot(sub) -> None:
    pl = sub.add_parser("plot", help="draw a saved trace (.npz from Trace.save) as PNG, PDF or SVG",
                        description="Draw a saved trace (.npz from Trace.save, e.g. trace.npz of `clocksim run`). "
                                    "--kind latency needs a run with a timing model (compute, link latency or "
                                    "deadline); a synchronous run has no latency and is refused.")
    pl.add_argument("trace", metavar="TRACE", help="trace file written by Trace.save (.npz)")
    pl.add_argument("--kind", choices=list(plot.KINDS), default="activity", help="which figure (default activity)")
    pl.add_argument("--out", required=True, metavar="FILE",
                    help="where to write the figure: FILE.png, FILE.pdf or FILE.svg (the suffix decides), or FILE "
                         "without a suffix with --format")
    pl.add_argument("--format", dest="formats", metavar="FORMATS",
                    help=f"comma-separated formats to write, e.g. pdf,svg (of {', '.join(plot.FORMATS)}; "
                         "default: the suffix of --out, else png)")
    pl.add_argument("--size", choices=list(plot.SIZES), default=None,
                    help="width for print: column (3.5 in) or page (7 in), fonts to match (default: screen layout)")
    pl.add_argument("--window", type=_window_arg, metavar="T0,T1",
                    help="only the time window [T0, T1) (latency: the readouts in it); default the whole run")
    pl.add_argument("--dpi", type=int, default=120, help="resolution (default 120)")
    pl.set_defaults(func=_plot)


def _plot(args) -> int:
    if not 10 <= as_int("--dpi", args.dpi, minimum=10) <= 600:
        raise InvalidValueError(f"got {args.dpi}, expected 10 to 600", key="--dpi")
    for out in figure_paths(args.out, args.formats, key="--out", formats_key="--format"):
        if out.is_dir():
            raise InvalidValueError(key="--out", value=str(out), expected="a file name, not a directory")
        if not out.parent.is_dir():
            raise InvalidValueError(f"directory {str(out.parent)!r} does not exist", key="--out")
    trace = Trace.load(args.trace)
    try:
        paths = plot.save_figures(lambda: plot.KINDS[args.kind](trace, args.window, size=args.size), args.out,
                                  args.formats, dpi=args.dpi)
    except InvalidValueError as exc:
        if exc.key == "steps":                     # the window given on the command line
            exc = copy.copy(exc)
            exc.key = "--window"
        raise exc.located(file=args.trace) if exc.key != "--window" else exc from None
    except OSError as exc:
        raise InvalidValueError(f"cannot write {args.out} ({exc.strerror or exc})", key="--out") from None
    print("wrote " + ", ".join(map(str, paths)))
    return 0


#: Functions that add one subcommand each; a new command is one function and one entry here.
def _add_run(sub) -> None:
    run = sub.add_parser("run", help="run a scenario and write its trace, summary, figures and report")
    run.add_argument("scenario", type=Path, help="scenario file (.toml)")
    run.add_argument("--out", type=Path, required=True, help="output folder (appears whole or not at all)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a scenario key, e.g. --set model.start=1 (repeatable)")
    run.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    run.add_argument("--resume", action="store_true",
                     help="continue the training checkpointed in the output folder (scenarios with [train])")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.set_defaults(func=_run)


def _run(args) -> int:
    from .kinds import pipeline
    from .outputs import run_scenario
    from .scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    summary = run_scenario(scenario, args.out, force=args.force, progress=not args.quiet, resume=args.resume)
    if not args.quiet:
        line = pipeline(scenario.model).line(scenario.name, summary)
        if "latency" in summary and summary["latency"]["p99"] is not None:
            line += (f"; latency p99 {fmt.value(summary['latency']['p99'])} (over the inputs read), "
                     f"{fmt.count(summary['deadline_misses'])} deadline misses")
        print(line)
        if "accuracy" in summary:
            acc = summary["accuracy"]
            score = (f"test NMSE {fmt.value(acc['value'])}" if acc["metric"] == "nmse"
                     else f"test error {fmt.value(100 * acc['value'])}%")
            print(f"{scenario.name}: {score}"
                  + (f" after {fmt.count(acc['epochs'])} epochs" if "epochs" in acc else " (untrained)"))
        print(f"wrote {args.out}/ ({', '.join(sorted(p.name for p in Path(args.out).iterdir()))})")
    return 0


def _add_calibrate(sub) -> None:
    cal = sub.add_parser("calibrate", help="measure this machine's activation kernel and write a `host` device "
                                           "profile (device = \"host.toml\" in [engine.compute])")
    cal.add_argument("--out", type=Path, required=True, help="device profile to write (.toml)")
    cal.add_argument("--repeats", type=int, default=5, help="runs per size; the fastest counts (default 5)")
    cal.add_argument("--quiet", action="store_true", help="print nothing but errors")
    cal.set_defaults(func=_calibrate)


def _calibrate(args) -> int:
    from .calibrate import calibrate, write_profile

    if args.out.suffix != ".toml":
        raise UsageError(f"--out: got {str(args.out)!r}, expected a file name ending in .toml")
    if args.repeats < 1:
        raise UsageError(f"--repeats: got {args.repeats}, expected an integer >= 1")
    device = calibrate(repeats=args.repeats, progress=None if args.quiet else print)
    write_profile(device, args.out)
    if not args.quiet:
        c = device.dtypes["float64"]
        print(f"host: dispatch {device.dispatch_s * 1e6:.3g} us, {c.macs_per_s / 1e9:.3g} G multiply-adds/s (float64), "
              + ", ".join(f"{m.name} {m.bytes_per_s / 1e9:.3g} GB/s" for m in device.memory))
        print(f"wrote {args.out}")
    return 0


def _add_compare(sub) -> None:
    cmp_ = sub.add_parser("compare", help="run two scenarios and compare their cost and latency side by side")
    cmp_.add_argument("a", type=Path, help="first scenario (.toml)")
    cmp_.add_argument("b", type=Path, help="second scenario (.toml)")
    cmp_.add_argument("--out", type=Path, required=True, help="folder for compare.png, compare.json, compare.txt")
    cmp_.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="override a key in both scenarios (repeatable)")
    cmp_.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    cmp_.set_defaults(func=_compare)


def _compare(args) -> int:
    from .outputs import compare_scenarios
    from .scenario import load_scenario

    a, b = (load_scenario(p, args.overrides) for p in (args.a, args.b))
    print(compare_scenarios(a, b, args.out, force=args.force))
    print(f"wrote {args.out}/compare.png")
    return 0


def _add_sweep(sub) -> None:
    sw = sub.add_parser("sweep", help="run a scenario over a grid or random sample of its keys, locally or on a "
                                      "Dask cluster; results grow in a folder, re-running resumes")
    sw.add_argument("sweep", type=Path, help="sweep file (.toml)")
    sw.add_argument("--out", type=Path, required=True,
                    help="results folder: results.csv grows as points finish; re-running skips finished points")
    sw.add_argument("--scheduler", default="processes", metavar="processes|threads|serial|tcp://HOST:PORT",
                    help="where points run: local worker processes (default), threads, this process, or the "
                         "address of a running dask scheduler")
    sw.add_argument("--workers", type=int, help="number of local workers (default: one per core)")
    sw.add_argument("--force", action="store_true", help="start over: remove the sweep's files from --out first")
    sw.add_argument("--retry-errors", action="store_true", help="run again the points recorded with an error")
    sw.add_argument("--dry-run", action="store_true",
                    help="check the sweep and every point, list them, run nothing (needs no Dask)")
    sw.add_argument("--quiet", action="store_true", help="print nothing but errors")
    sw.set_defaults(func=_sweep)


def _sweep(args) -> int:
    from .sweep import check_scheduler, load_sweep, run_sweep

    check_scheduler(args.scheduler, args.workers, installed=not args.dry_run)
    sweep = load_sweep(args.sweep)
    merged = f", {sweep.duplicates} identical ones merged" if sweep.duplicates else ""
    if args.dry_run:
        print(f"{sweep.name}: {len(sweep.points)} points{merged}, each a run of {sweep.scenario_path}")
        for point in sweep.points:
            print(f"  {point.id}  {point.describe()}")
        return 0
    try:
        result = run_sweep(sweep, args.out, scheduler=args.scheduler, workers=args.workers, force=args.force,
                           retry_errors=args.retry_errors, progress=not args.quiet)
    except KeyboardInterrupt as exc:
        print(f"clocksim: interrupted; the finished points are in {args.out / 'results.csv'}: run the same "
              "command again to resume", file=sys.stderr)
        return 128 + int(exc.signum if isinstance(exc, Terminated) else signal.SIGINT)
    if not args.quiet:
        failed = f", {result.failed} failed (see the error column)" if result.failed else ""
        print(f"{sweep.name}: {len(sweep.points)} points{merged}: {result.ran} run, {result.skipped} already "
              f"done{failed}; {fmt.value(result.wall_time)} s")
        for note in result.notes:
            print(f"note: {note}")
        print(f"wrote {args.out}/ ({', '.join(p.name for p in result.files)})")
    return 0


def _add_search(sub) -> None:
    se = sub.add_parser("search", help="search a scenario's schedules (periods, phases, sizes, priorities) for the "
                                       "front of cost, latency and error with Optuna; re-running resumes")
    se.add_argument("search", type=Path, help="search file (.toml), e.g. scenarios/searches/phase_placement.toml")
    se.add_argument("--out", type=Path, required=True,
                    help="study folder: study.journal grows as trials finish; trials.csv, front/*.toml, figures")
    se.add_argument("--trials", type=int, help="trials in all (default: the file's search.trials)")
    se.add_argument("--scheduler", default="serial", metavar="serial|processes|threads|tcp://HOST:PORT",
                    help="where trials run: this process (default), local worker processes, threads, or the "
                         "address of a running dask scheduler (as for clocksim sweep)")
    se.add_argument("--workers", type=int, help="local workers, and trials per batch (default: one per core)")
    se.add_argument("--quiet", action="store_true", help="print nothing but errors")
    se.set_defaults(func=_search)


def _search(args) -> int:
    from .search import load_search, search

    spec = load_search(args.search)
    try:
        result = search(spec, args.out, trials=args.trials, scheduler=args.scheduler, workers=args.workers,
                        progress=not args.quiet)
    except KeyboardInterrupt as exc:
        print(f"clocksim: interrupted; the finished trials are in {args.out / 'study.journal'}: run the same "
              "command again to resume", file=sys.stderr)
        return 128 + int(exc.signum if isinstance(exc, Terminated) else signal.SIGINT)
    if not args.quiet:
        names = [o.metric for o in spec.objectives]
        print(f"{spec.name}: {len(result.table)} trials ({result.ran} run now), {len(result.front)} on the front; "
              f"{result.wall_time:.1f} s")
        for row in result.front:
            print(f"  {row['file']}  " + ", ".join(f"{m} = {row[m]:.6g}" for m in names))
        for note in result.notes:
            print(f"note: {note}")
        print(f"wrote {args.out}/ ({', '.join(p.name for p in result.files)})")
    return 0


def _add_reproduce(sub) -> None:
    rep = sub.add_parser("reproduce", help="rerun the paper's experiments (sections 4.1, 4.2): tables and figures",
                         description="Rerun the paper's experiments (sections 4.1, 4.2): tables and figures. Needs "
                                     "the datasets extra for JapaneseVowels: pip install \".[datasets]\" (or "
                                     "\"clocksim[datasets]\").")
    rep.add_argument("--quick", action="store_true",
                     help="under 2 minutes on 2 cores (about 20 s idle) instead of about an hour of training "
                          "(20-32 minutes with --jobs 2); checks the machinery, the numbers mean little")
    rep.add_argument("--out", type=Path, default=Path("reproduction"),
                     help="output folder for results.json, tables.md and figures (default ./reproduction)")
    rep.add_argument("--jobs", type=int, default=1, help="worker processes (default 1; results do not depend on it)")
    rep.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    rep.add_argument("--quiet", action="store_true", help="print nothing but errors")

    def _reproduce(args) -> int:
        from .reproduce import reproduce
        from .outputs import OutputExistsError

        as_int("--jobs", args.jobs, minimum=1)
        if args.out.exists() and args.out.is_dir() and any(args.out.iterdir()) and not args.force:
            raise OutputExistsError(f"{args.out} exists and is not empty; pass --force to replace it", key="--out")
        results = reproduce(args.out, quick=args.quick, jobs=args.jobs, progress=not args.quiet, force=args.force)
        if not args.quiet:
            print((args.out / "tables.md").read_text(encoding="utf-8"))
            print(f"wrote {args.out}/ (results.json, tables.md, generation.png, nmse.png) in "
                  f"{fmt.value(results['wall_seconds'] / 60)} min")
        return 0

    rep.set_defaults(func=_reproduce)


def _add_analyze(sub) -> None:
    an = sub.add_parser("analyze", help="bound every module's response time and the output latency of a scenario's "
                                        "compute model (schedulability analysis; writes nothing)")
    an.add_argument("scenario", type=Path, help="scenario file (.toml) with an [engine] compute model")
    an.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a scenario key, e.g. --set engine.compute.preemptive=true (repeatable)")
    an.add_argument("--json", action="store_true", help="print the result as JSON (unbounded values as null)")
    an.set_defaults(func=_analyze)


def _analyze(args) -> int:
    import json
    import math

    from ..sched.analyze import analysis_in_seconds, analysis_table, analyze
    from .scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    options = scenario.engine_options
    if options.get("compute") is None:
        raise InvalidValueError("the scenario has no compute model to analyse; add [engine] compute = {cores = ...}",
                                key="engine.compute", file=args.scenario)
    result = analyze(scenario.model, options["compute"], deadline=options.get("deadline"), step=options.get("step"),
                     batch=scenario.x.shape[0])
    if options.get("step"):                                     # real units: times in seconds, as the summary's
        result = analysis_in_seconds(result, options["step"])
    if args.json:
        def finite(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: finite(x) for k, x in v.items()}
            if isinstance(v, list):
                return [finite(x) for x in v]
            return v
        print(json.dumps(finite(result), indent=2))
    else:
        print(f"{scenario.name}: " + analysis_table(result))
    return 0


COMMANDS = [_add_explain, _add_run, _add_compare, _add_plot, _add_sweep, _add_search, _add_reproduce, _add_analyze,
            _add_calibrate]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 1 failure, 128 + n on signal n).

    SIGTERM and SIGHUP end the command as Ctrl-C does: temporary folders are removed first.
    """
    parser = build_parser()
    previous = handle_signals() if threading.current_thread() is threading.main_thread() else {}
    try:
        args = parser.parse_args(argv)
        status = int(args.func(args) or 0)
        check_signals()                      # a signal swallowed inside a C callback still ends the command
        return status
    except UsageError as exc:
        return _fail(str(exc))
    except ClocksimError as exc:
        return _fail(format_error(exc))
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        name = signal.Signals(signum).name if signum != signal.SIGINT else "interrupted"
        print(f"clocksim: {'stopped by ' + name if signum != signal.SIGINT else name} (nothing half-written was "
              "left behind)", file=sys.stderr)
        return 128 + int(signum)
    except BrokenPipeError:                  # e.g. `clocksim explain ... | head -1`: the reader left, not an error
        _stdout_gone()
        return 0
    except MemoryError:
        return _fail("out of memory; make the run smaller (or set CLOCKSIM_MAX_MEMORY lower so that such runs are "
                     "refused before they start)", code=1)
    except OSError as exc:
        return _fail(f"{exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}", code=1)
    finally:
        restore_signals(previous)


def format_error(exc: ClocksimError) -> str:
    """One line from the error's attributes: ``file: key: what went wrong`` (cut to a readable length)."""
    text = " ".join(": ".join(str(p) for p in (exc.file, exc.key, exc.detail) if p).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 3] + "..."


#: Longest error line printed (a value quoted in full could fill the terminal).
MAX_ERROR_CHARS = 600


def _fail(message: str, code: int = 2) -> int:
    print(f"clocksim: error: {message}", file=sys.stderr)
    return code


def _stdout_gone() -> None:
    """Point standard output at /dev/null, so that flushing what is left (at exit too) cannot fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):       # no real file descriptor (captured output): nothing to redirect
        pass


def console() -> None:  # pragma: no cover - thin wrapper for the console script
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:            # the reader left while the last lines were flushed: not an error
        _stdout_gone()
        code = 0
    # The ending process need not garbage-collect what it made (issue 16): the interpreter's teardown
    # traverses every object numba and matplotlib created, 0.3-0.7 s after a `clocksim run` (a fifth
    # of a warm one). Frozen objects are never traversed, and their memory goes with the process;
    # the rest of an orderly exit (atexit handlers, thread joins, flushing) still happens.
    gc.freeze()
    sys.exit(code)
