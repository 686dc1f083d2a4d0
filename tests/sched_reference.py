"""A naive job-level scheduler in exact arithmetic: the slow twin the analysis is checked against.

``schedule(jobs, ...)`` runs released jobs on ``cores`` cores and returns each job's finish time.
Rules (DESIGN section 10): fixed priority (lower runs first, ties by release then task), EDF
(earliest release + D, ties by task), FIFO (release, then task); preemptive or not; global (any
free core) or partitioned (one core per task). Obviously correct rather than fast: it steps from
event to event and re-decides everything at each.
"""

from fractions import Fraction


def schedule(jobs, *, cores=1, policy="fixed-priority", priorities=None, deadlines=None, preemptive=True,
             partition=None):
    """``jobs``: list of (release, task, work); returns the finish time of each, in order."""
    jobs = [(Fraction(r), task, Fraction(c)) for r, task, c in jobs]
    n = len(jobs)

    def key(k):
        r, task, _ = jobs[k]
        if policy == "fixed-priority":
            return (priorities[task], r, task, k)
        if policy == "edf":
            return (r + Fraction(deadlines[task]), task, k)
        return (r, task, k)

    remaining = [c for _, _, c in jobs]
    finish = [None] * n
    running = {}                       # core -> job
    t = Fraction(0)
    order = sorted(range(n), key=lambda k: jobs[k][0])
    nxt = 0                            # next job of ``order`` not yet released
    ready = set()
    while nxt < n or ready or running:
        while nxt < n and jobs[order[nxt]][0] <= t:
            ready.add(order[nxt])
            nxt += 1
        for core, k in list(running.items()):     # zero-work jobs and finished ones leave now
            if remaining[k] == 0:
                finish[k] = t
                del running[core]
        for k in [k for k in ready if remaining[k] == 0]:
            finish[k] = t
            ready.discard(k)
        core_of = (lambda k: partition[jobs[k][1]]) if partition is not None else None
        for core in range(cores):
            mine = [k for k in ready if core_of is None or core_of(k) == core]
            if core in running and not preemptive:
                continue
            if core_of is None:
                continue
            current = running.get(core)
            cands = mine + ([current] if current is not None else [])
            if cands:
                best = min(cands, key=key)
                if current is not None and best != current:
                    ready.add(current)
                running[core] = best
                ready.discard(best)
        if core_of is None:                       # global: the best m of ready and running (preemptive)
            if preemptive:
                pool = list(ready) + list(running.values())
                chosen = sorted(pool, key=key)[:cores]
                keep = {c: k for c, k in running.items() if k in chosen}
                free = [c for c in range(cores) if c not in keep]
                for k in chosen:
                    if k not in keep.values():
                        keep[free.pop(0)] = k
                ready = set(pool) - set(chosen)
                running = keep
            else:
                for core in range(cores):
                    if core not in running and ready:
                        best = min(ready, key=key)
                        running[core] = best
                        ready.discard(best)
        horizon = [jobs[order[nxt]][0]] if nxt < n else []
        horizon += [t + remaining[k] for k in running.values()]
        if not horizon:
            break
        step = min(horizon) - t
        for k in running.values():
            remaining[k] -= step
        t += step
    return finish


def releases(tasks, horizon, offsets=None, jitter=None, work=None):
    """Jobs of periodic ``tasks`` (objects with C, T, J) arriving before ``horizon``: job ``k`` of task
    ``i`` arrives at ``offsets[i] + k T_i`` and is released ``jitter(i, k)`` (a fraction of ``J_i``) later,
    doing ``work(i, k)`` (a fraction of ``C_i``)."""
    out = []
    for i, t in enumerate(tasks):
        a = Fraction(offsets[i] if offsets else 0)
        k = 0
        while a + k * Fraction(t.T) < horizon:
            j = Fraction(t.J) * Fraction(jitter(i, k) if jitter else 0)
            c = Fraction(t.C) * Fraction(work(i, k) if work else 1)
            out.append((a + k * Fraction(t.T) + j, i, c))
            k += 1
    return out
