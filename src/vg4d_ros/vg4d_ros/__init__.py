"""vg4d_ros: the ROS 2 layer of vg4d.

Modules that import ``rclpy`` are only the node shells; message conversion,
window buffering and synchronisation logic live in rclpy-free modules so
that they are tested on machines without ROS.
"""
