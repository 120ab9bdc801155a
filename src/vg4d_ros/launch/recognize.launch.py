"""Launch the vg4d action recogniser (lifecycle node, configured and activated at start).

    ros2 launch vg4d_ros recognize.launch.py checkpoint:=/path/ck.pt depth:=/camera/depth/image_rect_raw \
        camera_info:=/camera/depth/camera_info [rgb:=...] [cloud:=...] [mask:=...] [device:=cpu] \
        [params_file:=my_recognize.yaml] [autostart:=true]

Arguments left empty keep the value of the params file (default: the
package's config/recognize.yaml). Topic arguments set the node's topic
parameters (its "remappings": the node subscribes to whatever they name).
"""
import os

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
NODE_NAME = "recognizer"


def _default_params_file():
    try:
        from ament_index_python.packages import get_package_share_directory
        return os.path.join(get_package_share_directory("vg4d_ros"), "config", "recognize.yaml")
    except Exception:  # not installed: the source tree
        return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "config", "recognize.yaml")


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
        node = LifecycleNode(package="vg4d_ros", executable="recognizer", name=NODE_NAME, namespace="",
                             output="screen",
                             parameters=[LaunchConfiguration("params_file").perform(context), overrides])
        autostart = IfCondition(LaunchConfiguration("autostart"))
        configure = EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                                transition_id=lifecycle_msgs.msg.Transition.TRANSITION_CONFIGURE),
                              condition=autostart)
        activate = RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node, goal_state="inactive",
            entities=[EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                                  transition_id=lifecycle_msgs.msg.Transition.TRANSITION_ACTIVATE))]),
            condition=autostart)
        return [node, activate, configure]

    args = [DeclareLaunchArgument("params_file", default_value=_default_params_file(),
                                  description="recognize.yaml (ROS params layout)"),
            DeclareLaunchArgument("autostart", default_value="true", description="configure and activate at start")]
    args += [DeclareLaunchArgument(arg, default_value="", description=f"sets {param} ('' = params file)")
             for arg, param in ARGUMENT_PARAMETERS.items()]
    return LaunchDescription([*args, OpaqueFunction(function=node_and_transitions)])
