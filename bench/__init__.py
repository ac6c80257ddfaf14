"""``python -m bench``: the hub's performance, measured on a real broker in one run.

Usage::

    python -m bench                        # everything, 3 repeats, medians; ~15-20 minutes on 2 cores
    python -m bench --quick                # small N, 1 repeat: a smoke run in under 2 minutes
    python -m bench --json                 # the figures as JSON (value = median, runs, ratio, target)
    python -m bench --only codec,replay    # a subset: codec, baselines, roundtrip, latency, replay, memory
    python -m bench --only cluster --quick # opt-in: three nodes vs one, and the failover time
    python -m bench --outstanding 1000000 --only memory --repeat 1   # (5) at the target's size
    python -m bench --listings 1000000 --only bootstrap --repeat 1   # (8) at the target's size
    python -m bench --only sweep --repeat 1  # opt-in: 100,000 terminated cases swept beside live traffic
    python -m bench --profile              # also sample the hub worker and the bank with py-spy
    python -m bench --bootstrap host:9092 --keep --output bench.json

It runs from the checkout's root (``bench`` is dev-only code, not in the wheel).  It starts its own
single-node broker on free ports with a temporary data dir (unless
``--bootstrap`` is given), runs every process it measures as a child, uses a fresh topic prefix
and app id for each, and stops everything it started.  Each figure is the median of
``--repeat`` runs (default 3) and is shown with its ratio to the baseline measured in the same
run; the machine may be shared, so compare ratios rather than absolute numbers.

Figures:

1. baselines: ``relay_events_per_s`` (raw aiokafka consume -> produce) and ``faust_events_per_s``
   (a bare faust agent that only forwards, app ``bench.forwarder``), over the same backlog of
   encoded QueryRequests on 4 partitions; events = records consumed + produced per second;
   ``forwarder_cpu_ms_per_message_pair``: CPU (user + system, all threads, from ``/proc/<pid>/stat``)
   of that faust forwarder per two messages forwarded (a round trip's request and reply), the same
   requests sent once more to it warm, from the first send until the sink holds them all;
2. ``round_trips_per_s``: court -> hub -> simulated icbc -> hub -> court, a backlog of requests
   written by an aiokafka producer to ``court.requests``, replies counted on ``court.replies``;
   ``hub_events_per_s``: records the hub consumed + produced per second (audit and changelog
   records included), with its ratio to each baseline (target >= 2,000 rt/s and >= 0.7 x faust);
   ``round_trips_per_s_2_workers``: the same backlog with a second worker in the consumer group,
   as a ratio to one worker;
   ``hub_cpu_ms_per_round_trip_batched``: CPU of the hub worker process (user + system, all threads)
   from the first request of a peak round sent to its last reply, per round trip answered, with its
   ratio to ``forwarder_cpu_ms_per_message_pair`` measured in the same run;
3. ``latency_p50/p95/p99_ms`` at half the peak rate, open loop (target p99 <= 250 ms);
   ``hub_cpu_ms_per_round_trip_open_loop``: the hub worker's CPU per round trip in those rounds,
   as in (2);
4. ``replay_events_per_s``: ``agents.credit.replay.replay`` of N generated ListEvents from
   ``credit.list.history`` vs a raw aiokafka consume of the same topic (target >= 100,000/s);
5. ``rss_worker_mb`` (a hub worker holding N outstanding requests in its ``requests`` table,
   RocksDB-backed by default, after a cold rebuild), ``recovery_cold_s`` (spawn -> ``/ready`` of a
   worker with an empty data dir restoring N changelog rows written directly with aiokafka),
   ``recovery_restart_s`` and ``rss_worker_restarted_mb`` (that worker stopped and started again
   on its data dir) and, for comparison, ``rss_plain_dict_mb`` (N records as faust's memory store
   would hold them) (target <= 1 GB and <= 30 s for 1M rows).  N is ``--outstanding``, 100,000 by
   default; ``--outstanding 1000000`` measures the target's size;
6. ``codec_us_ours`` vs ``codec_us_avro``: encode + decode per message, our codec vs the Apache
   ``avro`` package (a dev dependency) (target >= 10 x);
7. opt-in, only with ``--only cluster`` (it starts three more broker JVMs): ``round_trips_per_s_3_nodes``,
   the round-trip peak on a local three-node cluster (replication factor 3, min.insync.replicas 2) as a
   ratio to ``round_trips_per_s_1_node`` in the same run, and ``failover_first_answer_s``, the time from
   the SIGKILL of a partition leader's broker to the first answer on a moved partition (``bench.cluster``);
8. ``bootstrap_s``: a new unit's verified copy of N listings (``--listings``, 100,000 by default; 1,000,000
   is the target's size) from the compacted ``credit.list.current`` (``agents.credit.bootstrap``), as a
   ratio to ``bootstrap_replay_s``, a full replay of the same history (~N / 0.6 publications) in the
   same run (``bench.bootstrap_bench``);
9. opt-in, only with ``--only sweep``: a terminated-case sweep (终本统查) of ``--sweep-cases`` cases (100,000)
   beside live traffic (``bench.sweep_bench``): ``sweep_requests_per_s``, the sweep's unit queries put on the
   agencies' sweep lanes per second under the per-agency ceiling ``--sweep-ceiling`` (ratio to the ceilings'
   sum), over a ``--sweep-seconds`` window; ``sweep_live_p50_ms`` / ``sweep_live_p99_ms``, live round trips
   open loop at ``--sweep-live-rate`` while the sweep runs, as a ratio to ``sweep_live_no_sweep_*`` measured
   before it in the same run; ``sweep_registrations_per_s`` and ``sweep_worker_rss_mb`` (the hub worker
   after registering the cases).

``--profile`` needs py-spy (``pip install py-spy``; not a dependency of the hub): it samples
the hub worker and the bank simulator during an extra peak run, and the bench process itself during
an extra list replay, and lists the top functions of each.
"""
