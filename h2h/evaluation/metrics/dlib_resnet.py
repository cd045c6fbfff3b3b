"""dlib's face recognition ResNet (the 128-D embedding behind ``fid_dlib`` / ``mmd2_dlib``) run
by torch, with the weights read from dlib's own model file.

The dlib build that pip installs has no BLAS: its network takes 60-300 ms per face on one core,
which made face embeddings most of the evaluation's time. The same layers in torch take a tenth
of that and give the same embeddings (float32 rounding apart; the tests compare them with dlib's
``compute_face_descriptor`` on real faces).

The model file is dlib's serialisation of the network in ``dnn_face_recognition_ex.cpp``: an
RGB input (mean subtracted, divided by 256), a 7x7/2 convolution, max pooling, residual blocks of
two 3x3 convolutions with per-channel affine layers (batch norm folded), average-pooled shortcuts
where a block halves the resolution, global average pooling and a 128 x 256 linear layer. Layers
are read in file order (input first); each layer's name is followed by its parameters, which
dlib writes as raw little-endian float32 tensors. dlib adds tensors of different shapes by
padding the smaller one with zeros (channels, then bottom and right), which the downsampling
shortcuts rely on; :func:`_add` does the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from h2h.core.errors import H2HError

CHIP_SIZE = 150  # dlib aligns faces to 150 x 150 chips (padding 0.25) for this network

_LAYER = re.compile(rb"\x01([\x04-\x15])(input_rgb_image_sized|con_4|affine_|relu_|max_pool_2|"
                    rb"avg_pool_2|add_prev_|fc_2)")


class _Reader:
    """dlib's serialisation: integers as a control byte (bytes that follow in the low nibble,
    sign in the high bit) then little-endian magnitude; strings as length then bytes; floats as
    mantissa and exponent integers; tensors as a version, four dimensions and raw float32."""

    def __init__(self, data: bytes, position: int) -> None:
        self.data, self.position = data, position

    def integer(self) -> int:
        control = self.data[self.position]
        size = control & 0x0F
        start = self.position + 1
        value = int.from_bytes(self.data[start:start + size], "little")
        self.position = start + size
        return -value if control & 0x80 else value

    def string(self) -> str:
        size = self.integer()
        text = self.data[self.position:self.position + size].decode()
        self.position += size
        return text

    def real(self) -> float:
        mantissa = self.integer()
        return mantissa * 2.0 ** self.integer()

    def tensor(self) -> np.ndarray:
        if self.integer() != 2:
            raise ValueError("unsupported tensor version")
        count = int(np.prod([self.integer() for _ in range(4)]))
        values = np.frombuffer(self.data, "<f4", count, self.position).astype(np.float32)
        self.position += 4 * count
        return values


@dataclass(frozen=True)
class _Layer:
    kind: str  # the dlib layer name without its version suffix
    params: np.ndarray | None = None
    fields: tuple[int, ...] = ()  # convolution: filters, rows, cols, strides, paddings; pooling


def _read_layers(data: bytes) -> list[_Layer]:
    """The layers of a dlib network file in order, input first. The search for the next layer
    name starts after the previous layer's parameters, so it never looks inside float data."""
    layers, position = [], 0
    while (match := _LAYER.search(data, position)) is not None:
        reader = _Reader(data, match.start())
        name = reader.string()
        if len(name) != match.group(1)[0]:
            position = match.start() + 1
            continue
        if name == "input_rgb_image_sized":
            layers.append(_Layer("input", np.array([reader.real() for _ in range(3)],
                                                   np.float32)))
        elif name == "con_4":
            params = reader.tensor()
            layers.append(_Layer("con", params, tuple(reader.integer() for _ in range(7))))
        elif name == "affine_":
            layers.append(_Layer("affine", reader.tensor()))
        elif name in ("max_pool_2", "avg_pool_2"):
            layers.append(_Layer(name[:-2], None, tuple(reader.integer() for _ in range(6))))
        elif name == "fc_2":
            outputs, inputs = reader.integer(), reader.integer()
            layers.append(_Layer("fc", reader.tensor(), (outputs, inputs)))
        else:
            layers.append(_Layer(name.rstrip("_")))
        position = reader.position
    return layers


def _add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's add_prev: the sum at the larger of the two shapes, the smaller zero-padded."""
    shape = [max(x, y) for x, y in zip(a.shape[1:], b.shape[1:])]

    def padded(x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, shape[2] - x.shape[3], 0, shape[1] - x.shape[2],
                         0, shape[0] - x.shape[1]))

    return padded(a) + padded(b)


class DlibFaceNet:
    """The network of one dlib model file: :meth:`__call__` maps (B, 150, 150, 3) uint8 RGB
    chips to (B, 128) float32 embeddings."""

    def __init__(self, path: str | Path) -> None:
        layers = _read_layers(Path(path).read_bytes())
        if not layers or layers[0].kind != "input" or layers[-1].kind != "fc":
            raise H2HError("not dlib's face recognition network", path)
        self._mean = torch.from_numpy(layers[0].params).view(1, 3, 1, 1)
        self._layers = layers[1:]

    @staticmethod
    def _conv(x: torch.Tensor, layer: _Layer) -> torch.Tensor:
        filters, rows, cols, stride_y, stride_x, pad_y, pad_x = layer.fields
        weights = filters * x.shape[1] * rows * cols
        kernel = torch.from_numpy(layer.params[:weights]).view(filters, x.shape[1], rows, cols)
        return F.conv2d(x, kernel, torch.from_numpy(layer.params[weights:]),
                        stride=(stride_y, stride_x), padding=(pad_y, pad_x))

    @staticmethod
    def _affine(x: torch.Tensor, layer: _Layer) -> torch.Tensor:
        params = torch.from_numpy(layer.params).view(2, -1, 1, 1)
        return x * params[0] + params[1]

    @staticmethod
    def _pool(x: torch.Tensor, layer: _Layer) -> torch.Tensor:
        rows, cols, stride_y, stride_x, pad_y, pad_x = layer.fields
        if rows == 0:  # avg_pool_everything
            return x.mean(dim=(2, 3))
        pool = F.max_pool2d if layer.kind == "max_pool" else F.avg_pool2d
        return pool(x, (rows, cols), (stride_y, stride_x), (pad_y, pad_x))

    @torch.no_grad()
    def __call__(self, chips: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float()
        x = (x - self._mean) / 256.0
        layers = iter(self._layers)
        # Stem: convolution, affine, relu, max pooling.
        x = self._affine(self._conv(x, next(layers)), next(layers))
        _expect(next(layers), "relu")
        x = self._pool(torch.relu(x), next(layers))
        for layer in layers:
            if layer.kind == "avg_pool":  # global average pooling, then the linear layer
                fc = next(layers)
                outputs, inputs = fc.fields
                weights = torch.from_numpy(fc.params).view(inputs, outputs)
                return (self._pool(x, layer) @ weights).numpy()
            shortcut = x
            y = torch.relu(self._affine(self._conv(x, layer), next(layers)))
            _expect(next(layers), "relu")
            y = self._affine(self._conv(y, next(layers)), next(layers))
            join = next(layers)
            if join.kind == "avg_pool":  # a block that halves the resolution
                shortcut, join = self._pool(shortcut, join), next(layers)
            _expect(join, "add_prev")
            x = torch.relu(_add(y, shortcut))
            _expect(next(layers), "relu")
        raise H2HError("dlib network file ends before its output layer")


def _expect(layer: _Layer, kind: str) -> None:
    if layer.kind != kind:
        raise H2HError(f"unexpected layer {layer.kind} in dlib's network (expected {kind})")


@lru_cache(maxsize=2)
def face_net(path: str) -> DlibFaceNet:
    """The network of the model file at ``path``, read once per process (~0.1 s)."""
    return DlibFaceNet(path)
