"""Launch the vg4d action recogniser (lifecycle node, configured and activated at start).

    ros2 launch vg4d_ros recognize.launch.py checkpoint:=/path/ck.pt depth:=/camera/depth/image_rect_raw \
        camera_info:=/camera/depth/camera_info [rgb:=...] [cloud:=...] [mask:=...] [device:=cpu] \
        [params_file:=my_recognize.yaml] [autostart:=true] [namespace:=/robot1] [name:=recognizer]

Arguments left empty keep the value of the params file (default: the
package's config/recognize.yaml, keyed /** so it applies under any name and
namespace). Topic arguments set the node's topic parameters; relative names
resolve in ``namespace``. With autostart the node is configured and
activated once at start; a later manual deactivate stays deactivated.
"""
import os

from vg4d_ros.config import NODE_NAME  # the node's default name: one definition for node, launch and replay

# launch argument -> node parameter it sets (tests check these names against the node's parameters)
ARGUMENT_PARAMETERS = {
    "checkpoint": "inference.checkpoint",
    "device": "inference.device",
    "depth": "topics.depth",
    "camera_info": "topics.camera_info",
    "cloud": "topics.cloud",
    "rgb": "topics.rgb",
    "mask": "topics.mask",
}


def _default_params_file():
    try:
        from ament_index_python.packages import get_package_share_directory
        return os.path.join(get_package_share_directory("vg4d_ros"), "config", "recognize.yaml")
    except Exception:  # not installed: the source tree (src/vg4d_ros/launch, or the top-level launch link)
        here = os.path.dirname(os.path.abspath(__file__))
        for rel in (("..", "..", "vg4d_core", "config"), ("..", "config")):
            path = os.path.join(here, *rel, "recognize.yaml")
            if os.path.isfile(path):
                return path
        return path


def generate_launch_description():
    import lifecycle_msgs.msg
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler
    from launch.conditions import IfCondition
    from launch.events import matches_action
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import LifecycleNode
    from launch_ros.event_handlers import OnStateTransition
    from launch_ros.events.lifecycle import ChangeState

    def node_and_transitions(context):
        overrides = {param: LaunchConfiguration(arg).perform(context) for arg, param in ARGUMENT_PARAMETERS.items()}
        overrides = {k: v for k, v in overrides.items() if v != ""}
        node = LifecycleNode(package="vg4d_ros", executable="recognizer",
                             name=LaunchConfiguration("name").perform(context),
                             namespace=LaunchConfiguration("namespace").perform(context), output="screen",
                             parameters=[LaunchConfiguration("params_file").perform(context), overrides])
        autostart = IfCondition(LaunchConfiguration("autostart"))
        configure = EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                                transition_id=lifecycle_msgs.msg.Transition.TRANSITION_CONFIGURE),
                              condition=autostart)
        # activate once, right after the start-up configure: matching only configuring -> inactive keeps a
        # later manual deactivate (active -> deactivating -> inactive) from being undone
        activate = RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node, start_state="configuring", goal_state="inactive",
            entities=[EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                                  transition_id=lifecycle_msgs.msg.Transition.TRANSITION_ACTIVATE))]),
            condition=autostart)
        return [node, activate, configure]

    args = [DeclareLaunchArgument("params_file", default_value=_default_params_file(),
                                  description="recognize.yaml (ROS params layout)"),
            DeclareLaunchArgument("autostart", default_value="true", description="configure and activate at start"),
            DeclareLaunchArgument("name", default_value=NODE_NAME, description="node name"),
            DeclareLaunchArgument("namespace", default_value="",
                                  description="node namespace: relative input topics and ~/ outputs resolve in it")]
    args += [DeclareLaunchArgument(arg, default_value="", description=f"sets {param} ('' = params file)")
             for arg, param in ARGUMENT_PARAMETERS.items()]
    return LaunchDescription([*args, OpaqueFunction(function=node_and_transitions)])
