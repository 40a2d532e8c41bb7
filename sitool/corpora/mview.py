"""MVIEW-style MATLAB files: one struct array per recording, one element per channel.

Haskins' HPRC and USC-TIMIT's EMA data store each recording as a ``.mat`` file holding one
variable (named like the file) that is a struct array with at least the fields ``NAME``
(channel name, e.g. ``AUDIO``, ``UL``, ``TT``), ``SRATE`` (Hz) and ``SIGNAL`` (samples, or
``N x k`` sensor coordinates). Label fields (HPRC: ``WORDS``, ``PHONES``) are struct arrays
with a label field and ``OFFS`` = [start end] in seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sitool.datadir import PhoneSegment
from sitool.errors import SitoolError


def loadmat(path: Path) -> dict:
    """The variables of a MATLAB v5/v7 file; an unreadable file is one clear error."""
    import scipy.io
    from scipy.io.matlab import MatReadError

    try:
        return scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=True)
    except NotImplementedError:
        raise SitoolError(f"{path}: MATLAB v7.3 (HDF5) file; re-save it in MATLAB with "
                          "save(..., '-v7') so scipy can read it") from None
    except (MatReadError, ValueError, OSError, TypeError, IndexError, KeyError, EOFError) as e:
        raise SitoolError(f"{path}: unreadable .mat file ({e})") from None


def scalar(value):
    """A one-element array as its Python value; anything else unchanged."""
    array = np.asarray(value)
    return array.item() if array.size == 1 else value


def text_of(value) -> str:
    """A MATLAB char field as ``str`` ("" for an empty or non-text field)."""
    value = scalar(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value) if not isinstance(value, np.ndarray) else ""


def struct_elements(path: Path) -> dict[str, np.void]:
    """``{channel NAME: element}`` of the file's struct array (checked for NAME/SRATE/SIGNAL)."""
    contents = loadmat(path)
    variables = [k for k in contents if not k.startswith("__")]
    name = path.stem if path.stem in contents else (variables[0] if len(variables) == 1 else None)
    if name is None:
        raise SitoolError(f"{path}: no variable named {path.stem!r} (variables: "
                          f"{', '.join(variables) or 'none'})")
    array = np.atleast_1d(contents[name])
    if array.dtype.names is None or not {"NAME", "SRATE", "SIGNAL"} <= set(array.dtype.names):
        raise SitoolError(f"{path}: variable {name!r} is not a struct array with fields NAME, "
                          "SRATE, SIGNAL")
    return {text_of(element["NAME"]).strip(): element for element in array}


def label_segments(value) -> list[PhoneSegment] | None:
    """Label struct array (LABEL or NAME, OFFS = [start end] s) -> segments; None if not so."""
    array = np.atleast_1d(value) if isinstance(value, np.ndarray) else None
    if array is None or array.dtype.names is None or "OFFS" not in array.dtype.names:
        return None
    label_field = next((f for f in ("LABEL", "NAME") if f in array.dtype.names), None)
    if label_field is None:
        return None
    segments = []
    for item in array:
        offsets = np.asarray(item["OFFS"], dtype=np.float64).ravel()
        label = text_of(item[label_field]).strip().replace(" ", "_")
        if len(offsets) == 2 and label:
            segments.append(PhoneSegment(float(offsets[0]), float(offsets[1]), label))
    return sorted(segments, key=lambda s: s.start) or None


def audio_channel(path: Path, elements: dict[str, np.void],
                  name: str = "AUDIO") -> tuple[np.ndarray, int]:
    """The mono audio samples and rate of channel ``name``; missing or not mono is an error."""
    if name not in elements:
        raise SitoolError(f"{path}: no {name} element (elements: {', '.join(elements)}); "
                          "the recording has no audio")
    element = elements[name]
    audio = np.asarray(element["SIGNAL"], dtype=np.float64).squeeze()
    if audio.ndim != 1 or audio.size == 0:
        raise SitoolError(f"{path}: {name} SIGNAL has shape {audio.shape}, expected mono samples")
    return audio.astype(np.float32), int(round(float(scalar(element["SRATE"]))))


def sensor_channels(path: Path, elements: dict[str, np.void],
                    names: dict[str, tuple[str, ...]],
                    columns: tuple[int, int]) -> tuple[dict[str, np.ndarray], float, int]:
    """Midsagittal tracks ``{canonical: [N, 2]}`` (the two ``columns`` of each SIGNAL), the
    common sensor rate and frame count. ``names`` maps each canonical sensor to the channel
    names it may have in the file (the first present is used)."""
    sensors, rate, length = {}, None, None
    for canonical, candidates in names.items():
        found = next((n for n in candidates if n in elements), None)
        if found is None:
            raise SitoolError(f"{path}: no {' or '.join(candidates)} sensor element (elements: "
                              f"{', '.join(elements)})")
        element = elements[found]
        signal = np.asarray(element["SIGNAL"], dtype=np.float64)
        if signal.ndim != 2 or signal.shape[1] <= max(columns):
            raise SitoolError(f"{path}: {found} SIGNAL has shape {signal.shape}, expected N x k "
                              f"with k > {max(columns)} coordinate columns")
        element_rate = float(scalar(element["SRATE"]))
        if rate is None:
            rate, length = element_rate, len(signal)
        elif element_rate != rate or len(signal) != length:
            raise SitoolError(f"{path}: {found} has {len(signal)} samples at {element_rate:g} "
                              f"Hz, other sensors {length} at {rate:g} Hz")
        sensors[canonical] = signal[:, list(columns)]
    return sensors, rate, length
