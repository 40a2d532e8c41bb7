"""mix.tsv rows and materialise(): format round trip, bad rows, time ranges, looping, caching."""

import dataclasses

import numpy as np
import pytest

from sitool import mixture
from sitool.audio import write_audio
from sitool.errors import SitoolError
from sitool.mixture import (COLUMNS, MixRow, format_mix_tsv, format_noise_path, loop_noise,
                            materialise, materialise_components, noise_segment,
                            parse_noise_path, read_mix_tsv)

RATE = 16000


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    clean = (0.3 * np.sin(2 * np.pi * 200 * np.arange(RATE) / RATE)).astype(np.float32)
    noise = (0.2 * rng.standard_normal(3 * RATE)).astype(np.float32)
    write_audio(tmp_path / "clean.wav", clean, subtype="FLOAT")
    write_audio(tmp_path / "noise.wav", noise, subtype="FLOAT")
    return tmp_path, clean, noise


def make_row(tmp_path, **changes):
    row = MixRow(utt="u1-white-snr+00", clean_utt="u1", noise_id="n1", noise_type="white",
                 category="non-babble", snr_db=0.0,
                 noise_path=format_noise_path(str(tmp_path / "noise.wav"), 1.0, 3.0),
                 noise_offset_s=0.25, gain=0.8, seed=123, clean_path=str(tmp_path / "clean.wav"),
                 scale=0.9)
    return dataclasses.replace(row, **changes)


def test_columns_are_the_contract():
    assert COLUMNS == ("utt", "clean_utt", "noise_id", "noise_type", "category", "snr_db",
                       "noise_path", "noise_offset_s", "gain", "seed", "clean_path", "scale")


def test_mix_tsv_round_trip_is_exact(tmp_path, files):
    rows = [make_row(tmp_path, utt=f"u{i}", gain=0.1 * i + 1 / 3, snr_db=-5.0 + i)
            for i in range(3)]
    text = format_mix_tsv(reversed(rows))
    assert text.splitlines()[0] == "\t".join(COLUMNS)
    (tmp_path / "mix.tsv").write_text(text)
    back = read_mix_tsv(tmp_path / "mix.tsv")
    assert list(back) == ["u0", "u1", "u2"]
    assert list(back.values()) == rows  # floats survive exactly
    assert format_mix_tsv(back.values()) == text


@pytest.mark.parametrize("edit, message", [
    (lambda v: v[:5], "expected 12 tab-separated columns"),
    (lambda v: v[:5] + ["loud"] + v[6:], "snr_db 'loud' is not a number"),
    (lambda v: v[:4] + ["music"] + v[5:], "category 'music'"),
    (lambda v: v[:11] + ["1.5"], "scale must be in"),
    (lambda v: v[:9] + ["x"] + v[10:], "seed 'x' is not an integer"),
])
def test_bad_row_names_file_and_line(tmp_path, files, edit, message):
    good = format_mix_tsv([make_row(tmp_path)]).splitlines()
    values = good[1].split("\t")
    (tmp_path / "mix.tsv").write_text(good[0] + "\n" + "\t".join(edit(values)) + "\n")
    with pytest.raises(SitoolError, match=f"mix.tsv:2: {message}"):
        read_mix_tsv(tmp_path / "mix.tsv")


def test_bad_header_and_duplicates(tmp_path, files):
    (tmp_path / "mix.tsv").write_text("utt\tnoise\n")
    with pytest.raises(SitoolError, match="mix.tsv:1: header"):
        read_mix_tsv(tmp_path / "mix.tsv")
    line = format_mix_tsv([make_row(tmp_path)]).splitlines()
    (tmp_path / "mix.tsv").write_text("\n".join([line[0], line[1], line[1]]) + "\n")
    with pytest.raises(SitoolError, match="mix.tsv:3: duplicate utterance"):
        read_mix_tsv(tmp_path / "mix.tsv")


def test_noise_path_time_range():
    assert parse_noise_path("/a/b.wav") == ("/a/b.wav", None, None)
    assert parse_noise_path("/a/b.wav#t=1.500,20.000") == ("/a/b.wav", 1.5, 20.0)
    assert format_noise_path("/a/b.wav", 1.5, 20.0) == "/a/b.wav#t=1.500,20.000"
    with pytest.raises(SitoolError, match="after its start"):
        parse_noise_path("/a/b.wav#t=3,2")


def test_materialise_is_the_documented_formula_and_bit_exact(tmp_path, files):
    _, clean, noise = files
    row = make_row(tmp_path)
    out = materialise(row)
    assert out.dtype == np.float32 and out.shape == clean.shape
    start = RATE + int(0.25 * RATE)  # range starts at 1 s, offset 0.25 s into it
    expected = np.float32(0.9) * (clean + np.float32(0.8) * noise[start:start + RATE])
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)
    mixture.AUDIO_CACHE.clear()
    assert np.array_equal(materialise(row), out)  # cold cache
    assert np.array_equal(materialise(row), out)  # warm cache
    speech, added = materialise_components(row)
    np.testing.assert_allclose(speech + added, out, atol=1e-6)


def test_short_noise_is_looped_with_crossfade(tmp_path):
    rng = np.random.default_rng(3)
    short = rng.standard_normal(RATE // 2).astype(np.float32)  # 0.5 s, utterance 2.3 s
    looped = loop_noise(short, int(2.3 * RATE))
    assert looped.size == int(2.3 * RATE)
    fade = mixture.crossfade_length(short.size)
    assert fade == int(0.05 * RATE)
    # the first copy is untouched up to its fade-out, later copies start after the overlap
    np.testing.assert_array_equal(looped[:short.size - fade], short[:short.size - fade])
    period = short.size - fade
    np.testing.assert_array_equal(looped[period + fade:2 * period], short[fade:period])
    # equal-power crossfade keeps the level of uncorrelated noise (no dip at the joins)
    joins = np.concatenate([looped[k * period:k * period + fade] for k in (1, 2, 3)])
    assert 10 * np.log10(np.mean(joins ** 2) / np.mean(short ** 2)) == pytest.approx(0, abs=1.0)
    # deterministic
    np.testing.assert_array_equal(loop_noise(short, int(2.3 * RATE)), looped)


def test_noise_segment_offset_beyond_range_is_an_error(tmp_path, files):
    path = format_noise_path(str(tmp_path / "noise.wav"), 0.0, 1.0)
    with pytest.raises(SitoolError, match="offset"):
        noise_segment(path, 1.5, 100)
    assert noise_segment(path, 0.5, 2 * RATE).size == 2 * RATE  # looped within the range


def test_cache_is_used_and_read_only(tmp_path, files):
    mixture.AUDIO_CACHE.clear()
    row = make_row(tmp_path)
    for _ in range(5):
        materialise(row)
    assert mixture.AUDIO_CACHE.misses == 2 and mixture.AUDIO_CACHE.hits == 8
    cached = mixture.load_clean(row.clean_path)
    with pytest.raises(ValueError):
        cached[0] = 1.0
