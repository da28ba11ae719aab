"""Bbox-hint training: fp32 with BatchNorm, then BN folded and quantization-aware fine-tuning."""

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.ao.quantization import (FakeQuantize, MovingAverageMinMaxObserver,
                                   MovingAveragePerChannelMinMaxObserver, QConfig)

from augment import augment_batch
from dataset import VIEW_CLASSES
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


def hint_loss(out, box, has_box, view, class_weights, view_weight=1.0):
    """Box (cells, L1 + GIoU) and IoU score where a ribeye (or its visible part) is in view, plus the
    view class (weighted cross-entropy; -1 = left out)."""
    cells, score_logit, view_logits = out
    pred, score = decode_hint(cells, score_logit)
    pos = has_box.float()
    target = box_cells(box, cells.shape[-1]) * pos[:, None, None, None]
    cell_loss = F.binary_cross_entropy_with_logits(cells, target)
    iou = box_iou(pred, box).detach() * pos
    score_loss = F.binary_cross_entropy(score.clamp(1e-6, 1 - 1e-6), iou)
    view_loss = (view_weight * F.cross_entropy(view_logits, view, weight=class_weights, ignore_index=-1)
                 if (view >= 0).any() else 0)
    if pos.sum() == 0:
        return cell_loss + score_loss + view_loss
    box_l = (F.l1_loss(pred, box, reduction="none").sum(1) + giou_loss(pred, box)) * pos
    return 2 * cell_loss + box_l.sum() / pos.sum() + score_loss + view_loss


# Negative classes that look most like a ribeye view (3.0.0's view head took 32 % of held-out cut-off
# frames for ribeyes); `--hard-view-weight` gives them that many times the share of the others.
HARD_CLASSES = (VIEW_CLASSES.index("ribeye_cut_off"), VIEW_CLASSES.index("motion_blur"))


def view_class_weights(view: np.ndarray, k: int, hard: float = 1.0) -> torch.Tensor:
    """Ribeye and the negatives weigh half each in total; among the negatives every class the same
    share, HARD_CLASSES `hard` times that (1 = all the same, as 3.0.0 was trained)."""
    counts = np.bincount(view, minlength=k).astype(np.float64)
    w = np.zeros(k)
    neg = [c for c in range(1, k) if counts[c] > 0]
    shares = {c: hard if c in HARD_CLASSES else 1.0 for c in neg}
    total = sum(shares.values())
    w[0] = 0.5 / max(counts[0], 1)
    for c in neg:
        w[c] = 0.5 * shares[c] / total / counts[c]
    return torch.tensor(w / w[w > 0].mean(), dtype=torch.float32)


def run_epochs(net, data, train_idx, epochs, lr, batch, gen, size, log, tag, qat=False, view_weight=1.0, hard=1.0):
    """Float phases run channels-last (oneDNN's fast path on CPU: ~1.6x per batch here); the QAT phase
    does not (its fake-quant ops gain nothing from it)."""
    fmt = torch.contiguous_format if qat else torch.channels_last
    net.to(memory_format=fmt)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(len(train_idx) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    exact, aug = torch.from_numpy(data["hint"])[:, None], torch.from_numpy(data["aug"])[:, None]
    box, has_box = torch.from_numpy(data["box"]), torch.from_numpy(data["has_box"])
    view = torch.from_numpy(data["view_class"])
    weights = view_class_weights(data["view_class"][train_idx.numpy()], len(VIEW_CLASSES), hard)
    for ep in range(epochs):
        net.train()
        if qat and ep > 0 and ep == epochs - 1:
            net.apply(torch.ao.quantization.disable_observer)
        t0, total = time.time(), 0.0
        perm = train_idx[torch.randperm(len(train_idx), generator=gen)]
        for i in range(0, len(perm), batch):
            j = perm[i : i + batch]
            x, b, hb, v, _ = augment_batch(exact[j], aug[j].float() / 255, box[j], has_box[j], view[j], gen, size)
            loss = hint_loss(net(x.contiguous(memory_format=fmt)), b, hb, v, weights, view_weight)
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
    cells, score_logit, view_logits = net(x)
    pred, score = decode_hint(cells, score_logit)
    box, pos = torch.from_numpy(data["box"][idx]), torch.from_numpy(data["positive"][idx])
    iou = box_iou(pred, box)[pos]
    neg_scores = score[~pos]
    view = torch.from_numpy(data["view_class"][idx])
    p_ribeye = torch.softmax(view_logits, 1)[:, 0]
    return {"val_mean_iou": round(float(iou.mean()), 4), "val_share_iou_ge_0_5": round(float((iou >= 0.5).float().mean()), 4),
            "val_score_iou_corr": _finite(np.corrcoef(score[pos].numpy(), iou.numpy())[0, 1]),
            "val_negatives_below_0_5": round(float((neg_scores < 0.5).float().mean()), 4) if len(neg_scores) else None,
            "val_view_accuracy": round(float((view_logits.argmax(1) == view).float().mean()), 4),
            "val_view_positives_p_ge_0_5": round(float((p_ribeye[pos] >= 0.5).float().mean()), 4),
            "val_view_negatives_p_lt_0_5": round(float((p_ribeye[~pos] < 0.5).float().mean()), 4) if (~pos).any() else None,
            "val_positives": int(pos.sum()), "val_negatives": int((~pos).sum())}


def train_hint(data, train_idx, val_idx, cfg, log):
    gen = torch.Generator().manual_seed(cfg["seed"])
    torch.manual_seed(cfg["seed"])
    net = HintNet(cfg["hint_size"], len(VIEW_CLASSES))
    vw, hard = cfg.get("view_weight", 1.0), cfg.get("hard_view_weight", 1.0)
    run_epochs(net, data, train_idx, cfg["hint_epochs"], 2e-3, 64, gen, cfg["hint_size"], log, "hint fp32", view_weight=vw,
               hard=hard)
    fp32_metrics = evaluate(net, data, val_idx)
    log(f"hint fp32 val {fp32_metrics}")
    net.fuse_for_qat()
    net.qconfig = qat_qconfig()
    net.train()
    torch.ao.quantization.prepare_qat(net, inplace=True)
    run_epochs(net, data, train_idx, cfg["hint_qat_epochs"], 3e-4, 64, gen, cfg["hint_size"], log, "hint qat", qat=True,
               view_weight=vw, hard=hard)
    qat_metrics = evaluate(net, data, val_idx)
    log(f"hint qat val {qat_metrics}")
    return net, {"fp32_before_qat": fp32_metrics, "qat": qat_metrics}
