"""Network definitions for the two CTI ribeye models.

HintNet: a small fully-convolutional CNN that predicts, per cell of an S/8 grid, the share of the cell
inside the ribeye box; the box is decoded from the row/column profiles (normalised to the scan-area
crop), plus a score trained to predict the IoU of that box (the spec's `mask_iou_hint`). It is
trained in fp32 with BatchNorm, then BN is folded and it is fine-tuned quantization-aware (QDQ int8).

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


def conv1x1_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=False))


class HintNet(nn.Module):
    """Input (N,1,S,S) in [0,1], S divisible by 32.

    Outputs (dequantized): box-indicator logits (N,1,S/8,S/8) -- per cell, the share of the cell inside
    the ribeye box --, a score logit (N,1) and view-class logits (N,K) (dataset.VIEW_CLASSES). Dense prediction keeps the net translation-equivariant,
    which localises far better (and generalises to unseen framings) than regressing four numbers
    through a fully-connected layer. The deep stride-32 features are upsampled and added to the
    stride-8 ones so every cell sees the whole frame.
    """

    def __init__(self, size: int = 128, view_classes: int = 9) -> None:
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.stem = nn.Sequential(conv_bn_relu(1, 16, 2), conv_bn_relu(16, 24), conv_bn_relu(24, 32, 2),
                                  conv_bn_relu(32, 32), conv_bn_relu(32, 48, 2), conv_bn_relu(48, 48))
        self.deep = nn.Sequential(conv_bn_relu(48, 64, 2), conv_bn_relu(64, 64), conv_bn_relu(64, 96, 2),
                                  conv_bn_relu(96, 96))
        self.lateral = conv1x1_bn_relu(96, 48)
        self.up = nn.Upsample(scale_factor=4, mode="nearest")
        self.merge = torch.ao.nn.quantized.FloatFunctional()
        self.head = nn.Sequential(conv_bn_relu(48, 48), conv_bn_relu(48, 32), nn.Conv2d(32, 1, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.score = nn.Linear(96, 1)
        # View classes from the stride-32 map kept spatial (4x4 at 128): where the bright, dark and
        # textured parts sit -- a lens under an arch vs a row of domes with shadows -- not only what.
        cells32 = (size // 32) ** 2
        self.view_reduce = conv1x1_bn_relu(96, 32)
        self.view = nn.Sequential(nn.Linear(32 * cells32, 64), nn.ReLU(inplace=False), nn.Linear(64, view_classes))
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.quant(x)
        mid = self.stem(x)
        deep = self.deep(mid)
        cells = self.head(self.merge.add(mid, self.up(self.lateral(deep))))
        score = self.score(torch.flatten(self.pool(deep), 1))
        view = self.view(torch.flatten(self.view_reduce(deep), 1))
        return self.dequant(cells), self.dequant(score), self.dequant(view)

    def fuse_for_qat(self) -> None:
        """Fold BN into the convs (eval-mode fusion) and fuse Conv+ReLU / Linear+ReLU for QAT."""
        self.eval()
        blocks = [*self.stem, *self.deep, self.lateral, *list(self.head)[:-1], self.view_reduce]
        for block in blocks:
            torch.ao.quantization.fuse_modules(block, [["0", "1", "2"]], inplace=True)
        torch.ao.quantization.fuse_modules(self.view, [["0", "1"]], inplace=True)


def decode_hint(cells: torch.Tensor, score_logit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Box-indicator logits (N,1,G,G) + score logit (N,1) -> boxes (N,4) x0,y0,x1,y1 in [0,1], score (N,).

    A column's profile is the max over rows of the cell probabilities, i.e. the share of that column
    inside the box; their sum is the box width and their centre of mass its centre (sub-cell precise).
    """
    p = torch.sigmoid(cells)[:, 0]
    g = p.shape[-1]
    centres = (torch.arange(g, dtype=p.dtype) + 0.5) / g
    col, row = p.amax(dim=1), p.amax(dim=2)
    w, h = col.sum(1) / g, row.sum(1) / g
    cx = (col * centres).sum(1) / col.sum(1).clamp(min=1e-4)
    cy = (row * centres).sum(1) / row.sum(1).clamp(min=1e-4)
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1).clamp(0, 1)
    return boxes, torch.sigmoid(score_logit[:, 0])


def box_cells(box: torch.Tensor, g: int) -> torch.Tensor:
    """Boxes (N,4) in [0,1] -> (N,1,G,G) share of each cell inside the box (the head's target)."""
    edges = torch.arange(g, dtype=box.dtype) / g
    fx = ((torch.min(box[:, 2:3], edges + 1 / g) - torch.max(box[:, 0:1], edges)) * g).clamp(0, 1)
    fy = ((torch.min(box[:, 3:4], edges + 1 / g) - torch.max(box[:, 1:2], edges)) * g).clamp(0, 1)
    return (fy[:, :, None] * fx[:, None, :])[:, None]


def mirror(x: torch.Tensor) -> torch.Tensor:
    """Left-right flip as a Gather with constant indices (a static graph onnxruntime can fuse)."""
    return x.index_select(-1, torch.tensor(list(range(x.shape[-1] - 1, -1, -1)), dtype=torch.long))


class HintExport(nn.Module):
    """Wraps the network so that the ONNX graph outputs decoded box + score + view logits: (N, 5 + K).

    Test-time flip: box, score and view logits are the mean of the image's and its mirror's (the box
    mirrored back).
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cells, score_logit, view = self.net(x)
        f_cells, f_score_logit, f_view = self.net(mirror(x))
        boxes, score = decode_hint(cells, score_logit)
        fb, fs = decode_hint(f_cells, f_score_logit)
        fb = torch.stack([1 - fb[:, 2], fb[:, 1], 1 - fb[:, 0], fb[:, 3]], dim=1)
        return torch.cat([(boxes + fb) / 2, (score[:, None] + fs[:, None]) / 2, (view + f_view) / 2], dim=1)


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
