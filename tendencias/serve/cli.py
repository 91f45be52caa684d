"""`tendencias serve`: the dashboard and the trends API over an archive folder.

Credentials come from the environment only: TENDENCIAS_API_KEYS (machines) and
TENDENCIAS_OIDC_ISSUER / _AUDIENCE / _JWKS_URL (people); see README "Dashboard and API".
"""

from __future__ import annotations

import argparse

from tendencias.archive.files import require_archive
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
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be from 1 to 65535")
    try:
        require_archive(args.archive)
    except ValueError as err:
        parser.error(f"--archive: {err}")
    import uvicorn

    from tendencias.serve.app import create_app
    from tendencias.serve.store.duck import DuckDBStore

    settings = Settings.from_env(args.archive)
    if not settings.api_keys and not settings.oidc_issuer:
        parser.error("no credentials configured: set TENDENCIAS_API_KEYS and/or TENDENCIAS_OIDC_ISSUER")
    app = create_app(settings, DuckDBStore(args.archive, settings.refresh_s))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
