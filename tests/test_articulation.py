"""EMA -> tract-variable geometry, palate estimation, resampling, source features."""

import numpy as np
import pytest

from sitool.articulation.geometry import (Orientation, constriction_degree,
                                          constriction_location, find_orientation,
                                          lip_aperture, lip_protrusion, tract_variables)
from sitool.articulation.palate import Palate, estimate_palate
from sitool.articulation.resample import frame_count, interpolate_gaps, resample_track
from sitool.articulation.source import source_features
from sitool.errors import SitoolError
from sitool.testing.corpus_formats import PALATE, fake_articulation, palate_height

# A flat-topped palate: front end (0, 10), flat roof y = 20 from x = -10 to -40, back end (-50, 10).
BOX_PALATE = Palate(np.array([[0.0, 10.0], [-10.0, 20.0], [-40.0, 20.0], [-50.0, 10.0]]), "test")


def track(*points):
    return np.array(points, dtype=np.float64)


def test_lips_closed_give_zero_aperture_and_known_distances():
    ul = track([10.0, 5.0], [10.0, 5.0], [12.0, 5.0])
    ll = track([10.0, 5.0], [10.0, -3.0], [9.0, 1.0])
    np.testing.assert_allclose(lip_aperture(ul, ll), [0.0, 8.0, 5.0])
    np.testing.assert_allclose(lip_protrusion(ul, ll, reference_x=1.0), [9.0, 9.0, 9.5])


def test_tongue_touching_the_palate_gives_zero_constriction_degree():
    tongue = track([-25.0, 20.0], [-10.0, 20.0], [-5.0, 15.0], [-25.0, 14.0], [-25.0, 21.5],
                   [-60.0, 10.0])
    degree = constriction_degree(tongue, BOX_PALATE)
    # on the roof, on a vertex, on the sloped front segment: 0; 6 mm below the roof: 6;
    # 1.5 mm above the roof: -1.5; 10 mm behind the back end: 10
    np.testing.assert_allclose(degree, [0.0, 0.0, 0.0, 6.0, -1.5, 10.0], atol=1e-9)


def test_constriction_location_is_the_direction_from_the_palate_centre():
    centre = BOX_PALATE.centre
    np.testing.assert_allclose(centre, [-25.0, 10.0 - 25.0])
    points = centre + track([5.0, 0.0], [0.0, 5.0], [-5.0, 0.0], [-5.0, -0.1], [3.0, 3.0])
    np.testing.assert_allclose(constriction_location(points, BOX_PALATE),
                               [0.0, 90.0, 180.0, 180.0 + np.degrees(np.arctan(0.1 / 5.0)),
                                45.0], atol=1e-9)


def test_tract_variables_columns_and_values():
    sensors = {"UL": track([10.0, 6.0]), "LL": track([10.0, 0.0]),
               "TT": track([-10.0, 20.0]), "TD": track([-30.0, 16.0])}
    tv = tract_variables(sensors, BOX_PALATE, lp_reference_x=2.0)
    assert tv.dtype == np.float32 and tv.shape == (1, 6)
    la, lp, ttcl, ttcd, tbcl, tbcd = tv[0]
    assert la == pytest.approx(6.0) and lp == pytest.approx(8.0)
    assert ttcd == pytest.approx(0.0) and tbcd == pytest.approx(4.0)
    assert ttcl == pytest.approx(np.degrees(np.arctan2(35.0, 15.0)), abs=1e-4)
    assert tbcl == pytest.approx(np.degrees(np.arctan2(31.0, -5.0)), abs=1e-4)
    with pytest.raises(SitoolError, match="need sensor"):
        tract_variables({"UL": sensors["UL"]}, BOX_PALATE)


def test_orientation_undoes_mirrored_axes_and_tvs_do_not_change():
    times = np.arange(100) / 100.0
    truth = fake_articulation(times, seed=3)
    mirrored = {name: xy * [-1.0, -1.0] for name, xy in truth.items()}
    orientation = find_orientation(mirrored)
    assert orientation == Orientation(flip_x=True, flip_y=True)
    assert find_orientation(truth) == Orientation(False, False)
    restored = {name: orientation.apply(xy) for name, xy in mirrored.items()}
    palate = Palate(PALATE, "fixture")
    np.testing.assert_allclose(tract_variables(restored, palate), tract_variables(truth, palate))
    with pytest.raises(SitoolError, match="cannot orient"):
        find_orientation({"UL": np.full((5, 2), np.nan), "LL": truth["LL"][:5],
                          "TD": truth["TD"][:5]})


def test_palate_estimated_from_tongue_contacts_matches_the_true_palate():
    times = np.arange(4000) / 100.0
    sensors = fake_articulation(times, seed=1)
    points = np.concatenate([sensors[n] for n in ("TT", "TM", "TD")])
    palate = estimate_palate(points)
    # Where the tongue tip and dorsum reach the palate the estimate lies on it (within 1 mm).
    for lo, hi in ((-14.0, -10.0), (-42.0, -38.0)):
        inside = (palate.points[:, 0] > lo) & (palate.points[:, 0] < hi)
        assert inside.any()
        error = palate.points[inside, 1] - palate_height(palate.points[inside, 0])
        assert np.all(np.abs(error) < 1.0), error
    assert palate.points[0, 0] > palate.points[-1, 0]       # ordered front to back
    with pytest.raises(SitoolError, match="cannot estimate a palate"):
        estimate_palate(points[:5])


def test_interpolate_gaps_fills_short_gaps_and_reports_the_longest():
    values = np.array([[0.0, np.nan], [1.0, np.nan], [np.nan, np.nan], [np.nan, np.nan],
                       [4.0, np.nan], [np.nan, np.nan]])
    filled, longest = interpolate_gaps(values)
    np.testing.assert_allclose(filled[:, 0], [0, 1, 2, 3, 4, 4])
    assert longest.tolist() == [2, 6]                       # all-NaN column: its full length
    assert np.isnan(filled[:, 1]).all()


def test_resample_keeps_slow_movement_and_removes_what_would_alias():
    rate = 500.0
    times = np.arange(1000) / rate
    slow = np.sin(2 * np.pi * 3.0 * times)
    fast = 0.5 * np.sin(2 * np.pi * 80.0 * times)          # above the 50 Hz target Nyquist
    out = resample_track(np.column_stack([slow, slow + fast]), times, 100.0)
    assert out.shape == (frame_count(times[-1], 100.0), 2) == (200, 2)
    grid = np.arange(200) / 100.0
    inner = slice(10, -10)
    np.testing.assert_allclose(out[inner, 0], np.sin(2 * np.pi * 3.0 * grid)[inner], atol=2e-3)
    assert np.max(np.abs(out[inner, 1] - out[inner, 0])) < 0.02   # 80 Hz removed, not aliased


def test_resample_irregular_xrmb_like_time_stamps():
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.9, 1.1, 300) / 145.6)
    values = 3.0 * times + 1.0
    out = resample_track(values, times, 100.0)
    grid = np.arange(len(out)) / 100.0
    inside = grid >= times[0]
    np.testing.assert_allclose(out[inside, 0], 3.0 * grid[inside] + 1.0, atol=0.02)


def test_source_features_track_f0_voicing_and_noise():
    rate = 16000
    seg = int(0.5 * rate)
    t = np.arange(seg) / rate
    f0 = 100.0 + 100.0 * t                                     # 100 -> 150 Hz
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = 0.3 * sum(np.sin(h * phase) / h for h in range(1, 10))
    noise = np.random.default_rng(0).normal(0, 0.1, seg)
    audio = np.concatenate([np.zeros(seg), voiced, noise, np.zeros(seg)])
    out = source_features(audio, rate, n_frames=200)
    assert out.shape == (200, 3) and out.dtype == np.float32
    frames = np.arange(200) / 100.0
    in_voiced = (frames > 0.55) & (frames < 0.95)
    truth = 100.0 + 100.0 * (frames[in_voiced] - 0.5)
    assert np.max(np.abs(out[in_voiced, 0] - truth) / truth) < 0.02
    in_noise = (frames > 1.05) & (frames < 1.45)
    in_silence = frames < 0.45
    assert out[in_voiced, 1].mean() > 0.9 and out[in_voiced, 2].mean() < 0.1
    assert out[in_noise, 2].mean() > 2 * out[in_noise, 1].mean()
    assert np.all(out[in_silence, 1:] < 0.05)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("mains_hz,f0_min", [(60.0, 60.0), (50.0, 45.0)])
def test_source_features_ignore_mains_hum(mains_hz, f0_min):
    # issue 13 item 16: real recordings carry 50/60 Hz hum (+ harmonics); the tracker must not
    # lock onto it in silence and fricatives, nor lose the voice's F0
    rate = 16000
    seg = int(0.5 * rate)
    t = np.arange(seg) / rate
    f0 = 65.0 + 50.0 * t                                       # a low voice: 65 -> 90 Hz
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = 0.3 * sum(np.sin(h * phase) / h for h in range(1, 10))
    noise = np.random.default_rng(0).normal(0, 0.1, seg)
    audio = np.concatenate([np.zeros(seg), voiced, noise, np.zeros(seg)])
    tt = np.arange(len(audio)) / rate
    hum = 0.03 * (np.sin(2 * np.pi * mains_hz * tt) + 0.3 * np.sin(4 * np.pi * mains_hz * tt + 1)
                  + 0.1 * np.sin(6 * np.pi * mains_hz * tt))
    clean = source_features(audio, rate, n_frames=200, f0_min=f0_min)
    out = source_features(audio + hum, rate, n_frames=200, f0_min=f0_min)
    frames = np.arange(200) / 100.0
    silence, tail = frames < 0.45, frames > 1.55
    in_voiced = (frames > 0.55) & (frames < 0.95)
    in_noise = (frames > 1.05) & (frames < 1.45)
    truth = 65.0 + 50.0 * (frames[in_voiced] - 0.5)
    assert np.max(np.abs(out[in_voiced, 0] - truth) / truth) < 0.02
    # silence holds the voiced neighbours' F0 as without hum, not the mains frequency
    np.testing.assert_allclose(out[silence | tail, 0], clean[silence | tail, 0], rtol=0.03)
    assert np.all(np.abs(out[silence | tail, 0] - mains_hz) > 5.0)
    assert np.all(out[silence | tail, 1] < 0.05)               # the hum is not voicing
    assert out[in_noise, 2].mean() > 2 * out[in_noise, 1].mean()
