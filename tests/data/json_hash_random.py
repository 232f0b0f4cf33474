# The real.python3 test: a small script that exercises json, hashlib, random
# and time, printing values that differ per run.
import hashlib
import json
import random
import time

start = time.time()
doc = {"numbers": [random.random() for _ in range(5)], "when": start,
       "nested": {"ok": True, "items": list(range(10))}}
text = json.dumps(doc, sort_keys=True)
print("json:", text[:120])
print("roundtrip equal:", json.loads(text) == doc)
print("sha256:", hashlib.sha256(text.encode()).hexdigest())
print("md5 of random bytes:", hashlib.md5(random.randbytes(64)).hexdigest())
print("monotonic delta > 0:", time.monotonic() - time.monotonic() <= 0)
print("perf_counter_ns:", time.perf_counter_ns())
print("elapsed:", time.time() - start)
