"""Forward-pass time of the Keras-guide example models: graphkit vs PyTorch CPU eager.

Each peer runs the same architecture on the same random batch, at its best of 1 and 2 threads
(BLAS threads for graphkit via threadpoolctl when available, torch.set_num_threads for torch).
Prints milliseconds per forward pass and the ratio graphkit / PyTorch (< 1 means faster).

    make bench            # or: .venv/bin/python bench/forward.py
"""
from __future__ import annotations

import timeit

import numpy as np

import graphkit as gk
from graphkit import examples


def best_ms(fn, number: int = 20, repeat: int = 5) -> float:
    fn()  # warm up
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e3


def torch_models():
    import torch
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(),
                                      nn.MaxPool2d(3), nn.Conv2d(32, 32, 3), nn.ReLU(), nn.Conv2d(32, 16, 3),
                                      nn.ReLU())

        def forward(self, x):  # NHWC in, like graphkit
            return self.body(x.permute(0, 3, 1, 2)).amax(dim=(2, 3))

    class ToyResNet(nn.Module):
        def __init__(self):
            super().__init__()
            conv = lambda i, o: nn.Conv2d(i, o, 3)  # noqa: E731
            same = lambda: nn.Conv2d(64, 64, 3, padding=1)  # noqa: E731
            self.c1, self.c2, self.pool = conv(3, 32), conv(32, 64), nn.MaxPool2d(3)
            self.b2 = nn.ModuleList([same(), same()])
            self.b3 = nn.ModuleList([same(), same()])
            self.c_last, self.fc1, self.fc2 = conv(64, 64), nn.Linear(64, 256), nn.Linear(256, 10)

        def forward(self, x):
            x = torch.relu(self.c2(torch.relu(self.c1(x.permute(0, 3, 1, 2)))))
            b1 = self.pool(x)
            b2 = torch.relu(self.b2[1](torch.relu(self.b2[0](b1)))) + b1
            b3 = torch.relu(self.b3[1](torch.relu(self.b3[0](b2)))) + b2
            x = torch.relu(self.c_last(b3)).mean(dim=(2, 3))
            return self.fc2(torch.relu(self.fc1(x)))

    class TextTagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.title_emb, self.body_emb = nn.Embedding(10000, 64), nn.Embedding(10000, 64)
            self.title_lstm = nn.LSTM(64, 128, batch_first=True)
            self.body_lstm = nn.LSTM(64, 32, batch_first=True)
            self.priority, self.department = nn.Linear(172, 1), nn.Linear(172, 4)

        def forward(self, title, body, tags):
            _, (t, _) = self.title_lstm(self.title_emb(title))
            _, (b, _) = self.body_lstm(self.body_emb(body))
            x = torch.cat([t[0], b[0], tags], dim=1)
            return self.priority(x), self.department(x)

    mlp = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    return {"mlp": mlp, "conv_encoder": Encoder(), "small_resnet": ToyResNet(), "text_tagger": TextTagger()}


def cases(batch: int = 32):
    rng = np.random.default_rng(0)
    title = rng.integers(1, 10000, (batch, 10))
    body = rng.integers(1, 10000, (batch, 100))
    tags = rng.random((batch, 12), dtype=np.float32)
    return {
        "mlp": (examples.mlp(), [rng.random((batch, 784), dtype=np.float32)]),
        "conv_encoder": (examples.conv_encoder(), [rng.random((batch, 28, 28, 1), dtype=np.float32)]),
        "small_resnet": (examples.small_resnet(), [rng.random((batch, 32, 32, 3), dtype=np.float32)]),
        "text_tagger": (examples.text_tagger(), [title, body, tags]),
    }


def set_threads(n: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(n)


def main() -> None:
    try:
        import torch
    except ImportError:
        torch = None
    peers = torch_models() if torch else {}
    print(f"{'model':<14} {'graphkit ms':>12} {'torch ms':>10} {'ratio':>7}")
    for name, (model, inputs) in cases().items():
        gk_inputs = inputs if len(inputs) > 1 else inputs[0]
        ours = []
        for threads in (1, 2):
            set_threads(threads)
            with gk.no_grad():
                ours.append(best_ms(lambda: model(gk_inputs, training=False)))
        mine = min(ours)
        if name in peers:
            peer = peers[name].eval()
            t_inputs = [torch.from_numpy(np.asarray(a)) for a in inputs]
            theirs = []
            for threads in (1, 2):
                torch.set_num_threads(threads)
                with torch.no_grad():
                    theirs.append(best_ms(lambda: peer(*t_inputs)))
            other = min(theirs)
            print(f"{name:<14} {mine:12.3f} {other:10.3f} {mine / other:7.2f}")
        else:
            print(f"{name:<14} {mine:12.3f} {'-':>10} {'-':>7}")


if __name__ == "__main__":
    main()
