"""The transports room: the pipeline on a ROS 2 graph. Subscribe, call the recogniser, publish.

======================  ================================================================================
``rclpy_node``          the rclpy lifecycle node ``recognizer`` (``ros2 run vg4d_ros recognizer``)
``dds_node``            the same recogniser over cyclonedds without rclpy (``vg4d recognize``)
``dds``                 the ROS 2 wire protocol over cyclonedds (names, QoS, IDL types, raw CDR)
``outputs``             results -> output messages (Classification, String, LabelInfo, diagnostics)
======================  ================================================================================

May import: ``pipeline``, ``vg4d_ros.config`` / ``typestore`` / ``validation`` and ``vg4d_core``; never
``bags`` or ``programs``. Converts nothing: messages go to the recogniser as they arrive.
"""
