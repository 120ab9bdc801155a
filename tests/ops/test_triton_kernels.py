"""The Triton kernels against the naive reference.

On every machine the kernels run through Triton's interpreter on CPU tensors
(small inputs: the interpreter executes each program in Python), in a child
process started with ``TRITON_INTERPRET=1``. On a CUDA machine the compiled
kernels are compared as well, at full size (``cuda`` marker; skipped without
a GPU).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from missing_data import skip_or_fail
from vg4d_core.ops import ball_query_naive, furthest_point_sample_naive, group_points_naive
from vg4d_core.ops.validation import squared_radius


def test_kernels_under_triton_interpreter():
    """Run this file's ``test_interp_*`` tests in a process with TRITON_INTERPRET=1."""
    from vg4d_core.ops import triton_gpu

    if triton_gpu.INTERPRETED:
        pytest.skip("this process already interprets the kernels: the test_interp_* tests run directly")
    env = dict(os.environ, TRITON_INTERPRET="1")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "test_interp_", __file__]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])
    report = proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.returncode == 0, report
    assert " passed" in proc.stdout and "skipped" not in proc.stdout.split("\n")[-2], report


def _small_cases(cases):
    g = torch.Generator().manual_seed(11)
    yield "uniform", cases["uniform"][:2, :70]
    yield "duplicates", cases["duplicates"][:1, :60]
    yield "all_identical", cases["all_identical"][:1, :20]
    yield "lattice", cases["lattice"][:1, :90]
    yield "single_point", cases["single_point"]
    yield "odd_sized", torch.rand(2, 37, 3, generator=g)


def test_interp_fps(triton_interpreted, cases):
    for name, xyz in _small_cases(cases):
        n = xyz.shape[1]
        for m in (1, n) if n <= 40 else (n // 2,):
            expected = furthest_point_sample_naive(xyz, m)
            got = triton_interpreted.furthest_point_sample(xyz.contiguous(), m)
            assert torch.equal(got, expected), f"register kernel, {name}, m={m}"
        # frames larger than a register block stream through the chunked kernel
        m = max(1, n // 3)
        got = triton_interpreted.furthest_point_sample(xyz.contiguous(), m, max_register_points=16)
        assert torch.equal(got, furthest_point_sample_naive(xyz, m)), f"chunked kernel, {name}"


def test_interp_ball_query(triton_interpreted, cases):
    g = torch.Generator().manual_seed(12)
    for name, xyz in _small_cases(cases):
        b, n, _ = xyz.shape
        centers = torch.cat([xyz[:, : max(1, n // 3)], torch.rand(b, 10, 3, generator=g) * 1.4 - 0.2], 1)
        # radius 0 (all empty), sparse (some empty), lattice step (points on the
        # sphere), k above every neighbourhood, everything inside
        for radius, k, empty in ((0.0, 3, "nearest"), (0.05, 4, "nearest"), (0.05, 4, "zero"),
                                 (0.25, 9, "nearest"), (0.4, 70, "zero"), (5.0, 5, "nearest")):
            expected = ball_query_naive(xyz, centers, radius, k, empty)
            # small tiles so rows span several tiles and programs
            got = triton_interpreted.ball_query(xyz.contiguous(), centers.contiguous(), squared_radius(radius), k,
                                                empty == "nearest", block_m=16, block_n=16)
            assert torch.equal(got, expected), f"{name}, r={radius}, k={k}, {empty}"


# ------------------------------------------- compiled for a GPU, on any machine


def _compile_for_hopper(fn, signature: dict, constexprs: dict, num_warps: int, fp_fusion: bool = False) -> str:
    """PTX of ``fn`` compiled ahead of time for sm_90 (no GPU needed: Triton's
    own LLVM and ptxas)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    try:
        src = ASTSource(fn=fn, signature=signature, constexprs=constexprs)
    except TypeError as exc:  # older Triton spells the argument differently
        skip_or_fail(f"this Triton's ASTSource takes other arguments: {exc}")
    kernel = triton.compile(src, target=GPUTarget("cuda", 90, 32),
                            options={"num_warps": num_warps, "enable_fp_fusion": fp_fusion})
    return kernel.asm["ptx"]


def test_kernels_compile_for_hopper_without_fma():
    """Every kernel compiles for sm_90 at the launchers' settings, and the
    distance kernels contain no fused multiply-add (which would round
    differently from the CPU paths and flip neighbours at the ball's edge)."""
    import re

    from vg4d_core.ops import triton_gpu as tg

    fma = re.compile(r"\bfma\.")
    fps_sig = {"xyz_ptr": "*fp32", "out_ptr": "*i64", "N": "i32", "M": "i32", "BLOCK": "constexpr"}
    fps_ptx = _compile_for_hopper(tg._fps_register_kernel, fps_sig, {"BLOCK": 2048}, tg.fps_warps(2048))
    assert not fma.search(fps_ptx)
    # the check can fail: with fusion allowed the same kernel does contain FMAs
    assert fma.search(_compile_for_hopper(tg._fps_register_kernel, fps_sig, {"BLOCK": 2048}, tg.fps_warps(2048),
                                          fp_fusion=True))
    chunk_sig = {"xyz_ptr": "*fp32", "temp_ptr": "*fp32", "out_ptr": "*i64", "N": "i32", "M": "i32",
                 "BLOCK": "constexpr"}
    block = tg.FPS_MAX_REGISTER_POINTS
    assert not fma.search(_compile_for_hopper(tg._fps_chunked_kernel, chunk_sig, {"BLOCK": block},
                                              tg.fps_warps(block)))
    bq_sig = {"xyz_ptr": "*fp32", "ctr_ptr": "*fp32", "out_ptr": "*i64", "N": "i32", "M": "i32", "K": "i32",
              "r2": "fp32", "NEAREST": "constexpr", "BLOCK_M": "constexpr", "BLOCK_N": "constexpr",
              "BLOCK_K": "constexpr"}
    bq_const = {"NEAREST": True, "BLOCK_M": tg.BALL_QUERY_BLOCK_M, "BLOCK_N": tg.BALL_QUERY_BLOCK_N, "BLOCK_K": 16}
    assert not fma.search(_compile_for_hopper(tg._ball_query_kernel, bq_sig, bq_const, tg.BALL_QUERY_WARPS))



# ---------------------------------------------------------------- real GPU


@pytest.mark.cuda
def test_cuda_fps_matches_naive(cases):
    from vg4d_core.ops import furthest_point_sample

    g = torch.Generator().manual_seed(20)
    inputs = dict(cases)
    inputs["clip"] = torch.rand(23, 2048, 3, generator=g)
    inputs["big_frame"] = torch.rand(2, 10000, 3, generator=g)  # chunked kernel
    for name, xyz in inputs.items():
        n = xyz.shape[1]
        for m in sorted({1, n // 2 or 1, n}) if n <= 2048 else (n // 8,):
            expected = furthest_point_sample_naive(xyz, m)
            got = furthest_point_sample(xyz.cuda(), m)
            assert got.is_cuda and torch.equal(got.cpu(), expected), f"{name}, m={m}"


@pytest.mark.cuda
def test_cuda_ball_query_matches_naive(cases):
    from vg4d_core.ops import ball_query, numba_cpu

    g = torch.Generator().manual_seed(21)
    inputs = dict(cases)
    inputs["clip"] = torch.rand(23, 2048, 3, generator=g)
    for name, xyz in inputs.items():
        b, n, _ = xyz.shape
        centers = torch.cat([xyz[:, : max(1, n // 2)], torch.rand(b, 64, 3, generator=g) * 1.4 - 0.2], 1)
        for radius, k in ((0.0, 3), (0.05, 9), (0.15, 9), (0.25, 32), (3.0, 9)):
            for empty in ("nearest", "zero"):
                # numba is checked against naive elsewhere; naive is too slow at clip size
                reference = ball_query_naive if n < 2048 else (
                    lambda x, c, r, kk, e: torch.from_numpy(numba_cpu.ball_query(
                        x.numpy(), c.numpy(), squared_radius(r), kk, e == "nearest")))
                expected = reference(xyz, centers, radius, k, empty)
                got = ball_query(xyz.cuda(), centers.cuda(), radius, k, empty)
                assert torch.equal(got.cpu(), expected), f"{name}, r={radius}, k={k}, {empty}"


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_cuda_group_points(dtype):
    from vg4d_core.ops import group_points

    g = torch.Generator().manual_seed(22)
    features = torch.randn(6, 19, 500, generator=g).to(dtype)
    idx = torch.randint(0, 500, (6, 128, 9), generator=g)
    grad = torch.randint(-3, 4, (6, 19, 128, 9), generator=g).to(dtype)  # exact sums in any order
    f_cpu = features.clone().requires_grad_()
    ref = group_points_naive(f_cpu, idx)
    (ref_grad,) = torch.autograd.grad(ref, f_cpu, grad)
    f_gpu = features.cuda().requires_grad_()
    out = group_points(f_gpu, idx.cuda())
    (out_grad,) = torch.autograd.grad(out, f_gpu, grad.cuda())
    assert torch.equal(out.cpu(), ref)
    assert torch.equal(out_grad.cpu(), ref_grad)


@pytest.mark.cuda
def test_cuda_group_gradcheck():
    from vg4d_core.ops import group_points

    f = torch.randn(2, 3, 20, dtype=torch.float64, device="cuda", requires_grad=True)
    idx = torch.randint(0, 20, (2, 7, 4), device="cuda")
    assert torch.autograd.gradcheck(lambda t: group_points(t, idx), (f,))
