"""``python -m hhnas.mirror sync|dashboard``: rebuild the mirror from the files; serve it.

``sync`` reads the workflow's config (``config/config.yaml`` and the ``--configfile`` files
the run was given, merged as Snakemake merges them) for each search's space, then makes
``results/optuna/journal.log`` equal to the state and metrics files. ``dashboard`` syncs, then
starts optuna-dashboard on 127.0.0.1 only: on a cluster, reach it through an SSH tunnel
(README, "Watching a search").
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from collections.abc import Callable, Sequence

from hhnas.config import Config, load, merged
from hhnas.mirror.journal import journal_path
from hhnas.mirror.sync import Distributions, SyncReport, sync_all
from hhnas.mirror.trials import ExperimentDir
from hhnas.search.optuna_tpe import optuna_distributions
from hhnas.search.space import space_from_config

DEFAULT_CONFIG = "config/config.yaml"
HOST = "127.0.0.1"


def config_distributions(cfg: Config) -> Callable[[ExperimentDir], Distributions | None]:
    """Each experiment folder's search space from the config, or None where it has none."""

    def lookup(exp: ExperimentDir) -> Distributions | None:
        try:
            search = cfg.job_config(exp.dataset, exp.variant, study=exp.confirmatory)["search"]
        except KeyError:
            return None
        return optuna_distributions(space_from_config(search))

    return lookup


def run_sync(results: str, configfiles: Sequence[str]) -> SyncReport:
    cfg = load(merged(DEFAULT_CONFIG, *configfiles))
    report = sync_all(results, config_distributions(cfg))
    print(
        f"{journal_path(results)}: {report.studies} studies in sync, {report.appended} trials "
        f"appended, {len(report.rewritten)} studies rewritten, {len(report.deleted)} deleted",
        file=sys.stderr,
    )
    for why in report.skipped.values():
        print(f"  skipped {why}", file=sys.stderr)
    return report


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def serve(results: str, port: int) -> None:
    import optuna_dashboard

    from hhnas.mirror.journal import open_storage

    print(f"optuna-dashboard: http://{HOST}:{port}/dashboard (Ctrl-C stops it)", flush=True)
    optuna_dashboard.run_server(open_storage(journal_path(results)), host=HOST, port=port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hhnas.mirror", description=__doc__)
    parser.add_argument("--results", default="results", help="the results folder (results)")
    parser.add_argument(
        "--configfile",
        action="append",
        default=[],
        help=f"config files the run was given, merged over {DEFAULT_CONFIG} (repeatable)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sync", help="make the journal equal to the state and metrics files")
    dash = sub.add_parser("dashboard", help="sync, then serve optuna-dashboard on 127.0.0.1")
    dash.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    if args.command == "dashboard" and not port_free(args.port):
        print(
            f"port {args.port} on {HOST} is in use (another dashboard?): "
            f"choose another with `make dashboard PORT=...`",
            file=sys.stderr,
        )
        return 1
    run_sync(args.results, args.configfile)
    if args.command == "dashboard":
        try:
            serve(args.results, args.port)
        except KeyboardInterrupt:
            pass
    return 0
