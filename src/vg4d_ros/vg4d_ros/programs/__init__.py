"""The programs room: commands built from the other rooms (demo, soak, benchmarks).

======================  ================================================================================
``demo``                ``vg4d demo``: synthetic VG4D end to end (train, evaluate, replay)
``soak``                ``vg4d soak``: the DDS recogniser for minutes under camera faults
``bench_node``          ``vg4d bench node``: can the recogniser keep up with a camera?
``bench_decode``        per-message decode cost (rosbags CDR, DDS)
======================  ================================================================================

May import every room; nothing imports it.
"""
