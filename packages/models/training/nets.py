"""Network definitions for the two CTI ribeye models.

HintNet: a small strided CNN that regresses the ribeye box (normalised to the scan-area crop) and
a score trained to predict the IoU of its own box (the spec's `mask_iou_hint`). It is trained in
fp32 with BatchNorm, then BN is folded and it is fine-tuned quantization-aware (QDQ int8 export).

SegNet: a compact U-Net producing one logit per pixel of the preprocessed crop.
"""

import torch
from torch import nn
import torch.nn.functional as F


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=False),
    )


HINT_STAGES = [(1, 16, 2), (16, 24, 1), (24, 32, 2), (32, 32, 1), (32, 48, 2), (48, 48, 1),
               (48, 64, 2), (64, 64, 1), (64, 96, 2)]


class HintNet(nn.Module):
    """Input (N,1,128,128) in [0,1]; output (N,5): box logits (cx, cy, w, h) and score logit."""

    def __init__(self, size: int = 128) -> None:
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.features = nn.Sequential(*[conv_bn_relu(a, b, s) for a, b, s in HINT_STAGES])
        cells = size // 32
        self.fc1 = nn.Sequential(nn.Linear(96 * cells * cells, 128), nn.ReLU(inplace=False))
        self.fc2 = nn.Linear(128, 5)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.quant(x)
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = self.fc2(self.fc1(x))
        return self.dequant(x)

    def fuse_for_qat(self) -> None:
        """Fold BN into the convs (eval-mode fusion) and fuse Conv+ReLU / Linear+ReLU for QAT."""
        self.eval()
        for block in self.features:
            torch.ao.quantization.fuse_modules(block, [["0", "1", "2"]], inplace=True)
        torch.ao.quantization.fuse_modules(self.fc1, [["0", "1"]], inplace=True)


def decode_hint(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw (N,5) network output -> boxes (N,4) as x0,y0,x1,y1 in [0,1] and score (N,) in [0,1]."""
    p = torch.sigmoid(raw)
    cx, cy, w, h = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1).clamp(0, 1)
    return boxes, p[:, 4]


class HintExport(nn.Module):
    """Wraps the network so that the ONNX graph outputs decoded box + score: (N,5)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        boxes, score = decode_hint(self.net(x))
        return torch.cat([boxes, score[:, None]], dim=1)


class SegNet(nn.Module):
    """Compact U-Net; input (N,1,S,S) with S divisible by 16; output (N,1,S,S) logits."""

    def __init__(self, widths: tuple[int, ...] = (12, 24, 40, 64, 96)) -> None:
        super().__init__()
        w = widths
        self.enc = nn.ModuleList()
        cin = 1
        for i, c in enumerate(w):
            self.enc.append(nn.Sequential(conv_bn_relu(cin, c, 1 if i == 0 else 2), conv_bn_relu(c, c)))
            cin = c
        self.dec = nn.ModuleList()
        for i in range(len(w) - 1, 0, -1):
            self.dec.append(nn.Sequential(conv_bn_relu(w[i] + w[i - 1], w[i - 1]), conv_bn_relu(w[i - 1], w[i - 1])))
        self.head = nn.Conv2d(w[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.enc:
            x = block(x)
            skips.append(x)
        x = skips.pop()
        for block in self.dec:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)
