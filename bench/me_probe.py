"""The ``GET /me`` probe of ``bench.load_http`` in a process of its own: one keep-alive connection, one request then
a pause of ``interval`` seconds, for ``seconds``, as one more user would send them; prints one JSON object with each
request's latency (seconds) and the refusals by status.

    python -m bench.me_probe URL TOKEN SECONDS [INTERVAL]

The load's clients share one event loop in the benchmark's process, so a probe among them also measures how long that
loop takes to get to its answer; this one measures the hub alone. Bounded: every request has a timeout.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

import httpx

REQUEST_TIMEOUT = 40.0


def probe(url: str, token: str, seconds: float, interval: float) -> dict[str, object]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    end = time.monotonic() + seconds
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=REQUEST_TIMEOUT) as client:
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                status = client.get("/me").status_code
                if status >= 400:
                    errors[str(status)] += 1
            except httpx.HTTPError as error:
                errors[type(error).__name__] += 1
            latencies.append(time.monotonic() - started)
            time.sleep(interval)  # as the load's own probe does
    return {"latencies": latencies, "errors": dict(errors)}


def main() -> None:
    url, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
    print(json.dumps(probe(url, token, seconds, interval)), flush=True)


if __name__ == "__main__":
    main()
