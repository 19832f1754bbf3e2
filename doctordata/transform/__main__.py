"""`python -m doctordata.transform package-path`: where the doctordata dbt package is.

For plain dbt with your own profiles.yml:
    export DOCTORDATA_DBT_PACKAGE=$(python -m doctordata.transform package-path)
    dbt deps && dbt build
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent / "dbt_package"


def main(argv: list[str]) -> int:
    if argv != ["package-path"]:
        print("usage: python -m doctordata.transform package-path", file=sys.stderr)
        return 2
    print(PACKAGE_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
