"""Corpus readers on fixtures written in each corpus' exact on-disk format."""

import importlib.util
import shutil
import struct

import numpy as np
import pytest
import soundfile as sf

from sitool.audio import write_audio
from sitool.corpora import generic, hprc, mngu0, mocha, usctimit, xrmb
from sitool.corpora.est_track import read_est_track
from sitool.corpora.labels import read_phone_labels
from sitool.errors import SitoolError
from sitool.testing import corpus_formats


# ------------------------------------------------------------------------------ EST Track

@pytest.mark.parametrize("byte_order,data_type", [("10", "binary"), ("01", "binary"),
                                                  (None, "ascii")])
def test_est_track_round_values_rates_and_byte_orders(tmp_path, byte_order, data_type):
    times = np.arange(6) / 500.0
    values = np.arange(18, dtype=np.float64).reshape(6, 3) * 1.5 - 4.0
    path = corpus_formats.write_est_track(tmp_path / "a.ema", times, ["ul_x", "ul_y", "*"], values,
                                          byte_order=byte_order or "10", data_type=data_type)
    track = read_est_track(path)
    assert track.channels == ["ul_x", "ul_y", "*"]
    np.testing.assert_allclose(track.data, values, rtol=1e-6)
    np.testing.assert_allclose(track.times, times, atol=1e-6)
    assert track.rate == pytest.approx(500.0, rel=1e-4)
    np.testing.assert_allclose(track.channel("ul_y"), values[:, 1], rtol=1e-6)
    assert track.header["EqualSpace"] == "1"


def test_est_track_big_endian_bytes_are_what_the_format_says(tmp_path):
    path = corpus_formats.write_est_track(tmp_path / "a.ema", np.array([0.0, 0.002]), ["c"],
                                          np.array([[1.0], [2.0]]), byte_order="10")
    payload = path.read_bytes().split(b"EST_Header_End\n", 1)[1]
    assert payload[:4] == struct.pack(">f", 0.0)
    assert payload[4:8] == struct.pack(">f", 1.0)       # break flag: frame present
    assert payload[8:12] == struct.pack(">f", 1.0)      # channel value
    assert len(payload) == 2 * 3 * 4


def test_est_track_truncated_data_is_a_clear_error(tmp_path):
    path = corpus_formats.write_est_track(tmp_path / "cut.ema", np.arange(10) / 500.0, ["a", "b"],
                                          np.zeros((10, 2)), num_frames=12)
    with pytest.raises(SitoolError, match=r"cut\.ema: truncated.*12 frames"):
        read_est_track(path)
    chopped = tmp_path / "chopped.ema"
    good = corpus_formats.write_est_track(tmp_path / "ok.ema", np.arange(10) / 500.0, ["a"],
                                          np.zeros((10, 1)))
    chopped.write_bytes(good.read_bytes()[:-5])
    with pytest.raises(SitoolError, match="truncated"):
        read_est_track(chopped)


def test_est_track_bad_headers(tmp_path):
    wav = tmp_path / "x.ema"
    wav.write_bytes(b"RIFF....WAVE")
    with pytest.raises(SitoolError, match="not an EST Track file"):
        read_est_track(wav)
    no_end = tmp_path / "noend.ema"
    no_end.write_text("EST_File Track\nNumFrames 2\n")
    with pytest.raises(SitoolError, match="EST_Header_End"):
        read_est_track(no_end)
    unnamed = tmp_path / "unnamed.ema"
    unnamed.write_text("EST_File Track\nDataType ascii\nNumFrames 1\nNumChannels 2\n"
                       "Channel_0 a\nEST_Header_End\n0 1 1 2\n")
    with pytest.raises(SitoolError, match="Channel_1"):
        read_est_track(unnamed)


def test_est_track_break_frames_are_missing(tmp_path):
    present = np.array([1, 0, 1])
    path = corpus_formats.write_est_track(tmp_path / "b.ema", np.arange(3) / 200.0, ["a"],
                                          np.array([[1.0], [2.0], [3.0]]), present=present)
    track = read_est_track(path)
    assert np.isnan(track.data[1, 0]) and track.data[2, 0] == 3.0
    assert track.present.tolist() == [True, False, True]


# ------------------------------------------------------------------------------ MOCHA

def test_mocha_reader_units_rate_labels(tmp_path):
    root = corpus_formats.make_mocha_corpus(tmp_path / "mocha", utts_per_speaker=2)
    refs = mocha.find(root)
    assert [r.utt for r in refs] == ["fsew0_001", "fsew0_002", "msak0_001", "msak0_002"]
    assert {r.speaker for r in refs} == {"fsew0", "msak0"}
    rec = mocha.load(refs[0])
    assert rec.rate == pytest.approx(500.0, rel=1e-4)
    truth = corpus_formats.fake_articulation(rec.times, seed=0 + 1)
    # files hold 1/100 mm with x mirrored; the reader gives mm in the file's own axes
    np.testing.assert_allclose(rec.sensors["UL"][:, 0], -truth["UL"][:, 0], atol=1e-3)
    np.testing.assert_allclose(rec.sensors["TD"][:, 1], truth["TD"][:, 1], atol=1e-3)
    np.testing.assert_allclose(rec.reference["UI"], 0.0)
    assert [s.phone for s in rec.phones] == ["sil", "dh", "ax", "breath"]
    assert rec.phones[1].start == pytest.approx(0.2) and rec.phones[1].end == pytest.approx(0.5)
    assert rec.text == "dh ax"


def test_mocha_headerless_ascii_ema_variant_is_read_and_named(tmp_path, caplog):
    # issue 13 item 13: .ema files circulating without the EST header, as an ASCII body
    est = mocha.load(mocha.find(corpus_formats.make_mocha_corpus(tmp_path / "est",
                                                                 speakers=("fsew0",),
                                                                 utts_per_speaker=1))[0])
    root = corpus_formats.make_mocha_corpus(tmp_path / "ascii", speakers=("fsew0",),
                                            utts_per_speaker=2, ema_format="ascii")
    caplog.set_level("INFO")
    refs = mocha.find(root)
    assert "2 headerless ASCII" in caplog.text
    rec = mocha.load(refs[0])
    assert rec.rate == pytest.approx(500.0, rel=1e-4)
    for name in ("UL", "LL", "JAW", "TT", "TM", "TD"):          # same values as the EST file
        np.testing.assert_allclose(rec.sensors[name], est.sensors[name], atol=1e-4)
    np.testing.assert_allclose(rec.reference["UI"], 0.0)
    assert [s.phone for s in rec.phones] == ["sil", "dh", "ax", "breath"]
    bad = refs[1].paths["ema"]
    bad.write_text(bad.read_text() + "0.5 1 2 3\n")
    with pytest.raises(SitoolError, match=r"fsew0_002\.ema:\d+: 4 values; a headerless ASCII "
                                          r"track needs 22"):
        mocha.load(refs[1])


def test_mocha_unknown_channel_name_is_an_error_naming_it(tmp_path):
    times = np.arange(50) / 500.0
    channels = [c.replace("tt_x", "tip_x") for c in corpus_formats.MOCHA_CHANNELS]
    values = corpus_formats.mocha_frame(corpus_formats.fake_articulation(times))
    folder = tmp_path / "fsew0_v1.1"
    corpus_formats.write_est_track(folder / "fsew0_001.ema", times, channels, values)
    corpus_formats.write_audio(folder / "fsew0_001.wav", corpus_formats.fake_audio(0.1))
    ref = mocha.find(tmp_path)[0]
    with pytest.raises(SitoolError, match=r"fsew0_001\.ema: no channel 'tt_x'.*tip_x"):
        mocha.load(ref)


def test_corpus_root_without_the_corpus_files(tmp_path):
    with pytest.raises(SitoolError, match="no .ema files found"):
        mocha.find(tmp_path)
    with pytest.raises(SitoolError, match="corpus root not found"):
        xrmb.find(tmp_path / "missing")


# ------------------------------------------------------------------------------ mngu0

def test_mngu0_reader_midsagittal_channels_and_xwaves_labels(tmp_path):
    root = corpus_formats.make_mngu0_corpus(tmp_path / "mngu0", utts=2, byte_order="01")
    refs = mngu0.find(root)
    assert [r.utt for r in refs] == ["mngu0_s1_0001", "mngu0_s1_0002"]
    rec = mngu0.load(refs[1])
    assert rec.speaker == "mngu0" and rec.rate == pytest.approx(200.0, rel=1e-4)
    truth = corpus_formats.fake_articulation(rec.times, seed=2)
    for name in ("UL", "LL", "TT", "TD", "JAW"):
        np.testing.assert_allclose(rec.sensors[name], truth[name], atol=1e-4)
    starts = [round(s.start, 2) for s in rec.phones]
    assert [s.phone for s in rec.phones] == ["#", "s", "i", "#"] and starts == [0, 0.25, 0.55, 0.9]
    assert rec.text == "s i"


def test_label_files_with_bad_times(tmp_path):
    lab = tmp_path / "x.lab"
    lab.write_text("0.0 0.3 sil\n0.3 abc dh\n")
    with pytest.raises(SitoolError, match=r"x\.lab:2: 'abc' is not a time"):
        read_phone_labels(lab)


# ------------------------------------------------------------------------------ HPRC

def test_hprc_reader_struct_array_audio_sensors_labels(tmp_path):
    root = corpus_formats.make_hprc_corpus(tmp_path / "hprc", speakers=("F01", "M01"),
                                           utts_per_speaker=1)
    refs = hprc.find(root)                      # the palate file is not an utterance
    assert [r.utt for r in refs] == ["F01_B01_S01_R01_N", "M01_B01_S01_R01_N"]
    rec = hprc.load(refs[0])
    assert rec.rate == pytest.approx(100.0)
    signal, rate = rec.audio
    assert rate == 44100 and signal.shape == (44100,)
    truth = corpus_formats.fake_articulation(rec.times, seed=0 + 1)
    np.testing.assert_allclose(rec.sensors["TD"], truth["TD"], atol=1e-9)   # TR = dorsum
    np.testing.assert_allclose(rec.sensors["TM"], truth["TM"], atol=1e-9)   # TB = blade
    assert rec.text == "the birch canoe slid"
    assert [(p.phone, p.start, p.end) for p in rec.phones] == [
        ("sil", 0.0, 0.2), ("DH", 0.2, 0.45), ("AH0", 0.45, 0.8)]
    palates = hprc.palates(root, ["F01", "M01"])
    assert set(palates) == {"F01"}
    np.testing.assert_allclose(palates["F01"], corpus_formats.PALATE)


def test_hprc_without_audio_element_is_a_clear_error(tmp_path):
    from scipy.io import savemat

    times = np.arange(50) / 100.0
    struct = corpus_formats.hprc_struct(corpus_formats.fake_articulation(times), np.zeros(100),
                                        44100, "x",
                                        elements=[e for e in corpus_formats.HPRC_ELEMENTS
                                                  if e != "AUDIO"])
    folder = tmp_path / "F01" / "data"
    folder.mkdir(parents=True)
    savemat(folder / "F01_B01_S01_R01_N.mat", {"F01_B01_S01_R01_N": struct})
    (folder / "F01_B01_S02_R01_N.mat").write_bytes(b"not a mat file at all")
    good, broken = hprc.find(tmp_path)
    with pytest.raises(SitoolError, match=r"F01_B01_S01_R01_N\.mat: no AUDIO element"):
        hprc.load(good)
    with pytest.raises(SitoolError, match="unreadable .mat"):
        hprc.load(broken)


# ------------------------------------------------------------------------------ USC-TIMIT

@pytest.mark.parametrize("jaw_name", ["JW", "JAW"])
def test_usctimit_reader_sensors_by_name_audio_and_trans(tmp_path, jaw_name):
    root = corpus_formats.make_usctimit_corpus(tmp_path / "usc", speakers=("F1", "M3"),
                                               utts_per_speaker=1, jaw_name=jaw_name)
    refs = usctimit.find(root)
    assert [(r.utt, r.speaker) for r in refs] == [("usctimit_ema_f1_001_005", "F1"),
                                                  ("usctimit_ema_m3_001_005", "M3")]
    assert set(refs[0].paths) == {"mat", "wav", "trans"}
    rec = usctimit.load(refs[0])
    assert rec.rate == pytest.approx(100.0)
    signal, rate = rec.audio                    # the .mat's own AUDIO element, 20 kHz
    assert rate == 20000 and signal.shape == (20000,)
    truth = corpus_formats.fake_articulation(rec.times, seed=0 + 1)
    # columns 0 (front-back, pointing backwards in the file) and 1 (up); corpus axes kept
    np.testing.assert_allclose(rec.sensors["TD"][:, 0], -truth["TD"][:, 0], atol=1e-9)
    np.testing.assert_allclose(rec.sensors["TD"][:, 1], truth["TD"][:, 1], atol=1e-9)
    np.testing.assert_allclose(rec.sensors["JAW"][:, 1], truth["JAW"][:, 1], atol=1e-9)
    np.testing.assert_allclose(rec.sensors["TM"][:, 1], truth["TM"][:, 1], atol=1e-9)  # TB
    assert np.isnan(rec.sensors["TT"][40:43]).all() and not np.isnan(rec.sensors["TT"][:40]).any()
    assert [(p.phone, p.start, p.end) for p in rec.phones] == [
        ("sil", 0.0, 0.2), ("dh", 0.2, 0.45), ("ah", 0.45, 0.8)]


def test_usctimit_audio_from_wav_and_bad_files(tmp_path, caplog):
    from scipy.io import savemat

    times = np.arange(60) / 100.0
    sensors = corpus_formats.fake_articulation(times)
    for sub in ("mat", "wav", "trans"):
        (tmp_path / "F5" / sub).mkdir(parents=True)
    no_audio = "usctimit_ema_f5_001_005"       # no AUDIO element: the wav/ file is used
    savemat(tmp_path / "F5/mat" / f"{no_audio}.mat",
            {no_audio: corpus_formats.usctimit_struct(sensors, None, 20000)})
    write_audio(tmp_path / "F5/wav" / f"{no_audio}.wav", corpus_formats.fake_audio(0.6))
    (tmp_path / "F5/trans" / f"{no_audio}.trans").write_text(
        "0.0,0.3,sil,,x,1\nnot a label line\n0.3,0.6,t,,x,1\n")
    orphan = "usctimit_ema_f5_006_010"          # neither AUDIO nor a wav
    savemat(tmp_path / "F5/mat" / f"{orphan}.mat",
            {orphan: corpus_formats.usctimit_struct(sensors, None, 20000)})
    no_tongue = "usctimit_ema_f5_011_015"       # a sensor is missing
    savemat(tmp_path / "F5/mat" / f"{no_tongue}.mat", {no_tongue: corpus_formats.usctimit_struct(
        sensors, np.zeros(100), 20000, elements=("AUDIO", "UL", "LL", "JW", "TB", "TT"))})
    ok, orphan_ref, no_tongue_ref = usctimit.find(tmp_path)
    rec = usctimit.load(ok)
    assert rec.audio is None and rec.audio_path.name == f"{no_audio}.wav"
    assert [p.phone for p in rec.phones] == ["sil", "t"]
    assert "1 line(s) are not 'start,end,phone,...'" in caplog.text
    with pytest.raises(SitoolError, match=r"006_010\.mat: no AUDIO element and no .*\.wav"):
        usctimit.load(orphan_ref)
    with pytest.raises(SitoolError, match=r"015\.mat: no TD sensor element \(elements: AUDIO, UL"):
        usctimit.load(no_tongue_ref)


# ------------------------------------------------------------------------------ XRMB

def test_xrmb_reader_units_sentinel_and_palate(tmp_path):
    root = corpus_formats.make_xrmb_corpus(tmp_path / "xrmb", speakers=("jw11",),
                                           utts_per_speaker=1, missing={"T1": slice(5, 8)})
    (ref,) = xrmb.find(root)
    assert (ref.utt, ref.speaker) == ("jw11_tp001", "jw11")
    rec = xrmb.load(ref)
    assert rec.rate == pytest.approx(145.6, rel=1e-3)
    truth = corpus_formats.fake_articulation(np.arange(145) / 145.6, seed=1)
    np.testing.assert_allclose(rec.sensors["UL"], truth["UL"], atol=6e-4)     # um -> mm
    assert np.isnan(rec.sensors["TT"][5:8]).all() and np.isfinite(rec.sensors["TT"][8:]).all()
    np.testing.assert_allclose(rec.times[:2], [0.0, round(1e6 / 145.6) * 1e-6])
    palates = xrmb.palates(root, ["jw11"])
    np.testing.assert_allclose(palates["jw11"], corpus_formats.PALATE, atol=6e-4)


@pytest.mark.parametrize("palate_name", ["PAL.DAT", "{spk}_pal.dat", "{spk}_PAL.DAT"])
def test_xrmb_palate_file_names_and_a_warning_when_none(tmp_path, caplog, palate_name):
    # issue 13 item 14: public copies name the traces <spk>_pal.dat / <spk>_pha.dat
    root = corpus_formats.make_xrmb_corpus(tmp_path / "xrmb", speakers=("jw11", "jw12"),
                                           utts_per_speaker=1, palate_name=palate_name)
    palates = xrmb.palates(root, ["jw11", "jw12"])
    assert set(palates) == {"jw11"}                        # the pharynx trace is not taken
    np.testing.assert_allclose(palates["jw11"], corpus_formats.PALATE, atol=6e-4)
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "no palate trace for speaker jw12" in warning.getMessage()
    assert "TTCD and TBCD by tens of mm" in warning.getMessage()


def test_xrmb_malformed_row(tmp_path):
    (tmp_path / "jw11_tp001.txy").write_text("0 1 2\n")
    corpus_formats.write_audio(tmp_path / "jw11_tp001.wav", corpus_formats.fake_audio(0.1))
    with pytest.raises(SitoolError, match=r"jw11_tp001\.txy:1: expected 17 numbers"):
        xrmb.load(xrmb.find(tmp_path)[0])


# ------------------------------------------------------------------------------ generic

def test_generic_reader_columns_rate_speakers_text(tmp_path):
    root = corpus_formats.make_generic_corpus(tmp_path / "g", speakers=("s1", "s2"),
                                              utts_per_speaker=1)
    reader = generic.make_reader(root)
    refs = reader.find(root)
    assert [(r.utt, r.speaker) for r in refs] == [("s1_u01", "s1"), ("s2_u01", "s2")]
    rec = reader.load(refs[0])
    assert rec.column_names == ["jaw_open", "lip_gap", "tip_height", "dorsum_height"]
    assert rec.column_units == ["mm"] * 4 and rec.rate == pytest.approx(200.0)
    truth = corpus_formats.fake_articulation(rec.times, seed=1)
    np.testing.assert_allclose(rec.columns[:, 1], truth["UL"][:, 1] - truth["LL"][:, 1],
                               atol=1e-4)
    assert rec.text.startswith("the birch canoe")


def test_generic_config_typo_and_unknown_sensor_column(tmp_path):
    root = corpus_formats.make_generic_corpus(tmp_path / "g", speakers=("s1",), utts_per_speaker=1)
    (root / "generic.yaml").write_text("frame_rate: 200\nunits: mm\nspeaker_patern: x\n")
    with pytest.raises(SitoolError, match="did you mean 'speaker_pattern'"):
        generic.make_reader(root)
    (root / "generic.yaml").write_text("frame_rate: 200\nunits: mm\n"
                                       "sensors: {UL: [ul_x, ul_y]}\n")
    reader = generic.make_reader(root)
    with pytest.raises(SitoolError, match=r"s1_u01\.csv: sensors\.UL: no column 'ul_x'; "
                                          "columns: jaw_open"):
        reader.load(reader.find(root)[0])
    (root / "generic.yaml").write_text("frame_rate: 200\nunits: mm\nsensors: {XX: [a, b]}\n")
    with pytest.raises(SitoolError, match="unknown sensor name"):
        generic.make_reader(root)
    shutil.rmtree(root / "wav")
    (root / "generic.yaml").write_text("frame_rate: 200\nunits: mm\n")
    with pytest.raises(SitoolError, match="wav: directory not found"):
        generic.make_reader(root).find(root)


# ------------------------------------------------------------------ generic: exports (.mat ...)

AG501_TARGETS = ["UL_x", "UL_z", "LL_x", "LL_z", "JAW_x", "JAW_z",
                 "TT_x", "TT_z", "TM_x", "TM_z", "TD_x", "TD_z"]
# Their columns in the (T, 42) export: sensors REF TT TM TD UL LL JAW x 6 values.
AG501_INDICES = [24, 26, 30, 32, 36, 38, 6, 8, 12, 14, 18, 20]


def _ag501(tmp_path, speakers=("s1",), write_config=True):
    return corpus_formats.make_ag501_mat_corpus(tmp_path / "ag", speakers=speakers,
                                                utts_per_speaker=1, seconds=0.5,
                                                write_config=write_config)


def _mat(path):
    from scipy.io import loadmat

    return loadmat(str(path))["data"]


def test_ag501_fixture_is_a_t_by_42_export_with_per_speaker_origins(tmp_path):
    root = _ag501(tmp_path, speakers=("s1", "s2", "s3"))
    assert sorted(p.name for p in (root / "mat").iterdir()) == [
        "s1_001.mat", "s2_001.mat", "s3_001.mat"]
    assert (root / "generic.yaml").read_text() == corpus_formats.AG501_GENERIC_YAML
    assert not (root / "text").exists() and not list(root.rglob("*palate*"))
    info = sf.info(str(root / "wav" / "s1_001.wav"))
    assert (info.samplerate, info.channels, info.duration) == (48000, 1, 0.5)
    means = []
    for spk in ("s1", "s2", "s3"):
        data = _mat(root / "mat" / f"{spk}_001.mat")
        assert data.shape == (125, 42) and data.dtype == np.float64
        means.append(data[:, 24].mean())                            # UL_x
        assert 1.0 < data[:, 32].std() < 6.0                        # LL_z moves 1-6 mm
    np.testing.assert_allclose(means, [132, 64, 34], atol=3)
    assert not (_ag501(tmp_path / "b", write_config=False) / "generic.yaml").exists()


def test_generic_mat_layout_picks_columns_and_midsagittal_sensors(tmp_path):
    root = _ag501(tmp_path, speakers=("s1", "s2"))
    reader = generic.make_reader(root)
    refs = reader.find(root)
    assert [(r.utt, r.speaker) for r in refs] == [("s1_001", "s1"), ("s2_001", "s2")]
    rec = reader.load(refs[1])
    data = _mat(root / "mat" / "s2_001.mat")
    assert rec.column_names == AG501_TARGETS and rec.column_units == ["mm"] * 12
    np.testing.assert_array_equal(rec.columns, data[:, AG501_INDICES])
    assert rec.rate == pytest.approx(250.0) and len(rec.times) == 125
    np.testing.assert_array_equal(rec.sensors["UL"], data[:, [24, 26]])    # (x, z)
    np.testing.assert_array_equal(rec.sensors["TD"], data[:, [18, 20]])
    # against the fixture's truth: x = origin_x + front-back, z = origin_z + height
    truth = corpus_formats.fake_articulation(rec.times, seed=11)
    origin = corpus_formats.ag501_origin(1)
    np.testing.assert_allclose(rec.sensors["LL"], truth["LL"] + origin[[0, 2]], atol=1e-9)


def test_generic_column_map_by_index_or_name_and_out_of_range(tmp_path):
    root = _ag501(tmp_path)
    data = _mat(root / "mat" / "s1_001.mat")
    base = "frame_rate: 250\nunits: mm\ntargets_dir: mat\n"
    (root / "generic.yaml").write_text(base + "columns: {lip_x: 24, lip_z: 26, td: 20}\n"
                                       "sensors: {UL: [lip_x, 26], TT: [6, 8]}\n")
    reader = generic.make_reader(root)
    rec = reader.load(reader.find(root)[0])
    assert rec.column_names == ["lip_x", "lip_z", "td"]
    np.testing.assert_array_equal(rec.columns, data[:, [24, 26, 20]])
    np.testing.assert_array_equal(rec.sensors["UL"], data[:, [24, 26]])
    np.testing.assert_array_equal(rec.sensors["TT"], data[:, [6, 8]])
    (root / "generic.yaml").write_text(base + "layout: {sensors: [REF, TT, TM, TD, UL, LL, JAW],"
                                       " axes: [x, y, z, phi, theta, rms]}\n"
                                       "columns: {lips: UL_z, jaw: 38}\n")
    reader = generic.make_reader(root)
    np.testing.assert_array_equal(reader.load(reader.find(root)[0]).columns, data[:, [26, 38]])
    (root / "generic.yaml").write_text(base + "columns: {UL_x: 45}\n")
    reader = generic.make_reader(root)
    with pytest.raises(SitoolError, match=r"s1_001\.mat: columns\.UL_x: column 45 is out of "
                                          r"range, the array has shape \(125, 42\) "
                                          r"\(columns 0-41\)"):
        reader.load(reader.find(root)[0])
    (root / "generic.yaml").write_text(base + "columns: {UL_x: 24}\nsensors: {UL: [24, 99]}\n")
    reader = generic.make_reader(root)
    with pytest.raises(SitoolError, match=r"s1_001\.mat: sensors\.UL: column 99 is out of range"):
        reader.load(reader.find(root)[0])
    (root / "generic.yaml").write_text(base + "layout: {sensors: [A, B], axes: [x, y, z]}\n")
    reader = generic.make_reader(root)
    with pytest.raises(SitoolError, match=r"s1_001\.mat: shape \(125, 42\), but generic\.yaml "
                                          r"layout names 6 columns \(2 sensors x 3 axes\)"):
        reader.load(reader.find(root)[0])
    (root / "generic.yaml").write_text(base)
    reader = generic.make_reader(root)
    with pytest.raises(SitoolError, match=r"\.mat targets have no column names; give 'columns'"):
        reader.load(reader.find(root)[0])
    (root / "generic.yaml").write_text(base + "columns: {UL_x: -1}\n")
    with pytest.raises(SitoolError, match=r"columns\.UL_x: -1 must be a column index"):
        generic.make_reader(root)


def test_generic_mat_variables_found_named_missing_or_several(tmp_path):
    from scipy.io import savemat

    root = _ag501(tmp_path, write_config=False)
    path = root / "mat" / "s1_001.mat"
    data = _mat(path)
    config = "frame_rate: 250\nunits: mm\ntargets_dir: mat\ncolumns: {UL_z: 26}\n"
    (root / "generic.yaml").write_text(config)
    savemat(path, {"data": data, "info": np.ones((1, 3))})
    reader = generic.make_reader(root)
    ref = reader.find(root)[0]
    with pytest.raises(SitoolError, match=r"s1_001\.mat: holds variables data, info; name the "
                                          "one to read with mat_variable"):
        reader.load(ref)
    (root / "generic.yaml").write_text(config + "mat_variable: data\n")
    np.testing.assert_array_equal(generic.make_reader(root).load(ref).columns[:, 0], data[:, 26])
    (root / "generic.yaml").write_text(config + "mat_variable: pos\n")
    with pytest.raises(SitoolError, match=r"s1_001\.mat: no variable 'pos' \(generic\.yaml "
                                          r"mat_variable\); variables in the file: data, info"):
        generic.make_reader(root).load(ref)
    (root / "generic.yaml").write_text(config + "mat_variable: info\n")
    with pytest.raises(SitoolError, match=r"columns\.UL_z: column 26 is out of range, the array "
                                          r"has shape \(1, 3\)"):
        generic.make_reader(root).load(ref)
    savemat(path, {"data": {"x": data}})                      # a struct, not a matrix
    (root / "generic.yaml").write_text(config)
    with pytest.raises(SitoolError, match=r"s1_001\.mat: variable 'data' is a .* array of shape "
                                          r"\(1, 1\); expected a numeric \[frames, columns\]"):
        generic.make_reader(root).load(ref)
    path.write_bytes(b"not a mat file" * 20)
    with pytest.raises(SitoolError, match=r"s1_001\.mat: unreadable \.mat file"):
        generic.make_reader(root).load(ref)


MAT73_HEADER = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 "
                b"HDF5 schema 1.00 .").ljust(116) + bytes(8) + b"\x00\x02IM"


@pytest.mark.skipif(importlib.util.find_spec("h5py") is not None, reason="h5py is installed")
def test_generic_mat_v73_without_h5py_says_what_to_do(tmp_path):
    root = _ag501(tmp_path)
    path = root / "mat" / "s1_001.mat"
    path.write_bytes(MAT73_HEADER.ljust(512, b"\x00") + b"\x89HDF\r\n\x1a\n" + bytes(100))
    reader = generic.make_reader(root)
    with pytest.raises(SitoolError, match=r"s1_001\.mat: MATLAB v7\.3 \(HDF5\) file, which sitool "
                                          r"reads only with h5py installed; re-save it as v7 .*"
                                          "pip install h5py"):
        reader.load(reader.find(root)[0])


def test_generic_mat_v73_read_with_h5py(tmp_path):
    h5py = pytest.importorskip("h5py")
    root = _ag501(tmp_path)
    path = root / "mat" / "s1_001.mat"
    data = _mat(path)
    with h5py.File(path, "w", userblock_size=512) as f:       # MATLAB stores columns first
        f.create_dataset("data", data=data.T).attrs["MATLAB_class"] = np.bytes_("double")
    with open(path, "r+b") as f:
        f.write(MAT73_HEADER)
    reader = generic.make_reader(root)
    np.testing.assert_array_equal(reader.load(reader.find(root)[0]).columns,
                                  data[:, AG501_INDICES])


def test_generic_csv_without_header_npy_with_layout_and_targets_ext(tmp_path):
    root = _ag501(tmp_path)
    data = _mat(root / "mat" / "s1_001.mat")
    (root / "csv").mkdir()
    (root / "csv" / "s1_001.csv").write_text(
        "".join(",".join(f"{v:.6f}" for v in row) + "\n" for row in data))
    (root / "generic.yaml").write_text("frame_rate: 250\nunits: mm\ntargets_dir: csv\n"
                                       "header: false\ncolumns: {UL_x: 24, UL_z: 26}\n"
                                       "sensors: {LL: [30, 32]}\n")
    reader = generic.make_reader(root)
    rec = reader.load(reader.find(root)[0])
    assert rec.column_names == ["UL_x", "UL_z"] and rec.columns.shape == (125, 2)
    np.testing.assert_allclose(rec.columns, data[:, [24, 26]], atol=1e-6)
    np.testing.assert_allclose(rec.sensors["LL"], data[:, [30, 32]], atol=1e-6)
    (root / "generic.yaml").write_text("frame_rate: 250\nunits: mm\ntargets_dir: csv\n"
                                       "columns: {UL_x: 24}\n")
    with pytest.raises(SitoolError, match=r"s1_001\.csv: header row must name every column once.*"
                                          "header: false"):
        generic.make_reader(root).load(reader.find(root)[0])
    (root / "generic.yaml").write_text("frame_rate: 250\nunits: mm\nheader: false\n"
                                       "columns: {UL_x: UL_x}\n")
    with pytest.raises(SitoolError, match=r"columns\.UL_x: 'UL_x' names a column, but with "
                                          "header: false and no layout"):
        generic.make_reader(root)
    # .npy with the sensors x axes layout; and a targets/ dir holding two kinds of files
    np.save(root / "mat" / "s1_001.npy", data)
    (root / "generic.yaml").write_text(corpus_formats.AG501_GENERIC_YAML)
    with pytest.raises(SitoolError, match=r"mat: holds 1 \.mat, 1 \.npy target files; say which "
                                          "to read with targets_ext"):
        generic.make_reader(root).find(root)
    (root / "generic.yaml").write_text(corpus_formats.AG501_GENERIC_YAML + "targets_ext: npy\n")
    reader = generic.make_reader(root)
    (ref,) = reader.find(root)
    assert ref.paths["targets"].suffix == ".npy"
    rec = reader.load(ref)
    assert rec.column_names == AG501_TARGETS
    np.testing.assert_array_equal(rec.columns, data[:, AG501_INDICES])
    (root / "generic.yaml").write_text(corpus_formats.AG501_GENERIC_YAML + "targets_ext: .txt\n")
    with pytest.raises(SitoolError, match=r"targets_ext '\.txt' is not one of \.csv, \.npy, \.mat"):
        generic.make_reader(root)
    (root / "generic.yaml").write_text("frame_rate: 250\nunits: mm\nlayot: {}\n")
    with pytest.raises(SitoolError, match="did you mean 'layout'"):
        generic.make_reader(root)


def test_noise_collection_rates_kinds_and_speech_data_dir(tmp_path):
    from sitool.datadir import DataDir
    from sitool.noise.readers import read_audio_dir, read_noisex

    dirs = corpus_formats.make_noise_collection(tmp_path / "noise", seed=3, seconds=2.0,
                                                num_talkers=4, utts_per_talker=2)
    noisex = {p.name: sf.info(str(p)) for p in dirs["noisex"].iterdir()}
    assert sorted(noisex) == sorted([f"{t}.wav" for t in corpus_formats.NOISEX_TYPES]
                                    + [corpus_formats.ISTS_NAME])
    for name, info in noisex.items():
        rate = 44100 if name.startswith("ISTS") else 22050
        assert (info.samplerate, info.duration) == (rate, 2.0), name
    assert noisex[corpus_formats.ISTS_NAME].subtype == "PCM_24"
    files = read_noisex(dirs["noisex"])
    assert {f.category for f in files if f.noise_type == "babble"} == {"babble"}
    assert len(files) == 7
    sounds = read_audio_dir(dirs["sounds"], "sounds", "non-babble")
    assert len(sounds) == 6 and {sf.info(str(f.path)).samplerate for f in sounds} == {20000}
    spectra = {}
    for t in ("white", "volvo"):
        x, rate = sf.read(str(dirs["noisex"] / f"{t}.wav"))
        power = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / rate)
        spectra[t] = power[f < 500].sum() / power.sum()
    assert spectra["volvo"] > 0.9 and spectra["white"] < 0.1     # car rumble vs flat
    data = DataDir(corpus_formats.make_speech_data_dir(dirs["speech"], tmp_path / "talkers"))
    assert data.utts == [f"t{k:02d}_{i}" for k in range(1, 5) for i in (1, 2)]
    assert sorted(data.spk2utt) == ["t01", "t02", "t03", "t04"]
    assert sf.info(str(dirs["speech"] / "t01_1.wav")).samplerate == 16000
    assert np.max(np.abs(data.audio("t02_1"))) > 0.1


# ------------------------------------------------------------------------------ Carstens

@pytest.mark.parametrize("layout,rate", [("ag501", 250.0), ("ag500", 200.0)])
def test_carstens_pos_layouts_channels_and_axes(tmp_path, caplog, layout, rate):
    from sitool.corpora import carstens

    root = corpus_formats.make_carstens_corpus(tmp_path / "c", layout=layout,
                                               speakers=("S01", "S02"), utts_per_speaker=1)
    caplog.set_level("INFO")
    reader = carstens.make_reader(root)
    refs = reader.find(root)
    assert [(r.utt, r.speaker) for r in refs] == [("S01_0001", "S01"), ("S02_0001", "S02")]
    assert f"2 {layout.upper()}" in caplog.text                  # which layout was found
    pos = carstens.read_pos(refs[0].paths["pos"])
    assert pos.data.shape[1:] == ({"ag501": 16, "ag500": 12}[layout], 7)
    rec = reader.load(refs[0])
    assert rec.rate == pytest.approx(rate)
    truth = corpus_formats.fake_articulation(rec.times, seed=1)
    for name in ("UL", "LL", "JAW", "TT", "TM", "TD"):           # (x, z); x points backwards
        np.testing.assert_allclose(rec.sensors[name][:, 0], -truth[name][:, 0], atol=1e-4)
        np.testing.assert_allclose(rec.sensors[name][:, 1], truth[name][:, 1], atol=1e-4)
    np.testing.assert_allclose(rec.reference["UI"], 0.0)
    assert reader.lp_reference == "UI"


def test_carstens_ag501_bytes_are_what_the_format_says(tmp_path):
    samples = np.arange(2 * 16 * 7, dtype=np.float32).reshape(2, 16, 7)
    path = corpus_formats.write_pos(tmp_path / "a.pos", samples, "ag501", 250.0)
    blob = path.read_bytes()
    assert blob.startswith(b"AG50xDATA_V003\n00004096\nNumberOfChannels=16\n")
    assert len(blob) == 4096 + 2 * 16 * 7 * 4
    assert blob[4096:4100] == struct.pack("<f", 0.0) and blob[4100:4104] == struct.pack("<f", 1.0)


def test_carstens_bad_files_and_config(tmp_path):
    from sitool.corpora import carstens

    root = corpus_formats.make_carstens_corpus(tmp_path / "c", speakers=("S01",),
                                               utts_per_speaker=2)
    reader = carstens.make_reader(root)
    first, second = reader.find(root)
    pos = first.paths["pos"]
    pos.write_bytes(pos.read_bytes()[:-10])
    with pytest.raises(SitoolError, match=r"0001\.pos: truncated or corrupt AG501"):
        reader.load(first)
    second.paths["pos"].write_bytes(b"AG50xDATA_V002\n00004096\n" + b" " * 4072)
    with pytest.raises(SitoolError, match=r"0002\.pos: Carstens header version 'AG50xDATA_V002'"):
        reader.load(second)
    second.paths["pos"].write_bytes(b"RIFF" + bytes(99))
    with pytest.raises(SitoolError, match="not an AG501 file either"):
        reader.load(second)
    (root / "carstens.yaml").write_text("sensors: {UL: 20, LL: 6, TT: 1, TD: 3}\n")
    corpus_formats.write_pos(pos, corpus_formats.carstens_samples(
        corpus_formats.fake_articulation(np.arange(50) / 250.0), 16))
    with pytest.raises(SitoolError, match=r"carstens\.yaml: sensors\.UL is channel 20 but .* "
                                          "has 16 channels"):
        carstens.make_reader(root).load(first)
    (root / "carstens.yaml").write_text("sensors: {UL: 5}\nfront_bak: x\n")
    with pytest.raises(SitoolError, match="did you mean 'front_back'"):
        carstens.make_reader(root)
    (root / "carstens.yaml").write_text("sensors: {UL: 0}\n")
    with pytest.raises(SitoolError, match="channel 0 must be a channel number >= 1"):
        carstens.make_reader(root)
    (root / "carstens.yaml").unlink()
    with pytest.raises(SitoolError, match="carstens.yaml: Carstens corpus description not found"):
        carstens.make_reader(root)
