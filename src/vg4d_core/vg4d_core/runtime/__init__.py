"""The runtime layer: everything a program needs to *run* a trained model.

Layers (each imports only those below it)::

    vg4d_ros (node, DDS, replay)   training / evaluation / bench / cli   <- programs
    runtime: checkpoint -> architecture -> predictor -> named scores, fusion,
             device / autocast, collation, scoring, metrics
    models (im-PSTNet)   vlm   losses   data   ops   config

Modules: :mod:`.checkpoint` (atomic save, validated load, architecture
diff), :mod:`.architecture` (arch dict -> model), :mod:`.predictor` (score
sources, :class:`Predictor`, :func:`predictor_from_checkpoint`),
:mod:`.fusion`, :mod:`.scoring` (dataset -> video-level tables),
:mod:`.metrics`, :mod:`.collate`, :mod:`.device`, :mod:`.distributed`
(collectives shared by scoring and training), :mod:`.tables`. The
provenance of every JSON written (command, commit, machine) is
:mod:`vg4d_core.provenance`, one layer down beside ``config`` and ``paths``,
because the data tools write reports too.

Nothing here imports training, evaluation, bench or vg4d_ros (a test
enforces it), so a ROS node classifies a window without the trainer.
"""
