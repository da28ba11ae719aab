"""Bbox-hint training: fp32 with BatchNorm, then BN folded and quantization-aware fine-tuning."""

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.ao.quantization import (FakeQuantize, MovingAverageMinMaxObserver,
                                   MovingAveragePerChannelMinMaxObserver, QConfig)

from augment import augment_batch
from nets import HintNet, box_cells, decode_hint


def qat_qconfig() -> QConfig:
    """The plain FakeQuantize recipe that exports to QDQ ONNX (get_default_qat_qconfig does not)."""
    act = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                 dtype=torch.quint8)
    wt = FakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128,
                                quant_max=127, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    return QConfig(activation=act, weight=wt)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    iw = (torch.min(a[:, 2], b[:, 2]) - torch.max(a[:, 0], b[:, 0])).clamp(min=0)
    ih = (torch.min(a[:, 3], b[:, 3]) - torch.max(a[:, 1], b[:, 1])).clamp(min=0)
    inter = iw * ih
    area = lambda x: (x[:, 2] - x[:, 0]).clamp(min=0) * (x[:, 3] - x[:, 1]).clamp(min=0)
    return inter / (area(a) + area(b) - inter).clamp(min=1e-6)


def giou_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    iou = box_iou(a, b)
    cw = torch.max(a[:, 2], b[:, 2]) - torch.min(a[:, 0], b[:, 0])
    ch = torch.max(a[:, 3], b[:, 3]) - torch.min(a[:, 1], b[:, 1])
    c = (cw * ch).clamp(min=1e-6)
    iw = (torch.min(a[:, 2], b[:, 2]) - torch.max(a[:, 0], b[:, 0])).clamp(min=0)
    ih = (torch.min(a[:, 3], b[:, 3]) - torch.max(a[:, 1], b[:, 1])).clamp(min=0)
    area = lambda x: (x[:, 2] - x[:, 0]).clamp(min=0) * (x[:, 3] - x[:, 1]).clamp(min=0)
    union = area(a) + area(b) - iw * ih
    return 1 - (iou - (c - union) / c)


def hint_loss(out, box, positive):
    cells, score_logit = out
    pred, score = decode_hint(cells, score_logit)
    pos = positive.float()
    target = box_cells(box, cells.shape[-1]) * pos[:, None, None, None]
    cell_loss = F.binary_cross_entropy_with_logits(cells, target)
    iou = box_iou(pred, box).detach() * pos
    score_loss = F.binary_cross_entropy(score.clamp(1e-6, 1 - 1e-6), iou)
    if pos.sum() == 0:
        return cell_loss + score_loss
    box_l = (F.l1_loss(pred, box, reduction="none").sum(1) + giou_loss(pred, box)) * pos
    return 2 * cell_loss + box_l.sum() / pos.sum() + score_loss


def run_epochs(net, data, train_idx, epochs, lr, batch, gen, size, log, tag, qat=False):
    """Float phases run channels-last (oneDNN's fast path on CPU: ~1.6x per batch here); the QAT phase
    does not (its fake-quant ops gain nothing from it)."""
    fmt = torch.contiguous_format if qat else torch.channels_last
    net.to(memory_format=fmt)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(len(train_idx) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    exact, aug = torch.from_numpy(data["hint"])[:, None], torch.from_numpy(data["aug"])[:, None]
    box, positive = torch.from_numpy(data["box"]), torch.from_numpy(data["positive"])
    for ep in range(epochs):
        net.train()
        if qat and ep > 0 and ep == epochs - 1:
            net.apply(torch.ao.quantization.disable_observer)
        t0, total = time.time(), 0.0
        perm = train_idx[torch.randperm(len(train_idx), generator=gen)]
        for i in range(0, len(perm), batch):
            j = perm[i : i + batch]
            x, b, p, _ = augment_batch(exact[j], aug[j].float() / 255, box[j], positive[j], gen, size)
            loss = hint_loss(net(x.contiguous(memory_format=fmt)), b, p)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(j)
        log(f"{tag} epoch {ep + 1}/{epochs} loss {total / len(perm):.4f} ({time.time() - t0:.0f} s)")
    net.to(memory_format=torch.contiguous_format)


def _finite(v) -> float | None:
    return round(float(v), 4) if np.isfinite(v) else None


@torch.no_grad()
def evaluate(net, data, idx) -> dict:
    net.eval()
    x = torch.from_numpy(data["hint"][idx])[:, None]
    pred, score = decode_hint(*net(x))
    box, pos = torch.from_numpy(data["box"][idx]), torch.from_numpy(data["positive"][idx])
    iou = box_iou(pred, box)[pos]
    neg_scores = score[~pos]
    return {"val_mean_iou": round(float(iou.mean()), 4), "val_share_iou_ge_0_5": round(float((iou >= 0.5).float().mean()), 4),
            "val_score_iou_corr": _finite(np.corrcoef(score[pos].numpy(), iou.numpy())[0, 1]),
            "val_negatives_below_0_5": round(float((neg_scores < 0.5).float().mean()), 4) if len(neg_scores) else None,
            "val_positives": int(pos.sum()), "val_negatives": int((~pos).sum())}


def train_hint(data, train_idx, val_idx, cfg, log):
    gen = torch.Generator().manual_seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    net = HintNet(cfg["hint_size"])
    run_epochs(net, data, train_idx, cfg["hint_epochs"], 2e-3, 64, gen, cfg["hint_size"], log, "hint fp32")
    fp32_metrics = evaluate(net, data, val_idx)
    log(f"hint fp32 val {fp32_metrics}")
    net.fuse_for_qat()
    net.qconfig = qat_qconfig()
    net.train()
    torch.ao.quantization.prepare_qat(net, inplace=True)
    run_epochs(net, data, train_idx, cfg["hint_qat_epochs"], 3e-4, 64, gen, cfg["hint_size"], log, "hint qat", qat=True)
    qat_metrics = evaluate(net, data, val_idx)
    log(f"hint qat val {qat_metrics}")
    return net, {"fp32_before_qat": fp32_metrics, "qat": qat_metrics}
