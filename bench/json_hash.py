# Benchmark workload: interpreter start-up (hundreds of small file and mmap
# syscalls) plus ~0.5 s of JSON and hashing work in pure Python.
import hashlib
import json
import sys

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
doc = {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b", str(i % 7)],
                  "score": i * 0.5} for i in range(300)]}
digest = hashlib.sha256()
for r in range(rounds):
    text = json.dumps(doc, sort_keys=True)
    doc = json.loads(text)
    doc["items"][r % 300]["score"] += 1
    digest.update(text.encode())
print(digest.hexdigest())
