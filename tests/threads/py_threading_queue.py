# Real-program test: CPython threads (GIL hand-offs are futex waits and
# wakes) feeding a queue.Queue; 4 workers hash items and a collector checks
# the results. The totals are fixed; which worker did how much varies, and
# is printed so replay must reproduce the recorded schedule.
import hashlib
import queue
import threading

jobs, results = queue.Queue(maxsize=16), queue.Queue()
done_by = {}


def worker(name):
    count = 0
    while True:
        item = jobs.get()
        if item is None:
            break
        digest = hashlib.sha256(str(item).encode() * 50).hexdigest()
        results.put((item, digest))
        count += 1
    done_by[name] = count


threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
for t in threads:
    t.start()
for i in range(2000):
    jobs.put(i)
for _ in threads:
    jobs.put(None)
for t in threads:
    t.join()

got = sorted(results.get() for _ in range(results.qsize()))
assert [i for i, _ in got] == list(range(2000)), "lost or duplicated items"
print("items", len(got), "digest", hashlib.sha256("".join(d for _, d in got).encode()).hexdigest())
print("per worker (varies):", sorted(done_by.items()))
