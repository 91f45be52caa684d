"""The `tendencias` command: one entry point, one module per subcommand.

Subcommand modules are imported only when used, so `tendencias --help` stays fast and a
command that does not need TensorFlow never imports it. Each module exposes
`main(argv: list[str]) -> int`.
"""

from __future__ import annotations

import importlib
import sys

from tendencias import __version__

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("tendencias.pipelines.streaming", "run the streaming trends job on Kafka"),
    "backfill": ("tendencias.pipelines.backfill", "run the same graph over a JSONL file of posts"),
    "analyze": ("tendencias.pipelines.analyze", "analyse a window of history into a transform_fn"),
    "replay": ("tendencias.tools.replay", "produce a JSONL file of posts into Kafka in event-time order"),
    "sentiment": ("tendencias.tools.sentiment_cli", "label texts (one per line) with sentiment"),
    "train-sentiment": (
        "tendencias.tools.train_sentiment",
        "rebuild the local sentiment model from labelled data",
    ),
    "finetune": ("tendencias.tools.finetune", "export labelled posts for fine-tuning, or submit a job"),
    "import": ("tendencias.tools.import_tweets", "turn a public tweet export (CSV) into posts JSONL"),
    "sample": ("tendencias.tools.sample_data", "generate synthetic sample posts and sales"),
    "brief": ("tendencias.tools.brief", "write innovation briefs for the stories and weeks of an archive"),
    "serve": ("tendencias.serve.cli", "the dashboard and trends API over an archive (or BigQuery)"),
    "notify": ("tendencias.notify.cli", "send new alert episodes to Slack and signed webhooks"),
    "demo": ("tendencias.tools.demo", "replay generated sample data through the pipeline and show trends"),
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: tendencias <command> [options]   (tendencias <command> --help for its options)",
        "",
        "commands:",
    ]
    lines += [f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        print(f"tendencias {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"tendencias: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
