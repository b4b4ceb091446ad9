"""Errors from layer calls, model construction and fit/evaluate/predict show the user's line and
the message, with graphkit's internal frames dropped unless ``gk.config`` turns filtering off."""
from __future__ import annotations

import os
import traceback

import numpy as np
import pytest

import graphkit as gk

PACKAGE_DIR = os.path.dirname(os.path.abspath(gk.__file__)) + os.sep


@pytest.fixture(autouse=True)
def _filtering_restored():
    yield
    gk.config.enable_traceback_filtering()


def _frames(excinfo) -> list[traceback.FrameSummary]:
    return traceback.extract_tb(excinfo.value.__traceback__)


def _graphkit_frames(excinfo) -> list[traceback.FrameSummary]:
    return [f for f in _frames(excinfo) if os.path.abspath(f.filename).startswith(PACKAGE_DIR)]


def _shows_line(excinfo, text: str) -> bool:
    return any(f.filename == __file__ and text in (f.line or "") for f in _frames(excinfo))


def _small_model() -> gk.Model:
    inputs = gk.Input((4,))
    model = gk.Model(inputs, gk.layers.Dense(1)(gk.layers.Dense(3)(inputs)))
    model.compile("sgd", "mse")
    return model


def test_a_shape_mismatch_in_a_layer_call_shows_the_users_line_and_one_graphkit_frame():
    dense = gk.layers.Dense(2)
    dense(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError, match="expected last dim 3, got 5") as excinfo:
        dense(np.zeros((1, 5), "float32"))  # the user's line
    assert _shows_line(excinfo, "# the user's line")
    assert len(_graphkit_frames(excinfo)) == 1  # the entry point that re-raised it
    inputs = gk.Input((4,))
    with pytest.raises(ValueError, match="cannot merge inputs of shapes") as excinfo:
        gk.layers.Add()([gk.layers.Dense(3)(inputs), inputs])  # a symbolic call
    assert _shows_line(excinfo, "gk.layers.Add()") and len(_graphkit_frames(excinfo)) == 1


def test_nested_calls_are_filtered_once_and_user_code_inside_stays():
    class Broken(gk.layers.Layer):
        def call(self, x):
            try:
                {}["missing"]
            except KeyError as missing:
                raise ValueError("broken layer") from missing  # inside user code

    class Outer(gk.Model):
        def __init__(self):
            super().__init__()
            inputs = gk.Input((2,))
            self.inner = gk.Model(inputs, gk.layers.Dense(2)(inputs))
            self.broken = Broken()

        def call(self, x):
            return self.broken(self.inner(x))

    outer = Outer()
    with pytest.raises(ValueError, match="broken layer") as excinfo:
        outer(np.zeros((1, 2), "float32"))
    assert _shows_line(excinfo, "outer(np.zeros")
    assert _shows_line(excinfo, "# inside user code")  # the user's call() is not graphkit's
    assert len(_graphkit_frames(excinfo)) == 1
    assert isinstance(excinfo.value.__cause__, KeyError)  # the chain is kept


def test_model_construction_and_fit_evaluate_predict_errors_are_filtered():
    inputs = gk.Input((4,))
    with pytest.raises(TypeError, match="Model outputs must be symbolic tensors") as excinfo:
        gk.Model(inputs, "not a tensor")
    assert _shows_line(excinfo, "gk.Model(inputs") and len(_graphkit_frames(excinfo)) == 1
    model = _small_model()
    wrong = np.zeros((8, 5), "float32")
    calls = {"fit": lambda: model.fit(wrong, np.zeros((8, 1)), verbose=0),
             "evaluate": lambda: model.evaluate(wrong, np.zeros((8, 1)), verbose=0),
             "predict": lambda: model.predict(wrong, verbose=0)}
    for name, call in calls.items():
        with pytest.raises(ValueError, match="expected shape") as excinfo:
            call()
        assert _shows_line(excinfo, f"model.{name}(wrong"), name
        assert len(_graphkit_frames(excinfo)) == 1, name


def test_disabling_filtering_keeps_the_whole_traceback():
    assert gk.config.is_traceback_filtering_enabled()
    gk.config.disable_traceback_filtering()
    assert not gk.config.is_traceback_filtering_enabled()
    dense = gk.layers.Dense(2)
    dense(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError) as excinfo:
        dense(np.zeros((1, 5), "float32"))
    frames = _graphkit_frames(excinfo)
    assert len(frames) > 1 and frames[-1].name != "__call__"  # down to where it was raised
    gk.config.enable_traceback_filtering()
    with pytest.raises(ValueError) as excinfo:
        dense(np.zeros((1, 5), "float32"))
    assert len(_graphkit_frames(excinfo)) == 1


def test_warnings_from_fit_evaluate_predict_still_name_the_users_line():
    model = _small_model()
    x = np.ones((8, 4), "float32")
    x[0, 0] = np.nan
    with pytest.warns(RuntimeWarning, match="NaN or inf") as record:
        model.fit(x, np.ones((8, 1)), verbose=0)
        model.evaluate(x, np.ones((8, 1)), verbose=0)
        model.predict(x, verbose=0)
    lines = {w.lineno for w in record if "NaN or inf" in str(w.message)}
    assert {w.filename for w in record} == {__file__}
    assert lines == {_line_of("model.fit(x, np.ones"), _line_of("model.evaluate(x, np.ones"),
                     _line_of("model.predict(x, verbose")}


def _line_of(text: str) -> int:
    with open(__file__) as source:
        return next(number for number, line in enumerate(source, 1) if line.strip().startswith(text))
