"""Module classes for tools/gen_torch_fixtures.py that live in an importable helper module.

A whole model pickled with torch.save(model) refers to its classes by module and name; the classes here
are written as `mft_fixture_blocks.ResBlock` and so on (the generator defines a second set in `__main__`).
mft never imports either: it must flatten such pickles to `model.state_dict()` names without the code.
Loading the fixtures back with torch (the generator's self-check) needs this file on sys.path, which it
is when the generator runs (tools/ is the script's directory).
"""

import torch
from torch import nn


class ResBlock(nn.Module):
    """conv -> bn -> relu with a skip connection; a bias-less 1x1 projection (its `bias` parameter is
    None, which state_dict() skips); a plain tensor attribute that is neither parameter nor buffer
    (not in state_dict())."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout)
        self.proj = nn.Conv2d(cin, cout, 1, bias=False)
        self.scale_hint = torch.tensor([0.5])  # plain attribute: not a parameter, not a buffer
        self.label = "resblock"

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x))) + self.proj(x)


class Head(nn.Module):
    """A head with a persistent buffer and a parameter registered directly on the module."""

    def __init__(self, cin, classes):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)
        self.temperature = nn.Parameter(torch.ones(1))
        self.register_buffer("class_weights", torch.linspace(0.5, 1.5, classes))

    def forward(self, x):
        return self.fc(self.pool(x).flatten(1)) / self.temperature * self.class_weights


class HelperNet(nn.Module):
    """Stem, a ModuleList of blocks (names `blocks.0.conv.weight`), a head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 2, 3, padding=1)
        self.blocks = nn.ModuleList([ResBlock(2, 2), ResBlock(2, 2)])
        self.head = Head(2, 3)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x)
