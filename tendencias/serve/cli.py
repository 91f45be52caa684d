"""`tendencias serve`: the dashboard and the trends API over an archive folder.

Credentials come from the environment only: TENDENCIAS_API_KEYS (machines), and for people
TENDENCIAS_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET (sign-in with the issuer), _AUDIENCE (bearer
tokens); see README "Briefs, dashboard, API and alerts". --dev_sign_in starts a development
issuer on this machine instead, to try it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tendencias.archive.files import require_archive
from tendencias.errors import UsageError
from tendencias.serve.settings import Settings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tendencias serve", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--archive", type=str, required=True, help="archive folder (--archive_dir of run/backfill)"
    )
    parser.add_argument(
        "--host", type=str, default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port (default %(default)s)")
    parser.add_argument(
        "--store",
        type=str,
        default="",
        help="the DuckDB file the archive is loaded into, kept between runs so a restart loads only "
        "new files (default ARCHIVE/.serve/store.duckdb); 'memory' keeps it in memory",
    )
    parser.add_argument(
        "--dev_sign_in",
        action="store_true",
        help="to try the dashboard on this machine: start a development issuer on 127.0.0.1 with "
        "the users ana (analyst) and admin, password TENDENCIAS_DEV_PASSWORD (default 'demo'); "
        "production signs in at a real issuer (TENDENCIAS_OIDC_ISSUER)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be from 1 to 65535")
    try:
        require_archive(args.archive)
    except ValueError as err:
        parser.error(f"--archive: {err}")
    if args.dev_sign_in and args.host not in ("127.0.0.1", "localhost"):
        parser.error("--dev_sign_in is for this machine only: use it with --host 127.0.0.1")
    try:
        settings = Settings.from_env(args.archive)
    except UsageError as err:
        parser.error(str(err))
    issuer = None
    if args.dev_sign_in:
        issuer, settings = dev_sign_in(settings)
    if not settings.api_keys and not settings.sign_in:
        parser.error("no credentials configured: set TENDENCIAS_API_KEYS and/or TENDENCIAS_OIDC_ISSUER")
    import uvicorn

    from tendencias.serve.app import create_app
    from tendencias.serve.store.duck import DuckDBStore, default_path

    path = None if args.store == "memory" else Path(args.store or default_path(args.archive))
    print(f"tendencias serve: loading {args.archive} into {path or 'memory'} ...", flush=True)
    store = DuckDBStore(args.archive, settings.refresh_s, path)
    print(
        f"tendencias serve: loaded {store.last_load or 'nothing new'}; http://{args.host}:{args.port}/",
        flush=True,
    )
    try:
        uvicorn.run(create_app(settings, store), host=args.host, port=args.port, log_level="info")
    finally:
        store.close()
        if issuer is not None:
            issuer.stop()
    return 0


def dev_sign_in(settings: Settings):
    """A development issuer on a free loopback port, and settings that sign in there."""
    import dataclasses
    import os

    from tendencias.serve.dev_issuer import DevIssuer, User

    password = os.environ.get("TENDENCIAS_DEV_PASSWORD", "demo")
    issuer = DevIssuer(users={"ana": User(password, ["analyst"]), "admin": User(password, ["admin"])}).start()
    print(
        f"tendencias serve: development sign-in at {issuer.issuer}: users ana (analyst) and admin, "
        f"password {password!r}",
        flush=True,
    )
    return issuer, dataclasses.replace(
        settings, oidc_issuer=issuer.issuer, oidc_client_id=issuer.client_id, cookie_secure=False
    )
