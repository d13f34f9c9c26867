"""Run as a separate process by test_serving: read the serving copy in a loop while publishes happen.

Prints one JSON line per read of segments.duckdb (its embedded run id and manifest rows, the actual
counts) and of each parquet file (its row count); exits 1 on the first read that fails.
Usage: python serving_reader.py SERVING_DIR STOP_FILE
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb


def read_once(serving: Path) -> list[dict]:
    out = []
    con = duckdb.connect(str(serving / "segments.duckdb"), read_only=True)
    try:
        rows = con.execute("select run_id, table_name, rows from main.serving_manifest order by table_name").fetchall()
        counts = {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for _, t, _ in rows}
        out.append({"kind": "duckdb", "run_id": rows[0][0], "manifest": {t: n for _, t, n in rows}, "counts": counts})
    finally:
        con.close()
    for path in sorted((serving / "parquet").glob("*.parquet")):
        con = duckdb.connect()
        try:
            n = con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchall()[0][0]
        finally:
            con.close()
        out.append({"kind": "parquet", "file": path.name, "rows": n})
    return out


def main() -> int:
    serving, stop = Path(sys.argv[1]), Path(sys.argv[2])
    reads = 0
    while True:
        stopping = stop.exists()  # checked before the read, so the last read starts after the last publish
        try:
            for line in read_once(serving):
                print(json.dumps(line), flush=True)
        except Exception as exc:  # report what failed, for the test's message
            print(json.dumps({"kind": "error", "error": f"{type(exc).__name__}: {exc}"}), flush=True)
            return 1
        reads += 1
        if stopping and reads >= 3:
            return 0
        time.sleep(0.001)


if __name__ == "__main__":
    sys.exit(main())
