"""Multi-person synthetic scenes: z-buffer occlusion between actors, the instance image, per-actor truth,
the scripted kinds, determinism, and that the single-person figure is unchanged by the gait."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vg4d_core.data.config import SyntheticConfig
from vg4d_core.data.synthetic import CLASS_NAMES, Gait, Renderer, Room, pose, synthetic_intrinsics, video_nuisance
from vg4d_core.data.synthetic.people import (MIN_VISIBLE_PX, SCENE_KINDS, ActionSegment, Actor, PeopleRoom,
                                             PeopleScene, Waypoint, actor_position, actor_scenes, back_project,
                                             make_people_scene, render_people, render_people_frame, room_images,
                                             scene_record)

INTR = synthetic_intrinsics(0.3125)  # 160 x 132
FRAMES = 40  # 4 s at 10 Hz


@pytest.fixture(scope="module")
def renderer():
    return Renderer(INTR)


def _scene(kind, seed=0, actors=3, noise=0.0):
    return make_people_scene(seed, 0, actors=actors, kind=kind, num_frames=FRAMES, rate_hz=10.0,
                             depth_noise_mm=noise)


@pytest.fixture(scope="module")
def crossing(renderer):
    # seed 0: the crosser hides the far actor completely for a moment (checked below)
    scene = _scene("crossing", seed=0, actors=2)
    return scene, list(render_people(scene, renderer=renderer))


def _solo(scene, frame, renderer):
    """Each actor cast alone in front of the room: [(depth (H, W) float32 m, rgb)]."""
    room_depth, room_rgb = room_images(scene, renderer)
    out = []
    for depth_scene, colour_scene in actor_scenes(scene, frame):
        z, rgb = renderer.render(depth_scene, room_rgb, room_depth)
        if colour_scene is not depth_scene:
            rgb = renderer.render(colour_scene, room_rgb, room_depth)[1]
        out.append((z, rgb))
    return out, room_depth, room_rgb


@pytest.mark.parametrize("kind", SCENE_KINDS)
def test_instance_image_is_the_z_buffer_of_the_actors(renderer, kind):
    scene = _scene(kind)
    for t in (0, FRAMES // 2, int(FRAMES * 0.6), FRAMES - 1):
        f = render_people_frame(scene, t, renderer)
        solo, room_depth, room_rgb = _solo(scene, t, renderer)
        mm = [np.rint(z.astype(np.float64) * 1000) for z, _ in solo]
        room_mm = np.rint(room_depth.astype(np.float64) * 1000)
        assert f.instances.dtype == np.uint16 and f.depth.dtype == np.float32 and f.depth_mm.dtype == np.uint16
        assert np.array_equal(np.rint(f.depth.astype(np.float64) * 1000), f.depth_mm)
        for k, (z_k, rgb_k) in enumerate(solo):
            mine = f.instances == k + 1
            # every pixel of actor k has the depth and colour of actor k's own surface ...
            assert np.array_equal(f.depth_mm[mine], mm[k][mine])
            assert np.array_equal(f.rgb[mine], rgb_k[mine])
            assert f.actors[k].visible_px == int(mine.sum())
            # ... and no actor (nor the room) is nearer there; where the room wins, no actor is nearer
            for j in range(len(solo)):
                assert np.all(mm[j][mine] >= f.depth_mm[mine])
            assert np.all(mm[k][f.instances == 0] >= room_mm[f.instances == 0])
            # where actor k is nearer than the room and every other actor, it owns the pixel
            others = np.min([z for j, (z, _) in enumerate(solo) if j != k], axis=0)
            assert np.all(f.instances[(z_k < room_depth) & (z_k < others)] == k + 1)
        room = f.instances == 0
        assert np.array_equal(f.depth_mm[room], room_mm[room]) and np.array_equal(f.rgb[room], room_rgb[room])


def test_the_far_actor_is_hidden_while_the_other_crosses_in_front(renderer, crossing):
    scene, frames = crossing
    far, crosser = scene.actors
    assert far.path[0].z > crosser.path[0].z + 1.2
    vis = np.array([f.actors[0].visible_px for f in frames])
    alone = np.array([int((_solo(scene, t, renderer)[0][0][0] < room_images(scene, renderer)[0]).sum())
                      for t in range(FRAMES)])
    assert alone.min() > 300  # the far actor on its own is seen whole all along ...
    hidden = vis < 0.25 * alone
    assert 1 <= hidden.sum() <= FRAMES // 3  # ... and loses most of it for a while, while the other walks past
    worst = int(np.argmin(vis))
    assert vis[worst] < MIN_VISIBLE_PX  # (all but) completely: no detection then
    go, stop = crosser.path[1].frame, crosser.path[2].frame
    assert go < worst < stop
    # the pixels it lost are the crosser's
    lost = (_solo(scene, worst, renderer)[0][0][0] < room_images(scene, renderer)[0]) & (frames[worst].instances != 1)
    assert np.all(frames[worst].instances[lost] == 2)
    # before and after the crossing it is seen as a whole
    assert vis[0] == alone[0] and vis[-1] == alone[-1]


def test_actor_truth_boxes_labels_and_idle(renderer, crossing):
    scene, frames = crossing
    for f in frames[::3]:
        for k, a in enumerate(f.actors):
            assert a.actor_id == f"a{k}" and a.instance_id == k + 1
            seg = scene.actors[k].segment_at(f.index)
            assert a.label == ("" if seg is None else CLASS_NAMES[seg.action])
            if a.visible_px == 0:
                assert np.all(np.isnan(a.centroid))
                continue
            v, u = np.nonzero(f.instances == k + 1)
            pts = back_project(u, v, f.depth_mm[v, u], INTR)
            assert np.array_equal(pts.min(axis=0), a.box_min) and np.array_equal(pts.max(axis=0), a.box_max)
            assert np.all(a.box_min <= a.centroid) and np.all(a.centroid <= a.box_max)
            assert 2.0 < a.centroid[2] < scene.room.back_wall_z_m and a.box_size[1] > 0.05
    labels = [[a.label for a in f.actors] for f in frames]
    assert any("" in row for row in labels) and any(x for row in labels for x in row)  # idle and acting


def test_enter_and_leave_the_view(renderer):
    scene = _scene("enter_leave", seed=1)
    frames = list(render_people(scene, renderer=renderer))
    vis = np.array([[a.visible_px for a in f.actors] for f in frames])
    assert vis[0, 0] == 0 and vis[-1, 0] > 300  # a0 walks in from outside
    assert vis[0, 1] > 300 and vis[-1, 1] == 0  # a1 walks out
    assert vis[:, 2].min() > 300  # a2 stands in view throughout
    x0, _, gait = actor_position(scene.actors[0], 1)
    assert gait is not None and gait.heading[0] > 0.99 and x0 < 0  # walking right, into the view


def test_side_by_side_walk_then_act(renderer):
    for seed in (0, 1):
        scene = _scene("side_by_side", seed=seed, actors=2)
        a, b = scene.actors
        assert [w.frame for w in a.path] == [w.frame for w in b.path]  # together
        walk = a.path[1].frame // 2
        for actor in (a, b):
            assert actor_position(actor, walk)[2] is not None and actor.label_at(walk) == ""  # walking: idle
            assert all(a.path[1].frame <= s.start and s.end <= a.path[2].frame for s in actor.segments)
            assert actor.segments  # acts while it stands
        f = render_people_frame(scene, walk, renderer)
        assert all(t.visible_px > MIN_VISIBLE_PX for t in f.actors)


def test_kinds_are_deterministic_by_seed(renderer):
    assert [make_people_scene(3, i).kind for i in range(6)] == list(SCENE_KINDS) + list(SCENE_KINDS[:2])
    a, b = make_people_scene(7, 2, actors=3), make_people_scene(7, 2, actors=3)
    assert a == b and scene_record(a) == scene_record(b)
    assert make_people_scene(8, 2, actors=3) != a
    f1 = render_people_frame(_scene("apart", noise=4.0), 5, renderer)
    f2 = render_people_frame(_scene("apart", noise=4.0), 5, renderer)
    assert np.array_equal(f1.depth_mm, f2.depth_mm) and np.array_equal(f1.rgb, f2.rgb)
    quiet = render_people_frame(_scene("apart", noise=0.0), 5, renderer)
    diff = f1.depth_mm.astype(int) - quiet.depth_mm
    assert 2.0 < diff.std() < 6.0 and np.array_equal(f1.instances, quiet.instances)


def test_step_leaves_the_actor_where_it_stepped(renderer):
    body = video_nuisance(0, "train", 0, SyntheticConfig())
    for action, sign in ((6, -1), (7, 1)):
        actor = Actor("a0", body, (Waypoint(0, 0.0, 3.5),), (ActionSegment(2, 10, action),))
        scene = PeopleScene("apart", 20, 10.0, PeopleRoom(), (actor,), depth_noise_mm=0.0)
        pelvis_z = [np.median(actor_scenes(scene, t)[0][0].spheres[:, 2]) for t in range(20)]
        # before: at the path; after: one step (x amplitude) nearer / further, and it stays there
        assert abs(pelvis_z[0] - 3.5) < 0.05
        assert abs(pelvis_z[15] - (3.5 + sign * 0.25 * body.amplitude)) < 0.05
        if action == 6:  # the step's last frame and the idle figure after it stand in the same place
            assert abs(pelvis_z[11] - pelvis_z[10]) < 0.01


def test_gait_with_no_stride_is_the_standing_figure_and_room_surfaces_match():
    nu = video_nuisance(0, "train", 1, SyntheticConfig())
    for action in range(8):
        still, ramp = pose(action, nu, 0.4), pose(action, nu, 0.4, Gait(0.37, (0.6, -0.8), 0.0))
        assert np.array_equal(still.spheres, ramp.spheres)
    walking = pose(4, nu, 0.4, Gait(0.25, (1.0, 0.0)))
    assert np.abs(walking.spheres[:, 0] - pose(4, nu, 0.4).spheres[:, 0]).max() > 0.1  # the feet swing in x
    r = Renderer(INTR)
    room = Room()
    d1, c1 = r.room_background(nu, room)
    d2, c2 = r.room_surfaces(nu.z + room.back_wall_behind_m, nu.floor_y, room.side_wall_x_m, nu.wall, nu.noise_seed)
    assert np.array_equal(d1, d2) and np.array_equal(c1, c2)


def test_bad_scenes_are_refused():
    body = video_nuisance(0, "train", 0, SyntheticConfig())
    with pytest.raises(ValueError, match="2 or 3 actors"):
        make_people_scene(0, actors=4)
    with pytest.raises(ValueError, match="unknown scene kind"):
        make_people_scene(0, kind="dance")
    with pytest.raises(ValueError, match="overlap"):
        Actor("a0", body, (Waypoint(0, 0.0, 3.0),), (ActionSegment(0, 5, 1), ActionSegment(5, 8, 2)))
    with pytest.raises(ValueError, match="waypoint frames must increase"):
        Actor("a0", body, (Waypoint(3, 0.0, 3.0), Waypoint(3, 1.0, 3.0)))
    actor = Actor("a0", body, (Waypoint(0, 0.0, 3.0),), (ActionSegment(0, 12, 1),))
    with pytest.raises(ValueError, match="ends after the last frame"):
        PeopleScene("apart", 10, 10.0, PeopleRoom(), (actor,))
    with pytest.raises(ValueError, match="unique"):
        PeopleScene("apart", 20, 10.0, PeopleRoom(), (actor, dataclasses.replace(actor)))
    with pytest.raises(ValueError, match="outside the scene"):
        render_people_frame(PeopleScene("apart", 20, 10.0, PeopleRoom(), (actor,)), 20, Renderer(INTR))
