"""`tendencias notify`: send new alert episodes of an archive to Slack and a signed webhook.

Targets come from the environment (their URLs are secrets): TENDENCIAS_SLACK_WEBHOOK_URL,
TENDENCIAS_WEBHOOK_URL and TENDENCIAS_WEBHOOK_SECRET. --follow keeps checking the archive.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from tendencias.archive.files import read_records, require_archive
from tendencias.notify.webhooks import SentEpisodes, Target, deliver
from tendencias.records import is_alert


def targets_from_env() -> list[Target]:
    env = os.environ
    targets = []
    if env.get("TENDENCIAS_SLACK_WEBHOOK_URL"):
        targets.append(Target("slack", env["TENDENCIAS_SLACK_WEBHOOK_URL"]))
    if env.get("TENDENCIAS_WEBHOOK_URL"):
        if not env.get("TENDENCIAS_WEBHOOK_SECRET"):
            raise ValueError("TENDENCIAS_WEBHOOK_URL needs TENDENCIAS_WEBHOOK_SECRET to sign its messages")
        targets.append(Target("webhook", env["TENDENCIAS_WEBHOOK_URL"], env["TENDENCIAS_WEBHOOK_SECRET"]))
    if not targets:
        raise ValueError("no target: set TENDENCIAS_SLACK_WEBHOOK_URL and/or TENDENCIAS_WEBHOOK_URL")
    return targets


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tendencias notify", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--archive", type=Path, required=True, help="archive folder (--archive_dir of run/backfill)"
    )
    parser.add_argument(
        "--state", type=Path, default=None, help="file of sent episodes (default ARCHIVE/.notify.sqlite)"
    )
    parser.add_argument("--dashboard_url", type=str, default="", help="link to put in messages")
    parser.add_argument(
        "--follow", type=float, default=0, help="check again every this many seconds; 0: once"
    )
    args = parser.parse_args(argv)
    try:
        require_archive(args.archive)
        targets = targets_from_env()
    except ValueError as err:
        parser.error(str(err))
    sent = SentEpisodes(args.state or args.archive / ".notify.sqlite")
    while True:
        alerts = [t for t in read_records(args.archive, "trends") if is_alert(t)]
        print(json.dumps(deliver(alerts, targets, sent, args.dashboard_url)), file=sys.stderr)
        if not args.follow:
            return 0
        time.sleep(args.follow)
