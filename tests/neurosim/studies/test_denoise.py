"""Denoising: patch plumbing, PSNR, the patch and convolutional pipelines (WARP no worse than cold
at an equal step budget). The ``denoise`` and ``warp`` commands are tested in tests/neurosim/cli."""
import dataclasses

import numpy as np
import pytest

import neurosim as ns
from neurosim.estimators.warp import WarpLCA
from neurosim.studies.denoise import (
    TEST_BOX,
    TRAIN_BOX,
    add_noise,
    compare_patch_methods,
    denoise_patches,
    extract_patches,
    merge_patches,
    prepare_patch_denoiser,
    psnr,
    sample_image,
)
from neurosim.studies.denoise_conv import compare_conv_methods, denoise_conv, prepare_conv_denoiser


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def images():
    clean = sample_image(0, box=(TEST_BOX[1] + 40, TEST_BOX[2] + 40, 48, 48))
    train = sample_image(1, box=(TRAIN_BOX[1] + 64, TRAIN_BOX[2] + 64, 112, 112))
    return clean, train, add_noise(clean, 0.1, seed=0)


def test_psnr_and_noise():
    assert psnr(np.zeros((4, 4)), np.full((4, 4), 0.1)) == pytest.approx(20.0)
    assert psnr(np.ones(3), np.ones(3)) == np.inf
    noise = add_noise(np.zeros((200, 200)), 0.1, seed=3)
    assert noise.std() == pytest.approx(0.1, rel=0.02)
    assert np.array_equal(noise, add_noise(np.zeros((200, 200)), 0.1, seed=3))


@pytest.mark.parametrize("stride", [1, 3, 5])
def test_patches_round_trip(stride):
    img = np.random.default_rng(0).random((20, 23))
    P = extract_patches(img, 6, stride)
    assert P.shape[1] == 36
    np.testing.assert_allclose(merge_patches(P, img.shape, 6, stride), img, atol=1e-14)


def test_sample_image_and_errors():
    img = sample_image(1, box=(10, 20, 30, 40))
    assert img.shape == (30, 40) and 0 <= img.min() and img.max() <= 1
    with pytest.raises(ns.InputError, match="no image"):
        sample_image(5)
    with pytest.raises(ns.InputError, match="does not fit"):
        sample_image(0, box=(400, 0, 100, 10))


def test_patch_denoising_warp_no_worse_than_cold(images):
    clean, train, noisy = images
    den = prepare_patch_denoiser(train, sigma=0.1, n_atoms=64, n_train=2000, dl_iter=1, n_dict=2000,
                                 predictor_options=dict(epochs=15), warp_options=dict(target_steps=200))
    results = {r.method: r for r in compare_patch_methods(clean, noisy, den, steps=20, stride=2)}
    base = psnr(clean, noisy)
    assert all(r.psnr > base + 1.0 for r in results.values())
    assert results["warp"].psnr >= results["cold"].psnr
    # a zero predictor turns WARP into the cold start, bit for bit
    zero = dataclasses.replace(den, warp=WarpLCA(den.dictionary, den.lam_hard, predictor="zero"))
    assert np.array_equal(denoise_patches(noisy, zero, method="warp", steps=20, stride=2), results["cold"].image)


# slow (8 s): the default run keeps the patch version of the same claim
@pytest.mark.slow
def test_conv_denoising_warp_no_worse_than_cold(images):
    clean, train, noisy = images
    den = prepare_conv_denoiser(train, sigma=0.1, n_filters=8, n_train=3000, n_dict=2000,
                                predictor_options=dict(epochs=15))
    results = {r.method: r for r in compare_conv_methods(clean, noisy, den, steps=30)}
    assert results["warp"].psnr >= results["cold"].psnr
    assert results["fista"].psnr > results["cold"].psnr  # 30 steps of 1/L are far from converged
    with pytest.raises(ns.InputError, match="unknown method"):
        denoise_conv(noisy, den, method="bm3d")


def test_patch_grid_refuses_uncovered_pixels():
    with pytest.raises(ns.NetworkError, match="leaves pixels uncovered"):
        merge_patches(np.zeros((4, 64)), (16, 16), 8, stride=9)


@pytest.mark.slow
def test_denoising_must_show_default_setup():
    """Default protocol (128x128 china crop, flower training): WARP PSNR >= cold at equal budgets."""
    clean = sample_image(TEST_BOX[0], box=TEST_BOX[1:])
    train = sample_image(TRAIN_BOX[0], box=TRAIN_BOX[1:])
    noisy = add_noise(clean, 0.1, seed=0)
    den = prepare_patch_denoiser(train, sigma=0.1)
    for steps in (10, 30, 100):
        r = {x.method: x for x in compare_patch_methods(clean, noisy, den, steps=steps)}
        assert r["warp"].psnr >= r["cold"].psnr
    cden = prepare_conv_denoiser(train, sigma=0.1)
    for steps in (30, 100):
        r = {x.method: x for x in compare_conv_methods(clean, noisy, cden, steps=steps)}
        assert r["warp"].psnr >= r["cold"].psnr
