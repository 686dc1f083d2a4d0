"""A deliberately naive twin of the scheduler, written from the definitions (DESIGN section 10).

Unit time: integer periods, execution times and deadlines, synchronous release at 0. At every
integer instant t: jobs released at t join; a task's next job is eligible only once its previous
job has finished; then the cores are given out:

- preemptive: the ``cores`` best eligible jobs run during [t, t + 1) (global scheduling);
- non-preemptive: a running job keeps its core; each free core takes the best eligible job.

Best = fixed priority: lower rank, then earlier release, then lower task index; EDF: earlier
absolute deadline, then lower task index; FIFO: earlier release, then lower task index. A job that
runs during [t, t + 1) does one unit of work. Response time = finish - release. No overheads, one
speed. Imported by the tests only.
"""


def naive_schedule(periods, wcets, horizon, *, policy="fixed-priority", ranks=None, deadlines=None,
                   preemptive=True, cores=1):
    """{(task, k): response time of job k of task} for jobs released before ``horizon``."""
    g = len(periods)
    deadlines = list(periods) if deadlines is None else list(deadlines)
    ranks = list(range(g)) if ranks is None else list(ranks)
    pending = {i: [] for i in range(g)}          # released, unfinished jobs of each task, oldest first
    left = {}
    running = [None] * cores
    released_all = {}
    response = {}
    t = 0
    while t < horizon or any(pending.values()):
        for i in range(g):
            if t < horizon and t % periods[i] == 0:
                k = t // periods[i]
                pending[i].append(k)
                left[(i, k)] = wcets[i]
                released_all[(i, k)] = t

        def best_key(job):
            i, k = job
            r = released_all[job]
            if policy == "edf":
                return (r + deadlines[i], i)
            if policy == "fifo":
                return (r, i)
            return (ranks[i], r, i)

        eligible = [(i, pending[i][0]) for i in range(g) if pending[i]]
        if preemptive:
            chosen = sorted(eligible, key=best_key)[:cores]
            running = chosen + [None] * (cores - len(chosen))
        else:
            busy = {job for job in running if job is not None}
            free = [j for j in sorted(eligible, key=best_key) if j not in busy]
            for c in range(cores):
                if running[c] is None and free:
                    running[c] = free.pop(0)
        for c, job in enumerate(running):
            if job is None:
                continue
            left[job] -= 1
            if left[job] == 0:
                i, k = job
                pending[i].remove(k)
                response[job] = t + 1 - released_all[job]
                running[c] = None
        t += 1
    return response
