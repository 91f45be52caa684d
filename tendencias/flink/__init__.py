"""The native PyFlink job: the stage cores of the Beam graph on a real Flink cluster.

`python -m tendencias.flink run ...` (Kafka in and out, streaming) and `python -m
tendencias.flink backfill --input FILE.jsonl --output DIR` (bounded), started by
scripts/flink.sh in `.venv-flink` (apache-flink pins an older Beam than the project's).

    raw records ─ ParsePost ─ CleanPost ─ Tokens ─ LocalSentiment ─ event time
                     └──────────┴──── dead letters ─┘                  │
                              ┌─ StreamVolumes (one key) ─ broadcast ──┤
                              └─ KeyPosts ─ ScoreKeys (keyed state, event-time timers)
                                                 ├─ not episodes ──────────┐
                                                 └─ GroupAlerts (one key) ─┴─ trends ─ alerts
"""
