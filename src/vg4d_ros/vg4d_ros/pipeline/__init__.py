"""The pipeline room: from a synchronised instant of messages to a label, ROS-free (no rclpy, no DDS).

======================  ================================================================================
``decode``              message fields -> numpy arrays (depth, PointCloud2, colour, mask, stamps)
``convert``             THE frame converter: one instant's messages -> what the model sees for that frame
``foreground``          which points are the person (depth range, floor, crop box, mask)
``people``              one frame's foreground -> person candidates (connected voxels or instance mask)
``tracks``              person candidates across frames -> tracks with stable ids (``p1``, ``p2``, ...)
``transforms``          a TF tree without rclpy (points into ``input_frame``)
``sync``                approximate-time pairing of depth / cloud, colour and mask by stamp
``window``              sliding windows of converted frames -> clips (the one clip sampler of vg4d_core)
``model``               a checkpoint -> predictor + the settings it implies (window, scores, transform)
``recognizer``          the recogniser core: callbacks -> timeline -> sync -> converter -> window -> gates
``mailbox``             one-slot newest-wins mailbox and its inference worker thread
``counters``            latency reservoir, rate-limited repeated warnings
``silence``             inputs that stay silent are named, not waited on
``warmup``              one inference before the first real window
======================  ================================================================================

May import: ``vg4d_core`` and ``vg4d_ros.config`` / ``vg4d_ros.validation``; never ``transports``,
``bags`` or ``programs``.
"""
