"""Packaging facts users rely on: namespaced CLI, package.xml, config lookup."""
from __future__ import annotations

import importlib
import importlib.metadata as md
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vg4d_core import cli, paths


def test_only_the_namespaced_console_script_is_installed():
    eps = md.entry_points(group="console_scripts")
    ours = sorted(ep.name for ep in eps if ep.value.startswith(("vg4d_core", "vg4d_ros")))
    assert ours == ["vg4d"], f"console scripts would litter bin/: {ours}"


@pytest.mark.parametrize("pkg", ["vg4d_core", "vg4d_ros"])
def test_package_xml_is_format3_ament_python(repo_root: Path, pkg: str):
    root = ET.parse(repo_root / "src" / pkg / "package.xml").getroot()
    assert root.tag == "package" and root.get("format") == "3"
    assert root.findtext("name") == pkg
    assert root.find("export/build_type").text == "ament_python"
    assert (repo_root / "src" / pkg / "resource" / pkg).is_file()
    setup_cfg = (repo_root / "src" / pkg / "setup.cfg").read_text()
    assert f"install_scripts=$base/lib/{pkg}" in setup_cfg


def test_vg4d_ros_depends_on_core(repo_root: Path):
    root = ET.parse(repo_root / "src/vg4d_ros/package.xml").getroot()
    deps = {e.text for e in root.findall("exec_depend")}
    assert {"vg4d_core", "rclpy"} <= deps


def test_cli_help_lists_every_subcommand(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.SUBCOMMANDS:
        assert name in out


def test_cli_unknown_subcommand_is_an_error(capsys):
    assert cli.main(["no-such-thing"]) == 2
    assert "unknown subcommand 'no-such-thing'" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(cli.SUBCOMMANDS))
def test_every_subcommand_resolves_to_a_main(name: str, capsys):
    """The target itself (not only the dispatcher) takes argv and prints its own usage."""
    module_name, func_name = cli.SUBCOMMANDS[name][0].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        rc = func(["--help"])
    except SystemExit as exc:  # argparse exits after printing help
        rc = exc.code
    assert rc == 0
    assert "usage:" in capsys.readouterr().out.lower()


@pytest.mark.parametrize("name", sorted(cli.SUBCOMMANDS))
def test_every_subcommand_has_help(name: str, capsys):
    try:
        rc = cli.main([name, "--help"])
    except SystemExit as exc:  # argparse exits after printing help
        rc = exc.code
    assert rc == 0
    assert "usage" in capsys.readouterr().out.lower()


def test_config_dir_found_from_source_tree(repo_root: Path, monkeypatch):
    monkeypatch.delenv("VG4D_CONFIG_DIR", raising=False)
    assert paths.config_dir() == repo_root / "config"


def test_config_dir_env_override(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("VG4D_CONFIG_DIR", str(tmp_path))
    assert paths.config_dir() == tmp_path


def test_resolve_config_accepts_name_or_path(repo_root: Path, monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)  # not the repo root: names must still resolve
    some = sorted((repo_root / "config").rglob("*.yaml"))[0]
    rel = some.relative_to(repo_root / "config")
    assert paths.resolve_config(rel) == some
    assert paths.resolve_config(Path("config") / rel) == some
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        paths.resolve_config("nope.yaml")


# what the packages import -> the rosdep key that brings it on a robot (package.xml must declare each)
ROSDEP_KEYS = {
    "vg4d_core": {"torch": "python3-torch", "numba": "python3-numba", "transformers": "python3-transformers-pip",
                  "numpy": "python3-numpy", "scipy": "python3-scipy", "yaml": "python3-yaml"},
    "vg4d_ros": {"rosbags": "python3-rosbags-pip", "rclpy": "rclpy", "vision_msgs": "vision_msgs",
                 "sensor_msgs": "sensor_msgs", "diagnostic_msgs": "diagnostic_msgs", "std_msgs": "std_msgs",
                 "rcl_interfaces": "rcl_interfaces", "vg4d_core": "vg4d_core", "tf2_msgs": "tf2_msgs",
                 "vg4d_msgs": "vg4d_msgs"},
}


@pytest.mark.parametrize("pkg", sorted(ROSDEP_KEYS))
def test_package_xml_declares_what_the_code_imports(repo_root: Path, pkg: str):
    """rosdep installs exactly what package.xml names: an undeclared import is a robot's first failure."""
    import ast

    imported = set()
    for path in (repo_root / "src" / pkg / pkg).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    deps = {e.text for e in ET.parse(repo_root / "src" / pkg / "package.xml").getroot().findall("exec_depend")}
    for module, key in ROSDEP_KEYS[pkg].items():
        assert module in imported, f"{pkg} no longer imports {module}: update ROSDEP_KEYS"
        assert key in deps, f"{pkg} imports {module} but package.xml does not declare <exec_depend>{key}"
