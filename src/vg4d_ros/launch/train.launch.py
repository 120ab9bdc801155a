"""Launch im-PSTNet training as a ROS 2 process.

    ros2 launch vg4d_ros train.launch.py recipe:=msr_action3d_lite.yaml out:=/tmp/run

Runs ``vg4d_core``'s ``train`` executable (the same program as ``vg4d train``)
with a recipe from ``share/vg4d_ros/config/train/``, or any path.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def _train(context):
    recipe = LaunchConfiguration("recipe").perform(context)
    if not os.path.isfile(recipe):
        recipe = os.path.join(get_package_share_directory("vg4d_ros"), "config", "train", recipe)
    args = ["--config", recipe]
    out = LaunchConfiguration("out").perform(context)
    if out:
        args += ["--out", out]
    if LaunchConfiguration("resume").perform(context).lower() in ("1", "true", "yes"):
        args.append("--resume")
    return [Node(package="vg4d_core", executable="train", name="vg4d_train", output="screen", arguments=args)]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("recipe", default_value="msr_action3d_lite.yaml",
                              description="training recipe: a file in share/vg4d_ros/config/train or a path"),
        DeclareLaunchArgument("out", default_value="", description="run directory (default: from the recipe)"),
        DeclareLaunchArgument("resume", default_value="false", description="resume from OUT/last.pt"),
        OpaqueFunction(function=_train),
    ])
