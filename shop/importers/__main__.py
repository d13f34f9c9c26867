"""python -m shop.importers FILE MAPPING  -- import FILE into $SEGMENTS_HOME/landing and print the report."""

from __future__ import annotations

import sys

from shop.home import Home
from shop.importers import MappingError, import_file, shipped_mappings
from shop.readers import MalformedFileError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(f"usage: python -m shop.importers FILE MAPPING   (shipped mappings: {', '.join(shipped_mappings())})")
        return 2
    try:
        report = import_file(args[0], args[1], Home.from_env())
    except (MalformedFileError, MappingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report)
    return 0 if report.reconciles else 1


if __name__ == "__main__":
    sys.exit(main())
