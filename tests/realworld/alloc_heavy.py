"""An allocation-heavy Python workload with a deterministic checksum.

About a million objects (dicts, lists, strings, tuples), JSON round-trips,
sorting, string building and a reference cycle collection; prints counts and
a SHA-256 of everything it built. Run by python_test.py with and without
libleaktrace.so: the output must be identical.
"""
import gc
import hashlib
import json
import sys

digest = hashlib.sha256()

# 1. Many small dicts with strings and lists in them.
records = []
for i in range(120_000):
    records.append({
        "id": i,
        "name": f"user-{i:06d}",
        "tags": [f"t{i % 7}", f"g{i % 13}", str(i * 31 % 1000)],
        "score": (i * 2654435761) % 1_000_003 / 7.0,
    })
digest.update(str(len(records)).encode())

# 2. JSON round-trips, in chunks (big strings, then many objects again).
total_len = 0
for start in range(0, len(records), 20_000):
    text = json.dumps(records[start:start + 20_000], sort_keys=True)
    total_len += len(text)
    back = json.loads(text)
    assert back == records[start:start + 20_000]
    digest.update(hashlib.sha256(text.encode()).digest())
print("json_bytes", total_len)

# 3. Sorting and grouping: tuples, dict of lists.
groups = {}
for r in sorted(records, key=lambda r: (r["score"], r["id"])):
    groups.setdefault(r["tags"][0], []).append((r["id"], r["name"]))
for k in sorted(groups):
    digest.update(k.encode())
    digest.update(str(sum(i for i, _ in groups[k])).encode())
print("groups", len(groups), sum(len(v) for v in groups.values()))

# 4. String churn: joins, splits, replaces, bytes.
words = []
for i in range(200_000):
    w = ("abc" * (i % 11)) + str(i)
    words.append(w.upper() if i % 3 == 0 else w[::-1])
blob = " ".join(words)
parts = blob.split(" ")
digest.update(blob.replace("A", "a").encode())
print("words", len(parts))

# 5. Reference cycles, collected by the GC.
class Node:
    __slots__ = ("next", "payload", "__weakref__")

    def __init__(self, payload):
        self.payload = payload
        self.next = None

for round_ in range(5):
    nodes = [Node(bytearray(i % 64)) for i in range(50_000)]
    for a, b in zip(nodes, nodes[1:] + nodes[:1]):
        a.next = b
    del nodes
    gc.collect()

# 6. A big list and dict, grown and shrunk (realloc of large blocks).
big = list(range(1_000_000))
index = {i: i * i for i in range(0, 1_000_000, 3)}
digest.update(str(sum(big) + sum(index.values())).encode())
del big[::2]
index.clear()
print("big", len(big))

print("checksum", digest.hexdigest())
sys.exit(0)
