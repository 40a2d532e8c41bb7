"""The synthetic VocalTractLab corpus: target physics, corpus driver (resume, crashes), prepare.

VocalTractLab runs only in worker subprocesses (it crashes at exit after an anatomy change),
so every synthesis here goes through ``sitool.corpora.synth.corpus``. Synthesis is slow
(~3-5 s of CPU per second of audio), so the module-scoped fixtures make a few short
utterances once: two designed sentences for the physics, and a 5-utterance corpus that is
killed and resumed.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sitool.cli import main
from sitool.corpora.synth.anatomy import adapt_articulation, scaled_anatomy
from sitool.corpora.synth.corpus import (check_settings, make_corpus, synthesize_utterances,
                                         utterance_spec)
from sitool.corpora.synth.layout import is_finished, read_phones_tsv
from sitool.corpora.synth.phones import (PHONES, ROUNDED_VOWELS, SILENCE, SPREAD_VOWELS, Segment,
                                         random_utterance)
from sitool.corpora.synth.pool import UttSpec
from sitool.corpora.synth.prepare import prepare_synth
from sitool.corpora.synth.prosody import voicing
from sitool.corpora.synth.speakers import (SPEAKERS, format_speakers_tsv, parse_speakers_tsv,
                                           plan_utterances)
from sitool.corpora.synth.targets import NAMES, tube_targets
from sitool.corpora.synth.worker import FAULTS_ENV
from sitool.datadir import DataDir
from sitool.errors import SitoolError
from sitool.validate import validate_data_dir

COL = {name: i for i, name in enumerate(NAMES)}
SPEAKER = {s.id: s for s in SPEAKERS}
REPO = Path(__file__).resolve().parents[1]

# A designed sentence: every closure consonant, velars after front and back vowels (the
# hardest case for small anatomies), rounded (u o y 2) and spread (a i e E) vowels.
DESIGNED = "a p u b i m o t y d e n a k i g u N i k u g a N o l 2 s E".split()


def designed_segments() -> tuple[Segment, ...]:
    segments = [Segment(SILENCE, 0.1)]
    for phone in DESIGNED:
        info = PHONES[phone]
        segments.append(Segment(phone, 0.13 if info.kind == "vowel" else
                                0.10 if info.kind == "stop" and not info.voiced else 0.08))
    return tuple(segments + [Segment(SILENCE, 0.1)])


@pytest.fixture(scope="module")
def designed(tmp_path_factory):
    """The designed sentence by the two extreme speakers (smallest and largest anatomy)."""
    out = tmp_path_factory.mktemp("designed")
    specs = [UttSpec(f"{spk}_0000", SPEAKER[spk], designed_segments(), 7)
             for spk in ("spk06", "spk07")]
    report = synthesize_utterances(specs, out, nj=2)
    assert not report.failed, report.failed
    utts = {}
    for spec in specs:
        audio, rate = sf.read(out / "wav" / f"{spec.utt}.wav", dtype="float32")
        assert rate == 16000 and audio.ndim == 1
        utts[spec.utt] = (audio, np.load(out / "tv" / f"{spec.utt}.npy"),
                          read_phones_tsv(out / "phones" / f"{spec.utt}.tsv"))
    return utts


def frames_between(start: float, end: float, n: int) -> np.ndarray:
    """Target frames whose time i/100 lies in [start, end]."""
    idx = np.arange(int(np.ceil(start * 100)), int(np.floor(end * 100)) + 1)
    return idx[(idx >= 0) & (idx < n)]


def closure_frames(seg, n: int) -> np.ndarray:
    """Frames of a stop or nasal where VocalTractLab holds the closure.

    VocalTractLab's gestural model starts the closure at the segment start; a plosive
    segment also holds the burst and aspiration (measured: a voiceless closure lasts ~50 %
    of the segment, a voiced one ~80 %), a nasal holds it throughout. So: from 10 ms after
    the start to 40 % of the segment for stops, to 10 ms before the end for nasals.
    """
    dur = seg.end - seg.start
    end = seg.start + 0.4 * dur if PHONES[seg.phone].kind == "stop" else seg.end - 0.01
    return frames_between(seg.start + 0.01, end, n)


def middle_frames(seg, n: int) -> np.ndarray:
    """The middle half of a segment: articulators need time to reach their targets."""
    dur = seg.end - seg.start
    return frames_between(seg.start + 0.25 * dur, seg.end - 0.25 * dur, n)


def tokens(phones, which):
    return [seg for seg in phones if seg.phone in which]


def test_designed_alignment_is_exact(designed):
    for audio, tv, phones in designed.values():
        assert [s.phone for s in phones] == [SILENCE] + DESIGNED + [SILENCE]
        assert abs(phones[-1].end - len(audio) / 16000) < 0.02
        assert tv.shape == (len(audio) // 160, len(NAMES)) and tv.dtype == np.float32
        assert np.all(np.isfinite(tv))


@pytest.mark.parametrize("place, column", [("bmp", "LA"), ("dnt", "TTCD"), ("gkN", "TBCD")])
def test_closures_reach_zero(designed, place, column):
    """LA / TTCD / TBCD are 0 (closed tube sections) during bilabial / alveolar / velar
    closures, and clearly open in the vowels. Tolerance 0.5 mm^2: VocalTractLab's tube has
    area exactly 0 at a closure; 0.5 mm^2 leaves room for the closing/opening frames at the
    edges of the window."""
    for utt, (_, tv, phones) in designed.items():
        segs = tokens(phones, place)
        assert len(segs) >= 3
        for seg in segs:
            idx = closure_frames(seg, len(tv))
            assert len(idx) >= 1
            assert tv[idx, COL[column]].max() <= 0.5, (utt, seg, tv[idx, COL[column]])
        vowels = np.concatenate([middle_frames(s, len(tv)) for s in tokens(phones, "aiuoe")])
        assert np.median(tv[vowels, COL[column]]) > 10.0, utt


def test_velum_open_in_nasals_only(designed):
    """VEL (velo-pharyngeal port area) is clearly open in the middle of nasals (> 20 mm^2;
    measured 59-72 mm^2 across the speakers) and shut (< 0.5 mm^2) in oral stop closures."""
    for utt, (_, tv, phones) in designed.items():
        for seg in tokens(phones, "mnN"):
            assert tv[middle_frames(seg, len(tv)), COL["VEL"]].min() > 20.0, (utt, seg)
        for seg in tokens(phones, "pbtdkg"):
            assert tv[closure_frames(seg, len(tv)), COL["VEL"]].max() < 0.5, (utt, seg)


def test_lip_protrusion_rounded_vs_spread(designed):
    """LP (lip-tube length in front of the incisors) is larger in every rounded vowel than
    in any spread vowel, by mean at least 3 mm (measured: rounded >= 9 mm, spread <= 7 mm)."""
    for utt, (_, tv, phones) in designed.items():
        def mean_lp(seg):
            return float(tv[middle_frames(seg, len(tv)), COL["LP"]].mean())
        rounded = [mean_lp(s) for s in tokens(phones, ROUNDED_VOWELS)]
        spread = [mean_lp(s) for s in tokens(phones, SPREAD_VOWELS)]
        assert len(rounded) >= 4 and len(spread) >= 4
        assert min(rounded) > max(spread), (utt, rounded, spread)
        assert np.mean(rounded) - np.mean(spread) > 3.0


def autocorrelation_f0(audio: np.ndarray, centre_s: float, rate: int = 16000,
                       window_s: float = 0.04, fmin: float = 60.0, fmax: float = 450.0) -> float:
    """F0 (Hz) of a 40 ms Hann window by the normalised autocorrelation peak."""
    half = int(window_s * rate / 2)
    c = int(centre_s * rate)
    x = audio[max(0, c - half):c + half].astype(np.float64)
    x = (x - x.mean()) * np.hanning(len(x))
    ac = np.correlate(x, x, "full")[len(x) - 1:]
    ac /= ac[0] + 1e-12
    lo, hi = int(rate / fmax), int(rate / fmin)
    lag = lo + int(np.argmax(ac[lo:hi]))
    if 0 < lag < len(ac) - 1:   # parabolic refinement of the peak
        a, b, d = ac[lag - 1], ac[lag], ac[lag + 1]
        lag = lag + 0.5 * (a - d) / (a - 2 * b + d) if (a - 2 * b + d) < 0 else lag
    return rate / lag


def test_f0_target_matches_audio(designed):
    """The F0 target is the F0 the glottis model is driven with: an autocorrelation
    estimate from the audio in the voiced middle of vowels agrees with it to 3 % in median
    and 8 % for 95 % of the frames (VocalTractLab's flutter adds slow random F0 wobble of
    about 1 %, and a 40 ms window averages over a changing F0)."""
    for utt, (audio, tv, phones) in designed.items():
        errors = []
        for seg in tokens(phones, "aiueoy2E"):
            for i in middle_frames(seg, len(tv)):
                if tv[i, COL["VOICING"]] == 1.0:
                    estimate = autocorrelation_f0(audio, i / 100)
                    errors.append(abs(estimate - tv[i, COL["F0"]]) / tv[i, COL["F0"]])
        errors = np.array(errors)
        assert len(errors) > 40
        assert np.median(errors) < 0.03, (utt, np.median(errors))
        assert np.quantile(errors, 0.95) < 0.08, (utt, np.quantile(errors, 0.95))
        speaker_f0 = SPEAKER[utt.split("_")[0]].f0_hz
        assert 0.6 * speaker_f0 < np.median(tv[:, COL["F0"]]) < 1.6 * speaker_f0


def test_voicing_follows_the_glottis(designed):
    """VOICING is 1 in the middle of every vowel (also the final one: the lung pressure is
    held until 40 ms before the last phone ends), 0 in the silences, and drops to 0 in every
    voiceless stop (glottal abduction)."""
    for utt, (_, tv, phones) in designed.items():
        vowels = tokens(phones, "aiueoy2E")
        assert vowels[-1].end == phones[-2].end
        for seg in vowels:
            assert tv[middle_frames(seg, len(tv)), COL["VOICING"]].min() == 1.0, (utt, seg)
        for seg in (phones[0], phones[-1]):
            assert tv[middle_frames(seg, len(tv)), COL["VOICING"]].max() == 0.0, (utt, seg)
        for seg in tokens(phones, "ptk"):
            idx = frames_between(seg.start, seg.end, len(tv))
            assert tv[idx, COL["VOICING"]].min() == 0.0, (utt, seg)


# ------------------------------------------------------------------ pure-numpy definitions


def test_tube_targets_definitions():
    lengths = np.full(10, 1.0)                      # cm: section centres at 0.5, 1.5, ... 9.5
    areas = np.array([2.0, 1.5, 1.0, 0.8, 0.5, 0.9, 0.0, 0.0, 1.2, 0.3])
    labels = np.array([4, 1, 1, 1, 1, 1, 1, 2, 3, 3])
    la, lp, ttcl, ttcd, tbcl, tbcd, vel = tube_targets(lengths, areas, labels, 8.0, 0.25)
    assert la == pytest.approx(30.0)                 # min lip area, mm^2
    assert lp == pytest.approx(20.0)                 # 10 cm tube - 8 cm incisor, in mm
    assert ttcd == 0.0                               # closed sections at 6.5 and 7.5 cm
    assert ttcl == pytest.approx(10.0, abs=0.01)     # their centre, 10 mm behind the incisors
    assert tbcd == pytest.approx(50.0)               # narrowest tongue section > 17.5 mm back
    assert tbcl == pytest.approx(35.0, abs=2.0)      # near 4.5 cm = 35 mm behind the incisors
    assert vel == pytest.approx(25.0)


def test_adaptation_is_identity_for_the_reference():
    reference = np.array([1.3, 1.5, 0.5, 0.5, 1.6, 3.6, 4.7, 2.372, 6.35, 3.2, 3.3, 1.2, -98.0])
    tract = np.random.default_rng(0).uniform(-2, 2, size=(5, 19))
    assert np.allclose(adapt_articulation(tract, reference, reference, 0.3), tract)
    smaller = scaled_anatomy(reference, 0.9, 0.8)
    adapted = adapt_articulation(tract, reference, smaller, 1.0)
    assert np.allclose(adapted[:, 5], tract[:, 5] * 0.8)      # lip distance scales with pharynx


def test_voicing_rule():
    ra = np.array([1.0, 1.0, 0.0, 1.0, 0.6])
    pressure = np.array([8000, 3000, 8000, 8000, 5000.0])
    assert voicing(ra, pressure).tolist() == [1.0, 0.0, 0.0, 1.0, 1.0]


def test_random_utterances_and_plan():
    rng = np.random.default_rng(0)
    for _ in range(20):
        segments = random_utterance(rng, (1.0, 3.0))
        total = sum(s.duration for s in segments)
        assert 1.0 <= total <= 3.0
        assert segments[0].phone == SILENCE and segments[-1].phone == SILENCE
        assert all(s.phone in PHONES for s in segments[1:-1])
    plan = plan_utterances(32, SPEAKERS)
    counts = {}
    for p in plan:
        counts[p.speaker] = counts.get(p.speaker, 0) + 1
    assert sorted(set(counts.values())) == [2, 3] and len(plan) == 32
    assert [p.utt for p in plan] == sorted(p.utt for p in plan)
    with pytest.raises(SitoolError, match="smaller than the number of speakers"):
        plan_utterances(3, SPEAKERS)
    assert parse_speakers_tsv(format_speakers_tsv(SPEAKERS)) == SPEAKERS
    splits = {s.split for s in SPEAKERS}
    assert splits == {"train", "dev", "test", "babble_talkers"}
    assert sum(s.split == "train" for s in SPEAKERS) >= 6
    assert sum(s.split == "babble_talkers" for s in SPEAKERS) >= 4


# ------------------------------------------------------------------ corpus driver


SMALL = ["spk01", "spk09", "spk10", "spk12"]     # one speaker per split
SMALL_ARGS = dict(num_utts=5, seed=3, seconds=(0.5, 0.8))


@pytest.fixture(scope="module")
def resumed_corpus(tmp_path_factory):
    """A 5-utterance corpus whose first run is killed (SIGKILL to the process group) as
    soon as one utterance is finished, then resumed."""
    out = tmp_path_factory.mktemp("resume") / "corpus"
    code = ("from sitool.corpora.synth.corpus import make_corpus\n"
            "from sitool.corpora.synth.speakers import SPEAKERS\n"
            f"make_corpus({str(out)!r}, nj=1, speakers=[s for s in SPEAKERS if s.id in "
            f"{SMALL!r}], progress=False, **{SMALL_ARGS!r})\n")
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180

    def finished() -> list[Path]:
        return list((out / "phones").glob("*.tsv")) if (out / "phones").is_dir() else []

    try:
        while not finished():
            assert proc.poll() is None, "the first run ended before it could be killed"
            assert time.monotonic() < deadline, "no utterance finished in 180 s"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = {p.stem: p.stat().st_mtime_ns for p in (out / "phones").glob("*.tsv")}
    speakers = [s for s in SPEAKERS if s.id in SMALL]
    report = make_corpus(out, nj=2, speakers=speakers, progress=False, **SMALL_ARGS)
    return out, before, report


def test_killed_corpus_resumes(resumed_corpus):
    out, before, report = resumed_corpus
    assert 1 <= len(before) < 5
    assert report.planned == 5 and not report.failed
    assert report.reused == len(before) and report.synthesised == 5 - len(before)
    for utt, mtime in before.items():       # finished utterances were kept, not redone
        assert (out / "phones" / f"{utt}.tsv").stat().st_mtime_ns == mtime
    plan = (out / "utts.tsv").read_text().splitlines()[1:]
    assert all(is_finished(out, row.split("\t")[0]) for row in plan)
    assert not (out / ".jobs").exists()
    assert not [p for sub in ("wav", "tv", "phones") for p in (out / sub).glob(".*")]


def test_rerun_with_other_settings_is_refused(resumed_corpus):
    out, _, _ = resumed_corpus
    result = CliRunner().invoke(main, ["synth-corpus", "--out", str(out), "--num-utts", "20"])
    assert result.exit_code == 1 and "other settings" in result.output
    speakers = [s for s in SPEAKERS if s.id in SMALL]
    with pytest.raises(SitoolError, match="may only grow"):
        make_corpus(out, nj=1, speakers=speakers, progress=False,
                    **dict(SMALL_ARGS, num_utts=4))
    previous = {"format": 1, "num_utts": 5, "seed": 3}
    check_settings(previous, dict(previous, num_utts=8), out)     # growing is allowed
    with pytest.raises(SitoolError, match="seed"):
        check_settings(previous, dict(previous, num_utts=8, seed=4), out)


def test_prepare_synth_validates(resumed_corpus, tmp_path):
    out, _, _ = resumed_corpus
    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["prepare", "synth", "--corpus", str(out),
                                       "--out", str(data)])
    assert result.exit_code == 0, result.output
    for split, speaker in zip(("train", "dev", "test", "babble_talkers"), SMALL):
        assert validate_data_dir(data / split, progress=False) == []
        d = DataDir(data / split)
        assert set(d.utt2spk.values()) == {speaker}
        assert d.targets.names == NAMES and d.targets.frame_rate == 100.0
        utt = d.utts[0]
        assert d.target_array(utt).shape[1] == len(NAMES)
        phones = d.phones[utt]
        assert phones[0].phone == SILENCE and phones[-1].phone == SILENCE
        assert d.text[utt] == " ".join(p.phone for p in phones if p.phone != SILENCE)
    # Idempotent: a second run keeps the dirs; a dir that differs needs --overwrite.
    stamp = (data / "train" / "utt2spk").stat().st_mtime_ns
    prepare_synth(out, data)
    assert (data / "train" / "utt2spk").stat().st_mtime_ns == stamp
    (data / "dev" / "utt2spk").write_text("other_0000 other\n")
    with pytest.raises(SitoolError, match="--overwrite"):
        prepare_synth(out, data)
    prepare_synth(out, data, overwrite=True)
    assert validate_data_dir(data / "dev", progress=False) == []


def test_prepare_skips_unfinished_utterances(resumed_corpus, tmp_path, caplog):
    out, _, _ = resumed_corpus
    copy = tmp_path / "corpus"
    shutil.copytree(out, copy)
    (copy / "phones" / "spk01_0001.tsv").unlink()       # as if killed before it finished
    caplog.set_level("WARNING")
    prepare_synth(copy, tmp_path / "data")
    assert "skipping 1 of 5 planned utterances" in caplog.text
    assert DataDir(tmp_path / "data" / "train").utts == ["spk01_0000"]


def test_prepare_needs_a_corpus(tmp_path):
    with pytest.raises(SitoolError, match="not a synthetic corpus"):
        prepare_synth(tmp_path, tmp_path / "data")


def test_crash_and_failure_are_reported_not_dropped(tmp_path, caplog, monkeypatch):
    """A worker that segfaults is retried with the next variant; an utterance that fails
    every attempt is reported (log, report, failed/) and a rerun retries it."""
    out = tmp_path / "corpus"
    speakers = [SPEAKER["spk01"], SPEAKER["spk10"]]
    args = dict(num_utts=2, seed=5, speakers=speakers, seconds=(0.4, 0.6), max_attempts=2,
                progress=False)
    caplog.set_level("WARNING")
    # The worker's test hook: crash attempt 0 of spk01_0000, fail attempts 0 and 1 of spk10_0000.
    monkeypatch.setenv(FAULTS_ENV, json.dumps({"spk01_0000": ["crash", 1],
                                              "spk10_0000": ["error", 2]}))
    report = make_corpus(out, nj=2, **args)
    monkeypatch.delenv(FAULTS_ENV)
    assert report.synthesised == 1 and report.retried == 1
    assert list(report.failed) == ["spk10_0000"]
    assert all("injected failure" in e for e in report.failed["spk10_0000"])
    assert "worker crashed" in caplog.text and "giving up" in caplog.text
    assert is_finished(out, "spk01_0000") and not is_finished(out, "spk10_0000")
    record = (out / "failed" / "spk10_0000.txt").read_text().splitlines()
    assert [line.split(":")[0] for line in record] == ["attempt 0", "attempt 1"]
    # The crashed utterance was replaced by its next variant (attempt 1).
    plan = plan_utterances(2, speakers)
    variant = utterance_spec(plan[0], speakers[0], 0, 5, 1, (0.4, 0.6))
    phones = read_phones_tsv(out / "phones" / "spk01_0000.tsv")
    assert [p.phone for p in phones] == [s.phone for s in variant.segments]
    # A rerun keeps the finished one and retries the failed one with fresh variants.
    again = make_corpus(out, nj=2, **args)
    assert again.reused == 1 and again.synthesised == 1 and not again.failed
    assert not (out / "failed").exists()


def test_speaker_sets_default_is_the_fixed_table():
    from sitool.corpora.synth.corpus import _settings
    from sitool.corpora.synth.speakers import make_speakers, parse_counts, parse_range

    assert make_speakers() == SPEAKERS
    assert make_speakers(parse_counts("8,1,2,4"), parse_range("0.92,1.05", "o"),
                         parse_range("0.85,1.10", "p")) == SPEAKERS
    # the default corpus.yaml keeps exactly its old keys (byte-identical, old corpora resume)
    assert _settings(90, 1, (1.0, 3.0), list(SPEAKERS), 1) == {
        "format": 1, "num_utts": 90, "seed": 1, "seconds": [1.0, 3.0],
        "speakers": [s.id for s in SPEAKERS]}
    generated = make_speakers({"train": 8, "dev": 1, "test": 2, "babble_talkers": 4},
                              (0.95, 1.0), (0.9, 1.0))
    assert "speaker_table" in _settings(90, 1, (1.0, 3.0), generated, 1)


def test_state_step_is_a_corpus_setting(tmp_path):
    from sitool.corpora.synth.corpus import _settings

    stepped = _settings(90, 1, (1.0, 3.0), list(SPEAKERS), 2)
    assert stepped["state_step"] == 2
    with pytest.raises(SitoolError, match="state_step"):
        check_settings(stepped, _settings(90, 1, (1.0, 3.0), list(SPEAKERS), 1), tmp_path)
    with pytest.raises(SitoolError, match="at least 1"):
        make_corpus(tmp_path / "c", num_utts=2, state_step=0)


def test_every_other_state_gives_nearly_the_same_audio_and_the_same_targets(designed, tmp_path):
    # --state-step 2: synth_block gets every other tract state (5 ms apart) and interpolates;
    # the targets are measured on every state, so they do not change.
    from scipy.signal import stft

    spec = UttSpec("spk06_0000", SPEAKER["spk06"], designed_segments(), 7, state_step=2)
    report = synthesize_utterances([spec], tmp_path, nj=1)
    assert not report.failed, report.failed
    audio, _ = sf.read(tmp_path / "wav" / "spk06_0000.wav", dtype="float32")
    full_audio, full_tv, _ = designed["spk06_0000"]
    assert abs(len(audio) - len(full_audio)) < 160                      # within one 10 ms frame
    tv = np.load(tmp_path / "tv" / "spk06_0000.npy")
    n = min(len(tv), len(full_tv))
    np.testing.assert_allclose(tv[:n], full_tv[:n], atol=1e-4)
    n = min(len(audio), len(full_audio))
    logs = [np.log(np.abs(stft(a[:n], 16000, nperseg=400, noverlap=240)[2]) + 1e-5).ravel()
            for a in (audio, full_audio)]
    assert np.corrcoef(*logs)[0, 1] > 0.97
    assert not np.allclose(audio[:n], full_audio[:n], atol=1e-3)        # it did change


def test_generated_speakers_follow_counts_and_ranges():
    from sitool.corpora.synth.speakers import make_speakers, parse_counts, parse_range

    speakers = make_speakers(parse_counts("12,2,4,3"), (0.93, 1.04), (0.86, 1.08))
    assert [s.id for s in speakers] == [f"spk{i:02d}" for i in range(1, 22)]
    assert [sum(s.split == split for s in speakers) for split in
            ("train", "dev", "test", "babble_talkers")] == [12, 2, 4, 3]
    test = [s for s in speakers if s.split == "test"]
    assert sorted(s.sex for s in test) == ["f", "f", "m", "m"]
    oral = [s.oral_scale for s in speakers]
    pharynx = [s.pharynx_scale for s in speakers]
    assert 0.93 <= min(oral) < 0.95 and 1.02 < max(oral) <= 1.04
    assert 0.86 <= min(pharynx) and max(pharynx) <= 1.08
    for s in speakers:   # smaller tracts are female with higher F0
        assert (s.f0_hz > 170) == (s.sex == "f") and (s.oral_scale < 0.985) == (s.sex == "f")
    assert make_speakers(parse_counts("12,2,4,3"), (0.93, 1.04), (0.86, 1.08)) == speakers
    # a table that round-trips through speakers.tsv
    assert parse_speakers_tsv(format_speakers_tsv(speakers)) == speakers
    for bad in ("8,1,2", "8,0,2,4", "a,b,c,d"):
        with pytest.raises(SitoolError, match="speaker"):
            make_speakers(parse_counts(bad))   # "--speakers ..." or "speaker counts: ..."
    with pytest.raises(SitoolError, match="oral_scale"):
        make_speakers(None, (1.1, 0.9))
    with pytest.raises(SitoolError, match="MIN,MAX"):
        parse_range("0.9", "--oral-scale")


def test_synth_corpus_cli_with_other_speakers(tmp_path):
    from sitool.corpora.synth.speakers import make_speakers

    out = tmp_path / "corpus"
    args = ["synth-corpus", "--out", str(out), "--num-utts", "3", "--nj", "2", "--seed", "3",
            "--min-seconds", "0.4", "--max-seconds", "0.5", "--no-progress"]
    result = CliRunner().invoke(main, args + ["--speakers", "1,1,1,0", "--oral-scale",
                                              "0.95,1.0", "--pharynx-scale", "0.9,1.0"])
    assert result.exit_code == 0, result.output
    speakers = parse_speakers_tsv((out / "speakers.tsv").read_text())
    assert speakers == make_speakers({"train": 1, "dev": 1, "test": 1, "babble_talkers": 0},
                                     (0.95, 1.0), (0.9, 1.0))
    assert [s.split for s in speakers] == ["train", "dev", "test"]
    assert all(0.95 <= s.oral_scale <= 1.0 and 0.9 <= s.pharynx_scale <= 1.0 for s in speakers)
    assert sorted(p.name for p in (out / "wav").iterdir()) == [
        "spk01_0000.wav", "spk02_0000.wav", "spk03_0000.wav"]
    assert all(is_finished(out, f"spk0{i}_0000") for i in (1, 2, 3))
    # the same counts with another anatomy range make other speakers: not resumed
    again = CliRunner().invoke(main, args + ["--speakers", "1,1,1,0"])
    assert again.exit_code == 1 and "speaker_table" in again.output
