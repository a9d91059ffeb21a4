#!/usr/bin/env python3
"""Generate users.csv and devices.csv for measuring `scepter import`.

    scripts/gen-import-data.py /tmp/scepter-import            # 50,000 users, 100,000 devices
    scripts/gen-import-data.py /tmp/small --users 100 --devices 200

The files land in the given directory (created if missing), never in the
repository: it refuses a directory inside this work tree. The data is
deterministic (fixed seed), so runs are comparable. Every device names an
existing user by userExternalId, except one in ten, which has no primary user.
"""

import argparse
import csv
import random
import sys
import uuid
from pathlib import Path

PLATFORMS = ["windows10", "windows10", "windows10", "ios", "ios", "android", "android", "macos"]
OS_VERSIONS = {
    "windows10": ["10.0.19045", "10.0.22631", "10.0.26100"],
    "ios": ["17.5.1", "18.1", "18.2"],
    "android": ["13", "14", "15"],
    "macos": ["14.6", "15.1", "15.2"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="directory to write users.csv and devices.csv into")
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()

    repo = Path(__file__).resolve().parent.parent
    out_dir = args.out_dir.resolve()
    if out_dir == repo or repo in out_dir.parents:
        print(f"refusing to write into the repository ({repo}); pick a directory outside it", file=sys.stderr)
        return 2
    if args.users < 1 or args.devices < 0:
        print("--users must be at least 1 and --devices at least 0", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)

    users_path = out_dir / "users.csv"
    with users_path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["externalId", "userPrincipalName", "displayName", "mail", "onPremisesSamAccountName"]
        )
        for n in range(args.users):
            login = f"user{n:06d}"
            writer.writerow(
                [f"U-{n:06d}", f"{login}@contoso.com", f"User {n:06d}", f"{login}@contoso.com", login]
            )

    devices_path = out_dir / "devices.csv"
    with devices_path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "externalId",
                "deviceName",
                "platform",
                "osVersion",
                "serialNumber",
                "imei",
                "azureADDeviceId",
                "userExternalId",
            ]
        )
        for n in range(args.devices):
            platform = rng.choice(PLATFORMS)
            phone = platform in ("ios", "android")
            user = "" if n % 10 == 9 else f"U-{rng.randrange(args.users):06d}"
            writer.writerow(
                [
                    f"D-{n:07d}",
                    f"{platform.upper()}-{n:07d}",
                    platform,
                    rng.choice(OS_VERSIONS[platform]),
                    f"SN{rng.randrange(16**10):010X}",
                    "".join(str(rng.randrange(10)) for _ in range(15)) if phone else "",
                    str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    user,
                ]
            )

    print(f"wrote {args.users} users to {users_path} and {args.devices} devices to {devices_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
