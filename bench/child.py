"""Run one scenario's measurement in this (fresh) process and print its result as one JSON line:
``python -m bench.child MODULE SITE_JSON N [OPTIONS_JSON]``. A process per measurement keeps scenarios from polluting
each other's memory and caches."""

from __future__ import annotations

import cProfile
import importlib
import json
import os
import sys
from pathlib import Path

from bench.world import Site


def main(argv: list[str]) -> None:
    module, site_path, n = argv[0], Path(argv[1]), int(argv[2])
    options = json.loads(argv[3]) if len(argv) > 3 else {}
    scenario = importlib.import_module(f"bench.scenarios.{module}")
    profile_folder = os.environ.get("BENCH_PROFILE")  # a folder: each measurement's cProfile stats go there
    if profile_folder:
        with cProfile.Profile() as profile:
            row = scenario.measure(Site.load(site_path), n, **options)
        profile.dump_stats(Path(profile_folder) / f"{module}-{n}-{os.getpid()}.prof")
    else:
        row = scenario.measure(Site.load(site_path), n, **options)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
