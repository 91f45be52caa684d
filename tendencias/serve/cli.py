"""`tendencias serve`: the dashboard and the trends API over an archive folder.

Credentials come from the environment only: TENDENCIAS_API_KEYS (machines), and for people
TENDENCIAS_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET (sign-in with the issuer), _AUDIENCE (bearer
tokens); see README "Briefs, dashboard, API and alerts".
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
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be from 1 to 65535")
    try:
        require_archive(args.archive)
    except ValueError as err:
        parser.error(f"--archive: {err}")
    try:
        settings = Settings.from_env(args.archive)
    except UsageError as err:
        parser.error(str(err))
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
    uvicorn.run(create_app(settings, store), host=args.host, port=args.port, log_level="info")
    store.close()
    return 0
