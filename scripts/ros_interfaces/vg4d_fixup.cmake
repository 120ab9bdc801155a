# Included right after project() (CMAKE_PROJECT_INCLUDE) when an interface package is generated
# against the ROS 2 Jazzy wheels: scripts/build_ros_interfaces.sh (vision_msgs, tf2_msgs, vg4d_msgs into
# the venv) and the colcon workspace test (src/vg4d_msgs) pass it.
#
# The wheels' exported CMake targets (<pkg>__rosidl_generator_py) name the Python and numpy include
# folders of the machine that built the wheels (/opt/python/cp3XX-cp3XX/...), which CMake rejects at
# generate time. This defers a pass over the imported targets to the end of configuration and swaps
# any such missing folder for VG4D_PYTHON_INCLUDE_DIR / VG4D_NUMPY_INCLUDE_DIR (this venv's headers).
# Nothing inside site-packages is edited.
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _vg4d_fix_missing_includes)
function(_vg4d_fix_missing_includes)
  get_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(_t IN LISTS _targets)
    get_target_property(_dirs ${_t} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _dirs)
      continue()
    endif()
    set(_new "")
    set(_changed FALSE)
    foreach(_d IN LISTS _dirs)
      if(_d MATCHES "^/" AND NOT EXISTS "${_d}")
        set(_changed TRUE)
        if(_d MATCHES "/numpy/(_core/|core/)?include$")
          list(APPEND _new "${VG4D_NUMPY_INCLUDE_DIR}")
        elseif(_d MATCHES "/include/python3\\.[0-9]+")
          list(APPEND _new "${VG4D_PYTHON_INCLUDE_DIR}")
        else()
          message(STATUS "vg4d: ${_t}: dropping missing include folder ${_d}")
        endif()
      else()
        list(APPEND _new "${_d}")
      endif()
    endforeach()
    if(_changed)
      list(REMOVE_DUPLICATES _new)
      set_target_properties(${_t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_new}")
    endif()
  endforeach()
endfunction()
