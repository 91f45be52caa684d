"""`tendencias run` live with its default flags: how soon alerts and records come out, and the
memory the job holds, on Prism against the real broker.

History (the warm-up's worth, at the live rate, from the project's sample generator) is sent
first with past event times; then background posts are produced in real time with event time
= now, and every `--burst-every` minutes a burst: `--burst-posts` posts of a new story about a
fruit (a launch, a shortage, recipes, prices...) by different people within two minutes.
Printed: from the post that completes a burst (and from its first) to its alert on the alerts
topic, from a window's end to its first record, and the resident memory of the job (Python
workers and the Prism runner) sampled during the live part.

    .venv/bin/python benchmarks/bench_live.py [--minutes 60] [--rate 0.2] [--history-hours 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.process_tree import tree_rss_mb  # noqa: E402
from tendencias.pipelines.runner import prism_binary  # noqa: E402
from tendencias.tools.sample_data import generate  # noqa: E402

FRUITS = ["camu camu", "aguaymanto", "lucuma", "tumbo", "cocona", "pitahaya", "chirimoya", "guanabana"]


# Each burst is its own story told by different people in their own words: copies of one text
# count once (min_texts, per_text_cap), and bursts told in one shared set of words mean the
# same (cosine above --story_meaning), so the story grouper rightly joins them into one story.
BURST_STORIES = [
    ["ya salio la nueva bebida de {p}", "probe el refresco de {p} que lanzaron", "por fin sacaron {p} en botella",
     "la nueva gaseosa de {p} esta buenaza", "alguien ya probo la bebida de {p}?", "lanzamiento de {p} hoy en lima",
     "nueva bebida sabor {p} en todas las bodegas", "me compre la de {p} recien salida", "el jugo nuevo de {p} 10/10",
     "ya llego la bebida de {p} al super", "lanzaron {p} y se agoto rapido", "hoy estrene la nueva de {p}"],
    ["no encuentro {p} en ningun supermercado", "se acabo el {p} en todo miraflores", "donde venden {p}? ya no hay",
     "tres bodegas y ni una de {p}", "desabastecimiento de {p} otra vez", "el {p} esta agotado en plaza vea",
     "busco {p} por todo surco y nada", "ya no hay {p} ni en el mercado", "cuando vuelve el {p}?? no hay",
     "se quedaron sin {p} en tottus", "imposible conseguir {p} esta semana", "agotadisimo el {p} en san isidro"],
    ["receta facil de refresco de {p} casero", "hice chicha de {p} con la abuela", "licuado de {p} con leche, receta",
     "tip: el {p} con limon y hielo", "prepare helado de {p} en casa", "mi mama hace el mejor postre de {p}",
     "como preparar jugo de {p} sin azucar", "batido de {p} para el desayuno", "mousse de {p} paso a paso",
     "la receta de {p} que todos piden", "cheesecake de {p} para el domingo", "emoliente con {p}, pruebenlo"],
    ["subio el precio del {p} al doble", "el kilo de {p} ya cuesta un monton", "que caro esta el {p} este mes",
     "precio del {p} por las nubes", "el {p} a 15 soles? estan locos", "ya no alcanza ni para {p}",
     "otra vez subieron el {p} en el mercado", "el {p} mas caro que nunca", "inflacion: el {p} carisimo",
     "nadie compra {p} a ese precio", "me cobraron un platal por el {p}", "el {p} ahora es de lujo"],
    ["just tried the new {p} soda in lima, amazing", "{p} drink is my new favorite", "anyone else obsessed with {p} juice?",
     "the {p} flavor is so refreshing", "bought a {p} smoothie at the airport", "{p} kombucha tastes incredible",
     "tourists should try {p} drinks here", "my first {p} drink ever, wow", "can't stop drinking {p} lately",
     "{p} is the flavor of the summer", "ordered a {p} cocktail tonight", "best {p} drink I've had in peru"],
    ["el {p} tiene mas vitamina c que la naranja", "dicen que el {p} baja el colesterol", "nutricionista recomienda {p}",
     "el {p} es un superalimento peruano", "estudio: el {p} ayuda a la digestion", "beneficios del {p} para la salud",
     "el {p} tiene muchos antioxidantes", "como el {p} fortalece las defensas", "mi doctora me dijo que coma {p}",
     "el {p} es bueno para la piel", "el {p} ayuda en la dieta", "propiedades del {p} que no conocias"],
]  # fmt: skip


def burst_text(phrase: str, n_burst: int, i: int) -> str:
    story = BURST_STORIES[n_burst % len(BURST_STORIES)]
    return f"{story[i % len(story)].format(p=phrase)} #{phrase.replace(' ', '')}"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def fresh_topics(bootstrap: str, prefix: str) -> tuple[str, dict[str, str]]:
    """A run id and the job's topics, made for this run."""
    run = uuid.uuid4().hex[:8]
    topics = {name: f"{prefix}-{run}.{name}" for name in ("posts", "scores", "alerts", "dead")}
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(t, 3, 1) for t in topics.values()])
    admin.close()
    return run, topics


def job_command(bootstrap: str, topics: dict[str, str], group: str, prism: str) -> list[str]:
    """`tendencias run` on those topics from their start, default flags, local sentiment."""
    return [
        sys.executable, "-m", "tendencias.cli", "run",
        f"--kafka_bootstrap={bootstrap}", f"--posts_topic={topics['posts']}", "--sales_topic=",
        f"--scores_topic={topics['scores']}", f"--alerts_topic={topics['alerts']}",
        f"--dead_letter_topic={topics['dead']}", f"--group_id={group}", "--start_offset=earliest",
        "--sentiment_backend=local", f"--prism_location={prism}",
    ]  # fmt: skip


class Listener(threading.Thread):
    def __init__(self, bootstrap: str, topic: str):
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
        )
        self.records: list[tuple[float, dict]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for batch in self.consumer.poll(timeout_ms=200).values():
                now = time.time()
                self.records += [(now, json.loads(r.value)) for r in batch]
        self.consumer.close()


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """The broker and the generated history every live-job benchmark takes."""
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TENDENCIAS_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    parser.add_argument("--history-hours", type=float, default=7.0, help="history before the measured part")
    parser.add_argument("--rate", type=float, default=0.5, help="posts per second at the daily peak")


def required_prism() -> str | None:
    """The Prism binary, or None after saying how to build it."""
    prism = prism_binary()
    if prism is None:
        print("build Prism first: scripts/prism.sh", file=sys.stderr)
    return prism


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_job_arguments(parser)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the live part")
    parser.add_argument("--burst-every", type=float, default=10.0, help="minutes between planted bursts")
    parser.add_argument("--burst-posts", type=int, default=12)
    args = parser.parse_args()
    prism = required_prism()
    if prism is None:
        return 2
    run, topics = fresh_topics(args.bootstrap, "live")

    now = time.time()
    start = datetime.fromtimestamp(now, UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=int(args.history_hours)
    )
    hours = int(args.history_hours + args.minutes / 60) + 2
    posts, _, _ = generate(
        days=hours // 24 + 1, posts_per_hour=args.rate * 3600, start=start, seed=3, bursts=[]
    )
    history = [p for p in posts if parse_iso(p["created_at"]) < now]
    live = [p for p in posts if now <= parse_iso(p["created_at"]) < now + args.minutes * 60]

    log = open(ROOT / ".scratch" / f"bench_live-{run}.log", "w")
    job = subprocess.Popen(
        job_command(args.bootstrap, topics, f"live-{run}", prism),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    scores, alerts = Listener(args.bootstrap, topics["scores"]), Listener(args.bootstrap, topics["alerts"])
    scores.start()
    alerts.start()
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=5)
    memory: list[tuple[float, float]] = []
    bursts: list[tuple[str, float, float]] = []  # (phrase, when its first and its last post were sent)
    try:
        for post in history:
            producer.send(topics["posts"], json.dumps(post).encode(), key=post["id"].encode())
        producer.flush()
        print(f"history: {len(history)} posts sent; waiting for the job to work through it", file=sys.stderr)
        caught_up = now - 4 * 60
        while job.poll() is None and not any(
            parse_iso(t["window_end"]) >= caught_up for _, t in scores.records
        ):
            time.sleep(2)
        print(f"caught up after {time.time() - now:.0f} s; live for {args.minutes:g} min", file=sys.stderr)
        live_start = time.time()
        queue = sorted(live, key=lambda p: p["created_at"])
        next_burst, n_burst, next_sample = live_start + 60, 0, live_start
        while time.time() - live_start < args.minutes * 60 and job.poll() is None:
            t = time.time()
            while queue and parse_iso(queue[0]["created_at"]) <= t:
                post = queue.pop(0)
                producer.send(topics["posts"], json.dumps(post).encode(), key=post["id"].encode())
            if t >= next_burst:
                phrase, sent = FRUITS[n_burst % len(FRUITS)], []
                for i in range(args.burst_posts):
                    at = time.time()
                    sent.append(at)
                    burst = {"id": uuid.uuid4().hex, "text": burst_text(phrase, n_burst, i), "created_at": iso(at),
                             "source": "twitter", "author": f"fan{n_burst}-{i}", "region": "Lima"}  # fmt: skip
                    producer.send(topics["posts"], json.dumps(burst).encode(), key=burst["id"].encode())
                    producer.flush()
                    time.sleep(120 / args.burst_posts)
                bursts.append((phrase, sent[0], sent[-1]))
                n_burst += 1
                next_burst += args.burst_every * 60
            if t >= next_sample:
                memory.append((t - live_start, tree_rss_mb(job.pid)))
                next_sample += 30
            time.sleep(0.2)
        time.sleep(4 * 60)  # the last bursts' windows close
        memory.append((time.time() - live_start, tree_rss_mb(job.pid)))
    finally:
        scores.stop.set()
        alerts.stop.set()
        job.terminate()
        job.wait(timeout=60)
        producer.close()
    report(args, history, bursts, alerts.records, scores.records, memory, live_start)
    return 0


def _about(trend: dict, fruit: str) -> bool:
    return (
        trend["key"].replace("#", "") in (fruit, fruit.replace(" ", "")) or fruit.split()[0] in trend["key"]
    )


def report(args, history, bursts, alerts, scores, memory, live_start) -> None:
    print(f"\nLive run with default flags: {len(history)} posts of history, {args.minutes:g} min live "
          f"at {args.rate:g} posts/s (peak), {len(bursts)} bursts of {args.burst_posts} posts")  # fmt: skip
    delays, from_first = [], []  # alert minus the burst's last post (negative: before it), its first
    for phrase, began, completed in bursts:
        alerted = min((at for at, t in alerts if _about(t, phrase) and at >= began), default=None)
        delays.append(None if alerted is None else alerted - completed)
        if alerted is not None:
            from_first.append(alerted - began)
    found = [d for d in delays if d is not None]
    joined = [p for (p, *_), d in zip(bursts, delays, strict=True)
              if d is None and any(t.get("status") == "related" and _about(t, p) for _, t in scores)]  # fmt: skip
    print(f"  bursts alerted: {len(found)}/{len(bursts)}; other alerts: "
          f"{sum(1 for _, t in alerts if not any(_about(t, p) for p, *_ in bursts))}"
          + (f"; went out as related in a story instead: {', '.join(joined)}" if joined else ""))  # fmt: skip
    if found:
        # An alert leaves at the first window end (every --trend_slide) after enough of the burst
        # is in, so it may come before the burst's last post.
        print(f"  completing post -> alert on trends.alerts: median {statistics.median(found):6.1f} s, "
              f"p95 {percentile(found, 0.95):6.1f} s (negative: alerted before the burst's last post)")  # fmt: skip
        print(f"  first post of a burst -> alert: median {statistics.median(from_first):6.1f} s, "
              f"p95 {percentile(from_first, 0.95):6.1f} s (its posts span {bursts[0][2] - bursts[0][1]:.0f} s)")  # fmt: skip
    first: dict[tuple[str, str], float] = {}
    for at, t in scores:
        if parse_iso(t["window_end"]) >= live_start:  # live windows only, not the history's
            first.setdefault((t["horizon"], t["window_end"]), at - parse_iso(t["window_end"]))
    for horizon in sorted({h for h, _ in first}):
        lag = [v for (h, _), v in first.items() if h == horizon]
        print(f"  window end -> first record, horizon {horizon}: median {statistics.median(lag):5.1f} s, "
              f"p95 {percentile(lag, 0.95):5.1f} s over {len(lag)} windows")  # fmt: skip
    if memory:
        rss = [m for _, m in memory]
        print(f"  job memory (RSS, workers + Prism): start {rss[0]:.0f} MB, end {rss[-1]:.0f} MB, "
              f"max {max(rss):.0f} MB over {memory[-1][0] / 60:.0f} min")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
