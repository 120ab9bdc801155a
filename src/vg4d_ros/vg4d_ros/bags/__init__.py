"""The bags room: recorded ROS 2 bags in and out.

======================  ================================================================================
``bagio``               bag reading and writing (sqlite3 and MCAP) with clear errors
``labels``              ground truth of bags: a labels file or a label topic -> time segments
``replay``              ``vg4d replay``: bags through the live recogniser, report + output bags
``bag2cache``           ``vg4d bag2cache``: labelled bags -> a training cache, by the pipeline's converter
``ntu2bag``             ``vg4d ntu2bag``: NTU-layout videos -> bags as a Kinect v2 driver publishes them
``people2bag``          ``vg4d people2bag``: synthetic multi-person bags with per-person ground truth
``people_truth``        per-person ground truth (``vision_msgs/Detection3DArray``) -> frames and label segments
======================  ================================================================================

May import: ``pipeline``, ``transports.outputs`` (output messages to record), ``vg4d_ros.config`` /
``typestore`` and ``vg4d_core``.
"""
