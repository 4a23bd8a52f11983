"""``python -m chalicelib.auth.bootstrap``: create the first platform operator of a deployment.

The password is read from the BTRIX_BOOTSTRAP_PASSWORD environment variable or asked for, never taken
from the command line (where it would stay in the shell history).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from chalicelib.auth.service import create_platform_admin
from chalicelib.core.errors import AppError


def main() -> int:
    """Create the operator; exit status 0 on success, 1 with the reason otherwise."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", default="Platform operator")
    args = parser.parse_args()
    from os import environ  # a command-line tool, not application code: reads its one input here

    password = environ.get("BTRIX_BOOTSTRAP_PASSWORD") or getpass.getpass("Password: ")
    try:
        user = create_platform_admin(args.email, args.name, password)
    except AppError as exc:
        print(f"not created: {exc.detail or exc.title}", file=sys.stderr)
        return 1
    print(f"platform operator {user.email} created ({user.id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
