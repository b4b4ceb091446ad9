"""Data for ``fit``/``evaluate``/``predict``: arrays, lists, dicts and Python generators, in batches.

Keras 3 semantics:

- ``x`` is an array (numpy, CuPy, ``gk.Tensor``, nested list of numbers), a list/tuple of them (one
  per model input) or a dict keyed by input name; ``y`` and ``sample_weight`` likewise per output.
- Or ``x`` is a dataset: a Python generator/iterator, a re-iterable object (``__iter__``, e.g. a
  torch ``DataLoader``) or a ``PyDataset``-like object (``__len__`` + ``__getitem__`` returning
  batches), yielding ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``.
- ``validation_split`` takes the *last* fraction of the samples, before any shuffling.
- ``shuffle=True`` draws a fresh order every epoch from ``gk.random.host_generator()`` (a numpy
  generator seeded by ``gk.random.set_seed``, identical on every backend); ``"batch"`` shuffles in
  batch-sized chunks.
- ``class_weight`` becomes per-sample weights (single-output models only; one-hot targets are
  argmax-ed, ``(n, 1)`` targets squeezed; classes missing from the dict weigh 1.0).

Everything here works on numpy arrays on the host; the model moves each batch to its backend.
"""
from __future__ import annotations

import math
import types
import warnings
from typing import Any, Callable, Iterator

import numpy

from .. import backend
from ..backend.host import to_host
from ..engine.tensor import Tensor
from ..utils.traceback_utils import user_stacklevel

# ----------------------------------------------------------------------------- structure helpers


def unpack_x_y_sample_weight(data: Any) -> tuple:
    """``(x, y, sample_weight)`` from a batch: a tuple of 1-3 items, or ``x`` alone (Keras 3)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError("Data is expected to be in the format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found a tuple of {len(data)} items.")


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> tuple:
    """The inverse of :func:`unpack_x_y_sample_weight`."""
    if y is None:
        return (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def is_numeric_nest(value: Any) -> bool:
    """Whether a (nested) list starts with a plain number, i.e. is one array rather than a list of arrays."""
    while isinstance(value, (list, tuple)):
        if not value:
            return True
        value = value[0]
    return isinstance(value, (int, float, bool, numpy.generic))


def is_array_like(value: Any) -> bool:
    """numpy/CuPy arrays, tensors and anything else with a shape that converts to an array."""
    return isinstance(value, (numpy.ndarray, Tensor)) or (
        hasattr(value, "shape") and (hasattr(value, "__array__") or hasattr(value, "__cuda_array_interface__")))


def is_dataset(value: Any) -> bool:
    """Whether ``value`` yields batches (generator, iterator, DataLoader-like, PyDataset-like)."""
    if value is None or isinstance(value, (list, tuple, dict, str, bytes, numpy.ndarray, Tensor)) \
            or is_array_like(value):
        return False
    if isinstance(value, types.GeneratorType) or hasattr(value, "__next__"):
        return True
    if hasattr(value, "__getitem__") and hasattr(value, "__len__"):
        return True
    return hasattr(value, "__iter__")


def to_numpy(value: Any, what: str) -> numpy.ndarray:
    """``value`` as a numpy array (tensors and CuPy arrays are copied to the host)."""
    if isinstance(value, numpy.ndarray):
        return value
    try:
        array = to_host(value)
    except (ValueError, TypeError) as err:
        raise TypeError(f"{what}: cannot be converted to an array ({err}).") from None
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(f"{what}: expected numeric data, got an array of dtype {array.dtype} "
                        f"(from {type(value).__name__}).")
    return array


def flatten(structure: Any) -> tuple[list, Any]:
    """Leaves of nested lists/tuples/dicts and a template that :func:`rebuild` fills back.

    A nested list of plain numbers counts as one leaf (one array), as model calls treat it.
    """
    leaves: list = []

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)) and not is_numeric_nest(value):
            return type(value)(walk(item) for item in value) if type(value) in (list, tuple) else \
                tuple(walk(item) for item in value)
        leaves.append(value)
        return Leaf(len(leaves) - 1)

    template = walk(structure)
    return leaves, template


class Leaf:
    """A template's placeholder for the leaf at ``index`` (see :func:`flatten`)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def rebuild(template: Any, leaves: list) -> Any:
    """The structure of ``template`` with its leaves taken from ``leaves``."""
    if isinstance(template, Leaf):
        return leaves[template.index]
    if isinstance(template, dict):
        return {key: rebuild(item, leaves) for key, item in template.items()}
    return type(template)(rebuild(item, leaves) for item in template)


def head(structure: Any, n: int = 2) -> Any:
    """The first ``n`` samples of every array leaf of ``structure`` (None and scalars kept): the
    input of the trainer's dry runs."""
    leaves, template = flatten(structure)
    return rebuild(template, [leaf[:n] if hasattr(leaf, "shape") and len(leaf.shape) else leaf for leaf in leaves])


def describe_leaves(template: Any, prefix: str) -> list[str]:
    """A readable name per leaf: ``x``, ``x[1]``, ``x['title']``."""
    names: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Leaf):
            names.append(path)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}[{key!r}]")
        else:
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(template, prefix)
    return names


# ----------------------------------------------------------------------------- checks


def check_batch_size(batch_size: Any, what: str = "batch_size") -> int | None:
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size <= 0:
        raise ValueError(f"`{what}` must be a positive integer, got {batch_size!r}.")
    return int(batch_size)


def check_steps(steps: Any, what: str) -> int | None:
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, (int, numpy.integer)) or steps <= 0:
        raise ValueError(f"`{what}` must be None or a positive integer, got {steps!r}.")
    return int(steps)


def non_finite_report(arrays: list, names: list[str]) -> str | None:
    """``"x: 3 NaN/inf values, y: 1"``-style text for the floating arrays holding NaN or inf, else None."""
    parts = []
    for array, name in zip(arrays, names):
        if array is None or array.dtype.kind not in "fc" or array.size == 0:
            continue
        total = numpy.add.reduce(array, axis=None)  # fast path: a finite sum means finite values
        if numpy.isfinite(total):
            continue
        bad = int(array.size - numpy.count_nonzero(numpy.isfinite(array)))
        if bad:
            parts.append(f"{name} has {bad} NaN/inf value{'s' if bad != 1 else ''}")
    return "; ".join(parts) if parts else None


def warn_non_finite(report: str) -> None:
    warnings.warn(f"Input data contains NaN or inf ({report}). The loss will likely become nan; "
                  "clean the data (gk.callbacks.TerminateOnNaN stops training when the loss is nan).",
                  RuntimeWarning, stacklevel=user_stacklevel())


def class_weight_to_sample_weights(y: numpy.ndarray, class_weight: dict) -> numpy.ndarray:
    """Per-sample weights from ``{class index: weight}`` (Keras 3's rules)."""
    if not isinstance(class_weight, dict):
        raise ValueError(f"`class_weight` must be a dict mapping class indices to weights, got "
                         f"{type(class_weight).__name__}.")
    for key, value in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, (int, numpy.integer)):
            raise ValueError(f"`class_weight` keys must be integer class indices, got {key!r}.")
        if not isinstance(value, (int, float, numpy.number)) or isinstance(value, bool):
            raise ValueError(f"`class_weight` values must be numbers, got {value!r} for class {key}.")
    y = to_host(y)
    if y.ndim > 1:
        y = numpy.argmax(y, axis=-1) if y.shape[-1] != 1 else numpy.squeeze(y, axis=-1)
    classes = numpy.round(y).astype(numpy.int64).reshape(len(y), -1)[:, 0] if y.ndim > 1 else \
        numpy.round(y).astype(numpy.int64)
    size = max(int(classes.max(initial=0)), max(int(k) for k in class_weight) if class_weight else 0) + 1
    table = numpy.ones(size, dtype=backend.FLOATX)
    for key, value in class_weight.items():
        if key >= 0:
            table[int(key)] = value
    weights = numpy.ones(len(classes), dtype=backend.FLOATX)
    valid = classes >= 0
    weights[valid] = table[classes[valid]]
    return weights


# ----------------------------------------------------------------------------- targets


def flatten_targets(y: Any, output_names: list[str], what: str = "y") -> list | None:
    """``y`` (or ``sample_weight``) as a list with one entry per model output (None where absent).

    Accepts one array (single-output model; for ``sample_weight`` it applies to every output),
    a list/tuple in output order, or a dict keyed by output name.
    """
    if y is None:
        return None
    n = len(output_names)
    if isinstance(y, dict):
        unexpected = [k for k in y if k not in output_names]
        if unexpected:
            raise ValueError(f"`{what}` is a dict with keys {list(y)}, but the model's outputs are named "
                             f"{output_names}; unexpected keys {unexpected}.")
        return [y.get(name) for name in output_names]
    if isinstance(y, (list, tuple)) and not is_numeric_nest(y):
        if len(y) == n:
            return list(y)
        if n == 1:
            return [y]  # e.g. a list of per-sample arrays: one target
        raise ValueError(f"`{what}` has {len(y)} entries but the model has {n} outputs {output_names}: "
                         f"pass one per output (a list in output order or a dict keyed by output name).")
    if n == 1 or what == "sample_weight":
        return [y] * n if what == "sample_weight" else [y]
    raise ValueError(f"The model has {n} outputs {output_names}, but `{what}` is a single array: pass a list "
                     f"in output order or a dict keyed by output name.")


# ----------------------------------------------------------------------------- array data


class ArrayDataAdapter:
    """Batches of in-memory arrays.

    ``x`` is any structure of arrays; ``y`` and ``sample_weight`` are lists with one array (or
    None) per model output. Yields ``(x_batch, y_batch, sw_batch)`` with the same structures.
    """

    def __init__(self, x: Any, y: list | None = None, sample_weight: list | None = None, *,
                 batch_size: int | None = None, shuffle: bool | str = False, steps: int | None = None,
                 what: str = "fit", check_finite: bool = True) -> None:
        self.batch_size = check_batch_size(batch_size) or 32
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"`shuffle` must be True, False or 'batch', got {shuffle!r}.")
        self.shuffle = shuffle
        self.steps = check_steps(steps, "steps_per_epoch" if what == "fit" else "steps")
        self.x_leaves, self.x_template = flatten(x)
        self.y = y
        self.sample_weight = sample_weight
        self._single_x = isinstance(self.x_template, Leaf)
        names = describe_leaves(self.x_template, "x")
        arrays = list(self.x_leaves)
        if y is not None:
            for i, t in enumerate(y):
                if t is not None:
                    arrays.append(t)
                    names.append("y" if len(y) == 1 else f"y[{i}]")
        if sample_weight is not None:
            for i, t in enumerate(sample_weight):
                if t is not None and all(t is not a for a in arrays):
                    arrays.append(t)
                    names.append("sample_weight" if len(sample_weight) == 1 else f"sample_weight[{i}]")
        self.num_samples = check_cardinality(arrays, names, what)
        self._iterator: Iterator | None = None
        if check_finite:
            report = non_finite_report(arrays, names)
            if report:
                warn_non_finite(report)

    @property
    def num_batches(self) -> int:
        full = math.ceil(self.num_samples / self.batch_size)
        return self.steps if self.steps is not None else full

    def _one_pass(self) -> Iterator[tuple]:
        n, size = self.num_samples, self.batch_size
        order = None
        if self.shuffle is True:
            order = _host_generator().permutation(n)
        elif self.shuffle == "batch":
            rng = _host_generator()
            starts = rng.permutation(math.ceil(n / size)) * size
            order = numpy.concatenate([rng.permutation(numpy.arange(s, min(s + size, n))) for s in starts])
        x_leaves, y, sw = self.x_leaves, self.y, self.sample_weight
        single_x, template = self._single_x, self.x_template
        for start in range(0, n, size):
            if order is None:
                index = slice(start, start + size)
                take = _slice
            else:
                index = order[start:start + size]
                take = _take
            if single_x:
                xb = take(x_leaves[0], index)
            else:
                xb = rebuild(template, [take(a, index) for a in x_leaves])
            yb = None if y is None else [None if t is None else take(t, index) for t in y]
            swb = None if sw is None else [None if t is None else take(t, index) for t in sw]
            yield xb, yb, swb

    def epoch(self) -> Iterator[tuple]:
        """The batches of one epoch; with ``steps``, that many, continuing across epochs (Keras 3):
        a pass that ends mid-epoch interrupts the epoch with a warning, the next starts a new pass."""
        if self.steps is None:
            yield from self._one_pass()
            return
        full = math.ceil(self.num_samples / self.batch_size)
        for step in range(self.steps):
            if self._iterator is None:
                self._iterator, self._seen = self._one_pass(), 0
            batch = next(self._iterator)
            self._seen += 1
            if self._seen == full:
                self._iterator = None
            yield batch
            if self._iterator is None and step < self.steps - 1:
                _ran_out_warning("epoch")
                return

    def restart(self) -> None:
        """Start the next epoch from the first batch (evaluation with ``steps``)."""
        self._iterator = None

    def slice(self, start: int, stop: int) -> tuple:
        """``(x, y, sample_weight)`` of samples ``start:stop`` (views)."""
        idx = slice(start, stop)
        x = rebuild(self.x_template, [a[idx] for a in self.x_leaves])
        y = None if self.y is None else [None if t is None else t[idx] for t in self.y]
        sw = None if self.sample_weight is None else [None if t is None else t[idx] for t in self.sample_weight]
        return x, y, sw


def _slice(array, index):
    return array[index]


def _take(array, index):
    return array.take(index, axis=0)


def _host_generator() -> numpy.random.Generator:
    from .. import random
    return random.host_generator()


def _ran_out_warning(what: str) -> None:
    warnings.warn(f"Your input ran out of data; interrupting {what}. Make sure that your dataset or generator "
                  "can generate at least `steps_per_epoch * epochs` batches.", UserWarning,
                  stacklevel=user_stacklevel())


def check_cardinality(arrays: list, names: list[str], what: str = "fit") -> int:
    """The common number of samples of ``arrays``; a clear error when they disagree or hold none."""
    sizes = []
    for array, name in zip(arrays, names):
        if array.ndim == 0:
            raise ValueError(f"{what}: {name} is a scalar; data needs a leading batch dimension.")
        sizes.append(int(array.shape[0]))
    if not sizes:
        raise ValueError(f"{what}: no data given (x is empty).")
    if len(set(sizes)) > 1:
        detail = ", ".join(f"{name} has {size}" for name, size in zip(names, sizes))
        raise ValueError(f"Data cardinality is ambiguous: {detail} samples. Make sure all arrays contain the "
                         "same number of samples.")
    if sizes[0] == 0:
        raise ValueError(f"{what}: the data is empty ({names[0]} has 0 samples). Expected input data to be "
                         "non-empty.")
    return sizes[0]


def train_validation_split(num_samples: int, validation_split: float) -> int:
    """Where ``validation_split`` cuts the samples: the last fraction becomes validation data
    (Keras 3's ``floor(n * (1 - validation_split))``)."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0 <= validation_split < 1:
        raise ValueError(f"`validation_split` must be a float in [0, 1), got {validation_split!r}.")
    n = int(num_samples)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split it into a "
                         f"validation and training set as specified by `validation_split={validation_split}`. "
                         "Either provide more data, or a different value for the `validation_split` argument.")
    return split_at


# ----------------------------------------------------------------------------- datasets


class IterableDataAdapter:
    """Batches from a generator, iterator, re-iterable object or PyDataset-like object.

    ``convert(batch)`` turns one raw batch into ``(x, y, sample_weight)`` in the trainer's form.
    The first batch is read at construction (an empty source is an error, before training
    starts). A one-shot generator is consumed across epochs; a re-iterable source starts over
    every epoch (unless ``steps`` is set, which continues where the last epoch stopped, as Keras).
    """

    def __init__(self, source: Any, convert: Callable[[Any], tuple], *, steps: int | None = None,
                 shuffle: bool = False, what: str = "fit") -> None:
        self.source = source
        self.convert = convert
        self.steps = check_steps(steps, "steps_per_epoch" if what == "fit" else "steps")
        self.what = what
        self.indexed = (hasattr(source, "__getitem__") and hasattr(source, "__len__")
                        and not hasattr(source, "__next__") and not isinstance(source, types.GeneratorType))
        # A generator/iterator is consumed once; other sources (PyDataset-like, DataLoader-like)
        # start over when iterated again.
        self.one_shot = not self.indexed and (isinstance(source, types.GeneratorType) or hasattr(source, "__next__"))
        self.shuffle = bool(shuffle) and self.indexed
        self._iterator: Iterator | None = None
        self._pending: list = []
        self.exhausted = False  # a one-shot source yielded nothing more
        self._iterator = self._fresh_iterator()
        try:
            first = next(self._iterator)
        except StopIteration:
            raise ValueError(f"{what}: the data generator yielded no batches (empty dataset).") from None
        self._pending.append(self.convert(first))

    @property
    def num_batches(self) -> int | None:
        if self.steps is not None:
            return self.steps
        if self.indexed:
            return len(self.source)
        try:
            return len(self.source)
        except TypeError:
            return None

    def _fresh_iterator(self) -> Iterator:
        source = self.source
        if self.indexed:
            order = range(len(source))
            if self.shuffle:
                order = _host_generator().permutation(len(source)).tolist()
            return (source[i] for i in order)
        return iter(source)

    def restart(self) -> None:
        """Start the next epoch from the first batch when the source can (not a one-shot generator)."""
        if not self._pending and not self.one_shot:
            self._iterator = None

    def epoch(self) -> Iterator[tuple]:
        """The batches of one epoch. ``exhausted`` is set when the source had nothing left at all."""
        self.exhausted = False
        if self._iterator is None:
            self._iterator = self._fresh_iterator()
        convert, count = self.convert, 0
        while self.steps is None or count < self.steps:
            if self._pending:
                batch = self._pending.pop()
            else:
                try:
                    raw = next(self._iterator)
                except StopIteration:
                    self._iterator = None
                    if count == 0:
                        self.exhausted = True
                    elif self.steps is not None:
                        _ran_out_warning("epoch")
                    break
                batch = convert(raw)
            count += 1
            yield batch
        if self.steps is None:
            self._iterator = None  # the next epoch starts over (a one-shot generator then has nothing left)
        end = getattr(self.source, "on_epoch_end", None)
        if self.indexed and callable(end):
            end()
