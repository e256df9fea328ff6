"""Print the environment that points the suite at a real PostgreSQL and Redis.

Uses DATABASE_URL / REDIS_URL when they are set, else the servers on 127.0.0.1 when both
answer (as on the developers' machines and CI); prints nothing when either is missing.
"""

import os
import socket
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
# A database number of its own, so tests never touch what a local Parley keeps in db 0.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def main() -> None:
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if answers(database_url, 5432) and answers(redis_url, 6379):
        print(f"DATABASE_URL={database_url} REDIS_URL={redis_url}")


if __name__ == "__main__":
    main()
