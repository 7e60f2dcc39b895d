"""`python -m mrdib dashboard`: the one way to start the dashboard (what `make app` runs).

It binds 127.0.0.1 unless `--host` says otherwise, from any working directory (the address is
passed to streamlit, not left to a `.streamlit/config.toml` that is read only from the folder
streamlit starts in), finds `app/main.py` beside the package, and, when the artifacts folder has
no runs (or holds a demo that stopped half-way), builds the demo runs in a background process
whose progress the Welcome page shows. Streamlit itself is started as a child process: this
package never imports it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mrdib.commands.main import command, default_artifacts
from mrdib.core.errors import MrdibError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def app_main() -> Path:
    """`app/main.py` of the checkout this package was installed from (editable install)."""
    main = Path(__file__).resolve().parents[2] / "app" / "main.py"
    if not main.is_file():
        raise MrdibError(f"{main}: the dashboard is not there; it ships with the repository, so install "
                         "from a clone with `pip install -e .`")
    return main


def streamlit_command(main: Path, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(main), "--server.address", host, "--server.port",
            str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]


def free_port() -> int:
    """A localhost port nothing listens on now (for tests and scripts that start a dashboard)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen, deadline: float) -> str | None:
    """Poll streamlit's health endpoint at `url` until it answers; None then, else why not (the
    process exited, or time.monotonic() passed `deadline`). One place for every caller's wait."""
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return None
        except OSError:
            pass
        if process.poll() is not None:
            return f"the dashboard process exited (code {process.returncode}) before answering"
        if time.monotonic() > deadline:
            return f"the dashboard did not answer at {url}"
        time.sleep(0.3)


def resolve_artifacts(named: str | None) -> Path:
    """The folder given, which must exist, or the default (`$MRDIB_ARTIFACTS`, else ./artifacts),
    created when missing: a mistyped path is reported, not silently filled with demo runs."""
    if named is None:
        root = Path(default_artifacts())
        if not root.exists() and "MRDIB_ARTIFACTS" not in os.environ:
            root.mkdir(parents=True)
    else:
        root = Path(named)
    if not root.is_dir():
        raise MrdibError(f"{root}: artifacts folder does not exist (create it, or leave --artifacts out "
                         "for ./artifacts)")
    return root.resolve()


@command("dashboard", "start the dashboard on 127.0.0.1 (builds the demo runs in the background if there are none)")
def _dashboard_command(parser: argparse.ArgumentParser):
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0: everyone)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--artifacts", help="run folders to show (default $MRDIB_ARTIFACTS or ./artifacts)")
    parser.add_argument("--no-demo", dest="demo", action="store_false",
                        help="do not build the demo runs, even when the folder has none")

    def handle(args: argparse.Namespace) -> int:
        from mrdib.commands import demo

        main = app_main()
        if importlib.util.find_spec("streamlit") is None:
            raise MrdibError("streamlit is not installed in this environment: `pip install -r requirements.txt` "
                             "(or `make app`)")
        root = resolve_artifacts(args.artifacts)
        builder = None
        if args.demo and demo.needs_demo(root):
            builder = demo.start_in_background(root)
            print(f"building the demo runs in the background (progress on the Welcome page; log: "
                  f"{root / demo.LOG_FILE})", flush=True)
        shown_host = "localhost" if args.host == DEFAULT_HOST else args.host
        print(f"dashboard: http://{shown_host}:{args.port} (runs from {root}; Ctrl-C stops it)", flush=True)
        # `kill` (SIGTERM) stops the children too: the finally below runs as it does after Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
        server = subprocess.Popen(streamlit_command(main, args.host, args.port), cwd=main.parent.parent,
                                  env={**os.environ, "MRDIB_ARTIFACTS": str(root)})
        try:
            return server.wait()
        except KeyboardInterrupt:
            server.wait(timeout=30)  # streamlit got the same Ctrl-C and shuts down on its own
            return 0
        finally:
            for process in (server, builder):
                if process is not None and process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.kill()

    return handle
