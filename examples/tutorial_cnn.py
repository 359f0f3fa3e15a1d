"""The seed tutorial's PyTorch example, as written, and its gradient check (run this file).

The tutorial says the check shows "a 10x10 region". Run as written it shows 4x4 for unit (0, 0)
and 7x7 for the central unit (4, 4); `rfsearch verify` shows why, and the exact 10x10:

    rfsearch verify examples/tutorial_cnn.py:seeded --input-size 1x1x32x32 --unit 4x4 --naive
"""

import torch
import torch.nn as nn


class SimpleCNN(nn.Module):
    def __init__(self):
        super(SimpleCNN, self).__init__()
        self.conv1 = nn.Conv2d(1, 1, kernel_size=3, stride=1, padding=1)
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(1, 1, kernel_size=3, stride=1, padding=1)
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)

    def forward(self, x):
        x = self.conv1(x)
        x = self.pool1(x)
        x = self.conv2(x)
        x = self.pool2(x)
        return x


def seeded():
    """The tutorial's network with the weights torch.manual_seed(0) draws (a reproducible naive check)."""
    torch.manual_seed(0)
    return SimpleCNN()


def naive_check(unit=(0, 0), seed=0):
    """The tutorial's check: the rows and columns of the input where the gradient is nonzero."""
    torch.manual_seed(seed)
    x = torch.zeros(1, 1, 32, 32, requires_grad=True)
    model = SimpleCNN()
    output = model(x)
    output[(0, 0, *unit)].backward()
    nonzero = x.grad.abs()[0, 0].nonzero()
    return tuple(int(nonzero[:, a].max() - nonzero[:, a].min() + 1) for a in (0, 1))


if __name__ == "__main__":
    print("tutorial check, unit (0, 0):", "x".join(map(str, naive_check((0, 0)))))  # 4x4, not 10x10
    print("tutorial check, unit (4, 4):", "x".join(map(str, naive_check((4, 4)))))  # 7x7, not 10x10
