"""Run by python_threads_test.py under the library: between the lines
"before" and "after" (each answered on stdin after a snapshot) it starts
POOL threads that block forever from spawn_pool, and threads that come and
go: started and joined, and a ThreadPoolExecutor shut down."""
import concurrent.futures
import sys
import threading
import time

POOL = 16


def step(name):
    print(name, flush=True)
    if not sys.stdin.readline():
        sys.exit(3)


never = threading.Event()


def spawn_pool():
    for _ in range(POOL):
        threading.Thread(target=never.wait, daemon=True).start()


step("before")
spawn_pool()
churn = [threading.Thread(target=sum, args=(range(1000),)) for _ in range(20)]
for t in churn:
    t.start()
for t in churn:
    t.join()
with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
    list(ex.map(abs, range(100)))
# Joined Python threads may still be leaving the C library's start routine
# (Python 3.11 detaches its threads): wait until only the pool is left.
deadline = time.monotonic() + 10
while threading.active_count() != POOL + 1 and time.monotonic() < deadline:
    time.sleep(0.01)
time.sleep(0.2)
step("after")
