"""Training-step time of SPEC 9's conv net and LSTM: graphkit vs PyTorch CPU eager.

- conv: Conv2D(32,3,relu) → Conv2D(64,3,relu) → MaxPooling2D(3) → GlobalAveragePooling2D →
  Dense(10) on 32×32×3 images, batch 64 (target ≤ 1.5× PyTorch);
- lstm: LSTM(128) over 10 steps of 64 features → Dense(10), batch 32 (target ≤ 1.0× PyTorch);
- convnet: Keras's MNIST convnet example, Conv2D(32,3,relu) → Conv2D(64,3,relu) →
  MaxPooling2D(2) → Flatten → Dense(128,relu) → Dense(10) on 28×28×1, batch 128 (no target:
  convolutions next to a large dense layer).

Both train with RMSprop on sparse softmax crossentropy. Each peer runs at its best of 1 and 2
threads; prints ms per step and the ratio graphkit / PyTorch.

    .venv/bin/python bench/train_step_models.py
"""
from __future__ import annotations

import timeit

import numpy as np

import graphkit as gk
from graphkit import layers


def best_ms(fn, number: int = 10, repeat: int = 5) -> float:
    for _ in range(3):
        fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e3


def set_blas_threads(n: int) -> None:
    from threadpoolctl import threadpool_limits
    threadpool_limits(n)


def graphkit_models():
    conv_in = gk.Input((32, 32, 3))
    x = layers.Conv2D(32, 3, activation="relu")(conv_in)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.GlobalAveragePooling2D()(x)
    conv = gk.Model(conv_in, layers.Dense(10)(x))
    seq_in = gk.Input((10, 64))
    lstm = gk.Model(seq_in, layers.Dense(10)(layers.LSTM(128)(seq_in)))
    mnist_in = gk.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(mnist_in)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Flatten()(layers.MaxPooling2D(2)(x))
    convnet = gk.Model(mnist_in, layers.Dense(10)(layers.Dense(128, activation="relu")(x)))
    for model in (conv, lstm, convnet):
        model.compile(optimizer="rmsprop",
                      loss=gk.losses.SparseCategoricalCrossentropy(from_logits=True))
    return {"conv": conv, "lstm": lstm, "convnet": convnet}


def torch_models():
    import torch
    from torch import nn

    class Conv(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(3, 32, 3), nn.Conv2d(32, 64, 3)
            self.pool, self.fc = nn.MaxPool2d(3), nn.Linear(64, 10)

        def forward(self, x):  # NHWC in, as graphkit
            x = torch.relu(self.c2(torch.relu(self.c1(x.permute(0, 3, 1, 2)))))
            return self.fc(self.pool(x).mean(dim=(2, 3)))

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.fc = nn.LSTM(64, 128, batch_first=True), nn.Linear(128, 10)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.fc(h[0])

    class ConvNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
            self.fc1, self.fc2 = nn.Linear(12 * 12 * 64, 128), nn.Linear(128, 10)

        def forward(self, x):  # NHWC in; flattened channels-last, as graphkit's Flatten
            x = torch.relu(self.c2(torch.relu(self.c1(x.permute(0, 3, 1, 2)))))
            x = nn.functional.max_pool2d(x, 2).permute(0, 2, 3, 1).flatten(1)
            return self.fc2(torch.relu(self.fc1(x)))

    return {"conv": Conv(), "lstm": Recurrent(), "convnet": ConvNet()}


def data():
    rng = np.random.default_rng(0)
    return {"conv": (rng.random((64, 32, 32, 3), dtype=np.float32), rng.integers(0, 10, 64)),
            "lstm": (rng.random((32, 10, 64), dtype=np.float32), rng.integers(0, 10, 32)),
            "convnet": (rng.random((128, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 128))}


def main() -> None:
    import torch
    ours, theirs, batches = graphkit_models(), torch_models(), data()
    print(f"{'model':<8} {'graphkit ms':>12} {'torch ms':>10} {'ratio':>7}")
    for name, (x, y) in batches.items():
        model = ours[name]
        mine = []
        for threads in (1, 2):
            set_blas_threads(threads)
            mine.append(best_ms(lambda: model.train_on_batch(x, y)))
        peer = theirs[name]
        optimizer = torch.optim.RMSprop(peer.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_step():
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(peer(tx), ty).backward()
            optimizer.step()
        other = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            other.append(best_ms(torch_step))
        print(f"{name:<8} {min(mine):12.2f} {min(other):10.2f} {min(mine) / min(other):7.2f}")


if __name__ == "__main__":
    main()
