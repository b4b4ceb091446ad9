"""model.summary(): Keras 3's table, byte for byte.

The expected texts below are what Keras 3 (3.15, numpy backend) prints for the same models,
built by the same code (the builders take the library as ``K``), with the terminal width set
through COLUMNS as noted; Keras itself crops lines at an 80-column console, which graphkit does
not (it honours ``line_length``), so wide cases ran with COLUMNS=200.
"""
from __future__ import annotations

import numpy as np
import pytest

import graphkit as gk
from graphkit.layers.layer import clear_session
from graphkit.models.summary import format_summary, render_table

def mlp_functional(K):
    inputs = K.Input(shape=(784,))
    x = K.layers.Dense(64, activation="relu")(inputs)
    x = K.layers.Dense(64, activation="relu")(x)
    outputs = K.layers.Dense(10)(x)
    return K.Model(inputs, outputs)


def mlp_sequential(K):
    return K.Sequential([K.Input(shape=(784,)), K.layers.Dense(64, activation="relu"),
                         K.layers.Dense(64, activation="relu"), K.layers.Dense(10)])


def two_inputs(K):
    left = K.Input(shape=(8,), name="left")
    right = K.Input(shape=(8,), name="right")
    shared = K.layers.Dense(4, name="shared_dense")
    joined = K.layers.Concatenate(name="concat")([shared(left), shared(right)])
    score = K.layers.Dense(1, name="score")(joined)
    return K.Model([left, right], score, name="two_inputs")


def nested(K):
    inner_in = K.Input((4,), name="inner_in")
    inner = K.Model(inner_in, K.layers.Dense(4, name="inner_dense")(inner_in), name="inner")
    head = K.Sequential([K.Input((4,), name="head_in"), K.layers.Dense(3, name="head_dense")], name="head")
    x = K.Input((4,), name="x")
    y = inner(x)
    z = head(K.ops.relu(inner(y * 2 + x[:, :4])))
    inner.get_layer("inner_dense").trainable = False
    return K.Model(x, [y, z], name="outer")


def splitter(K):
    inp = K.Input((6,), name="inp")
    first, second = K.ops.split(inp, 2, axis=-1)
    return K.Model(inp, {"x": first, "y": second}, name="splitter")


# ----------------------------------------------------------------- expected (from Keras 3)
MLP_FUNCTIONAL_88 = (  # mlp_functional, COLUMNS=200, {}
    'Model: "functional"\n'
    '┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓\n'
    '┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃\n'
    '┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩\n'
    '│ input_layer (InputLayer)             │ (None, 784)                 │               0 │\n'
    '├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n'
    '│ dense (Dense)                        │ (None, 64)                  │          50,240 │\n'
    '├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n'
    '│ dense_1 (Dense)                      │ (None, 64)                  │           4,160 │\n'
    '├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n'
    '│ dense_2 (Dense)                      │ (None, 10)                  │             650 │\n'
    '└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘\n'
    ' Total params: 55,050 (215.04 KB)\n'
    ' Trainable params: 55,050 (215.04 KB)\n'
    ' Non-trainable params: 0 (0.00 B)\n'
)

MLP_SEQUENTIAL_76 = (  # mlp_sequential, COLUMNS=80, {}
    'Model: "sequential"\n'
    '┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n'
    '┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n'
    '┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n'
    '│ dense (Dense)                   │ (None, 64)             │        50,240 │\n'
    '├─────────────────────────────────┼────────────────────────┼───────────────┤\n'
    '│ dense_1 (Dense)                 │ (None, 64)             │         4,160 │\n'
    '├─────────────────────────────────┼────────────────────────┼───────────────┤\n'
    '│ dense_2 (Dense)                 │ (None, 10)             │           650 │\n'
    '└─────────────────────────────────┴────────────────────────┴───────────────┘\n'
    ' Total params: 55,050 (215.04 KB)\n'
    ' Trainable params: 55,050 (215.04 KB)\n'
    ' Non-trainable params: 0 (0.00 B)\n'
)

MLP_FUNCTIONAL_60_TRAINABLE = (  # mlp_functional, COLUMNS=200, {'line_length': 60, 'show_trainable': True}
    'Model: "functional"\n'
    '┏━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━┓\n'
    '┃ Layer (type)          ┃ Output Shape     ┃ Param # ┃ Tr… ┃\n'
    '┡━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━┩\n'
    '│ input_layer           │ (None, 784)      │       0 │  -  │\n'
    '│ (InputLayer)          │                  │         │     │\n'
    '├───────────────────────┼──────────────────┼─────────┼─────┤\n'
    '│ dense (Dense)         │ (None, 64)       │  50,240 │  Y  │\n'
    '├───────────────────────┼──────────────────┼─────────┼─────┤\n'
    '│ dense_1 (Dense)       │ (None, 64)       │   4,160 │  Y  │\n'
    '├───────────────────────┼──────────────────┼─────────┼─────┤\n'
    '│ dense_2 (Dense)       │ (None, 10)       │     650 │  Y  │\n'
    '└───────────────────────┴──────────────────┴─────────┴─────┘\n'
    ' Total params: 55,050 (215.04 KB)\n'
    ' Trainable params: 55,050 (215.04 KB)\n'
    ' Non-trainable params: 0 (0.00 B)\n'
)

TWO_INPUTS_76 = (  # two_inputs, COLUMNS=80, {}
    'Model: "two_inputs"\n'
    '┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓\n'
    '┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃\n'
    '┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩\n'
    '│ left (InputLayer)   │ (None, 8)         │          0 │ -                 │\n'
    '├─────────────────────┼───────────────────┼────────────┼───────────────────┤\n'
    '│ right (InputLayer)  │ (None, 8)         │          0 │ -                 │\n'
    '├─────────────────────┼───────────────────┼────────────┼───────────────────┤\n'
    '│ shared_dense        │ (None, 4)         │         36 │ left[0][0],       │\n'
    '│ (Dense)             │                   │            │ right[0][0]       │\n'
    '├─────────────────────┼───────────────────┼────────────┼───────────────────┤\n'
    '│ concat              │ (None, 8)         │          0 │ shared_dense[0][… │\n'
    '│ (Concatenate)       │                   │            │ shared_dense[1][… │\n'
    '├─────────────────────┼───────────────────┼────────────┼───────────────────┤\n'
    '│ score (Dense)       │ (None, 1)         │          9 │ concat[0][0]      │\n'
    '└─────────────────────┴───────────────────┴────────────┴───────────────────┘\n'
    ' Total params: 45 (180.00 B)\n'
    ' Trainable params: 45 (180.00 B)\n'
    ' Non-trainable params: 0 (0.00 B)\n'
)

TWO_INPUTS_108 = (  # two_inputs, COLUMNS=200, {}
    'Model: "two_inputs"\n'
    '┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓\n'
    '┃ Layer (type)                  ┃ Output Shape              ┃         Param # ┃ Connected to               ┃\n'
    '┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩\n'
    '│ left (InputLayer)             │ (None, 8)                 │               0 │ -                          │\n'
    '├───────────────────────────────┼───────────────────────────┼─────────────────┼────────────────────────────┤\n'
    '│ right (InputLayer)            │ (None, 8)                 │               0 │ -                          │\n'
    '├───────────────────────────────┼───────────────────────────┼─────────────────┼────────────────────────────┤\n'
    '│ shared_dense (Dense)          │ (None, 4)                 │              36 │ left[0][0], right[0][0]    │\n'
    '├───────────────────────────────┼───────────────────────────┼─────────────────┼────────────────────────────┤\n'
    '│ concat (Concatenate)          │ (None, 8)                 │               0 │ shared_dense[0][0],        │\n'
    '│                               │                           │                 │ shared_dense[1][0]         │\n'
    '├───────────────────────────────┼───────────────────────────┼─────────────────┼────────────────────────────┤\n'
    '│ score (Dense)                 │ (None, 1)                 │               9 │ concat[0][0]               │\n'
    '└───────────────────────────────┴───────────────────────────┴─────────────────┴────────────────────────────┘\n'
    ' Total params: 45 (180.00 B)\n'
    ' Trainable params: 45 (180.00 B)\n'
    ' Non-trainable params: 0 (0.00 B)\n'
)

NESTED_TRAINABLE = (  # nested, COLUMNS=80, {'show_trainable': True}
    'Model: "outer"\n'
    '┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━┓\n'
    '┃ Layer (type)      ┃ Output Shape    ┃   Param # ┃ Connected to   ┃ Trai… ┃\n'
    '┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━┩\n'
    '│ x (InputLayer)    │ (None, 4)       │         0 │ -              │   -   │\n'
    '├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤\n'
    '│ inner             │ (None, 4)       │        20 │ x[0][0],       │   Y   │\n'
    '│ (Functional)      │                 │           │ add[0][0]      │       │\n'
    '├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤\n'
    '│ multiply          │ (None, 4)       │         0 │ inner[0][0]    │   -   │\n'
    '│ (Multiply)        │                 │           │                │       │\n'
    '├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤\n'
    '│ get_item          │ (None, 4)       │         0 │ x[0][0]        │   -   │\n'
    '│ (GetItem)         │                 │           │                │       │\n'
    '├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤\n'
    '│ add (Add)         │ (None, 4)       │         0 │ multiply[0][0… │   -   │\n'
    '│                   │                 │           │ get_item[0][0] │       │\n'
    '├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤\n'
    '│ relu (Relu)       │ (None, 4)       │         0 │ inner[1][0]    │   -   │\n'
    '├───────────────────┼─────────────────┼───────────┼────────────────┼───────┤\n'
    '│ head (Sequential) │ (None, 3)       │        15 │ relu[0][0]     │   Y   │\n'
    '└───────────────────┴─────────────────┴───────────┴────────────────┴───────┘\n'
    ' Total params: 35 (140.00 B)\n'
    ' Trainable params: 15 (60.00 B)\n'
    ' Non-trainable params: 20 (80.00 B)\n'
)

NESTED_EXPANDED = (  # nested, COLUMNS=200, {'expand_nested': True, 'show_trainable': True, 'line_length': 120}
    'Model: "outer"\n'
    '┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓\n'
    '┃ Layer (type)                  ┃ Output Shape              ┃          Param # ┃ Connected to              ┃ Trainable ┃\n'
    '┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩\n'
    '│ x (InputLayer)                │ (None, 4)                 │                0 │ -                         │     -     │\n'
    '├───────────────────────────────┼───────────────────────────┼──────────────────┼───────────────────────────┼───────────┤\n'
    '│ inner (Functional)            │ (None, 4)                 │               20 │ x[0][0], add[0][0]        │     Y     │\n'
    '├───────────────────────────────┼───────────────────────────┼──────────────────┼───────────────────────────┼───────────┤\n'
    '│    └ inner_in (InputLayer)    │ (None, 4)                 │                0 │ -                         │     -     │\n'
    '├───────────────────────────────┼───────────────────────────┼──────────────────┼───────────────────────────┼───────────┤\n'
    '│    └ inner_dense (Dense)      │ (None, 4)                 │               20 │ -                         │     N     │\n'
    '├───────────────────────────────┼───────────────────────────┼──────────────────┼───────────────────────────┼───────────┤\n'
    '│ multiply (Multiply)           │ (None, 4)                 │                0 │ inner[0][0]               │     -     │\n'
    '├───────────────────────────────┼───────────────────────────┼──────────────────┼───────────────────────────┼───────────┤\n'
    '│ get_item (GetItem)            │ (None, 4)                 │                0 │ x[0][0]                   │     -     │\n'
    '├───────────────────────────────┼───────────────────────────┼──────────────────┼───────────────────────────┼───────────┤\n'
    '│ add (Add)                     │ (None, 4)                 │                0 │ multiply[0][0],           │     -     │\n'
    '│                               │                           │                  │ get_item[0][0]            │           │\n'
    '├───────────────────────────────┼───────────────────────────┼──────────────────┼───────────────────────────┼───────────┤\n'
    '│ relu (Relu)                   │ (None, 4)                 │                0 │ inner[1][0]               │     -     │\n'
    '├───────────────────────────────┼───────────────────────────┼──────────────────┼───────────────────────────┼───────────┤\n'
    '│ head (Sequential)             │ (None, 3)                 │               15 │ relu[0][0]                │     Y     │\n'
    '├───────────────────────────────┼───────────────────────────┼──────────────────┼───────────────────────────┼───────────┤\n'
    '│    └ head_dense (Dense)       │ (None, 3)                 │               15 │ -                         │     Y     │\n'
    '└───────────────────────────────┴───────────────────────────┴──────────────────┴───────────────────────────┴───────────┘\n'
    ' Total params: 35 (140.00 B)\n'
    ' Trainable params: 15 (60.00 B)\n'
    ' Non-trainable params: 20 (80.00 B)\n'
)

SPLIT_POSITIONS = (  # splitter, COLUMNS=80, {'line_length': 60, 'positions': [0.5, 0.7, 0.8, 1.0]}
    'Model: "splitter"\n'
    '┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━┓\n'
    '┃                                  ┃              ┃  Param ┃\n'
    '┃ Layer (type)                     ┃ Output Shape ┃      # ┃\n'
    '┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━┩\n'
    '│ inp (InputLayer)                 │ (None, 6)    │      0 │\n'
    '├──────────────────────────────────┼──────────────┼────────┤\n'
    '│ split (Split)                    │ [(None, 3),  │      0 │\n'
    '│                                  │ (None, 3)]   │        │\n'
    '└──────────────────────────────────┴──────────────┴────────┘\n'
    ' Total params: 0 (0.00 B)\n'
    ' Trainable params: 0 (0.00 B)\n'
    ' Non-trainable params: 0 (0.00 B)\n'
)


def summary_text(model, **kwargs) -> str:
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    assert len(lines) == 1  # Keras 3 hands print_fn the whole summary at once
    return lines[0]


@pytest.fixture
def columns(monkeypatch):
    def set_columns(n: int) -> None:
        monkeypatch.setenv("COLUMNS", str(n))
    return set_columns


@pytest.mark.parametrize("expected, builder, kwargs, width", [
    (MLP_FUNCTIONAL_88, mlp_functional, {}, 200),
    (MLP_SEQUENTIAL_76, mlp_sequential, {}, 80),
    (MLP_FUNCTIONAL_60_TRAINABLE, mlp_functional, {"line_length": 60, "show_trainable": True}, 200),
    (TWO_INPUTS_76, two_inputs, {}, 80),
    (TWO_INPUTS_108, two_inputs, {}, 200),
    (NESTED_TRAINABLE, nested, {"show_trainable": True}, 80),
    (NESTED_EXPANDED, nested, {"expand_nested": True, "show_trainable": True, "line_length": 120}, 200),
    (SPLIT_POSITIONS, splitter, {"line_length": 60, "positions": [0.5, 0.7, 0.8, 1.0]}, 80),
], ids=["mlp-functional-88", "mlp-sequential-76", "line-length-trainable", "connected-to-76",
        "connected-to-108", "nested-trainable", "expand-nested", "positions"])
def test_summary_matches_keras(expected, builder, kwargs, width, columns):
    columns(width)
    clear_session()
    assert summary_text(builder(gk), **kwargs) == expected


def test_mlp_totals_and_default_widths(columns):
    columns(200)
    clear_session()
    functional, sequential = mlp_functional(gk), mlp_sequential(gk)
    for model in (functional, sequential):
        text = summary_text(model)
        assert " Total params: 55,050 (215.04 KB)\n" in text
        assert all(len(line) == 88 for line in text.splitlines()[1:-3])
    assert "Connected to" not in summary_text(functional)  # a chain is "sequential-like"
    assert "InputLayer" not in summary_text(sequential)    # Sequential lists only its own layers
    columns(80)  # no terminal (Jupyter, CI): 80 columns, Keras's default is then 80 - 4
    assert all(len(line) == 76 for line in summary_text(functional).splitlines()[1:-3])
    columns(200)
    assert all(len(line) == 108 for line in summary_text(two_inputs(gk)).splitlines()[1:-3])


def test_print_fn_and_stdout(columns, capsys):
    columns(200)
    clear_session()
    model = mlp_functional(gk)
    model.summary()
    assert capsys.readouterr().out == MLP_FUNCTIONAL_88
    calls = []
    model.summary(print_fn=lambda text: calls.append(text))
    assert calls == [MLP_FUNCTIONAL_88]
    # print_fn honours line_length, even past the terminal width (Keras would crop at the console)
    columns(80)
    wide = summary_text(model, line_length=150)
    assert {len(line) for line in wide.splitlines()[1:-3]} == {150}


def test_line_length_and_positions(columns):
    columns(200)
    model = mlp_functional(gk)
    narrow = summary_text(model, line_length=50)
    assert {len(line) for line in narrow.splitlines()[1:-3]} == {50}
    # relative positions split the line; the table still fills line_length
    custom = summary_text(model, positions=[0.6, 0.8, 1.0]).splitlines()
    assert custom[1].index("┳") > summary_text(model).splitlines()[1].index("┳")
    assert len(custom[1]) == 88
    # absolute positions (Keras 2's rule) give the same columns as the equivalent fractions
    assert summary_text(model, line_length=100, positions=[45, 80, 100]) == \
        summary_text(model, line_length=100, positions=[0.45, 0.80, 1.0])
    with pytest.raises(ValueError, match="Insufficient console width"):
        model.summary(line_length=10, print_fn=lambda _: None)


def test_show_trainable_marks_frozen_layers(columns):
    columns(200)
    model = mlp_functional(gk)
    model.layers[1].trainable = False
    rows = [line for line in summary_text(model, show_trainable=True).splitlines() if line.startswith("│ ")]
    marks = [row.rstrip("│ ").split("│")[-1].strip() for row in rows]
    assert marks == ["-", "N", "Y", "Y"]
    text = summary_text(model)
    assert " Trainable params: 4,810 (18.79 KB)\n" in text
    assert " Non-trainable params: 50,240 (196.25 KB)\n" in text


def test_unbuilt_sequential_and_long_names(columns):
    columns(200)
    model = gk.Sequential([gk.layers.Dense(3, name="d1"),
                           gk.layers.Dense(4, name="a_really_long_layer_name_that_overflows_the_column_width")],
                          name="unbuilt")
    assert summary_text(model) == (
        'Model: "unbuilt"\n'
        '┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓\n'
        '┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃\n'
        '┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩\n'
        '│ d1 (Dense)                           │ ?                           │     0 (unbuilt) │\n'
        '├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n'
        '│ a_really_long_layer_name_that_overf… │ ?                           │     0 (unbuilt) │\n'
        '│ (Dense)                              │                             │                 │\n'
        '└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘\n'
        ' Total params: 0 (0.00 B)\n'
        ' Trainable params: 0 (0.00 B)\n'
        ' Non-trainable params: 0 (0.00 B)\n')


def test_subclassed_model_shows_built_shapes(columns):
    columns(200)

    class Tiny(gk.Model):
        def __init__(self):
            super().__init__(name="tiny")
            self.first = gk.layers.Dense(5, name="first")
            self.second = gk.layers.Dense(2, name="second")

        def call(self, x):
            return self.second(self.first(x))

    model = Tiny()
    model(np.ones((2, 3), "float32"))
    text = summary_text(model)
    assert "│ first (Dense)" in text and "(2, 5)" in text and "(2, 2)" in text
    assert " Total params: 32 (128.00 B)\n" in text


def test_layer_range_and_shared_layer_rows(columns):
    columns(200)
    model = two_inputs(gk)
    rows = [line for line in summary_text(model).splitlines() if line.startswith("│ ") and "(" in line]
    assert [r.split()[1] for r in rows] == ["left", "right", "shared_dense", "concat", "score"]
    shared_row = next(r for r in rows if "shared_dense (Dense)" in r)
    assert "left[0][0], right[0][0]" in shared_row  # one row per layer, every call listed
    ranged = summary_text(model, layer_range=["shared_dense", "concat"])
    assert "left (InputLayer)" not in ranged and "score" not in ranged and "concat (Concatenate)" in ranged


def test_render_table_wraps_like_rich():
    lines = render_table(["Name", "N"], ["left", "right"], [8, 4], [["alpha beta gamma", "12"]], 20)
    assert lines == ['┏━━━━━━━━━━━┳━━━━━━┓',
                     '┃ Name      ┃    N ┃',
                     '┡━━━━━━━━━━━╇━━━━━━┩',
                     '│ alpha     │   12 │',
                     '│ beta      │      │',
                     '│ gamma     │      │',
                     '└───────────┴──────┘']


def test_html_summary():
    clear_session()
    html = mlp_functional(gk)._repr_html_()
    assert html.startswith('<div class="gk-summary">') and "<table>" in html
    assert "<th>Layer (type)</th>" in html and "dense_1 (Dense)" in html and "55,050 (215.04 KB)" in html


def test_summary_of_a_deep_model():
    # 300 chained layers: the graph walk is iterative (no recursion limit), the table complete.
    x = inputs = gk.Input((4,))
    for _ in range(300):
        x = gk.layers.Dense(4)(x)
    text = format_summary(gk.Model(inputs, x), line_length=100)
    assert text.count("(Dense)") == 300 and " Total params: 6,000 (23.44 KB)\n" in text
