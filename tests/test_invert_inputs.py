"""``sitool invert`` inputs: dirs and list files expand to audio paths; short files are
grouped into batches, long ones go alone."""

import numpy as np
import pytest
import soundfile as sf

from sitool.errors import SitoolError
from sitool.invert import file_batches, list_inputs


def _wav(path, seconds):
    sf.write(path, np.zeros(int(seconds * 16000), np.float32), 16000)
    return path


def test_dir_and_list_file_expand_in_order(tmp_path):
    d = tmp_path / "recs"
    d.mkdir()
    b, a = _wav(d / "b.wav", 0.5), _wav(d / "a.flac", 0.5)
    (d / "notes.md").write_text("not audio")
    single = _wav(tmp_path / "single.wav", 0.5)
    listing = tmp_path / "files.txt"
    listing.write_text("# my recordings\nsingle.wav\n\n" + str(b) + "\n")
    assert list_inputs([d]) == [a, b]
    assert list_inputs([listing, single]) == [single, b, single]


def test_bad_dir_and_list_fail_with_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SitoolError, match="empty: no audio files"):
        list_inputs([empty])
    listing = tmp_path / "files.list"
    listing.write_text("gone.wav\n")
    with pytest.raises(SitoolError, match=r"files.list:1: .*gone.wav: audio file not found"):
        list_inputs([listing])


def test_short_files_batched_long_ones_alone(tmp_path):
    paths = [_wav(tmp_path / f"{i}.wav", s) for i, s in enumerate([3, 4, 30, 2, 5, 5, 1])]
    groups = file_batches(paths, batch_seconds=10, window_seconds=20)
    assert groups == [paths[0:2], [paths[2]], paths[3:5], paths[5:7]]
    assert file_batches(paths, 100, 20, max_files=2) == [paths[0:2], [paths[2]], paths[3:5],
                                                         paths[5:7]]
    assert len(file_batches(paths, 100, 0)) == 1      # chunking off: batched by length only
