"""`make bench`: how close `git codev` stays to its floors, measured in the same run.

Builds every fixture in a temporary directory under a sealed HOME, times each operation
several times interleaved with its floor, and prints a markdown table (or ``--json``).
``--smoke`` uses tiny sizes and finishes in seconds; its numbers mean nothing.

    .venv/bin/python bench/run.py [--smoke] [--json] [--only send,inbox,...] [--keep DIR]
                                  [--write docs/benchmark.md]

Rows come from the modules listed in bench/registry.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.env import seal


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that it runs")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--only", metavar="KEYS", help="comma-separated row keys to measure")
    parser.add_argument("--keep", metavar="DIR", help="build fixtures in DIR and keep them")
    parser.add_argument("--write", metavar="FILE", help="also write the table into FILE")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="codev-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        seal(root)
        from bench import output_size
        from bench.registry import all_rows
        from bench.report import document, machine, text
        from bench.rows import FULL, SMOKE, Bench
        from bench.timing import BenchError

        measures = all_rows()

        sizes = SMOKE if args.smoke else FULL
        bench = Bench(root / "fixtures", sizes, lambda line: print(line, file=sys.stderr))
        wanted = set(args.only.split(",")) if args.only else None
        rows = []
        unknown = (wanted or set()) - set(measures)
        if unknown:
            print(
                f"bench: unknown rows {sorted(unknown)}; known: {list(measures)}", file=sys.stderr
            )
            return 2
        for key, measure in measures.items():
            if wanted is not None and key not in wanted:
                continue
            bench.say(f"measuring {key}")
            try:
                rows.append(measure(bench).as_json())
            except BenchError as exc:
                print(f"bench: {key}: {exc}", file=sys.stderr)
                return 1
        report = {
            "machine": machine(),
            "smoke": args.smoke,
            "runs": sizes.cli_runs,
            "rows": rows,
            "disk": bench.disk,
        }
        report["outputSize"] = output_size.measure(root / "output-size", smoke=args.smoke)
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(text(report) + output_size.markdown(report["outputSize"]))
        if args.write:
            Path(args.write).parent.mkdir(parents=True, exist_ok=True)
            Path(args.write).write_text(
                document(report, sizes) + output_size.markdown(report["outputSize"])
            )
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
