#!/usr/bin/env python3
"""Run a shell command a few times; print the best wall time and the peak RSS of its processes."""
import resource, subprocess, sys, time

runs = int(sys.argv[1])
cmd = sys.argv[2]
best = None
for _ in range(runs):
    t = time.monotonic()
    subprocess.run(["bash", "-c", cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = time.monotonic() - t
    best = d if best is None else min(best, d)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024  # KiB -> MiB, largest child
print(f"{best:.2f} {rss}")
