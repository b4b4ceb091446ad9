"""Every device→host conversion goes through ``graphkit.backend.host.to_host``.

``FakeDeviceArray`` behaves like a CuPy array as far as graphkit can tell: its values are reachable
only through ``.get()`` (implicit ``__array__`` conversion raises, as CuPy's does) and its ``.data``
is a memory pointer, not the values. Each test hands one to a conversion site and checks the
values arrived and the device was read through ``.get()``.
"""
import numpy
import pytest

import graphkit as gk
from graphkit.backend import state
from graphkit.backend.host import is_device_array, to_host, to_host_scalar
from graphkit.backend.loss_ops import LabelRangeError
from graphkit.engine.tensor import wrap
from graphkit.saved_model.encoding import decode, encode
from graphkit.saving.archive import read_variables, write_variables


class _MemoryPointer:
    """What a CuPy array's ``.data`` is."""


class FakeDeviceArray:
    """A device array whose values only ``.get()`` returns (counting the transfers)."""

    def __init__(self, values) -> None:
        self._values = numpy.asarray(values)
        self.data = _MemoryPointer()
        self.gets = 0
        self.__cuda_array_interface__ = {"shape": self._values.shape, "typestr": self._values.dtype.str,
                                         "data": (0, False), "version": 3}

    shape = property(lambda self: self._values.shape)
    dtype = property(lambda self: self._values.dtype)
    ndim = property(lambda self: self._values.ndim)

    def get(self) -> numpy.ndarray:
        self.gets += 1
        return self._values.copy()

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()`.")


def _on_device(tensor: gk.Tensor, values) -> FakeDeviceArray:
    """Put ``tensor``'s values "on the device" (what the CuPy backend's arrays look like)."""
    fake = FakeDeviceArray(values)
    tensor.data = fake
    return fake


def test_to_host_copies_device_arrays_and_reads_tensors():
    fake = FakeDeviceArray([[1.0, 2.0]])
    assert is_device_array(fake) and not is_device_array(numpy.zeros(2))
    numpy.testing.assert_array_equal(to_host(fake), [[1.0, 2.0]])
    assert to_host(fake, dtype="int32").dtype == numpy.int32
    assert fake.gets == 2

    host = numpy.arange(3.0)
    assert to_host(host) is host  # no copy for a numpy array of the right dtype
    tensor = gk.constant(numpy.arange(3, dtype="float32"))
    assert to_host(tensor) is tensor.data
    assert to_host_scalar(FakeDeviceArray(7)) == 7


def test_tensor_and_variable_numpy_copy_from_the_device():
    tensor = wrap(numpy.zeros(2, "float32"), None, 0)
    fake = _on_device(tensor, numpy.array([3.0, 4.0], "float32"))
    numpy.testing.assert_array_equal(tensor.numpy(), [3.0, 4.0])
    numpy.testing.assert_array_equal(numpy.asarray(tensor, dtype="float64"), [3.0, 4.0])
    assert "3., 4." in repr(tensor)
    assert fake.gets == 3

    variable = gk.Variable(numpy.zeros(2, "float32"), name="v")
    fake = _on_device(variable, numpy.array([5.0, 6.0], "float32"))
    numpy.testing.assert_array_equal(to_host(variable), [5.0, 6.0])
    numpy.testing.assert_array_equal(variable.numpy(), [5.0, 6.0])
    assert fake.gets == 2


def test_a_device_array_becomes_a_tensor_through_to_host():
    fake = FakeDeviceArray(numpy.array([1.5, 2.5], "float32"))
    tensor = gk.Tensor(fake)
    assert isinstance(tensor.data, numpy.ndarray)
    numpy.testing.assert_array_equal(tensor.numpy(), [1.5, 2.5])
    assert fake.gets == 1


def test_to_categorical_of_a_device_array_and_a_device_tensor():
    # A CuPy array's ``.data`` is its memory pointer: reading it gave "labels must be integers".
    fake = FakeDeviceArray(numpy.array([0, 2, 1]))
    numpy.testing.assert_array_equal(gk.utils.to_categorical(fake, 3), numpy.eye(3, dtype="float32")[[0, 2, 1]])
    tensor = wrap(numpy.zeros(2, "int32"), None, 0)
    _on_device(tensor, numpy.array([1, 0], "int32"))
    numpy.testing.assert_array_equal(gk.utils.to_categorical(tensor, 2), [[0, 1], [1, 0]])


def test_variables_archive_of_device_arrays(tmp_path):
    variable = gk.Variable(numpy.zeros(2, "float32"), name="v")
    _on_device(variable, numpy.array([7.0, 8.0], "float32"))
    raw = FakeDeviceArray(numpy.arange(6, dtype="int64").reshape(2, 3))
    path = write_variables(tmp_path / "a.weights.npz", {"raw": raw, "variable": variable}, kind="weights")
    arrays = read_variables(path).arrays
    numpy.testing.assert_array_equal(arrays["raw"], numpy.arange(6).reshape(2, 3))
    numpy.testing.assert_array_equal(arrays["variable"], [7.0, 8.0])
    assert raw.gets == 1


def test_model_weights_and_checkpoint_of_device_variables(tmp_path):
    inputs = gk.Input((3,))
    model = gk.Model(inputs, gk.layers.Dense(2)(inputs))
    kernel = model.layers[-1].kernel
    values = numpy.arange(6, dtype="float32").reshape(3, 2)
    fake = _on_device(kernel, values)
    path = model.save_weights(tmp_path / "m.weights.npz")
    checkpoint = gk.train.Checkpoint(kernel=kernel).write(tmp_path / "ckpt")
    assert fake.gets == 2

    kernel.data = numpy.zeros((3, 2), "float32")
    model.load_weights(path)
    numpy.testing.assert_array_equal(kernel.numpy(), values)
    kernel.data = numpy.zeros((3, 2), "float32")
    gk.train.Checkpoint(kernel=kernel).read(checkpoint)
    numpy.testing.assert_array_equal(kernel.numpy(), values)


def test_saved_model_encoding_of_a_device_array():
    fake = FakeDeviceArray(numpy.array([[1, 2]], "int32"))
    decoded = decode(encode(fake))
    numpy.testing.assert_array_equal(decoded, [[1, 2]])
    assert decoded.dtype == numpy.int32 and fake.gets == 1


def test_label_range_error_reads_device_labels():
    labels = FakeDeviceArray(numpy.array([0, 5, 1]))
    with pytest.raises(LabelRangeError, match=r"label value of 5 .*\[0, 3\)"):
        state.ops._raise_label_range(labels, 3)
    assert labels.gets == 1
